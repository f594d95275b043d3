/**
 * fabric-ci's virtual environment, made once per agent, core version, Python ABI and build of the
 * wheel under Agent.ToolsDirectory, and shared by every job on the agent, several at a time.
 *
 * - Built in a temporary sibling and renamed into place only when complete, marker written last:
 *   no job ever sees half an environment. When two jobs build at once, the first rename wins and
 *   the other job uses that one.
 * - The folder's name holds the wheel's sha256: a rebuilt wheel of the same version gets an
 *   environment of its own instead of being ignored, and jobs of the older task keep theirs. It
 *   holds a hash of the base interpreter's real path too: one python3.12 is not another.
 * - A finished environment is replaced only when it is positively broken (its python exits with
 *   an error or is missing, e.g. its base Python was removed; a look that merely takes too long on
 *   a busy agent proves nothing), and only by renaming it aside first; looked at again aside, one
 *   that is not positively broken (another job's, just renamed in) is put back. Nothing deletes a
 *   folder at the final path, where another job may have just put its own.
 * - A cancel stops the build between steps; its processes are waited for before their folder is
 *   deleted. Whatever a killed job leaves behind is swept by a later build after an hour.
 *
 * The core is run as `<venv python> -P -m fabric_ci`, which keeps working after the rename (the
 * console scripts' shebangs would still name the temporary folder). `-P` (Python 3.11+) on every
 * `-m`: the working directory is the checked-out repository, which `-m` would otherwise put first
 * on sys.path, so a `pip/` or `httpx.py` there would run instead of the real one.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { removeDir, renameWithRetry, sweepStale } from './dirs';
import { Cancelled, RuntimeUnavailable } from './errors';
import { venvDirectory, venvPython } from './paths';
import { capture, tail } from './proc';
import type { Captured } from './proc';
import { versionText } from './python';
import type { Python } from './python';
import { cancelSignal } from './signals';

export const MARKER = 'fabric-ci-ready.json';
const STALE_MS = 60 * 60 * 1000;
/** How long the check that a venv's python still starts may take (a few tens of milliseconds when the agent is not swamped). */
const CHECK_MS = 60 * 1000;

export interface VenvRequest {
  readonly platform: NodeJS.Platform;
  readonly toolsDir: string;
  readonly version: string;
  readonly wheel: string;
  readonly lock: string;
  /** The environment pip runs in: the agent's, with its index settings (PIP_INDEX_URL, pip.conf) and proxy. */
  readonly env: NodeJS.ProcessEnv;
  /** Where pip's output goes when it fails. */
  readonly show: (text: string) => void;
  /** Where a note that needs no action goes (the debug log). */
  readonly note?: (text: string) => void;
  /** For tests: how long the look at a venv's python may take (CHECK_MS). */
  readonly checkMs?: number;
}

/** The environment to run the core with, and the interpreter it was made from (its marker says). */
export interface Venv {
  readonly python: string;
  readonly dir: string;
  readonly base?: string;
}

interface Marker {
  readonly version: string;
  readonly wheelSha256: string;
  readonly python: string;
  readonly base: string;
}

export function fileSha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The environment's folder name: the ABI, enough of the wheel's digest to tell builds apart, and a
 * short hash of the base interpreter's real path (`cpython-312-3f9a0c1b2d4e-7c41d2a9`): a venv
 * made from one python3.12 is not used with another (pythonPath, UsePythonVersion).
 */
export function venvKey(platform: NodeJS.Platform, cacheTag: string, wheelSha256: string, base: string): string {
  const spelled = platform === 'win32' ? base.toLowerCase() : base;
  const baseHash = crypto.createHash('sha256').update(spelled).digest('hex').slice(0, 8);
  return `${cacheTag}-${wheelSha256.slice(0, 12)}-${baseHash}`;
}

function readMarker(dir: string): Partial<Marker> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MARKER), 'utf8')) as Partial<Marker>;
  } catch {
    return undefined;
  }
}

type State = { readonly ready: true } | { readonly ready: false; readonly missing: boolean; readonly why: string };

/**
 * Whether `dir` is a finished environment for this wheel whose python still runs. Starting it is
 * the one check that catches a base Python removed or replaced under it (on Windows the venv's
 * python.exe is a launcher that finds the base through pyvenv.cfg); `-I -S -c ""` keeps it to the
 * interpreter's own start-up, a few tens of milliseconds. Only a definite failure counts: the
 * python missing, or exiting with a non-zero status. A look that timed out or was cut short by a
 * signal (an overloaded agent, the OOM killer) or could not be made (no process to spare) says
 * nothing against it: it is used, and never moved or deleted, since another job may be running
 * from it.
 */
