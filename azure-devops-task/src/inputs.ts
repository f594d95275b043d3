/**
 * The task's inputs, read through task-lib (which has already moved them out of the environment):
 * the core's inputs, passed on to the child unchanged, and the wrapper's own four.
 */
import * as tl from 'azure-pipelines-task-lib/task';
import type { TaskConfig } from './config';
import { TaskError } from './errors';
import { isFilePath, readSecret } from './secrets';

/** Task input name -> value, for the core inputs that were given (non-blank). */
export type GivenInputs = Record<string, string>;

export type RuntimeChoice = 'auto' | 'installed' | 'python' | 'docker';
export const RUNTIMES: readonly RuntimeChoice[] = ['auto', 'installed', 'python', 'docker'];

export interface WrapperInputs {
  readonly azureSubscription?: string;
  readonly fabricConnection?: string;
  readonly runtime: RuntimeChoice;
  readonly pythonPath?: string;
}

function given(value: string | undefined): value is string {
  // The agent sets every declared input, unset ones as empty strings: blank means not given.
  return value !== undefined && value.trim() !== '';
}

export function readCoreInputs(config: TaskConfig): GivenInputs {
  const secrets = new Set(config.secrets);
  const values: GivenInputs = {};
  for (const name of Object.keys(config.inputs)) {
    const value = secrets.has(name)
      ? readSecret(
          () => tl.getInput(name, false),
          // The certificate may be the path of a file in the workspace: a path is not worth hiding.
          (raw) => !(name === 'clientCertificate' && isFilePath(raw)),
        )
      : tl.getInput(name, false);
    // Values go on as given (untrimmed): a PEM certificate or a note keeps its exact text.
    if (given(value)) values[name] = value;
  }
  return values;
}

function optional(name: string): string | undefined {
  const value = tl.getInput(name, false);
  return given(value) ? value.trim() : undefined;
}

export function readWrapperInputs(): WrapperInputs {
  const runtime = (optional('runtime') ?? 'auto').toLowerCase();
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw new TaskError(`runtime: expected one of ${RUNTIMES.join(', ')}, got '${runtime}'`);
  }
  const azureSubscription = optional('azureSubscription');
  const fabricConnection = optional('fabricConnection');
  const pythonPath = optional('pythonPath');
  return {
    runtime: runtime as RuntimeChoice,
    ...(azureSubscription !== undefined && { azureSubscription }),
    ...(fabricConnection !== undefined && { fabricConnection }),
    ...(pythonPath !== undefined && { pythonPath }),
  };
}
