/**
 * Stand-in for fabric-ci, python and docker in L0 tests: `node fake-tool.js <identity> <args...>`,
 * started through a small sh script of the tool's name on PATH. Every invocation is recorded (its
 * argv and the variables the core reads) in $FAKE_TOOLS_STATE/calls.jsonl; what it answers comes
 * from $FAKE_TOOLS_STATE/config.json, written by the harness.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Call, FakeConfig, PythonFake } from './harness';

const state = process.env['FAKE_TOOLS_STATE'] ?? '';
const config = JSON.parse(fs.readFileSync(path.join(state, 'config.json'), 'utf8')) as FakeConfig;
const [identity = '', ...argv] = process.argv.slice(2);

const RECORDED = /^(INPUT_|FABRIC_CI_|SYSTEM_|AZURESUBSCRIPTION_|TF_BUILD$|PYTHONUNBUFFERED$|(HTTPS?|NO)_PROXY$|PIP_CERT$)/;

function record(extra: Partial<Call> = {}): void {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (RECORDED.test(name) && value !== undefined) env[name] = value;
  const call: Call = { tool: identity, argv, cwd: process.cwd(), env, envNames: Object.keys(process.env), ...extra };
  fs.appendFileSync(path.join(state, 'calls.jsonl'), JSON.stringify(call) + '\n');
}

function script(identityName: string): string {
  return `#!/bin/sh\nexec "${config.node}" "${config.fakeTool}" ${identityName} "$@"\n`;
}

function writeScript(file: string, identityName: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script(identityName), { mode: 0o755 });
}

// Modules a repository could hold that the probe, venv, pip or the core would import.
const SHADOWABLE = ['json', 'os', 'venv', 'ensurepip', 'pip', 'fabric_ci', 'httpx', 'msal'];

/**
 * Python's own rules for the options before `-c`/`-m`, for a Python of `version`: `-P` exists from
 * 3.11 (older ones stop with "Unknown option: -P"), and without `-P` or `-I`, `-c` and `-m` put the
 * working directory first on sys.path, so a module of that name there is imported instead of the
 * real one. Ends the process as Python would; returns the arguments from `-c`/`-m` on otherwise.
 */
function asPython(args: string[], version: number[]): string[] {
  const at = args.findIndex((arg) => arg === '-c' || arg === '-m');
  const options = at < 0 ? args : args.slice(0, at);
  const [major = 0, minor = 0] = version;
  if (options.includes('-P') && (major < 3 || (major === 3 && minor < 11))) {
    console.error('Unknown option: -P');
    process.exit(2);
  }
  if (at >= 0 && !options.includes('-P') && !options.includes('-I')) {
    const here = process.cwd();
    const found = SHADOWABLE.find((name) => fs.existsSync(path.join(here, `${name}.py`)) || fs.existsSync(path.join(here, name, '__init__.py')));
    if (found !== undefined) {
      record({ event: `imported ${found} from ${here}` });
      console.error(`ImportError: the working directory's ${found} was imported instead of the real one (fake)`);
      process.exit(1);
    }
  }
  return at < 0 ? [] : args.slice(at);
}

