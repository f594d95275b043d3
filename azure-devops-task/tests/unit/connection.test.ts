/** Service connection details -> sign-in inputs, against a fake of what task-lib reads. */
import './setup';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { azureRmCloud, fabricCloud, fromAzureSubscription, fromFabricConnection } from '../../src/connection';
import type { Endpoints } from '../../src/connection';

function endpoints(scheme: string | undefined, params: Record<string, string>, data: Record<string, string> = {}, variables: Record<string, string> = {}): Endpoints {
  const lower = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
  const p = lower(params);
  const d = lower(data);
  return {
    scheme: () => scheme,
    param: (_id, key) => p[key.toLowerCase()],
    secretParam: (_id, key) => p[key.toLowerCase()],
    data: (_id, key) => d[key.toLowerCase()],
    variable: (name) => variables[name],
  };
}

describe('the cloud of an AzureRM connection', () => {
  test('follows the environment when no cloud is given', () => {
    assert.equal(azureRmCloud('AzureCloud', undefined), 'public');
    assert.equal(azureRmCloud('azurechinacloud', undefined), 'china');
  });

  test('cloud: public (task.json\'s default, sent as if given) is no choice beside a connection', () => {
    assert.equal(azureRmCloud('AzureChinaCloud', 'public'), 'china');
    assert.throws(() => azureRmCloud('AzureUSGovernment', 'Public'), /set the cloud input to usgovhigh or usgovdod/);
    assert.equal(fabricCloud('USGovHigh', 'public'), 'usgovhigh');
  });

  test('a given cloud decides, if it signs in where the connection lives', () => {
    assert.equal(azureRmCloud('AzureCloud', 'usgov'), undefined);
    assert.equal(azureRmCloud('AzureUSGovernment', 'USGovHigh'), undefined);
    assert.throws(() => azureRmCloud('AzureUSGovernment', 'china'), /^TaskError: cloud is 'china', but the service connection in azureSubscription is in AzureUSGovernment: set cloud to usgovhigh or usgovdod, or remove it$/);
  });

  test('AzureUSGovernment alone cannot tell GCC High from DoD; an unknown or missing environment is refused', () => {
    assert.throws(() => azureRmCloud('AzureUSGovernment', undefined), /set the cloud input to usgovhigh or usgovdod/);
    assert.throws(() => azureRmCloud('AzureGermanCloud', undefined), /the Azure environment 'AzureGermanCloud', where fabric-ci cannot sign in/);
    assert.throws(() => azureRmCloud(undefined, undefined), /the Azure environment '', where fabric-ci cannot sign in/);
  });
});

describe('the cloud of a fabric-ci connection', () => {
  test('each environment choice maps to the core\'s cloud', () => {
    for (const [choice, cloud] of [['Public', 'public'], ['USGov', 'usgov'], ['USGovHigh', 'usgovhigh'], ['USGovDoD', 'usgovdod'], ['China', 'china']]) {
      assert.equal(fabricCloud(choice, undefined), cloud, choice);
    }
  });

  test('a cloud input that agrees changes nothing; one that does not is refused; an unknown choice too', () => {
    assert.equal(fabricCloud('China', 'CHINA'), undefined);
    assert.throws(() => fabricCloud('USGov', 'usgovhigh'), /^TaskError: cloud is 'usgovhigh', but the connection in fabricConnection is for USGov \(usgov\)/);
    assert.throws(() => fabricCloud('Germany', undefined), /environment is 'Germany'; expected Public, USGov, USGovHigh, USGovDoD or China/);
  });
});

describe('AzureRM schemes', () => {
  test('a service principal without authenticationType is key-based', () => {
    const signIn = fromAzureSubscription('id', undefined, endpoints('ServicePrincipal', { tenantid: 't', serviceprincipalid: 'c', serviceprincipalkey: 'k' }, { environment: 'AzureCloud' }));
    assert.deepEqual(signIn.inputs, { auth: 'secret', tenantId: 't', clientId: 'c', clientSecret: 'k', cloud: 'public' });
  });

  test('a missing parameter is named, with the connection', () => {
    assert.throws(
      () => fromAzureSubscription('id-1', undefined, endpoints('ServicePrincipal', { tenantid: 't', serviceprincipalid: 'c' }, { environment: 'AzureCloud' })),
      { message: 'azureSubscription: the service connection id-1 gives no serviceprincipalkey: edit the connection, or choose another one' },
    );
  });

  test('an unknown authenticationType is refused', () => {
    assert.throws(
      () => fromAzureSubscription('id', undefined, endpoints('ServicePrincipal', { tenantid: 't', serviceprincipalid: 'c', authenticationType: 'spnManaged' })),
      /authenticationType 'spnManaged'; fabric-ci signs in with spnKey \(a secret\) or spnCertificate/,
    );
  });

  test('workload identity federation needs System.OidcRequestUri', () => {
    const ep = endpoints('WorkloadIdentityFederation', { tenantid: 't', serviceprincipalid: 'c', accesstoken: 'tok' }, { environment: 'AzureCloud' });
    assert.throws(() => fromAzureSubscription('id', undefined, ep), /needs the variable System\.OidcRequestUri, which this agent did not set/);
    const ok = fromAzureSubscription('id', undefined, { ...ep, variable: () => 'https://oidc.example/' });
    assert.deepEqual(ok.env, {
      SYSTEM_ACCESSTOKEN: 'tok',
      SYSTEM_OIDCREQUESTURI: 'https://oidc.example/',
      AZURESUBSCRIPTION_SERVICE_CONNECTION_ID: 'id',
      FABRIC_CI_CONNECTION: 'azureSubscription',
      FABRIC_CI_CONNECTION_INPUTS: 'auth,tenantId,clientId,cloud',
    });
  });

  test('a fabric-ci connection with username and password gives the tenant and client id with them', () => {
    const signIn = fromFabricConnection('id', undefined, endpoints('UsernamePassword', { tenantId: 't', clientId: 'c', username: 'u@contoso.com', password: 'p' }, { environment: 'Public' }));
    assert.deepEqual(signIn.inputs, { auth: 'user-password', tenantId: 't', clientId: 'c', username: 'u@contoso.com', password: 'p', cloud: 'public' });
    assert.equal(signIn.env['FABRIC_CI_CONNECTION_INPUTS'], 'auth,tenantId,clientId,username,password,cloud');
    assert.throws(
      () => fromFabricConnection('id-2', undefined, endpoints('UsernamePassword', { tenantId: 't', username: 'u', password: 'p' }, { environment: 'Public' })),
      { message: 'fabricConnection: the service connection id-2 gives no clientId: edit the connection, or choose another one' },
    );
  });

  test('a fabric-ci connection with another scheme is refused', () => {
    assert.throws(() => fromFabricConnection('id', undefined, endpoints('Token', {}, { environment: 'Public' })), /uses the scheme Token; a fabric-ci connection signs in with ServicePrincipal or UsernamePassword/);
  });
});
