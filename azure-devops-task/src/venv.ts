/**
 * fabric-ci's virtual environment, made once per agent, core version and Python ABI under
 * Agent.ToolsDirectory. It is built in a temporary sibling directory and renamed into place only
 * when complete, so that a job never sees half an environment: a failed build leaves nothing
 * behind (the next job retries), and when two jobs build at once the first rename wins and the
 * other job uses that one. The core is run as `<venv python> -m fabric_ci`, which keeps working
 * after the rename (the console scripts' shebangs would still name the temporary directory).
 */
import * as fs from 'fs';
import * as path from 'path';
import { RuntimeUnavailable } from './errors';
import { venvDirectory, venvPython } from './paths';
import { capture } from './proc';
import type { Captured } from './proc';
import { versionText } from './python';
import type { Python } from './python';

export const MARKER = 'fabric-ci-ready.json';

export interface VenvRequest {
  readonly platform: NodeJS.Platform;
  readonly toolsDir: string;
  readonly version: string;
  readonly wheel: string;
  readonly lock: string;
  /** The environment pip runs in: the agent's, with its index settings (PIP_INDEX_URL, pip.conf). */
  readonly env: NodeJS.ProcessEnv;
  /** Where pip's output goes when it fails. */
  readonly show: (text: string) => void;
}

function isReady(platform: NodeJS.Platform, dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER)) && fs.existsSync(venvPython(platform, dir));
}

function failure(what: string, ran: Captured): string {
  const how = ran.error ? ran.error.message : `exit code ${ran.status ?? ran.signal}`;
  return `${what} failed (${how}); its output is above`;
}

export async function ensureVenv(python: Python, request: VenvRequest): Promise<string> {
  const { platform } = request;
  const finalDir = venvDirectory(platform, request.toolsDir, request.version, python.cacheTag);
  if (isReady(platform, finalDir)) return venvPython(platform, finalDir);
  // A directory without the marker was never finished (renames only happen after the marker is
  // written): it cannot be trusted, and it would block the rename below.
  fs.rmSync(finalDir, { recursive: true, force: true });

  const parent = path.dirname(finalDir);
  fs.mkdirSync(parent, { recursive: true });
  const temp = fs.mkdtempSync(path.join(parent, `.${python.cacheTag}-`));
  // mkdtemp makes it private (0700); once in place it is a tool like any other in the tools folder.
  fs.chmodSync(temp, 0o755);
  const tempPython = venvPython(platform, temp);
  const pipInstall = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input'];
  // The dependencies come hash-pinned from the agent's package index; fabric-ci itself from the
  // wheel shipped in the task, without dependencies (they are all in the lock).
  const steps: [string, string, string[]][] = [
    [`${python.label} -m venv`, python.command, [...python.args, '-m', 'venv', temp]],
    ['pip install --require-hashes -r runtime.lock', tempPython, [...pipInstall, '--require-hashes', '-r', request.lock]],
    [`pip install --no-deps ${path.basename(request.wheel)}`, tempPython, [...pipInstall, '--no-deps', request.wheel]],
  ];
  try {
    for (const [what, command, args] of steps) {
      const ran = await capture(command, args, request.env);
      if (ran.error || ran.status !== 0) {
        request.show(ran.output);
        throw new RuntimeUnavailable(
          'python',
          failure(what, ran),
          "Check the agent's package index (pip.conf, PIP_INDEX_URL) and the output above; the next run tries again",
        );
      }
    }
    const marker = { version: request.version, python: versionText(python.version), base: python.command };
    fs.writeFileSync(path.join(temp, MARKER), JSON.stringify(marker) + '\n');
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    throw error;
  }

  try {
    fs.renameSync(temp, finalDir);
  } catch (error) {
    fs.rmSync(temp, { recursive: true, force: true });
    // Another job on this agent finished first: its environment is as good as ours.
    if (!isReady(platform, finalDir)) {
      throw new RuntimeUnavailable('python', `could not move the new environment to ${finalDir}: ${(error as Error).message}`);
    }
  }
  return venvPython(platform, finalDir);
}
