/**
 * Service connections -> the core's sign-in inputs. An Azure Resource Manager connection
 * (`azureSubscription`) gives workload identity federation, a service principal or a managed
 * identity; the extension's own `fabric-ci` connection (`fabricConnection`) a service principal or
 * a user. What a connection supplies is passed to the core as the inputs a user would have typed
 * (INPUT_TENANTID, ...), and FABRIC_CI_CONNECTION(_INPUTS) say so, so the core's messages can name
 * the connection rather than inputs the user never set.
 */
import * as tl from 'azure-pipelines-task-lib/task';
import { TaskError } from './errors';
import { readSecret } from './secrets';

export type ConnectionInput = 'azureSubscription' | 'fabricConnection';

/** What task-lib tells about the endpoints this step was given; an interface so tests can fake it. */
export interface Endpoints {
  scheme(id: string): string | undefined;
  param(id: string, key: string): string | undefined;
  /** A secret parameter: read without task-lib's debug echo and masked before it is returned. */
  secretParam(id: string, key: string): string | undefined;
  data(id: string, key: string): string | undefined;
  variable(name: string): string | undefined;
}

export const agentEndpoints: Endpoints = {
  scheme: (id) => tl.getEndpointAuthorizationScheme(id, true),
  param: (id, key) => tl.getEndpointAuthorizationParameter(id, key, true),
  secretParam: (id, key) => readSecret(() => tl.getEndpointAuthorizationParameter(id, key, true)),
  data: (id, key) => {
    // task-lib finds auth parameters case-insensitively (its vault) but reads data straight from
    // process.env, case-sensitively off Windows: the agent names both with the id as Guid.ToString()
    // (lower case) gives it, others may not, so the two lookups are made to agree.
    for (const spelling of new Set([id, id.toLowerCase(), id.toUpperCase()])) {
      const value = tl.getEndpointDataParameter(spelling, key, true);
      if (value !== undefined) return value;
    }
    return undefined;
  },
  variable: (name) => tl.getVariable(name),
};

export interface ConnectionSignIn {
  readonly input: ConnectionInput;
  /** Task input name -> value, as if the user had given them. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Further variables for the child (FABRIC_CI_CONNECTION, and for OIDC what it needs to ask for tokens). */
  readonly env: Readonly<Record<string, string>>;
}

const AZURERM_SCHEMES = 'WorkloadIdentityFederation, ServicePrincipal (secret or certificate) or ManagedServiceIdentity';

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

function required(input: ConnectionInput, id: string, key: string, value: string | undefined): string {
  if (!present(value)) {
    throw new TaskError(
      `${input}: the service connection ${id} gives no ${key}: edit the connection, or choose another one`,
    );
  }
  // As given: a password or a PEM certificate is passed on exactly; the core trims what it parses.
  return value;
}

function checkPresent(input: ConnectionInput, id: string, endpoints: Endpoints): string {
  const scheme = endpoints.scheme(id);
  if (!present(scheme)) {
    throw new TaskError(
      `${input} names the service connection '${id}', which this step was not given: check the ` +
        "connection's name, and that this pipeline is allowed to use it",
    );
  }
  return scheme;
}

function signedIn(input: ConnectionInput, inputs: Record<string, string>, env: Record<string, string> = {}): ConnectionSignIn {
  return {
    input,
    inputs,
    env: { ...env, FABRIC_CI_CONNECTION: input, FABRIC_CI_CONNECTION_INPUTS: Object.keys(inputs).join(',') },
  };
}

/** A service principal, as AzureRM and the fabric-ci connection both spell it (keys are case-insensitive). */
function servicePrincipal(input: ConnectionInput, id: string, endpoints: Endpoints): Record<string, string> {
  const tenantId = required(input, id, 'tenantid', endpoints.param(id, 'tenantid'));
  const clientId = required(input, id, 'serviceprincipalid', endpoints.param(id, 'serviceprincipalid'));
  // Connections made before certificates existed carry no authenticationType: they are key-based.
  const kind = (endpoints.param(id, 'authenticationType') ?? 'spnKey').trim().toLowerCase();
  if (kind === 'spnkey') {
    const secret = required(input, id, 'serviceprincipalkey', endpoints.secretParam(id, 'serviceprincipalkey'));
    return { auth: 'secret', tenantId, clientId, clientSecret: secret };
  }
  if (kind === 'spncertificate') {
    const pem = required(input, id, 'servicePrincipalCertificate', endpoints.secretParam(id, 'servicePrincipalCertificate'));
    return { auth: 'certificate', tenantId, clientId, clientCertificate: pem };
  }
  throw new TaskError(
    `${input}: the service connection ${id} is a service principal with authenticationType ` +
      `'${endpoints.param(id, 'authenticationType')}'; fabric-ci signs in with spnKey (a secret) or spnCertificate`,
  );
}

