/**
 * Running the core. Its stdout passes through the wrapper, every chunk written on unchanged and in
 * order (the agent reads the core's ##vso lines from it), so that the wrapper can see whether the
 * core reported a result; stdin and stderr are the wrapper's own. Cancel signals reach its whole
 * tree (signals.ts), and its exit status decides whether the wrapper must report a result.
 */
import { spawn } from 'child_process';
import { track } from './signals';
import { treeOptions } from './tree';
import { CompletionWatch } from './watch';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** What runs, for the log: "fabric-ci on PATH (/usr/local/bin/fabric-ci)". */
  readonly describe: string;
}

export type Ended =
  | { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly reported: boolean }
  | { readonly error: Error };

/** Resolves once everything written so far to stdout has been handed on, so that what follows comes after it. */
function flushed(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}

export function runChild(launch: Launch): Promise<Ended> {
  return new Promise((resolve) => {
    const child = spawn(launch.command, launch.args, {
      env: launch.env,
      stdio: ['inherit', 'pipe', 'inherit'],
      ...treeOptions(process.platform),
    });
    const untrack = track(child);
    const watch = new CompletionWatch();
    child.stdout.on('data', (chunk: Buffer) => {
      watch.feed(chunk);
      // Backpressure: a slow reader (the agent) slows the core down instead of filling memory.
      // (A stdout that failed never drains: then the core is not held up; main.ts reports that failure.)
      if (!process.stdout.write(chunk) && !process.stdout.destroyed) {
        child.stdout.pause();
        process.stdout.once('drain', () => child.stdout.resume());
      }
    });
    let settled = false;
    const settle = (ended: Ended): void => {
      if (settled) return;
      settled = true;
      untrack();
      void flushed().then(() => resolve(ended));
    };
    child.on('error', (error) => settle({ error }));
    // 'close' comes after the child's stdout has ended: every chunk has been passed on by then.
    child.on('close', (code, signal) => settle({ code, signal, reported: watch.reported }));
  });
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = { 1: 'SIGHUP', 2: 'SIGINT', 9: 'SIGKILL', 15: 'SIGTERM' };
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGTERM: 15, SIGBREAK: 21 };

/**
 * What the wrapper must report, if anything: undefined when the core reported its result itself.
 * 0, 1 and 2 are the core's own statuses (success, failed, bad input), and so is 128+N after the
 * wrapper passed the cancel signal N on: the core ends that way when it handled the cancel. For
 * those the core writes a task.complete first; a non-zero status without one means it could not
 * (it crashed on the way, or something else ended it), and the wrapper says so. Exit 0 without one
 * stands: the agent takes it as success, which it is.
 */
export function outcome(ended: Ended, what: string, cancel?: NodeJS.Signals): string | undefined {
  if ('error' in ended) return `${what} could not be started: ${ended.error.message}`;
  const { code, signal, reported } = ended;
  const cancelCode = cancel === undefined ? undefined : 128 + (SIGNAL_NUMBERS[cancel] ?? -128);
  if (code === 0) return undefined;
  if (code === 1 || code === 2 || (code !== null && code === cancelCode)) {
    if (reported) return undefined;
    return `${what} exited with status ${code} without reporting a result; its output is above`;
  }
  if (signal) return `${what} was stopped by ${signal} before it reported a result`;
  if (code !== null && code > 128 && code < 160) {
    const name = SIGNAL_NAMES[code - 128] ?? `signal ${code - 128}`;
    return `${what} ended with exit code ${code} (stopped by ${name})`;
  }
  return `${what} ended with exit code ${code ?? 'unknown'} without reporting a result`;
}
