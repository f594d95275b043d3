/**
 * Where the sign-in comes from: exactly one of an Azure Resource Manager connection
 * (`azureSubscription`), a fabric-ci connection (`fabricConnection`), or the sign-in inputs
 * themselves. Two at once would leave it to chance which credential the core uses.
 */
import { TaskError } from './errors';
import type { GivenInputs } from './inputs';

export type SignInSource =
  | { readonly kind: 'azureSubscription'; readonly id: string }
  | { readonly kind: 'fabricConnection'; readonly id: string }
  | { readonly kind: 'inputs'; readonly names: readonly string[] };

/** The sign-in inputs given, in fabric-ci.json's order; `auth: auto` alone decides nothing. */
export function explicitSignIn(signIn: readonly string[], given: GivenInputs): string[] {
  return signIn.filter((name) => {
    const value = given[name];
    if (value === undefined) return false;
    return !(name === 'auth' && value.trim().toLowerCase() === 'auto');
  });
}

function andList(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function noSignIn(signIn: readonly string[]): string {
  return (
    'No sign-in is given: set azureSubscription (an Azure Resource Manager service connection: workload ' +
    'identity federation, a service principal or a managed identity), or fabricConnection (a fabric-ci ' +
    `service connection: a service principal or a user), or the sign-in inputs (${signIn.join(', ')})`
  );
}

export function chooseSource(
  signIn: readonly string[],
  given: GivenInputs,
  connections: { readonly azureSubscription?: string; readonly fabricConnection?: string },
): SignInSource {
  const explicit = explicitSignIn(signIn, given);
  const named: string[] = [];
  if (connections.azureSubscription !== undefined) named.push('azureSubscription');
  if (connections.fabricConnection !== undefined) named.push('fabricConnection');
  if (explicit.length === 1) named.push(explicit[0] as string);
  else if (explicit.length > 1) named.push(`the sign-in inputs ${explicit.join(', ')}`);

  if (named.length > 1) {
    const verb = named.length === 2 ? 'are both given' : 'are all given';
    const rest = named.length === 2 ? 'the other' : 'the others';
    throw new TaskError(`${andList(named)} ${verb}: sign in with one of them, and remove ${rest}`);
  }
  if (connections.azureSubscription !== undefined) return { kind: 'azureSubscription', id: connections.azureSubscription };
  if (connections.fabricConnection !== undefined) return { kind: 'fabricConnection', id: connections.fabricConnection };
  if (explicit.length > 0) return { kind: 'inputs', names: explicit };
  throw new TaskError(noSignIn(signIn));
}
