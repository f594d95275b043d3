/** Short helper processes (probes, venv, pip): output captured, signals forwarded, never a shell. */
import { spawn } from 'child_process';
import { track } from './signals';

export interface Captured {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly error?: Error;
}

export function capture(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 10 * 60 * 1000,
): Promise<Captured> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const untrack = track(child);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    let settled = false;
    const settle = (result: Captured): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      untrack();
      resolve(result);
    };
    child.on('error', (error) =>
      settle({ status: null, signal: null, output: Buffer.concat(chunks).toString('utf8'), error }),
    );
    child.on('close', (status, signal) =>
      settle({ status, signal, output: Buffer.concat(chunks).toString('utf8') }),
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