async function inspect(request: VenvRequest, dir: string, wheelSha256: string): Promise<State> {
  if (!fs.existsSync(dir)) return { ready: false, missing: true, why: 'there is none' };
  const marker = readMarker(dir);
  if (marker === undefined) return { ready: false, missing: false, why: 'it was never finished (no marker)' };
  if (marker.wheelSha256 !== wheelSha256) return { ready: false, missing: false, why: 'it holds another build of fabric-ci' };
  const python = venvPython(request.platform, dir);
  const ran = await capture(python, ['-I', '-S', '-c', ''], request.env, { timeoutMs: request.checkMs ?? CHECK_MS });
  const missing = (ran.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  const failed = !ran.timedOut && ran.status !== null && ran.status !== 0;
  if (missing || failed) {
    const how = ran.error?.message ?? `exit code ${ran.status}: ${tail(ran.output)}`;
    return { ready: false, missing: false, why: `its python no longer runs (${how})` };
  }
  if (ran.status !== 0) {
    const how = ran.timedOut ? `no answer in ${(request.checkMs ?? CHECK_MS) / 1000} s` : (ran.error?.message ?? `stopped by ${ran.signal}`);
    request.note?.(`${python} was not seen to start (${how}); the environment is used as it is`);
  }
  return { ready: true };
}

function checkCancel(): void {
  const signal = cancelSignal();
  if (signal !== undefined) throw new Cancelled('while preparing the Python environment', signal);
}

function failure(what: string, ran: Captured): string {
  const how = ran.error ? ran.error.message : `exit code ${ran.status ?? ran.signal}`;
  return `${what} failed (${how}); its output is above`;
}

/**
 * Move a broken environment out of the way. Returns false when what is at `finalDir` now turns
 * out to be good after all (another job renamed its own in after we looked): it stays.
 */
async function setAside(request: VenvRequest, finalDir: string, key: string, wheelSha256: string): Promise<boolean> {
  const aside = path.join(path.dirname(finalDir), `.${key}-aside-${crypto.randomBytes(4).toString('hex')}`);
  try {
    await renameWithRetry(finalDir, aside, { platform: request.platform });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true; // another job moved it already
    throw new RuntimeUnavailable(
      'python',
      `the environment ${finalDir} is broken and cannot be moved aside (${(error as Error).message})`,
      `Delete ${finalDir} on the agent (no job may be using it), then run again`,
    );
  }
  if ((await inspect(request, aside, wheelSha256)).ready) {
    try {
      fs.renameSync(aside, finalDir);
      return false;
    } catch {
      // Yet another one is in place: this one may be in use, so it is left for the sweep, which
      // counts its hour from now.
      const now = new Date();
      try {
        fs.utimesSync(aside, now, now);
      } catch {
        // Then the sweep may take it sooner; it is not in the way of this job either way.
      }
      return true;
    }
  }
  const left = removeDir(aside);
  if (left) request.note?.(`could not delete ${aside} (${left.message}); a later run deletes it`);
  return true;
}

async function build(python: Python, request: VenvRequest, parent: string, key: string, wheelSha256: string): Promise<string> {
  const temp = fs.mkdtempSync(path.join(parent, `.${key}-`));
  // mkdtemp makes it private (0700); once in place it is a tool like any other in the tools folder.
  fs.chmodSync(temp, 0o755);
  const tempPython = venvPython(request.platform, temp);
  const pipInstall = ['-P', '-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'];
  // The dependencies come hash-pinned from the agent's package index; fabric-ci itself from the
  // wheel shipped in the task, without dependencies (they are all in the lock).
  const steps: [string, string, string[]][] = [
    [`${python.label} -m venv`, python.command, [...python.args, '-P', '-m', 'venv', temp]],
    ['pip install --require-hashes -r runtime.lock', tempPython, [...pipInstall, '--require-hashes', '-r', request.lock]],
    [`pip install --no-deps ${path.basename(request.wheel)}`, tempPython, [...pipInstall, '--no-deps', request.wheel]],
  ];
  try {
    for (const [what, command, args] of steps) {
      checkCancel();
      const ran = await capture(command, args, request.env);
      // A step that failed because of the cancel is the cancel, not a broken package index.
      checkCancel();
      if (ran.error || ran.status !== 0) {
        request.show(ran.output);
        throw new RuntimeUnavailable(
          'python',
          failure(what, ran),
          "Check the agent's package index (pip.conf, PIP_INDEX_URL) and the output above; the next run tries again",
        );
      }
    }
    const marker: Marker = { version: request.version, wheelSha256, python: versionText(python.version), base: python.base };
    fs.writeFileSync(path.join(temp, MARKER), JSON.stringify(marker) + '\n');
  } catch (error) {
    // capture() returned only once the step's whole process tree had ended: nothing writes here now.
    const left = removeDir(temp);
    if (left) request.note?.(`could not delete ${temp} (${left.message}); a later run deletes it`);
    throw error;
  }
  return temp;
}

export async function ensureVenv(python: Python, request: VenvRequest): Promise<Venv> {
  const { platform } = request;
  checkCancel();
  const wheelSha256 = fileSha256(request.wheel);
  const key = venvKey(platform, python.cacheTag, wheelSha256, python.base);
  const finalDir = venvDirectory(platform, request.toolsDir, request.version, key);
  const parent = path.dirname(finalDir);
  const venv = (): Venv => {
    const base = readMarker(finalDir)?.base;
    return { python: venvPython(platform, finalDir), dir: finalDir, ...(typeof base === 'string' && { base }) };
  };
  const found = await inspect(request, finalDir, wheelSha256);
  if (found.ready) return venv();

  fs.mkdirSync(parent, { recursive: true });
  for (const gone of sweepStale(parent, `.${python.cacheTag}-`, STALE_MS)) request.note?.(`deleted ${gone}, left by an earlier job`);
  if (!found.missing) {
    request.note?.(`the environment ${finalDir} is replaced: ${found.why}`);
    checkCancel();
    if (!(await setAside(request, finalDir, key, wheelSha256))) return venv();
  }

  const temp = await build(python, request, parent, key, wheelSha256);
  // Another job that finished first has put a good environment in place: use it, drop ours.
  const theirs = async (): Promise<boolean> => (await inspect(request, finalDir, wheelSha256)).ready;
  try {
    await renameWithRetry(temp, finalDir, { platform, stop: theirs });
  } catch (error) {
    removeDir(temp);
    if (!(await theirs())) {
      throw new RuntimeUnavailable('python', `could not move the new environment to ${finalDir}: ${(error as Error).message}`);
    }
  }
  return venv();
}
