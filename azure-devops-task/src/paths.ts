/**
 * Where things are on the agent's platform. Pure functions of the platform, so that Windows and
 * macOS layouts are tested on any machine.
 */
import * as path from 'path';

/**
 * The running platform's own path module for its own paths (on an agent the two are always the
 * same platform); another platform's layout spelled the way that platform spells it. The L0 tests
 * pretend to be Windows or macOS on Linux: the layout is Windows' (`Scripts\python.exe`) and the
 * paths still work on the disk they run on.
 */
function pathsOf(platform: NodeJS.Platform): path.PlatformPath {
  if (platform === process.platform) return path;
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The interpreter of a virtual environment: `Scripts\python.exe` on Windows, `bin/python` elsewhere. */
export function venvPython(platform: NodeJS.Platform, venvDir: string): string {
  const p = pathsOf(platform);
  return platform === 'win32' ? p.join(venvDir, 'Scripts', 'python.exe') : p.join(venvDir, 'bin', 'python');
}

/** The interpreter under UsePythonVersion's `pythonLocation`: `<loc>\python.exe` on Windows, `<loc>/bin/python` elsewhere. */
export function pythonInLocation(platform: NodeJS.Platform, location: string): string {
  const p = pathsOf(platform);
  return platform === 'win32' ? p.join(location, 'python.exe') : p.join(location, 'bin', 'python');
}

/**
 * One environment per agent, core version, Python ABI, build of the wheel and base interpreter
 * (`key`, venv.ts venvKey: `cpython-311-<12 hex of the wheel's sha256>-<8 hex of the base's path>`):
 * reused by every later job with the same task and Python.
 */
export function venvDirectory(platform: NodeJS.Platform, toolsDir: string, version: string, key: string): string {
  return pathsOf(platform).join(toolsDir, 'fabric-ci', version, key);
}

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
}

/** Pythons to look for on PATH, in order. The `py` launcher exists on Windows only. */
export function pathPythons(platform: NodeJS.Platform): Command[] {
  const found: Command[] = [
    { command: 'python3', args: [] },
    { command: 'python', args: [] },
  ];
  if (platform === 'win32') found.push({ command: 'py', args: ['-3'] });
  return found;
}
