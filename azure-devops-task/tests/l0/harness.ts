/**
 * L0 harness: runs the bundled task (build/bundle/index.js, exactly what the vsix ships) in a task
 * folder of its own through task-lib's MockTestRunner, with fake fabric-ci/python/docker on a PATH
 * of their own, and hands back what the agent would have seen (stdout, issues, result) and what
 * each child process received.
 *
 * Inputs are set as the agent sets them (TaskRunner.cs): INPUT_<NAME> for every input of
 * task.json, its defaultValue (or "") when the test gives none, every value trimmed.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MockTestRunner } from 'azure-pipelines-task-lib/mock-test';

/** azure-devops-task/ (this file runs from build/test/tests/l0/). */
export const PACKAGE = path.resolve(__dirname, '..', '..', '..', '..');
const REPO = path.dirname(PACKAGE);
/** The bundle under test; L0_BUNDLE points elsewhere (e.g. at a build of older sources, to see a test fail there). */
const BUNDLE = process.env['L0_BUNDLE'] ?? path.join(PACKAGE, 'build', 'bundle', 'index.js');

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
  image: string | null;
  inputs: Record<string, string>;
  secrets: string[];
  signIn: string[];
}

interface TaskJson {
  inputs: { name: string; defaultValue?: string | null }[];
}

/** The task's generated files (`make generate`): task.json and fabric-ci.json. */
export function taskSource(task: string): string {
  return path.join(PACKAGE, task);
}

export function taskConfig(task: string): TaskConfigFile {
  return JSON.parse(fs.readFileSync(path.join(taskSource(task), 'fabric-ci.json'), 'utf8')) as TaskConfigFile;
}

/** A task folder as packed, but with another image in fabric-ci.json, or another build of the wheel. */
export interface Variant {
  image?: string | null;
  wheel?: string;
}

/** An image reference of the form releases will use, for tests of `runtime: docker`. */
export const IMAGE = 'ghcr.io/example/fabric-ci@sha256:' + 'ab'.repeat(32);

const prepared = new Map<string, string>();

function wheelName(task: string): string {
  return `fabric_ci-${taskConfig(task).version}-py3-none-any.whl`;
}

/** build/l0/<Task>[-<variant>]/: the task folder as packed, with a stand-in for the wheel. */
export function taskDir(task: string, variant: Variant = {}): string {
  const id = Object.keys(variant).length === 0 ? task : `${task}-${crypto.createHash('sha256').update(JSON.stringify(variant)).digest('hex').slice(0, 8)}`;
  const known = prepared.get(id);
  if (known) return known;
  if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run bundle (npm test does)`);
  const dir = path.join(PACKAGE, 'build', 'l0', id);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(BUNDLE, path.join(dir, 'index.js'));
  fs.copyFileSync(path.join(taskSource(task), 'task.json'), path.join(dir, 'task.json'));
  const config = { ...taskConfig(task), ...('image' in variant && { image: variant.image }) };
  fs.writeFileSync(path.join(dir, 'fabric-ci.json'), JSON.stringify(config, null, 2) + '\n');
  fs.copyFileSync(path.join(REPO, 'requirements', 'runtime.lock'), path.join(dir, 'runtime.lock'));
  fs.writeFileSync(path.join(dir, wheelName(task)), variant.wheel ?? '');
  prepared.set(id, dir);
  return dir;
}

/** The sha256 of the wheel in a task folder, as the wrapper keys its venv by it. */
export function wheelSha256(dir: string): string {
  const wheel = fs.readdirSync(dir).find((name) => name.endsWith('.whl')) as string;
  return crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, wheel))).digest('hex');
}

export interface PythonFake {
  version?: number[];
  cacheTag?: string;
  /** The base interpreter's real path, as the probe reports it; by default one per fake. */
  base?: string;
  venvFail?: boolean;
  /**
   * `-m venv` starts a process that keeps writing into the new venv (as ensurepip's pip does), then
   * the agent cancels; the venv process itself ends at once on SIGINT, without passing it on.
   */
  venvCancel?: boolean;
}

export interface Fakes {
  /** `fabric-ci` on PATH, answering `--version` with `version`. */
  fabricCi?: { version: string; deleteAfterVersion?: boolean };
  python3?: PythonFake;
  python?: PythonFake;
  /** The Windows launcher, `py -3`. */
  py?: PythonFake;
  /** A Python off PATH, given as the pythonPath input. */
  pythonPath?: PythonFake;
  /** The Python UsePythonVersion would set up: <pythonLocation>/bin/python (<pythonLocation>\python.exe on Windows). */
  pythonLocation?: PythonFake;
  docker?: { daemon: boolean };
  venv?: {
    pipFail?: boolean;
    /** Another job on the agent finishes its venv while this one runs pip. */
    raceWinner?: boolean;
    /** The agent cancels during the first pip install, which then ends as pip does on SIGINT. */
    pipCancel?: boolean;
  };
  /** How the core (whichever tool runs it) ends, and what it writes first. */
  core?: {
    exit?: number;
    reports?: boolean;
    /** The task.complete written in two pieces, split inside `##vso[task.complete`. */
    splitReport?: boolean;
    /** Lines written before the end, each in its own write. */
    lines?: string[];
    signal?: NodeJS.Signals;
    signalParent?: NodeJS.Signals;
  };
}

