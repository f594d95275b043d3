/** L0: how the core is started on the agent: installed, python (a cached venv), docker, or auto. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { runTask, taskConfig, taskDir } from './harness';
import type { Call, Result } from './harness';

const CONFIG = taskConfig('FabricCiDeployAll');
const VERSION = CONFIG.version;
const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'runtime-secret-81' };

function venvRoot(result: Result, cacheTag = 'cpython-312'): string {
  return path.join(result.dirs.tools, 'fabric-ci', VERSION, cacheTag);
}

function succeeded(result: Result): Call {
  assert.equal(result.exitCode, 0, result.stdout);
  assert.ok(result.runner.succeeded, result.stdout);
  assert.ok(result.core, 'the core ran');
  return result.core;
}

function failedWith(result: Result, pattern: RegExp): string {
  assert.ok(result.runner.failed, 'the step failed');
  assert.equal(result.core, undefined, 'the core did not run');
  assert.equal(result.runner.errorIssues.length, 1, result.runner.errorIssues.join('\n'));
  const message = result.runner.errorIssues[0] as string;
  assert.match(message, pattern);
  return message;
}

describe('runtime installed', () => {
  test('a fabric-ci of the task\'s version on PATH runs as `fabric-ci <command>`', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'installed' }, fakes: { fabricCi: { version: VERSION } } });
    const core = succeeded(result);
    assert.equal(core.tool, 'fabric-ci');
    assert.deepEqual(core.argv, [CONFIG.command]);
    assert.deepEqual(result.calls.map((call) => call.argv[0]), ['--version', CONFIG.command]);
  });

  test('a fabric-ci of another version is refused, naming runtime and both versions', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'installed' }, fakes: { fabricCi: { version: '0.0.9' } } });
    const message = failedWith(result, /^runtime is installed, but fabric-ci on PATH \(.+\/bin\/fabric-ci\) is version 0\.0\.9, /);
    assert.ok(message.endsWith(`, and this task is ${VERSION}. Install fabric-ci==${VERSION} on the agent, or set runtime to auto`), message);
  });

  test('no fabric-ci on PATH is refused', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'installed' } });
    failedWith(result, /^runtime is installed, but fabric-ci is not on PATH\. Install fabric-ci==.+ on the agent, or set runtime to auto$/);
  });
});

describe('runtime python', () => {
  test('python3 on PATH: a venv is made once under Agent.ToolsDirectory and the core runs as `<venv python> -m fabric_ci`', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { version: [3, 12, 1] } } });
    const core = succeeded(result);
    const root = venvRoot(result);
    assert.equal(core.tool, 'venv');
    assert.deepEqual(core.argv, ['-m', 'fabric_ci', CONFIG.command]);
    assert.ok(fs.existsSync(path.join(root, 'fabric-ci-ready.json')), 'the marker is written');
    assert.ok(fs.existsSync(path.join(root, 'bin', 'python')));
    // Built in a temporary sibling, then renamed: nothing else is left in the version folder.
    assert.deepEqual(fs.readdirSync(path.dirname(root)), ['cpython-312']);

    const [probe, venv, lock, wheel] = result.calls;
    assert.equal(probe?.tool, 'python3');
    assert.equal(probe?.argv[0], '-c');
    assert.deepEqual(venv?.argv.slice(0, 2), ['-m', 'venv']);
    assert.notEqual(venv?.argv[2], root, 'the venv is made elsewhere first');
    assert.equal(path.dirname(venv?.argv[2] ?? ''), path.dirname(root));
    assert.deepEqual(lock?.argv.slice(0, 3), ['-m', 'pip', 'install']);
    assert.deepEqual(lock?.argv.slice(-3), ['--require-hashes', '-r', path.join(taskDir('FabricCiDeployAll'), 'runtime.lock')]);
    assert.ok(wheel?.argv.includes('--no-deps'));
    assert.match(wheel?.argv.at(-1) ?? '', new RegExp(`fabric_ci-${VERSION.replace(/\./g, '\\.')}-py3-none-any\\.whl$`));
    // pip never sees the inputs: their values go to the core only.
    for (const call of [probe, venv, lock, wheel]) assert.equal(call?.env['INPUT_CLIENTSECRET'], undefined, call?.tool);
    assert.equal(core.env['INPUT_CLIENTSECRET'], SIGN_IN.clientSecret);
  });

  test('the venv is reused by the next job: no venv, no pip', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    const second = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { AGENT_TOOLSDIRECTORY: first.dirs.tools },
      fakes: { python3: {} },
    });
    const core = succeeded(second);
    // One probe (the cache is per Python ABI), then the core: nothing is installed again.
    assert.deepEqual(second.calls.map((call) => call.tool), ['python3', 'venv']);
    assert.equal(second.calls[0]?.argv[0], '-c');
    assert.deepEqual(core.argv.slice(0, 2), ['-m', 'fabric_ci']);
  });

  test('pythonPath wins over everything else', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      fakes: { pythonPath: { version: [3, 13, 0] }, pythonLocation: {}, python3: {} },
    });
    succeeded(result);
    assert.ok(result.calls.filter((call) => call.tool !== 'venv').every((call) => call.tool === 'pythonPath'));
    assert.ok(fs.existsSync(venvRoot(result, 'cpython-313')));
  });

  test('pythonLocation (UsePythonVersion) is used before PATH, as <pythonLocation>/bin/python', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { pythonLocation: { version: [3, 11, 9] }, python3: {} } });
    succeeded(result);
    assert.deepEqual([...new Set(result.calls.map((call) => call.tool))], ['pythonLocation', 'venv']);
    assert.match(result.stdout, /Python 3\.11\.9 from the Python of UsePythonVersion \(pythonLocation: .*hostedtoolcache.*bin\/python\)/);
  });

  test('a Python 3.10 is refused, saying which was found and what is needed', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { version: [3, 10, 12] } } });
    const message = failedWith(result, /^runtime is python, but no usable Python: /);
    assert.match(message, /python3 on PATH \(.+\) is Python 3\.10\.12; fabric-ci needs Python 3\.11 or newer/);
    assert.match(message, /python is not on PATH/);
    assert.match(message, /UsePythonVersion@0/);
  });

  test('on PATH an old python3 is passed over for a good python', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { version: [3, 9, 2] }, python: { version: [3, 12, 3] } } });
    succeeded(result);
    assert.equal(result.calls.find((call) => call.argv[1] === 'venv')?.tool, 'python');
  });

  test('an explicit pythonPath that is too old is an error, not a reason to take another', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { pythonPath: { version: [3, 10, 0] }, python3: {} } });
    failedWith(result, /^runtime is python, but pythonPath \(.+my-python\) is Python 3\.10\.0; fabric-ci needs Python 3\.11 or newer/);
  });

  test('a failing pip shows its output, leaves no directory behind, and fails naming runtime', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {}, venv: { pipFail: true } } });
    failedWith(
      result,
      /^runtime is python, but pip install --require-hashes -r runtime\.lock failed \(exit code 1\); its output is above\. Check the agent's package index/,
    );
    assert.match(result.stdout, /Could not find a version that satisfies the requirement httpx==0\.28\.1 \(fake pip\)/);
    assert.deepEqual(fs.readdirSync(path.join(result.dirs.tools, 'fabric-ci', VERSION)), [], 'no temporary or final venv left');
  });

  test('a failing `python -m venv` leaves nothing behind either', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { venvFail: true } } });
    failedWith(result, /-m venv failed \(exit code 1\)/);
    assert.match(result.stdout, /ensurepip is not available/);
    assert.deepEqual(fs.readdirSync(path.join(result.dirs.tools, 'fabric-ci', VERSION)), []);
  });

  test('when another job renames its venv into place first, that one is used and ours deleted', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {}, venv: { raceWinner: true } } });
    succeeded(result);
    const root = venvRoot(result);
    assert.deepEqual(fs.readdirSync(path.dirname(root)), ['cpython-312'], 'our temporary venv is gone');
    assert.equal(fs.readFileSync(path.join(root, 'fabric-ci-ready.json'), 'utf8'), '{"winner": "the other job"}\n');
  });

  test('an unfinished venv (no marker) is rebuilt', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    fs.rmSync(path.join(venvRoot(first), 'fabric-ci-ready.json'));
    const second = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, env: { AGENT_TOOLSDIRECTORY: first.dirs.tools }, fakes: { python3: {} } });
    succeeded(second);
    assert.ok(second.calls.some((call) => call.argv[1] === 'venv'), 'the venv is made again');
    assert.ok(fs.existsSync(path.join(venvRoot(first), 'fabric-ci-ready.json')));
  });
});

describe('runtime docker', () => {
  test('docker run mounts the temp and sources folders at their own paths and passes variables by name only', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'docker', password: 'docker-pass-word' },
      env: { HTTPS_PROXY: 'http://proxy.invalid:3128' },
      fakes: { docker: { daemon: true } },
    });
    const core = succeeded(result);
    const { agentTemp, sources } = result.dirs;
    const args = core.argv;
    assert.deepEqual(args.slice(0, 9), ['run', '--rm', '-i', '-v', `${agentTemp}:${agentTemp}`, '-v', `${sources}:${sources}`, '-w', sources]);
    assert.deepEqual(args.slice(-2), [CONFIG.image, CONFIG.command]);
    const names = args.filter((_, index) => args[index - 1] === '-e');
    for (const name of ['INPUT_CLIENTSECRET', 'INPUT_PASSWORD', 'INPUT_TENANTID', 'TF_BUILD', 'AGENT_TEMPDIRECTORY', 'BUILD_SOURCESDIRECTORY', 'HTTPS_PROXY']) {
      assert.ok(names.includes(name), `-e ${name}`);
    }
    assert.ok(!names.includes('PATH') && !names.includes('FAKE_TOOLS_STATE'), 'only what the core reads');
    for (const value of [SIGN_IN.clientSecret, 'docker-pass-word', SIGN_IN.tenantId]) {
      assert.ok(!args.some((arg) => arg.includes(value)), `no value on docker's command line: ${value}`);
    }
    assert.ok(args.every((arg) => !arg.includes('=')), 'every -e is a bare name');
    assert.equal(core.env['INPUT_CLIENTSECRET'], SIGN_IN.clientSecret, 'docker copies the values from its environment');
  });

  test('a Docker daemon that cannot be reached is refused', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'docker' }, fakes: { docker: { daemon: false } } });
    failedWith(result, /^runtime is docker, but the Docker daemon cannot be reached \(Cannot connect to the Docker daemon/);
  });
});

describe('runtime auto', () => {
  test('installed comes first', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { fabricCi: { version: VERSION }, python3: {}, docker: { daemon: true } } });
    assert.equal(succeeded(result).tool, 'fabric-ci');
  });

  test('a fabric-ci of another version is passed over for python', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { fabricCi: { version: '9.9.9' }, python3: {}, docker: { daemon: true } } });
    assert.equal(succeeded(result).tool, 'venv');
  });

  test('docker comes last', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { docker: { daemon: true } } });
    assert.equal(succeeded(result).tool, 'docker');
  });

  test('when nothing works, one error names runtime and why each way failed', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { python3: { version: [3, 8, 10] }, docker: { daemon: false } } });
    const message = failedWith(result, /^runtime is auto, and no way to run fabric-ci .+ works on this agent\. /);
    assert.match(message, /installed: fabric-ci is not on PATH\./);
    assert.match(message, /python: no usable Python: python3 on PATH \(.+\) is Python 3\.8\.10; fabric-ci needs Python 3\.11 or newer; python is not on PATH\. docker:/);
    assert.match(message, /docker: the Docker daemon cannot be reached/);
  });
});
