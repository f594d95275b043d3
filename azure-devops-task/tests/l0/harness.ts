/**
 * L0 harness: runs the bundled task (build/bundle/index.js, exactly what the vsix ships) in a task
 * folder of its own through task-lib's MockTestRunner, with fake fabric-ci/python/docker on a PATH
 * of their own, and hands back what the agent would have seen (stdout, issues, result) and what
 * each child process received.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MockTestRunner } from 'azure-pipelines-task-lib/mock-test';

/** azure-devops-task/ (this file runs from build/test/tests/l0/). */
export const PACKAGE = path.resolve(__dirname, '..', '..', '..', '..');
const REPO = path.dirname(PACKAGE);

interface Manifest {
  contributions: { type: string; properties: { name: string } }[];
}

/** Every task of the extension, from the hand-written vss-extension.json. */
export const TASKS: string[] = (
  JSON.parse(fs.readFileSync(path.join(PACKAGE, 'vss-extension.json'), 'utf8')) as Manifest
).contributions
  .filter((contribution) => contribution.type === 'ms.vss-distributed-task.task')
  .map((contribution) => contribution.properties.name);

export interface TaskConfigFile {
  command: string;
  version: string;
  image: string;
  inputs: Record<string, string>;
  secrets: string[];
  signIn: string[];
}

/** The task's generated files (`make generate`): task.json and fabric-ci.json. */
export function taskSource(task: string): string {
  return path.join(PACKAGE, task);
}

export function taskConfig(task: string): TaskConfigFile {
  return JSON.parse(fs.readFileSync(path.join(taskSource(task), 'fabric-ci.json'), 'utf8')) as TaskConfigFile;
}

const prepared = new Map<string, string>();

/** build/l0/<Task>/: the task folder as packed, with an empty stand-in for the wheel. */
export function taskDir(task: string): string {
  const known = prepared.get(task);
  if (known) return known;
  const bundle = path.join(PACKAGE, 'build', 'bundle', 'index.js');
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run bundle (npm test does)`);
  const dir = path.join(PACKAGE, 'build', 'l0', task);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(bundle, path.join(dir, 'index.js'));
  for (const file of ['task.json', 'fabric-ci.json']) fs.copyFileSync(path.join(taskSource(task), file), path.join(dir, file));
  fs.copyFileSync(path.join(REPO, 'requirements', 'runtime.lock'), path.join(dir, 'runtime.lock'));
  fs.writeFileSync(path.join(dir, `fabric_ci-${taskConfig(task).version}-py3-none-any.whl`), '');
  prepared.set(task, dir);
  return dir;
}

export interface PythonFake {
  version?: number[];
  cacheTag?: string;
  venvFail?: boolean;
}

export interface Fakes {
  /** `fabric-ci` on PATH, answering `--version` with `version`. */
  fabricCi?: { version: string; deleteAfterVersion?: boolean };
  python3?: PythonFake;
  python?: PythonFake;
  /** A Python off PATH, given as the pythonPath input. */
  pythonPath?: PythonFake;
  /** The Python UsePythonVersion would set up: <pythonLocation>/bin/python. */
  pythonLocation?: PythonFake;
  docker?: { daemon: boolean };
  venv?: { pipFail?: boolean; raceWinner?: boolean };
  /** How the core (whichever tool runs it) ends. */
  core?: { exit?: number; reports?: boolean; signal?: NodeJS.Signals; signalParent?: NodeJS.Signals };
}

export interface FakeConfig {
  fakes: Fakes;
  node: string;
  fakeTool: string;
  bin: string;
  raceDir: string;
}

export interface Call {
  tool: string;
  argv: string[];
  env: Record<string, string>;
  envNames: string[];
  event?: string;
}

export interface Scenario {
  taskDir: string;
  inputs: Record<string, string>;
  env: Record<string, string>;
  exitFile: string;
}

export interface Run {
  task?: string;
  inputs?: Record<string, string>;
  /** Variables and endpoints, as the agent's environment variables. */
  env?: Record<string, string>;
  fakes?: Fakes;
}

export interface Dirs {
  root: string;
  bin: string;
  tools: string;
  agentTemp: string;
  sources: string;
  pythonLocation: string;
}

export interface Result {
  runner: MockTestRunner;
  stdout: string;
  calls: Call[];
  /** The call that ran the core itself, if any. */
  core: Call | undefined;
  exitCode: number | undefined;
  dirs: Dirs;
}

const FAKE_TOOL = path.join(__dirname, 'fake-tool.js');
const SCENARIO = path.join(__dirname, 'scenario.js');
const roots: string[] = [];
process.on('exit', () => {
  if (!process.env['L0_KEEP']) for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function writeTool(file: string, identity: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${FAKE_TOOL}" ${identity} "$@"\n`, { mode: 0o755 });
}

function isCore(call: Call, command: string): boolean {
  if (call.tool === 'fabric-ci') return call.argv[0] === command;
  if (call.tool === 'docker') return call.argv[0] === 'run';
  return call.argv[0] === '-m' && call.argv[1] === 'fabric_ci';
}

export const ENDPOINT_ID = '3f7c2a8e-5d1b-4c6a-9e2f-0b8d7a6c5e41';
export const ACCESS_TOKEN = 'job-access-token-9f8e7d6c5b4a';

