/**
 * Short helper processes (probes, venv, pip): output captured, never a shell, each one a process
 * tree that cancel signals reach whole (tree.ts). A helper counts as ended only once its whole
 * tree has: pip's own subprocesses must not outlive it and keep writing where the wrapper cleans up.
 */
import { spawn } from 'child_process';
import { track } from './signals';
import { signalTree, treeGone, treeOptions } from './tree';

export interface Captured {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly error?: Error;
  /** Stopped by the wrapper after `timeoutMs`: it did not fail, it did not finish (a busy agent). */
  readonly timedOut?: boolean;
}

export interface CaptureOptions {
  readonly timeoutMs?: number;
  /** The working directory; the wrapper's own (the agent's System.DefaultWorkingDirectory) when not given. */
  readonly cwd?: string;
}

export function capture(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: CaptureOptions = {},
): Promise<Captured> {
  const platform = process.platform;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(command, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...treeOptions(platform),
    });
    const untrack = track(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      signalTree(child, 'SIGTERM', platform);
    }, options.timeoutMs ?? 10 * 60 * 1000);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    let settled = false;
    const settle = (result: Captured): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void treeGone(child, platform).then(() => {
        untrack();
        resolve(result);
      });
    };
    child.on('error', (error) =>
      settle({ status: null, signal: null, output: Buffer.concat(chunks).toString('utf8'), error }),
    );
    child.on('close', (status, signal) =>
      settle({ status, signal, output: Buffer.concat(chunks).toString('utf8'), ...(timedOut && { timedOut }) }),
    );
  });
}

/** The last lines of a process's output, for a one-line reason. */
export function tail(output: string, lines = 3): string {
  const kept = output
    .trim()
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  return kept.slice(-lines).join(' / ');
}
