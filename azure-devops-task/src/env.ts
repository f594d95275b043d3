/**
 * The core's environment: the wrapper's own (when it loaded, task-lib moved every non-empty
 * INPUT_*, ENDPOINT_AUTH_*, SECRET_*, SECUREFILE_TICKET_* and VSTS_TASKVARIABLE_* into its vault and
 * out of process.env: internal.ts `_loadData`) plus, for each core input given, INPUT_<NAME> as the
 * agent spells it, and what a service connection and the agent's proxy add. Values travel only
 * here, never on a command line.
 */

/** The agent's spelling of an input's variable: upper-cased, `.` and space as `_`. */
export function inputVariable(name: string): string {
  return 'INPUT_' + name.replace(/\./g, '_').replace(/ /g, '_').toUpperCase();
}

// The agent sets INPUT_<NAME> for every input, "" when not given; task-lib leaves the empty ones
// in process.env (it moves only values). Those, and any from an outer job, are never the core's.
const STALE = [/^INPUT_/i, /^FABRIC_CI_CONNECTION(_INPUTS)?$/i];

/** The environment of probes and pip: the wrapper's, without those leftovers, plus `extra` (the agent's proxy). */
export function helperEnvironment(base: NodeJS.ProcessEnv, extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value !== undefined && !STALE.some((pattern) => pattern.test(name))) env[name] = value;
  }
  return { ...env, ...extra };
}

export function childEnvironment(
  base: NodeJS.ProcessEnv,
  inputs: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const env = helperEnvironment(base, {});
  env['TF_BUILD'] = 'True';
  // Python buffers a pipe's output: the agent would see the core's ##vso lines late, out of order.
  env['PYTHONUNBUFFERED'] = '1';
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value;
  return { ...env, ...extra };
}

/**
 * For the python runtime (probes, venv, pip, the core from its venv): without PYTHONPATH and
 * PYTHONHOME. A pipeline's `PYTHONPATH: $(System.DefaultWorkingDirectory)` (common for its own
 * tests) would put the repository's modules before the venv's, as `-P` keeps them out of
 * sys.path[0]; PYTHONHOME would point the venv's python at another installation. Python's `-I`
 * would drop these too, but also every other PYTHON* setting the core should keep
 * (PYTHONUNBUFFERED, PYTHONIOENCODING, PYTHONUTF8, PYTHONWARNINGS).
 */
export function withoutPythonPath(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !/^PYTHON(PATH|HOME)$/i.test(name)) kept[name] = value;
  }
  return kept;
}
