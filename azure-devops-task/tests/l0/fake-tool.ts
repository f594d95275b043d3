/**
 * Stand-in for fabric-ci, python and docker in L0 tests: `node fake-tool.js <identity> <args...>`,
 * started through a small sh script of the tool's name on PATH. Every invocation is recorded (its
 * argv and the variables the core reads) in $FAKE_TOOLS_STATE/calls.jsonl; what it answers comes
 * from $FAKE_TOOLS_STATE/config.json, written by the harness.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Call, FakeConfig, PythonFake } from './harness';

const state = process.env['FAKE_TOOLS_STATE'] ?? '';
const config = JSON.parse(fs.readFileSync(path.join(state, 'config.json'), 'utf8')) as FakeConfig;
const [identity = '', ...argv] = process.argv.slice(2);

const RECORDED = /^(INPUT_|FABRIC_CI_|SYSTEM_|AZURESUBSCRIPTION_|TF_BUILD$|PYTHONUNBUFFERED$)/;

function record(extra: Partial<Call> = {}): void {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (RECORDED.test(name) && value !== undefined) env[name] = value;
  const call: Call = { tool: identity, argv, env, envNames: Object.keys(process.env), ...extra };
  fs.appendFileSync(path.join(state, 'calls.jsonl'), JSON.stringify(call) + '\n');
}

function script(identityName: string): string {
  return `#!/bin/sh\nexec "${config.node}" "${config.fakeTool}" ${identityName} "$@"\n`;
}

function writeScript(file: string, identityName: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, script(identityName), { mode: 0o755 });
}

function core(): void {
  const behaviour = config.fakes.core ?? {};
  if (behaviour.signalParent) {
    const signal = behaviour.signalParent;
    process.on(signal, () => {
      record({ event: `received ${signal}` });
      // As the core does when it handles a cancel: report it, then exit 128+N.
      console.log(`##vso[task.complete result=Failed;]fake core cancelled by ${signal}`);
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
    // If the wrapper does not pass the signal on, nothing else ends this process: say so.
    setTimeout(() => {
      record({ event: 'no signal' });
      process.exit(99);
    }, 5000);
    process.kill(process.ppid, signal);
    return;
  }
  if (behaviour.signal) {
    process.kill(process.pid, behaviour.signal);
    setTimeout(() => process.exit(98), 2000);
    return;
  }
  const exit = behaviour.exit ?? 0;
  if (exit <= 2 && behaviour.reports !== false) {
    console.log(`##vso[task.complete result=${exit === 0 ? 'Succeeded' : 'Failed'};]fake core exited ${exit}`);
  }
  process.exit(exit);
}

function python(fake: PythonFake): void {
  if (argv[0] === '-c') {
    const version = fake.version ?? [3, 12, 1];
    const cacheTag = fake.cacheTag ?? `cpython-${version[0]}${version[1]}`;
    console.log(JSON.stringify({ version, cacheTag, name: 'cpython', executable: process.argv[1] }));
    return;
  }
  if (argv[0] === '-m' && argv[1] === 'venv') {
    if (fake.venvFail) {
      console.error('Error: ensurepip is not available (fake)');
      process.exit(1);
    }
    const dir = argv[2] ?? '';
    writeScript(path.join(dir, 'bin', 'python'), 'venv');
    fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), 'home = /fake\n');
    return;
  }
  if (argv[0] === '-m' && argv[1] === 'fabric_ci') return core();
  console.error(`fake python: unexpected arguments ${JSON.stringify(argv)}`);
  process.exit(97);
}

function venv(): void {
  const behaviour = config.fakes.venv ?? {};
  if (argv[0] === '-m' && argv[1] === 'pip') {
    if (behaviour.pipFail) {
      console.log('Collecting httpx==0.28.1 (from -r runtime.lock (line 42))');
      console.error('ERROR: Could not find a version that satisfies the requirement httpx==0.28.1 (fake pip)');
      process.exit(1);
    }
    if (behaviour.raceWinner && argv.includes('--no-deps')) {
      // Another job on the same agent finishes its environment first.
      writeScript(path.join(config.raceDir, 'bin', 'python'), 'venv');
      fs.writeFileSync(path.join(config.raceDir, 'fabric-ci-ready.json'), '{"winner": "the other job"}\n');
    }
    console.log('Successfully installed (fake)');
    return;
  }
  if (argv[0] === '-m' && argv[1] === 'fabric_ci') return core();
  console.error(`fake venv python: unexpected arguments ${JSON.stringify(argv)}`);
  process.exit(97);
}

function main(): void {
  record();
  switch (identity) {
    case 'fabric-ci': {
      const fake = config.fakes.fabricCi ?? { version: '0.0.0' };
      if (argv[0] === '--version') {
        console.log(`fabric-ci ${fake.version}`);
        if (fake.deleteAfterVersion) fs.rmSync(path.join(config.bin, 'fabric-ci'));
        return;
      }
      return core();
    }
    case 'python3':
    case 'python':
    case 'pythonPath':
    case 'pythonLocation':
      return python(config.fakes[identity] ?? {});
    case 'venv':
      return venv();
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
