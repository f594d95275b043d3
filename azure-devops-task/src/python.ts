/**
 * Finding a Python >= 3.11 to build fabric-ci's environment with: the `pythonPath` input, else the
 * one UsePythonVersion chose (`pythonLocation`), else the first good one on PATH. An explicit choice
 * that does not work is an error, not a reason to quietly take another Python, nor (under
 * `runtime: auto`) another runtime.
 */
import * as path from 'path';
import * as tl from 'azure-pipelines-task-lib/task';
import { RuntimeUnavailable } from './errors';
import { pathPythons, pythonInLocation } from './paths';
import type { Command } from './paths';
import { capture, tail } from './proc';

export const MINIMUM: readonly [number, number] = [3, 11];

export interface Python extends Command {
  readonly version: readonly number[];
  /** `sys.implementation.cache_tag`, e.g. `cpython-312`: environments are kept per ABI. */
  readonly cacheTag: string;
  /**
   * The interpreter a venv made with it is based on, as Python reports it: the real path of
   * `sys._base_executable` (a venv's python names its base there). Environments are kept per base.
   */
  readonly base: string;
  /** How to name it in messages: where it came from and which file it is. */
  readonly label: string;
}

// Written to run on any Python, 2.7 included, so that an old one is named rather than a crash.
const PROBE =
  "import json, os, sys; i = getattr(sys, 'implementation', None); " +
  "print(json.dumps({'version': list(sys.version_info[:3]), 'cacheTag': getattr(i, 'cache_tag', None), " +
  "'name': getattr(i, 'name', 'cpython'), 'executable': sys.executable, " +
  "'base': os.path.realpath(getattr(sys, '_base_executable', None) or sys.executable)}))";

interface ProbeAnswer {
  version: number[];
  cacheTag: string | null;
  name: string;
  executable: string;
  base?: string;
}

export function versionText(version: readonly number[]): string {
  return version.join('.');
}

export function isSupported(version: readonly number[]): boolean {
  const [major = 0, minor = 0] = version;
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

function parseProbe(output: string): ProbeAnswer | undefined {
  const line = output
    .trim()
    .split(/\r?\n/)
    .filter((text) => text.trim().startsWith('{'))
    .pop();
  if (line === undefined) return undefined;
  try {
    const answer = JSON.parse(line) as ProbeAnswer;
    return Array.isArray(answer.version) ? answer : undefined;
  } catch {
    return undefined;
  }
}

interface Candidate extends Command {
  readonly label: string;
  /** Chosen by the user, with what to do when it does not work: say so instead of trying others. */
  readonly explicit?: string;
}

/**
 * Probe one candidate: a Python, or why it cannot be used. `python -c` puts its working directory
 * first on sys.path, and the wrapper's is the checked-out repository (the agent's
 * System.DefaultWorkingDirectory): a `json.py` there would run instead of the standard library's.
 * The candidate may be a Python 2.7 or 3.10, which have no `-P`, so the probe runs in `safeDir`
 * (the task's own folder) instead.
 */
export async function probe(candidate: Candidate, env: NodeJS.ProcessEnv, safeDir: string): Promise<Python | string> {
  const ran = await capture(candidate.command, [...candidate.args, '-c', PROBE], env, { timeoutMs: 60 * 1000, cwd: safeDir });
  if (ran.error) return `${candidate.label} cannot be started (${ran.error.message})`;
  const answer = ran.status === 0 ? parseProbe(ran.output) : undefined;
  if (answer === undefined) {
    return `${candidate.label} did not answer as a Python does (exit code ${ran.status ?? ran.signal}: ${tail(ran.output)})`;
  }
  if (!isSupported(answer.version)) {
    return (
      `${candidate.label} is Python ${versionText(answer.version)}; fabric-ci needs Python ` +
      `${MINIMUM.join('.')} or newer`
    );
  }
  const [major, minor] = answer.version;
  return {
    command: candidate.command,
    args: candidate.args,
    version: answer.version,
    cacheTag: answer.cacheTag ?? `${answer.name}-${major}${minor}`,
    base: answer.base ?? answer.executable,
    label: candidate.label,
  };
}

export interface PythonChoice {
  readonly platform: NodeJS.Platform;
  readonly pythonPath?: string;
  readonly pythonLocation?: string;
  readonly env: NodeJS.ProcessEnv;
  /** A folder of the task's own to run the probes in (never the repository). */
  readonly safeDir: string;
}

/** The Pythons to try, in order; `undefined` command: not on PATH (kept, to say so in order). */
function candidates(choice: PythonChoice): (Candidate | string)[] {
  if (choice.pythonPath !== undefined) {
    const fix = `Set pythonPath to a Python ${MINIMUM.join('.')} or newer, or remove it`;
    // A relative path means one in the working directory, which the probe does not run in.
    const command = /[\\/]/.test(choice.pythonPath) ? path.resolve(choice.pythonPath) : choice.pythonPath;
    return [{ command, args: [], label: `pythonPath (${choice.pythonPath})`, explicit: fix }];
  }
  if (choice.pythonLocation !== undefined) {
    const exe = pythonInLocation(choice.platform, choice.pythonLocation);
    const fix = `Give UsePythonVersion@0 a versionSpec of ${MINIMUM.join('.')} or newer (3.12), or set pythonPath`;
    return [{ command: exe, args: [], label: `the Python of UsePythonVersion (pythonLocation: ${exe})`, explicit: fix }];
  }
  return pathPythons(choice.platform).map(({ command, args }) => {
    const resolved = tl.which(command, false);
    const name = [command, ...args].join(' ');
    return resolved ? { command: resolved, args, label: `${name} on PATH (${resolved})` } : `${name} is not on PATH`;
  });
}

export async function findPython(choice: PythonChoice): Promise<Python> {
  const reasons: string[] = [];
  for (const candidate of candidates(choice)) {
    if (typeof candidate === 'string') {
      reasons.push(candidate);
      continue;
    }
    const found = await probe(candidate, choice.env, choice.safeDir);
    if (typeof found !== 'string') return found;
    if (candidate.explicit !== undefined) throw new RuntimeUnavailable('python', found, candidate.explicit, true);
    reasons.push(found);
  }
  throw new RuntimeUnavailable('python', `no usable Python: ${reasons.join('; ')}`);
}
