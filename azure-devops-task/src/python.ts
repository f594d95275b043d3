/**
 * Finding a Python >= 3.11 to build fabric-ci's environment with: the `pythonPath` input, else the
 * one UsePythonVersion chose (`pythonLocation`), else the first good one on PATH. An explicit choice
 * that does not work is an error, not a reason to quietly take another Python.
 */
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
  /** How to name it in messages: where it came from and which file it is. */
  readonly label: string;
}

// Written to run on any Python, 2.7 included, so that an old one is named rather than a crash.
const PROBE =
  "import json, sys; i = getattr(sys, 'implementation', None); " +
  "print(json.dumps({'version': list(sys.version_info[:3]), 'cacheTag': getattr(i, 'cache_tag', None), " +
  "'name': getattr(i, 'name', 'cpython'), 'executable': sys.executable}))";

interface ProbeAnswer {
  version: number[];
  cacheTag: string | null;
  name: string;
  executable: string;
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
  /** Chosen by the user: when it does not work, say so instead of trying others. */
  readonly explicit: boolean;
}

/** Probe one candidate: a Python, or why it cannot be used. */
export async function probe(candidate: Candidate, env: NodeJS.ProcessEnv): Promise<Python | string> {
  const ran = await capture(candidate.command, [...candidate.args, '-c', PROBE], env, 60 * 1000);
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
    label: candidate.label,
  };
}

export interface PythonChoice {
  readonly platform: NodeJS.Platform;
  readonly pythonPath?: string;
  readonly pythonLocation?: string;
  readonly env: NodeJS.ProcessEnv;
}

/** The Pythons to try, in order; `undefined` command: not on PATH (kept, to say so in order). */
function candidates(choice: PythonChoice): (Candidate | string)[] {
  if (choice.pythonPath !== undefined) {
    return [{ command: choice.pythonPath, args: [], label: `pythonPath (${choice.pythonPath})`, explicit: true }];
  }
  if (choice.pythonLocation !== undefined) {
    const exe = pythonInLocation(choice.platform, choice.pythonLocation);
    return [{ command: exe, args: [], label: `the Python of UsePythonVersion (pythonLocation: ${exe})`, explicit: true }];
  }
  return pathPythons(choice.platform).map(({ command, args }) => {
    const resolved = tl.which(command, false);
    const name = [command, ...args].join(' ');
    return resolved ? { command: resolved, args, label: `${name} on PATH (${resolved})`, explicit: false } : `${name} is not on PATH`;
  });
}

export async function findPython(choice: PythonChoice): Promise<Python> {
  const reasons: string[] = [];
  for (const candidate of candidates(choice)) {
    if (typeof candidate === 'string') {
      reasons.push(candidate);
      continue;
    }
    const found = await probe(candidate, choice.env);
    if (typeof found !== 'string') return found;
    if (candidate.explicit) throw new RuntimeUnavailable('python', found);
    reasons.push(found);
  }
  throw new RuntimeUnavailable('python', `no usable Python: ${reasons.join('; ')}`);
}