export interface FakeConfig {
  fakes: Fakes;
  platform: NodeJS.Platform;
  node: string;
  fakeTool: string;
  bin: string;
  /** Where the venv of this run's Python goes: another job's may appear there (raceWinner). */
  raceDir: string;
  wheelSha256: string;
}

export interface Call {
  tool: string;
  argv: string[];
  /** The working directory it was started in. */
  cwd: string;
  env: Record<string, string>;
  envNames: string[];
  event?: string;
}

export interface Scenario {
  taskDir: string;
  /** The step's working directory: the agent's System.DefaultWorkingDirectory, the checked-out repository. */
  cwd: string;
  inputs: Record<string, string>;
  env: Record<string, string>;
  exitFile: string;
  platform: NodeJS.Platform;
  /** `broken`: the task's stdout (the agent's pipe) fails every write. */
  stdout?: 'broken';
}

export interface Run {
  task?: string;
  /** As the pipeline gives them; every other input of task.json gets its default, as from the agent. */
  inputs?: Record<string, string>;
  /** Variables and endpoints, as the agent's environment variables. */
  env?: Record<string, string>;
  fakes?: Fakes;
  /** The platform the task believes it runs on (process.platform, set before the task loads). */
  platform?: NodeJS.Platform;
  variant?: Variant;
  /** `broken`: every write to the task's stdout fails (ENOSPC: it is /dev/full), so nothing can be reported. */
  stdout?: 'broken';
  /** Files in the checked-out repository (the step's working directory), by relative path. */
  sources?: Record<string, string>;
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
  /** The folder the venv for `cacheTag` and `base` (the run's Python's) has (or would have) in this run's tools directory. */
  venvDir: (cacheTag?: string, base?: string) => string;
}

