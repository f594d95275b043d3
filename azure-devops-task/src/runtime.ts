/**
 * How the core runs on this agent (`runtime` input): `installed` (a fabric-ci of the task's own
 * version on PATH, e.g. in a container job on the fabric-ci image), `python` (a venv made once per
 * agent from the wheel in the task), `docker` (the image, Linux agents only, and only once an image
 * is published for this version), or `auto`: the first of those that works, in that order.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tl from 'azure-pipelines-task-lib/task';
import type { Launch } from './child';
import type { TaskConfig } from './config';
import { dockerEnvNames, dockerRunArgs } from './docker';
import { withoutPythonPath } from './env';
import { Cancelled, RuntimeUnavailable, TaskError } from './errors';
import type { RuntimeName } from './errors';
import type { RuntimeChoice } from './inputs';
import { capture, tail } from './proc';
import { findPython, versionText } from './python';
import { cancelSignal } from './signals';
import { ensureVenv } from './venv';

export interface RuntimeContext {
  readonly config: TaskConfig;
  /** The folder of index.js: fabric-ci.json, the wheel and runtime.lock are next to it. */
  readonly taskDir: string;
  readonly platform: NodeJS.Platform;
  /** The wrapper's environment (with the agent's proxy), for probes and pip: it holds none of the inputs' values. */
  readonly baseEnv: NodeJS.ProcessEnv;
  /** The core's environment (childEnvironment). */
  readonly childEnv: Readonly<Record<string, string>>;
  readonly pythonPath?: string;
  readonly variable: (name: string) => string | undefined;
  readonly show: (text: string) => void;
  /** The debug log. */
  readonly note: (text: string) => void;
}

/** `auto` tries docker only when there is an image to run. */
function autoOrder(config: TaskConfig): RuntimeName[] {
  return config.image === null ? ['installed', 'python'] : ['installed', 'python', 'docker'];
}

function noImage(version: string): string {
  return `no fabric-ci image is published for version ${version} yet`;
}

// What a cancel interrupted, by the runtime being tried at the time.
const DURING: Readonly<Record<RuntimeName, string>> = {
  installed: 'while checking the fabric-ci on PATH',
  python: 'while preparing the Python environment',
  docker: 'while checking Docker',
};

function onPath(runtime: RuntimeName, tool: string): string {
  const found = tl.which(tool, false);
  if (!found) throw new RuntimeUnavailable(runtime, `${tool} is not on PATH`);
  return found;
}

async function installed(context: RuntimeContext): Promise<Launch> {
  const { version, command } = context.config;
  const exe = onPath('installed', 'fabric-ci');
  const ran = await capture(exe, ['--version'], context.baseEnv, { timeoutMs: 60 * 1000 });
  // `fabric-ci --version` prints "fabric-ci 0.1.0".
  const reported = /(\d+\.\d+\.\d+\S*)\s*$/.exec(ran.output.trim())?.[1];
  if (ran.error || ran.status !== 0 || reported === undefined) {
    throw new RuntimeUnavailable('installed', `${exe} --version did not answer (${tail(ran.output) || ran.error?.message})`);
  }
  if (reported !== version) {
    throw new RuntimeUnavailable(
      'installed',
      `fabric-ci on PATH (${exe}) is version ${reported}, and this task is ${version}`,
    );
  }
  return { command: exe, args: [command], env: context.childEnv, describe: `fabric-ci on PATH (${exe})` };
}

function wheelIn(taskDir: string): string {
  const wheels = fs.readdirSync(taskDir).filter((name) => /^fabric_ci-.+\.whl$/.test(name));
  if (wheels.length !== 1) {
    throw new RuntimeUnavailable('python', `the task folder ${taskDir} holds ${wheels.length} fabric-ci wheels, not one (a packaging fault)`);
  }
  return path.join(taskDir, wheels[0] as string);
}

async function python(context: RuntimeContext): Promise<Launch> {
  const toolsDir = context.variable('Agent.ToolsDirectory');
  if (!toolsDir) {
    throw new RuntimeUnavailable('python', 'the agent variable Agent.ToolsDirectory, where the environment is kept, is not set');
  }
  const pythonLocation = context.variable('pythonLocation');
  const helperEnv = withoutPythonPath(context.baseEnv);
  const found = await findPython({
    platform: context.platform,
    env: helperEnv,
    safeDir: context.taskDir,
    ...(context.pythonPath !== undefined && { pythonPath: context.pythonPath }),
    ...(pythonLocation && { pythonLocation }),
  });
  const venv = await ensureVenv(found, {
    platform: context.platform,
    toolsDir,
    version: context.config.version,
    wheel: wheelIn(context.taskDir),
    lock: path.join(context.taskDir, 'runtime.lock'),
    env: helperEnv,
    show: context.show,
    note: context.note,
  });
  const base = venv.base === undefined ? '' : ` (made from ${venv.base})`;
  return {
    // -P: the working directory (the repository) is not put on sys.path (venv.ts).
    command: venv.python,
    args: ['-P', '-m', 'fabric_ci', context.config.command],
    env: withoutPythonPath(context.childEnv),
    describe: `Python ${versionText(found.version)} from ${found.label}, environment ${venv.dir}${base}`,
  };
}

