/** L0: service connections become the core's sign-in inputs; conflicts and gaps fail before any child runs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACCESS_TOKEN, ENDPOINT_ID, endpoint, installed, maskedFirst, maskedValues, runTask, systemVssConnection, taskConfig } from './harness';
import type { Result } from './harness';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0d9b4c3e-1111-4222-8333-944455556666';
const KEY = 'spn-key-Vx81~secret';
const OIDC_URI = 'https://dev.azure.com/contoso/_apis/distributedtask/hubs/build/plans/1/jobs/2/oidctoken';
const BASE = { runtime: 'installed', pipeline: 'Sales', sourceStage: 'Development' };

function azureRm(scheme: string, parameters: Record<string, string>, environment = 'AzureCloud', data: Record<string, string> = {}) {
  return endpoint(ENDPOINT_ID, scheme, parameters, { environment, ...data });
}

function refused(result: Result, message: string): void {
  assert.ok(result.runner.failed, 'the step failed');
  assert.deepEqual(result.runner.errorIssues, [message]);
  assert.equal(result.calls.length, 0, 'no child process ran');
}

function signedIn(result: Result): Record<string, string> {
  assert.equal(result.exitCode, 0, result.stdout);
  assert.ok(result.core, 'the core ran');
  return result.core.env;
}

describe('azureSubscription (Azure Resource Manager)', () => {
  test('workload identity federation: auth oidc, the job token, the OIDC request URI and the connection id', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
        env: {
          ...azureRm('WorkloadIdentityFederation', { tenantid: TENANT, serviceprincipalid: CLIENT, workloadIdentityFederationSubject: 'sc://x' }),
          ...systemVssConnection(),
          SYSTEM_OIDCREQUESTURI: OIDC_URI,
        },
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_AUTH'], 'oidc');
    assert.equal(env['INPUT_TENANTID'], TENANT);
    assert.equal(env['INPUT_CLIENTID'], CLIENT);
    assert.equal(env['INPUT_CLOUD'], 'public');
    assert.equal(env['SYSTEM_ACCESSTOKEN'], ACCESS_TOKEN);
    assert.equal(env['SYSTEM_OIDCREQUESTURI'], OIDC_URI);
    assert.equal(env['AZURESUBSCRIPTION_SERVICE_CONNECTION_ID'], ENDPOINT_ID);
    assert.equal(env['FABRIC_CI_CONNECTION'], 'azureSubscription');
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,cloud');
    assert.equal(env['INPUT_CLIENTSECRET'], undefined);
  });

  test('workload identity federation masks the job access token before anything else prints', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: {
        ...azureRm('workloadidentityfederation', { tenantid: TENANT, serviceprincipalid: CLIENT }),
        ...systemVssConnection(),
        SYSTEM_OIDCREQUESTURI: OIDC_URI,
      },
      fakes: installed(),
    });
    assert.ok(maskedValues(result.stdout).includes(ACCESS_TOKEN));
    assert.ok(maskedFirst(result.stdout, ACCESS_TOKEN));
  });

  test('workload identity federation without the job access token fails saying so', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: { ...azureRm('WorkloadIdentityFederation', { tenantid: TENANT, serviceprincipalid: CLIENT }), SYSTEM_OIDCREQUESTURI: OIDC_URI },
      fakes: installed(),
    });
    refused(
      result,
      "azureSubscription: workload identity federation needs the job's access token (SystemVssConnection), which " +
        'this step was not given: check that the pipeline may use System.AccessToken',
    );
  });

  test('a service principal with a key (spnKey): auth secret, and the key masked', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, authenticationType: 'spnKey', serviceprincipalkey: KEY }),
      fakes: installed(),
    });
    const env = signedIn(result);
    assert.equal(env['INPUT_AUTH'], 'secret');
    assert.equal(env['INPUT_TENANTID'], TENANT);
    assert.equal(env['INPUT_CLIENTID'], CLIENT);
    assert.equal(env['INPUT_CLIENTSECRET'], KEY);
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,clientSecret,cloud');
    assert.ok(maskedValues(result.stdout).includes(KEY));
    assert.ok(maskedFirst(result.stdout, KEY), 'masked before any echo');
    for (const call of result.calls) assert.ok(!call.argv.some((arg) => arg.includes(KEY)), `${call.tool} argv`);
    assert.equal(env['SYSTEM_ACCESSTOKEN'], undefined);
  });

  test('a service principal with a certificate (spnCertificate): auth certificate, the PEM masked line by line', async () => {
    const keyLines = ['MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSk', 'AgEAAoIBAQDQbGfT9rZc0x2xY3g7Jd3iVtq9WmQ'];
    const pem = ['-----BEGIN PRIVATE KEY-----', ...keyLines, '-----END PRIVATE KEY-----', '-----BEGIN CERTIFICATE-----', 'MIIC8DCCAdigAwIBAgIQ', '-----END CERTIFICATE-----'].join('\n');
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: azureRm('ServicePrincipal', {
        tenantid: TENANT,
        serviceprincipalid: CLIENT,
        authenticationType: 'spnCertificate',
        servicePrincipalCertificate: pem,
      }),
      fakes: installed(),
    });
    const env = signedIn(result);
    assert.equal(env['INPUT_AUTH'], 'certificate');
    assert.equal(env['INPUT_CLIENTCERTIFICATE'], pem);
    assert.equal(env['INPUT_CLIENTSECRET'], undefined);
    const masked = maskedValues(result.stdout);
    for (const line of keyLines) assert.ok(masked.includes(line), line);
  });

  test('a managed identity with msiclientId: auth managed-identity and that client id', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
        env: azureRm('ManagedServiceIdentity', { tenantid: TENANT }, 'AzureCloud', { msiclientId: CLIENT }),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_AUTH'], 'managed-identity');
    assert.equal(env['INPUT_CLIENTID'], CLIENT);
    assert.equal(env['INPUT_TENANTID'], undefined);
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,clientId,cloud');
  });

  test('a managed identity without msiclientId: the system-assigned identity, no client id', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
        env: azureRm('ManagedServiceIdentity', { tenantid: TENANT }),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_AUTH'], 'managed-identity');
    assert.equal(env['INPUT_CLIENTID'], undefined);
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,cloud');
  });

  test('an unsupported scheme fails naming azureSubscription, the scheme and the schemes that work', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: azureRm('PublishProfile', { tenantid: TENANT }),
      fakes: installed(),
    });
    refused(
      result,
      `azureSubscription: the service connection ${ENDPOINT_ID} uses the scheme PublishProfile, which fabric-ci cannot ` +
        'sign in with: use a connection with WorkloadIdentityFederation, ServicePrincipal (secret or certificate) or ManagedServiceIdentity',
    );
  });

  test('AzureUSGovernment without the cloud input fails asking for usgovhigh or usgovdod', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }, 'AzureUSGovernment'),
      fakes: installed(),
    });
    refused(
      result,
      'azureSubscription: the service connection is in AzureUSGovernment, where both GCC High and DoD sign in: set the ' +
        'cloud input to usgovhigh or usgovdod',
    );
  });

  test('AzureUSGovernment with cloud usgovdod: the cloud input decides, and is not a connection input', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID, cloud: 'usgovdod' },
        env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }, 'AzureUSGovernment'),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_CLOUD'], 'usgovdod');
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,clientSecret');
  });

  test('AzureChinaCloud signs in to china, even beside task.json\'s default cloud: public', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID, cloud: 'public' },
        env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }, 'AzureChinaCloud'),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_CLOUD'], 'china');
  });

  test('an Azure environment fabric-ci cannot sign in to fails naming it', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
      env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }, 'AzureStack'),
      fakes: installed(),
    });
    refused(
      result,
      "azureSubscription: the service connection is in the Azure environment 'AzureStack', where fabric-ci cannot sign in: " +
        'use a connection in AzureCloud, AzureChinaCloud or AzureUSGovernment',
    );
  });

  test('a cloud input that cannot sign in where the connection lives fails naming both', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID, cloud: 'china' },
      env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }),
      fakes: installed(),
    });
    refused(result, "cloud is 'china', but the service connection in azureSubscription is in AzureCloud: set cloud to public or usgov, or remove it");
  });

  test('endpoint variables named with the id upper-cased are found as well', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID },
        env: endpoint(ENDPOINT_ID, 'ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }, { environment: 'AzureChinaCloud' }, 'upper'),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_CLIENTSECRET'], KEY);
    assert.equal(env['INPUT_CLOUD'], 'china', 'the environment (endpoint data) was read');
  });

  test('a connection this step was not given fails naming the input', async () => {
    const result = await runTask({ inputs: { ...BASE, azureSubscription: ENDPOINT_ID }, fakes: installed() });
    refused(
      result,
      `azureSubscription names the service connection '${ENDPOINT_ID}', which this step was not given: check the ` +
        "connection's name, and that this pipeline is allowed to use it",
    );
  });
});

describe('fabricConnection (the extension\'s own connection)', () => {
  test('a service principal: auth secret, the cloud from the connection (over the default cloud: public)', async () => {
    const result = await runTask({
      inputs: { ...BASE, fabricConnection: ENDPOINT_ID, cloud: 'public' },
      env: endpoint(
        ENDPOINT_ID,
        'ServicePrincipal',
        { tenantId: TENANT, servicePrincipalId: CLIENT, servicePrincipalKey: KEY, authenticationType: 'spnKey' },
        { environment: 'USGovDoD' },
      ),
      fakes: installed(),
    });
    const env = signedIn(result);
    assert.equal(env['INPUT_AUTH'], 'secret');
    assert.equal(env['INPUT_TENANTID'], TENANT);
    assert.equal(env['INPUT_CLIENTID'], CLIENT);
    assert.equal(env['INPUT_CLIENTSECRET'], KEY);
    assert.equal(env['INPUT_CLOUD'], 'usgovdod');
    assert.equal(env['FABRIC_CI_CONNECTION'], 'fabricConnection');
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,clientSecret,cloud');
    assert.ok(maskedValues(result.stdout).includes(KEY));
  });

  test('username and password: auth user-password with the tenant and client id, the password masked', async () => {
    const password = 'Pa55-word!ZZ';
    // The parameter keys are the input descriptor ids of vss-extension.json's basic scheme.
    const result = await runTask({
      inputs: { ...BASE, fabricConnection: ENDPOINT_ID },
      env: endpoint(
        ENDPOINT_ID,
        'UsernamePassword',
        { tenantId: TENANT, clientId: CLIENT, username: 'deployer@contoso.com', password },
        { environment: 'Public' },
      ),
      fakes: installed(),
    });
    const env = signedIn(result);
    assert.equal(env['INPUT_AUTH'], 'user-password');
    assert.equal(env['INPUT_TENANTID'], TENANT);
    assert.equal(env['INPUT_CLIENTID'], CLIENT);
    assert.equal(env['INPUT_USERNAME'], 'deployer@contoso.com');
    assert.equal(env['INPUT_PASSWORD'], password);
    assert.equal(env['INPUT_CLOUD'], 'public');
    assert.equal(env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,username,password,cloud');
    assert.ok(maskedValues(result.stdout).includes(password));
  });

  test('a username and password connection without a tenant id (made before it was asked for) fails naming it', async () => {
    const result = await runTask({
      inputs: { ...BASE, fabricConnection: ENDPOINT_ID },
      env: endpoint(ENDPOINT_ID, 'UsernamePassword', { username: 'deployer@contoso.com', password: 'Pa55-word!ZZ' }, { environment: 'Public' }),
      fakes: installed(),
    });
    refused(result, `fabricConnection: the service connection ${ENDPOINT_ID} gives no tenantId: edit the connection, or choose another one`);
  });

  test('a cloud input other than the connection\'s fails naming both', async () => {
    const result = await runTask({
      inputs: { ...BASE, fabricConnection: ENDPOINT_ID, cloud: 'usgov' },
      env: endpoint(ENDPOINT_ID, 'UsernamePassword', { tenantId: TENANT, clientId: CLIENT, username: 'u@contoso.com', password: 'p-w-d-1234' }, { environment: 'China' }),
      fakes: installed(),
    });
    refused(result, "cloud is 'usgov', but the connection in fabricConnection is for China (china): remove cloud, or set it to china");
  });
});

describe('choosing the sign-in', () => {
  test('a connection and a sign-in input at once fail naming both', async () => {
    const result = await runTask({
      inputs: { ...BASE, azureSubscription: ENDPOINT_ID, clientSecret: 'typed-secret' },
      env: azureRm('ServicePrincipal', { tenantid: TENANT, serviceprincipalid: CLIENT, serviceprincipalkey: KEY }),
      fakes: installed(),
    });
    refused(result, 'azureSubscription and clientSecret are both given: sign in with one of them, and remove the other');
  });

  test('two connections at once fail naming both', async () => {
    const result = await runTask({ inputs: { ...BASE, azureSubscription: ENDPOINT_ID, fabricConnection: 'other-id' }, fakes: installed() });
    refused(result, 'azureSubscription and fabricConnection are both given: sign in with one of them, and remove the other');
  });

  test('auth other than auto counts as signing in with the inputs', async () => {
    const result = await runTask({ inputs: { ...BASE, fabricConnection: ENDPOINT_ID, auth: 'managed-identity' }, fakes: installed() });
    refused(result, 'fabricConnection and auth are both given: sign in with one of them, and remove the other');
  });

  test('auth: auto beside a connection is no conflict: the connection sets auth', async () => {
    const env = signedIn(
      await runTask({
        inputs: { ...BASE, azureSubscription: ENDPOINT_ID, auth: 'auto' },
        env: azureRm('ManagedServiceIdentity', {}),
        fakes: installed(),
      }),
    );
    assert.equal(env['INPUT_AUTH'], 'managed-identity');
  });

  test('no sign-in at all fails naming the three ways', async () => {
    const result = await runTask({ inputs: { ...BASE }, fakes: installed() });
    refused(
      result,
      'No sign-in is given: set azureSubscription (an Azure Resource Manager service connection: workload identity ' +
        'federation, a service principal or a managed identity), or fabricConnection (a fabric-ci service connection: ' +
        `a service principal or a user), or the sign-in inputs (${taskConfig('FabricCiDeployAll').signIn.join(', ')})`,
    );
  });
});
