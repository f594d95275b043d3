/**
 * Running the core: its stdio is the wrapper's (the agent reads its ##vso lines directly), cancel
 * signals are passed on, and its exit status decides whether the wrapper must report a result.
 */
import { spawn } from 'child_process';
import { track } from './signals';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** What runs, for the log: "fabric-ci on PATH (/usr/local/bin/fabric-ci)". */
  readonly describe: string;
}

export type Ended =
  | { readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly error: Error };

export function runChild(launch: Launch): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(launch.command, launch.args, { env: launch.env, stdio: 'inherit', windowsHide: true });
    const untrack = track(child);
    let settled = false;
    const settle = (ended: Ended): void => {
      if (settled) return;
      settled = true;
      untrack();
      resolve(ended);
    };
    child.on('error', (error) => settle({ error }));
    child.on('close', (code, signal) => settle({ code, signal }));
  });
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };

export interface Outcome {
  readonly exitCode: number;
  /** Set when the core could not report a result itself: the wrapper reports this one. */
  readonly failure?: string;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15 };

/**
 * 0, 1 and 2 are the core's own (success, failed, bad input): it has written the result. So is
 * 128+N after the wrapper passed the cancel signal N on: the core ends that way when it handled the
 * cancel (and reported it). Anything else means it could not report: a crash, or a kill.
 */
export function outcome(ended: Ended, what: string, cancel?: NodeJS.Signals): Outcome {
  if ('error' in ended) return { exitCode: 1, failure: `${what} could not be started: ${ended.error.message}` };
  const { code, signal } = ended;
  if (code === 0 || code === 1 || code === 2) return { exitCode: code };
  if (cancel !== undefined && code === 128 + (SIGNAL_NUMBERS[cancel] ?? -128)) return { exitCode: code };
  if (signal) return { exitCode: 1, failure: `${what} was stopped by ${signal} before it reported a result` };
  if (code !== null && code > 128 && code < 160) {
    const name = SIGNAL_NAMES[code - 128] ?? `signal ${code - 128}`;
    return { exitCode: 1, failure: `${what} ended with exit code ${code} (stopped by ${name})` };
  }
  return { exitCode: 1, failure: `${what} ended with exit code ${code ?? 'unknown'} without reporting a result` };
}
