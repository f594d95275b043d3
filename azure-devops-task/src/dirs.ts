/**
 * Folder moves and deletes that hold up on a busy agent: several jobs share Agent.ToolsDirectory,
 * and on Windows a virus scanner or the search indexer briefly holds files in a folder that was
 * just written, which makes a rename fail with EPERM or EBUSY for a moment.
 */
import * as fs from 'fs';
import * as path from 'path';

const TRANSIENT = new Set(['EPERM', 'EBUSY', 'EACCES']);
/** About five seconds in all. */
export const RENAME_DELAYS_MS: readonly number[] = [100, 200, 400, 800, 1500, 2000];

export interface RenameOptions {
  readonly platform: NodeJS.Platform;
  /** Asked before each retry: true ends the retries (e.g. another job's environment is in place now). */
  readonly stop?: () => boolean | Promise<boolean>;
  readonly rename?: (from: string, to: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * fs.renameSync, retried on Windows while the error is one that passes. Anything else, or the
 * last error when the retries run out, is thrown.
 */
export async function renameWithRetry(from: string, to: string, options: RenameOptions): Promise<void> {
  const rename = options.rename ?? fs.renameSync;
  const sleep = options.sleep ?? pause;
  for (let attempt = 0; ; attempt++) {
    try {
      rename(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const delay = RENAME_DELAYS_MS[attempt];
      if (options.platform !== 'win32' || !TRANSIENT.has(code) || delay === undefined) throw error;
      if (await options.stop?.()) throw error;
      await sleep(delay);
    }
  }
}

/**
 * Delete a folder, retrying what passes (a process that just ended still closing its files:
 * ENOTEMPTY, EBUSY). Returns the error instead of throwing: a folder left behind is swept by a
 * later run, and is no reason to fail this one.
 */
export function removeDir(dir: string): Error | undefined {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * Delete what a killed or crashed job left in `parent`: entries named `<prefix>...` not changed
 * for `maxAgeMs`. A build in progress is younger than that (its steps time out after 10 minutes).
 */
export function sweepStale(parent: string, prefix: string, maxAgeMs: number, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const full = path.join(parent, name);
    try {
      if (now - fs.statSync(full).mtimeMs < maxAgeMs) continue;
    } catch {
      continue;
    }
    if (removeDir(full) === undefined) removed.push(full);
  }
  return removed;
}