/** A venv's interpreter where the wrapper looks for it on the platform the task believes it is on. */
function venvPython(dir: string): string {
  return config.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

/** A finished venv as another job on the agent would leave it. */
function writeOtherJobsVenv(dir: string): void {
  writeScript(venvPython(dir), 'venv');
  fs.writeFileSync(path.join(dir, 'fabric-ci-ready.json'), JSON.stringify({ winner: 'the other job', wheelSha256: config.wheelSha256 }) + '\n');
}

/** Stay alive until `signal` comes, then do `then`; say so if it never comes. */
function awaitSignal(signal: NodeJS.Signals, then: () => void): void {
  process.on(signal, then);
  setTimeout(() => {
    record({ event: 'no signal' });
    process.exit(99);
  }, 5000);
}

function core(): void {
  const behaviour = config.fakes.core ?? {};
  if (behaviour.signalParent) {
    const signal = behaviour.signalParent;
    awaitSignal(signal, () => {
      record({ event: `received ${signal}` });
      // As the core does when it handles a cancel: report it, then exit 128+N.
      console.log(`##vso[task.complete result=Failed;]fake core cancelled by ${signal}`);
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
    process.kill(process.ppid, signal);
    return;
  }
  if (behaviour.signal) {
    process.kill(process.pid, behaviour.signal);
    setTimeout(() => process.exit(98), 2000);
    return;
  }
  for (const line of behaviour.lines ?? []) fs.writeSync(1, line + '\n');
  const exit = behaviour.exit ?? 0;
  if (exit <= 2 && behaviour.reports !== false) {
    const report = `##vso[task.complete result=${exit === 0 ? 'Succeeded' : 'Failed'};]fake core exited ${exit}\n`;
    if (behaviour.splitReport) {
      // Two writes, apart in time: the wrapper sees them as two chunks.
      fs.writeSync(1, report.slice(0, 12));
      setTimeout(() => {
        fs.writeSync(1, report.slice(12));
        process.exit(exit);
      }, 100);
      return;
    }
    fs.writeSync(1, report);
  }
  process.exit(exit);
}

const WRITER_READY = '.writer-ready';

/** What ensurepip's pip does inside `python -m venv`: keep writing into the new venv. */
function writer(dir: string): void {
  process.on('SIGINT', () => {
    record({ event: 'writer got SIGINT' });
    process.exit(130);
  });
  // Only now may the cancel come: a loaded machine can take longer than any fixed delay to start node.
  fs.writeFileSync(path.join(dir, WRITER_READY), '');
  const started = Date.now();
  let n = 0;
  const timer = setInterval(() => {
    if (Date.now() - started > 8000) {
      clearInterval(timer);
      record({ event: 'writer outlived the cancel' });
      return;
    }
    try {
      const site = path.join(dir, 'lib', 'site-packages');
      fs.mkdirSync(site, { recursive: true });
      fs.writeFileSync(path.join(site, `file-${n++}.py`), 'x = 1\n');
    } catch {
      // The folder is being deleted under us; the next round writes it again.
    }
  }, 5);
}

function python(fake: PythonFake): void {
  const version = fake.version ?? [3, 12, 1];
  // The Windows launcher's `py -3 ...` is Python with one more argument in front.
  const args = asPython(argv[0] === '-3' ? argv.slice(1) : argv, version);
  if (args[0] === '-c') {
    const cacheTag = fake.cacheTag ?? `cpython-${version[0]}${version[1]}`;
    console.log(JSON.stringify({ version, cacheTag, name: 'cpython', executable: process.argv[1], base: fake.base }));
    return;
  }
  if (args[0] === '-m' && args[1] === 'venv') {
    if (fake.venvFail) {
      console.error('Error: ensurepip is not available (fake)');
      process.exit(1);
    }
    const dir = args[2] ?? '';
    writeScript(venvPython(dir), 'venv');
    fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), 'home = /fake\n');
    if (fake.venvCancel) {
      // Python ends on SIGINT (KeyboardInterrupt) without passing it on to ensurepip's pip.
      process.on('SIGINT', () => process.exit(130));
      spawn(process.execPath, [config.fakeTool, 'writer', dir], { stdio: 'ignore' });
      // The agent's cancel, once the writer listens for it (and is writing).
      const cancel = setInterval(() => {
        if (fs.existsSync(path.join(dir, WRITER_READY))) {
          clearInterval(cancel);
          setTimeout(() => process.kill(process.ppid, 'SIGINT'), 50);
        }
      }, 10);
      setTimeout(() => process.exit(99), 15000);
    }
    return;
  }
  if (args[0] === '-m' && args[1] === 'fabric_ci') return core();
  console.error(`fake python: unexpected arguments ${JSON.stringify(argv)}`);
  process.exit(97);
}

function isLivenessCheck(): boolean {
  return argv[0] === '-I' && argv[1] === '-S' && argv[2] === '-c';
}

function venv(): void {
  const behaviour = config.fakes.venv ?? {};
  if (isLivenessCheck()) return;
  const args = asPython(argv, [3, 12, 1]);
  if (args[0] === '-m' && args[1] === 'pip') {
    if (behaviour.pipFail) {
      console.log('Collecting httpx==0.28.1 (from -r runtime.lock (line 42))');
      console.error('ERROR: Could not find a version that satisfies the requirement httpx==0.28.1 (fake pip)');
      process.exit(1);
    }
    if (behaviour.pipCancel) {
      awaitSignal('SIGINT', () => {
        record({ event: 'pip got SIGINT' });
        console.error('ERROR: Operation cancelled by user');
        process.exit(1);
      });
      process.kill(process.ppid, 'SIGINT');
      return;
    }
    if (behaviour.raceWinner && argv.includes('--no-deps')) writeOtherJobsVenv(config.raceDir);
    console.log('Successfully installed (fake)');
    return;
  }
  if (args[0] === '-m' && args[1] === 'fabric_ci') return core();
  console.error(`fake venv python: unexpected arguments ${JSON.stringify(argv)}`);
  process.exit(97);
}

/** The python of a venv whose base Python was removed: it cannot start. */
function deadVenv(replacedMeanwhile: boolean): void {
  if (replacedMeanwhile) {
    // While this job looks, another one moves this broken venv aside and renames its own good one in.
    fs.renameSync(config.raceDir, path.join(path.dirname(config.raceDir), `.${path.basename(config.raceDir)}-aside-other-job`));
    writeOtherJobsVenv(config.raceDir);
  }
  console.error('Fatal Python error: init_fs_encoding: failed to get the Python codec of the filesystem encoding (fake)');
  process.exit(1);
}

function main(): void {
  record();
  switch (identity) {
    case 'fabric-ci': {
      const fake = config.fakes.fabricCi ?? { version: '0.0.0' };
      if (argv[0] === '--version') {
        console.log(`fabric-ci ${fake.version}`);
        if (fake.deleteAfterVersion) fs.rmSync(path.join(config.bin, config.platform === 'win32' ? 'fabric-ci.exe' : 'fabric-ci'));
        return;
      }
      return core();
    }
    case 'python3':
    case 'python':
    case 'py':
    case 'pythonPath':
    case 'pythonLocation':
      return python(config.fakes[identity] ?? {});
    case 'venv':
      return venv();
    case 'venv-dead':
      return deadVenv(false);
    case 'venv-dead-replaced':
      return deadVenv(true);
    case 'writer':
      return writer(argv[0] ?? '');
    case 'docker':
      if (argv[0] === 'version') {
        if (config.fakes.docker?.daemon) return console.log('24.0.7');
        console.error('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?');
        process.exit(1);
      }
      if (argv[0] === 'run') return core();
      process.exit(97);
    default:
      console.error(`fake tool: unknown identity ${identity}`);
      process.exit(97);
  }
}

main();
