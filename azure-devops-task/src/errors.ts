/**
 * The two ways the wrapper gives up: a TaskError ends the step with its message (which names the
 * input to change); a RuntimeUnavailable says one runtime cannot run here, so that `runtime: auto`
 * can try the next one and, if none works, list every reason at once.
 */

export class TaskError extends Error {
  override name = 'TaskError';
}

export type RuntimeName = 'installed' | 'python' | 'docker';

export class RuntimeUnavailable extends Error {
  override name = 'RuntimeUnavailable';

  /**
   * @param reason what is wrong, as a fact ("python3 on PATH is Python 3.10.12; ...")
   * @param fix    what to do about it, when it is not the runtime's usual advice
   */
  constructor(
    readonly runtime: RuntimeName,
    readonly reason: string,
    readonly fix?: string,
  ) {
    super(`${runtime}: ${reason}`);
  }
}