// Azure environments and the Fabric clouds that sign in there: GCC (usgov) uses the commercial
// Entra ID, GCC High and DoD both use Azure Government's, so that one cannot be told apart.
const AZURE_ENVIRONMENTS: Readonly<Record<string, { readonly name: string; readonly clouds: readonly string[] }>> = {
  azurecloud: { name: 'AzureCloud', clouds: ['public', 'usgov'] },
  azurechinacloud: { name: 'AzureChinaCloud', clouds: ['china'] },
  azureusgovernment: { name: 'AzureUSGovernment', clouds: ['usgovhigh', 'usgovdod'] },
};

/**
 * The `cloud` input as a choice beside a connection. task.json gives `cloud` the default `public`,
 * and the agent sends a default exactly as if it had been typed: so `public` cannot tell a choice
 * from no choice, and beside a connection it is taken as none (the connection decides).
 */
export function chosenCloud(givenCloud: string | undefined): string | undefined {
  if (!present(givenCloud) || givenCloud.trim().toLowerCase() === 'public') return undefined;
  return givenCloud;
}

function orList(values: readonly string[]): string {
  return values.length <= 1 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/**
 * The cloud for an AzureRM connection: the `cloud` input when given (it must be one that signs in
 * where the connection lives), else the one the connection's environment implies. Returns
 * undefined when the `cloud` input decides (the connection supplies nothing then).
 */
export function azureRmCloud(environment: string | undefined, cloudInput: string | undefined): string | undefined {
  const givenCloud = chosenCloud(cloudInput);
  const known = AZURE_ENVIRONMENTS[(environment ?? '').trim().toLowerCase()];
  if (known === undefined) {
    throw new TaskError(
      `azureSubscription: the service connection is in the Azure environment '${environment ?? ''}', where fabric-ci ` +
        'cannot sign in: use a connection in AzureCloud, AzureChinaCloud or AzureUSGovernment',
    );
  }
  if (present(givenCloud)) {
    if (!known.clouds.includes(givenCloud.trim().toLowerCase())) {
      throw new TaskError(
        `cloud is '${givenCloud}', but the service connection in azureSubscription is in ${known.name}: set cloud ` +
          `to ${orList(known.clouds)}, or remove it`,
      );
    }
    return undefined;
  }
  if (known.name === 'AzureUSGovernment') {
    throw new TaskError(
      'azureSubscription: the service connection is in AzureUSGovernment, where both GCC High and DoD sign in: ' +
        'set the cloud input to usgovhigh or usgovdod',
    );
  }
  return known.clouds[0];
}

// The fabric-ci connection's environment choice (vss-extension.json) -> the core's cloud names.
const FABRIC_ENVIRONMENTS: Readonly<Record<string, string>> = {
  public: 'public',
  usgov: 'usgov',
  usgovhigh: 'usgovhigh',
  usgovdod: 'usgovdod',
  china: 'china',
};

/** The cloud a fabric-ci connection is for; a `cloud` input that says otherwise is a contradiction. */
export function fabricCloud(environment: string | undefined, cloudInput: string | undefined): string | undefined {
  const givenCloud = chosenCloud(cloudInput);
  const cloud = FABRIC_ENVIRONMENTS[(environment ?? '').trim().toLowerCase()];
  if (cloud === undefined) {
    throw new TaskError(
      `fabricConnection: the connection's environment is '${environment ?? ''}'; expected Public, USGov, ` +
        'USGovHigh, USGovDoD or China: edit the connection',
    );
  }
  if (present(givenCloud)) {
    if (givenCloud.trim().toLowerCase() !== cloud) {
      throw new TaskError(
        `cloud is '${givenCloud}', but the connection in fabricConnection is for ${environment} (${cloud}): ` +
          `remove cloud, or set it to ${cloud}`,
      );
    }
    return undefined;
  }
  return cloud;
}

export function fromAzureSubscription(id: string, givenCloud: string | undefined, endpoints: Endpoints): ConnectionSignIn {
  const input: ConnectionInput = 'azureSubscription';
  const scheme = checkPresent(input, id, endpoints);
  const withCloud = (inputs: Record<string, string>): Record<string, string> => {
    const cloud = azureRmCloud(endpoints.data(id, 'environment'), givenCloud);
    return cloud === undefined ? inputs : { ...inputs, cloud };
  };
  switch (scheme.trim().toLowerCase()) {
    case 'workloadidentityfederation': {
      const tenantId = required(input, id, 'tenantid', endpoints.param(id, 'tenantid'));
      const clientId = required(input, id, 'serviceprincipalid', endpoints.param(id, 'serviceprincipalid'));
      const token = endpoints.secretParam('SystemVssConnection', 'AccessToken');
      if (!present(token)) {
        throw new TaskError(
          "azureSubscription: workload identity federation needs the job's access token (SystemVssConnection), " +
            'which this step was not given: check that the pipeline may use System.AccessToken',
        );
      }
      const requestUri = endpoints.variable('System.OidcRequestUri');
      if (!present(requestUri)) {
        throw new TaskError(
          'azureSubscription: workload identity federation needs the variable System.OidcRequestUri, which this ' +
            'agent did not set: update the agent, or use a connection with a service principal secret',
        );
      }
      return signedIn(input, withCloud({ auth: 'oidc', tenantId, clientId }), {
        SYSTEM_ACCESSTOKEN: token,
        SYSTEM_OIDCREQUESTURI: requestUri,
        AZURESUBSCRIPTION_SERVICE_CONNECTION_ID: id,
      });
    }
    case 'serviceprincipal':
      return signedIn(input, withCloud(servicePrincipal(input, id, endpoints)));
    case 'managedserviceidentity': {
      const clientId = endpoints.data(id, 'msiclientId');
      const inputs: Record<string, string> = { auth: 'managed-identity' };
      // Empty: the system-assigned identity; a client id picks a user-assigned one.
      if (present(clientId)) inputs['clientId'] = clientId;
      return signedIn(input, withCloud(inputs));
    }
    default:
      throw new TaskError(
        `azureSubscription: the service connection ${id} uses the scheme ${scheme}, which fabric-ci cannot sign ` +
          `in with: use a connection with ${AZURERM_SCHEMES}`,
      );
  }
}

export function fromFabricConnection(id: string, givenCloud: string | undefined, endpoints: Endpoints): ConnectionSignIn {
  const input: ConnectionInput = 'fabricConnection';
  const scheme = checkPresent(input, id, endpoints);
  const withCloud = (inputs: Record<string, string>): Record<string, string> => {
    const cloud = fabricCloud(endpoints.data(id, 'environment'), givenCloud);
    return cloud === undefined ? inputs : { ...inputs, cloud };
  };
  switch (scheme.trim().toLowerCase()) {
    case 'serviceprincipal':
      return signedIn(input, withCloud(servicePrincipal(input, id, endpoints)));
    case 'usernamepassword': {
      // The basic scheme's own username and password, and the two inputs vss-extension.json adds to
      // it: Entra ID's password grant needs the tenant and a public client application.
      const tenantId = required(input, id, 'tenantId', endpoints.param(id, 'tenantId'));
      const clientId = required(input, id, 'clientId', endpoints.param(id, 'clientId'));
      const username = required(input, id, 'username', endpoints.param(id, 'username'));
      const password = required(input, id, 'password', endpoints.secretParam(id, 'password'));
      return signedIn(input, withCloud({ auth: 'user-password', tenantId, clientId, username, password }));
    }
    default:
      throw new TaskError(
        `fabricConnection: the connection ${id} uses the scheme ${scheme}; a fabric-ci connection signs in ` +
          'with ServicePrincipal or UsernamePassword',
      );
  }
}