export async function runTask(run: Run = {}): Promise<Result> {
  const task = run.task ?? 'FabricCiDeployAll';
  const config = taskConfig(task);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-l0-'));
  roots.push(root);
  const dirs: Dirs = {
    root,
    bin: path.join(root, 'bin'),
    tools: path.join(root, 'tools'),
    agentTemp: path.join(root, 'agent-temp'),
    sources: path.join(root, 's'),
    pythonLocation: path.join(root, 'hostedtoolcache', 'Python', '3.12.1', 'x64'),
  };
  for (const dir of [dirs.bin, dirs.agentTemp, dirs.sources]) fs.mkdirSync(dir, { recursive: true });
  const fakes = run.fakes ?? {};
  const inputs = { ...run.inputs };
  const env: Record<string, string> = {
    PATH: dirs.bin,
    AGENT_TEMPDIRECTORY: dirs.agentTemp,
    AGENT_TOOLSDIRECTORY: dirs.tools,
    BUILD_SOURCESDIRECTORY: dirs.sources,
    SYSTEM_DEFAULTWORKINGDIRECTORY: dirs.sources,
    FAKE_TOOLS_STATE: root,
    ...run.env,
  };
  if (fakes.fabricCi) writeTool(path.join(dirs.bin, 'fabric-ci'), 'fabric-ci');
  if (fakes.python3) writeTool(path.join(dirs.bin, 'python3'), 'python3');
  if (fakes.python) writeTool(path.join(dirs.bin, 'python'), 'python');
  if (fakes.docker) writeTool(path.join(dirs.bin, 'docker'), 'docker');
  if (fakes.pythonPath) {
    const file = path.join(root, 'elsewhere', 'my-python');
    writeTool(file, 'pythonPath');
    inputs['pythonPath'] = file;
  }
  if (fakes.pythonLocation) {
    writeTool(path.join(dirs.pythonLocation, 'bin', 'python'), 'pythonLocation');
    env['PYTHONLOCATION'] = dirs.pythonLocation;
  }
  const used = fakes.pythonPath ?? fakes.pythonLocation ?? fakes.python3 ?? fakes.python ?? {};
  const version = used.version ?? [3, 12, 1];
  const fakeConfig: FakeConfig = {
    fakes,
    node: process.execPath,
    fakeTool: FAKE_TOOL,
    bin: dirs.bin,
    raceDir: path.join(dirs.tools, 'fabric-ci', config.version, used.cacheTag ?? `cpython-${version[0]}${version[1]}`),
  };
  fs.writeFileSync(path.join(root, 'config.json'), JSON.stringify(fakeConfig));

  const exitFile = path.join(root, 'exit-code');
  const scenario: Scenario = { taskDir: taskDir(task), inputs, env, exitFile };
  const scenarioFile = path.join(root, 'scenario.json');
  fs.writeFileSync(scenarioFile, JSON.stringify(scenario));

  const runner = new MockTestRunner(SCENARIO, path.join(scenario.taskDir, 'task.json'));
  runner.nodePath = process.execPath; // never download a Node
  process.env['L0_SCENARIO'] = scenarioFile;
  try {
    await runner.runAsync();
  } finally {
    delete process.env['L0_SCENARIO'];
  }
  const callsFile = path.join(root, 'calls.jsonl');
  const calls = fs.existsSync(callsFile)
    ? fs
        .readFileSync(callsFile, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Call)
    : [];
  const exitText = fs.existsSync(exitFile) ? fs.readFileSync(exitFile, 'utf8') : '';
  return {
    runner,
    stdout: runner.stdout,
    calls,
    core: calls.find((call) => call.event === undefined && isCore(call, config.command)),
    exitCode: exitText === '' ? undefined : Number(exitText),
    dirs,
  };
}

/** A fabric-ci on PATH of the task's own version: the quickest runtime, for tests about other things. */
export function installed(task = 'FabricCiDeployAll'): Fakes {
  return { fabricCi: { version: taskConfig(task).version } };
}

/** The agent's variables for an endpoint: what the agent sets for a connectedService input. */
export function endpoint(
  endpointId: string,
  scheme: string,
  parameters: Record<string, string>,
  data: Record<string, string> = {},
  spelling: 'as given' | 'upper' = 'as given',
): Record<string, string> {
  const id = spelling === 'upper' ? endpointId.toUpperCase() : endpointId;
  const env: Record<string, string> = {
    [`ENDPOINT_URL_${id}`]: 'https://management.azure.com/',
    [`ENDPOINT_AUTH_${id}`]: JSON.stringify({ parameters, scheme }),
    [`ENDPOINT_AUTH_SCHEME_${id}`]: scheme,
    [`ENDPOINT_DATA_${id}`]: JSON.stringify(data),
  };
  for (const [key, value] of Object.entries(parameters)) env[`ENDPOINT_AUTH_PARAMETER_${id}_${key.toUpperCase()}`] = value;
  for (const [key, value] of Object.entries(data)) env[`ENDPOINT_DATA_${id}_${key.toUpperCase()}`] = value;
  return env;
}

/** The job's own connection, with the access token workload identity federation needs. */
export function systemVssConnection(token = ACCESS_TOKEN): Record<string, string> {
  return endpoint('SYSTEMVSSCONNECTION', 'OAuth', { AccessToken: token });
}

/** The lines of stdout that are `##vso[task.debug]`. */
export function debugLines(stdout: string): string[] {
  return stdout.split(/\r?\n/).filter((line) => line.includes('##vso[task.debug]'));
}

export function maskedValues(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith('##vso[task.setsecret]'))
    .map((line) => line.slice('##vso[task.setsecret]'.length));
}

/** True when a value's first appearance on stdout is its `##vso[task.setsecret]`: masked before any echo. */
export function maskedFirst(stdout: string, value: string): boolean {
  const command = `##vso[task.setsecret]${value}`;
  return stdout.includes(command) && stdout.indexOf(value) === stdout.indexOf(command) + command.length - value.length;
}