async function docker(context: RuntimeContext): Promise<Launch> {
  const { image, version } = context.config;
  if (image === null) throw new RuntimeUnavailable('docker', noImage(version), 'Use runtime python or installed');
  if (context.platform !== 'linux') {
    throw new RuntimeUnavailable('docker', `the image runs on Linux agents only, and this agent is ${context.platform}`);
  }
  const exe = onPath('docker', 'docker');
  const ran = await capture(exe, ['version', '--format', '{{.Server.Version}}'], context.baseEnv, { timeoutMs: 60 * 1000 });
  if (ran.error || ran.status !== 0) {
    throw new RuntimeUnavailable('docker', `the Docker daemon cannot be reached (${tail(ran.output) || ran.error?.message})`);
  }
  const tempDir = context.variable('Agent.TempDirectory');
  const sourcesDir = context.variable('Build.SourcesDirectory') ?? context.variable('System.DefaultWorkingDirectory');
  const caBundle = context.childEnv['INPUT_CABUNDLE'];
  const args = dockerRunArgs({
    image,
    command: context.config.command,
    envNames: dockerEnvNames(context.childEnv),
    ...(tempDir && { tempDir }),
    ...(sourcesDir && { sourcesDir }),
    ...(caBundle && { files: [caBundle] }),
  });
  return { command: exe, args, env: context.childEnv, describe: `docker image ${image}` };
}

const RUNTIMES: Readonly<Record<RuntimeName, (context: RuntimeContext) => Promise<Launch>>> = { installed, python, docker };

export async function chooseRuntime(choice: RuntimeChoice, context: RuntimeContext): Promise<Launch> {
  const order = choice === 'auto' ? autoOrder(context.config) : [choice];
  const reasons: RuntimeUnavailable[] = [];
  const version = context.config.version;
  for (const name of order) {
    let launch: Launch | undefined;
    try {
      launch = await RUNTIMES[name](context);
    } catch (error) {
      if (!(error instanceof RuntimeUnavailable)) throw error;
      tl.debug(`runtime ${name} cannot be used: ${error.reason}`);
      reasons.push(error);
    }
    // A probe or pip ended by the agent's cancel looks like one that failed: the cancel is the news.
    const signal = cancelSignal();
    if (signal !== undefined) throw new Cancelled(DURING[name], signal);
    if (launch !== undefined) return launch;
    const failed = reasons[reasons.length - 1] as RuntimeUnavailable;
    if (failed.final && choice === 'auto') {
      throw new TaskError(`runtime is auto, and ${failed.reason}. ${failed.fix ?? FIXES[failed.runtime](version)}`);
    }
  }
  if (choice !== 'auto') {
    const failed = reasons[0] as RuntimeUnavailable;
    throw new TaskError(`runtime is ${choice}, but ${failed.reason}. ${failed.fix ?? FIXES[failed.runtime](version)}`);
  }
  const dockerLater = context.config.image === null ? ` docker: not available yet (${noImage(version)}).` : '';
  const orDocker = context.config.image === null ? '' : ', or use a Linux agent with Docker';
  throw new TaskError(
    `runtime is auto, and no way to run fabric-ci ${version} works on this agent. ` +
      reasons.map((reason) => `${reason.runtime}: ${reason.reason}.`).join(' ') +
      dockerLater +
      ` Make one of them work: install fabric-ci==${version} on the agent, or add UsePythonVersion@0 (a Python 3.11 or ` +
      `newer) before this step${orDocker}`,
  );
}

// What to do when the runtime the user chose does not work.
const FIXES: Readonly<Record<RuntimeName, (version: string) => string>> = {
  installed: (version) => `Install fabric-ci==${version} on the agent, or set runtime to auto`,
  python: () => 'Add UsePythonVersion@0 with versionSpec 3.12 before this step, or set pythonPath to a Python 3.11 or newer',
  docker: () => 'Use a Linux agent with a running Docker daemon, or set runtime to auto',
};