const FAKE_TOOL = path.join(__dirname, 'fake-tool.js');
const SCENARIO = path.join(__dirname, 'scenario.js');
const roots: string[] = [];
process.on('exit', () => {
  if (!process.env['L0_KEEP']) for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** A fake tool at `file`: an sh script that runs fake-tool.js as `identity`. */
export function writeTool(file: string, identity: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\nexec "${process.execPath}" "${FAKE_TOOL}" ${identity} "$@"\n`, { mode: 0o755 });
}

/** The module a Python call runs with `-m`, if any. */
export function pythonModule(call: Call): string | undefined {
  const at = call.argv.indexOf('-m');
  return at >= 0 ? call.argv[at + 1] : undefined;
}

function isCore(call: Call, command: string): boolean {
  if (call.tool === 'fabric-ci') return call.argv[0] === command;
  if (call.tool === 'docker') return call.argv[0] === 'run';
  return pythonModule(call) === 'fabric_ci';
}

const PYTHONS = ['pythonPath', 'pythonLocation', 'python3', 'python', 'py'] as const;

/** Where a fake Python says its base interpreter is, unless the test says. */
function fakeBase(identity: string): string {
  return `/opt/fake/${identity.toLowerCase()}/bin/python3`;
}

/**
 * The venv's folder name as the wrapper keys it (an independent statement of venv.ts venvKey):
 * the ABI, 12 hex of the wheel's sha256, 8 of the base interpreter's real path.
 */
export function venvKey(cacheTag: string, wheelSha: string, base: string): string {
  return `${cacheTag}-${wheelSha.slice(0, 12)}-${crypto.createHash('sha256').update(base).digest('hex').slice(0, 8)}`;
}

/** The inputs as the agent sends them: all of task.json's, defaults filled in, trimmed. */
function agentInputs(dir: string, given: Record<string, string>): Record<string, string> {
  const taskJson = JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8')) as TaskJson;
  const inputs: Record<string, string> = {};
  for (const input of taskJson.inputs) inputs[input.name] = (input.defaultValue ?? '').trim();
  for (const [name, value] of Object.entries(given)) inputs[name] = value.trim();
  return inputs;
}

export const ENDPOINT_ID = '3f7c2a8e-5d1b-4c6a-9e2f-0b8d7a6c5e41';
export const ACCESS_TOKEN = 'job-access-token-9f8e7d6c5b4a';

export async function runTask(run: Run = {}): Promise<Result> {
  const task = run.task ?? 'FabricCiDeployAll';
  const platform = run.platform ?? process.platform;
  const windows = platform === 'win32';
  const exe = windows ? '.exe' : '';
  const config = taskConfig(task);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-l0-'));
  roots.push(root);
  const dirs: Dirs = {
    root,
    bin: path.join(root, 'bin'),
    // A test may give the agent another job's tools folder, to see the venv reused.
    tools: run.env?.['AGENT_TOOLSDIRECTORY'] ?? path.join(root, 'tools'),
    agentTemp: path.join(root, 'agent-temp'),
    sources: path.join(root, 's'),
    pythonLocation: path.join(root, 'hostedtoolcache', 'Python', '3.12.1', 'x64'),
  };
  for (const dir of [dirs.bin, dirs.agentTemp, dirs.sources]) fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(run.sources ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dirs.sources, name)), { recursive: true });
    fs.writeFileSync(path.join(dirs.sources, name), text);
  }
  const fakes = run.fakes ?? {};
  const given = { ...run.inputs };
  const env: Record<string, string> = {
    PATH: dirs.bin,
    AGENT_TEMPDIRECTORY: dirs.agentTemp,
    AGENT_TOOLSDIRECTORY: dirs.tools,
    BUILD_SOURCESDIRECTORY: dirs.sources,
    SYSTEM_DEFAULTWORKINGDIRECTORY: dirs.sources,
    FAKE_TOOLS_STATE: root,
    // task-lib's which() on Windows finds only names with an extension in PATHEXT; lower case, as
    // the fakes are named, since this disk (unlike Windows') tells the cases apart.
    ...(windows && { PATHEXT: '.exe' }),
    ...run.env,
  };
  if (fakes.fabricCi) writeTool(path.join(dirs.bin, `fabric-ci${exe}`), 'fabric-ci');
  if (fakes.python3) writeTool(path.join(dirs.bin, `python3${exe}`), 'python3');
  if (fakes.python) writeTool(path.join(dirs.bin, `python${exe}`), 'python');
  if (fakes.py) writeTool(path.join(dirs.bin, `py${exe}`), 'py');
  if (fakes.docker) writeTool(path.join(dirs.bin, `docker${exe}`), 'docker');
  if (fakes.pythonPath) {
    const file = path.join(root, 'elsewhere', `my-python${exe}`);
    writeTool(file, 'pythonPath');
    given['pythonPath'] = file;
  }
  if (fakes.pythonLocation) {
    writeTool(windows ? path.join(dirs.pythonLocation, 'python.exe') : path.join(dirs.pythonLocation, 'bin', 'python'), 'pythonLocation');
    env['PYTHONLOCATION'] = dirs.pythonLocation;
  }
  const folder = taskDir(task, run.variant);
  const sha = wheelSha256(folder);
  // Each fake Python reports a base interpreter of its own (the default, unless the test gives one).
  const withBases: Fakes = { ...fakes };
  for (const identity of PYTHONS) {
    const fake = fakes[identity];
    if (fake) withBases[identity] = { ...fake, base: fake.base ?? fakeBase(identity) };
  }
  const usedIdentity = PYTHONS.find((identity) => fakes[identity] !== undefined);
  const used = (usedIdentity && withBases[usedIdentity]) || {};
  const venvDir = (cacheTag = 'cpython-312', base = used.base ?? ''): string =>
    path.join(dirs.tools, 'fabric-ci', config.version, venvKey(cacheTag, sha, base));
  const version = used.version ?? [3, 12, 1];
  const fakeConfig: FakeConfig = {
    fakes: withBases,
    platform,
    node: process.execPath,
    fakeTool: FAKE_TOOL,
    bin: dirs.bin,
    raceDir: venvDir(used.cacheTag ?? `cpython-${version[0]}${version[1]}`),
    wheelSha256: sha,
  };
  fs.writeFileSync(path.join(root, 'config.json'), JSON.stringify(fakeConfig));

  const exitFile = path.join(root, 'exit-code');
  const scenario: Scenario = {
    taskDir: folder,
    cwd: dirs.sources,
    inputs: agentInputs(folder, given),
    env,
    exitFile,
    platform,
    ...(run.stdout && { stdout: run.stdout }),
  };
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
    venvDir,
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

/** task-lib's escaping of a command's data (taskcommand.js escapedata), for values with `%` or line breaks. */
export function commandData(value: string): string {
  return value.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The values registered with `##vso[task.setsecret]`, unescaped as the agent reads them. */
export function maskedValues(stdout: string): string[] {
  return stdout
    .split(/\r?\n/)
    .filter((line) => line.startsWith('##vso[task.setsecret]'))
    .map((line) => line.slice('##vso[task.setsecret]'.length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%AZP25/g, '%'));
}

/** True when a value's first appearance on stdout is its `##vso[task.setsecret]`: masked before any echo. */
export function maskedFirst(stdout: string, value: string): boolean {
  const command = `##vso[task.setsecret]${commandData(value)}`;
  const at = stdout.indexOf(command);
  return at >= 0 && (stdout.indexOf(value) === -1 || stdout.indexOf(value) >= at);
}
