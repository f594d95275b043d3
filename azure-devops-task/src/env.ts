/**
 * The core's environment: the wrapper's own (task-lib has already taken INPUT_*, ENDPOINT_AUTH_*
 * and SECRET_* out of it) plus, for each core input given, INPUT_<NAME> as the agent spells it,
 * and what a service connection adds. Values travel only here, never on a command line.
 */

/** The agent's spelling of an input's variable: upper-cased, `.` and space as `_`. */
export function inputVariable(name: string): string {
  return 'INPUT_' + name.replace(/\./g, '_').replace(/ /g, '_').toUpperCase();
}

// Left over from the agent (blank inputs task-lib kept) or from an outer job: never the core's.
const STALE = [/^INPUT_/i, /^FABRIC_CI_CONNECTION(_INPUTS)?$/i];

export function childEnvironment(
  base: NodeJS.ProcessEnv,
  inputs: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !STALE.some((pattern) => pattern.test(name))) env[name] = value;
  }
  env['TF_BUILD'] = 'True';
  // Python buffers a pipe's output: the agent would see the core's ##vso lines late, out of order.
  env['PYTHONUNBUFFERED'] = '1';
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
  return { ...env, ...extra };
}
