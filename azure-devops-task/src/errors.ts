/**
 * The ways the wrapper gives up: a TaskError ends the step with its message (which names the input
 * to change); a Cancelled is the agent's cancel, seen before the core started; a RuntimeUnavailable
 * says one runtime cannot run here, so that `runtime: auto` can try the next one and, if none
 * works, list every reason at once.
 */

export class TaskError extends Error {
  override name = 'TaskError';
}

/** The agent cancelled the step while the wrapper was still getting ready: reported as it is, no other runtime tried. */
export class Cancelled extends TaskError {
  override name = 'Cancelled';

  /** @param during what was going on, "while preparing the Python environment" */
  constructor(during: string, signal: NodeJS.Signals) {
    super(`cancelled ${during} (${signal}); fabric-ci did not run`);
  }
}

export type RuntimeName = 'installed' | 'python' | 'docker';

export class RuntimeUnavailable extends Error {
  override name = 'RuntimeUnavailable';

  /**
   * @param reason what is wrong, as a fact ("python3 on PATH is Python 3.10.12; ...")
   * @param fix    what to do about it, when it is not the runtime's usual advice
   * @param final  the user's own choice (pythonPath, UsePythonVersion) does not work: trying
   *               another runtime would hide that, so `auto` stops here
   */
  constructor(
    readonly runtime: RuntimeName,
    readonly reason: string,
    readonly fix?: string,
    readonly final = false,
  ) {
    super(`${runtime}: ${reason}`);
  }
}
