/** L0: how the core is started on the agent: installed, python (a cached venv), docker, or auto. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { IMAGE, pythonModule, runTask, taskConfig, taskDir, writeTool } from './harness';
import type { Call, Result } from './harness';

const CONFIG = taskConfig('FabricCiDeployAll');
const VERSION = CONFIG.version;
const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'runtime-secret-81' };
/** The task as it will be once an image is published for its version. */
const WITH_IMAGE = { image: IMAGE };

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function venvRoot(result: Result, cacheTag = 'cpython-312'): string {
  return result.venvDir(cacheTag);
}

function versionFolder(result: Result): string[] {
  return fs.readdirSync(path.join(result.dirs.tools, 'fabric-ci', VERSION)).sort();
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
    assert.equal(core.env['PYTHONUNBUFFERED'], '1', 'set by the wrapper: the agent does not');
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
    assert.deepEqual(core.argv, ['-P', '-m', 'fabric_ci', CONFIG.command]);
    assert.ok(fs.existsSync(path.join(root, 'fabric-ci-ready.json')), 'the marker is written');
    assert.ok(fs.existsSync(path.join(root, 'bin', 'python')));
    // Built in a temporary sibling, then renamed: nothing else is left in the version folder.
    assert.deepEqual(versionFolder(result), [path.basename(root)]);
    assert.match(path.basename(root), /^cpython-312-[0-9a-f]{12}-[0-9a-f]{8}$/, 'keyed by the ABI, the wheel\'s sha256 and the base Python');

    const [probe, venv, lock, wheel] = result.calls.filter((call) => call.argv[0] !== '-I');
    assert.equal(probe?.tool, 'python3');
    assert.equal(probe?.argv[0], '-c');
    assert.deepEqual(venv?.argv.slice(0, 3), ['-P', '-m', 'venv']);
    assert.notEqual(venv?.argv[3], root, 'the venv is made elsewhere first');
    assert.equal(path.dirname(venv?.argv[3] ?? ''), path.dirname(root));
    assert.deepEqual(lock?.argv.slice(0, 4), ['-P', '-m', 'pip', 'install']);
    assert.deepEqual(wheel?.argv.slice(0, 4), ['-P', '-m', 'pip', 'install']);
    assert.deepEqual(lock?.argv.slice(-3), ['--require-hashes', '-r', path.join(taskDir('FabricCiDeployAll'), 'runtime.lock')]);
    assert.ok(wheel?.argv.includes('--no-deps'));
    assert.match(wheel?.argv.at(-1) ?? '', new RegExp(`fabric_ci-${VERSION.replace(/\./g, '\\.')}-py3-none-any\\.whl$`));
    // pip never sees the inputs: their values go to the core only. Not even the empty INPUT_* the
    // agent sets for every input not given, which task-lib leaves in the environment.
    for (const call of [probe, venv, lock, wheel]) {
      assert.deepEqual(call?.envNames.filter((name) => name.startsWith('INPUT_')), [], call?.tool);
    }
    assert.equal(core.env['INPUT_CLIENTSECRET'], SIGN_IN.clientSecret);
    // The agent does not set it; without it Python buffers the pipe and the ##vso lines come late.
    assert.equal(core.env['PYTHONUNBUFFERED'], '1');
  });

  test('modules in the repository (the working directory) replace none of the probe\'s, venv\'s, pip\'s or the core\'s', async () => {
    const shadow = 'raise SystemExit("the repository\'s module was imported")\n';
    const sources = Object.fromEntries(
      ['json.py', 'os.py', 'httpx.py', 'msal.py', 'pip/__init__.py', 'venv/__init__.py', 'fabric_ci/__init__.py'].map((name) => [name, shadow]),
    );
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      fakes: { python3: {} },
      sources,
      env: { PYTHONPATH: '/repo/src', PYTHONHOME: '/elsewhere' },
    });
    const core = succeeded(result);
    assert.deepEqual(result.calls.filter((call) => call.event !== undefined), [], 'nothing was imported from the repository');
    // The probe may meet a Python without -P (2.7, 3.10): it runs in the task's own folder instead.
    assert.equal(result.calls[0]?.argv[0], '-c');
    assert.equal(result.calls[0]?.cwd, taskDir('FabricCiDeployAll'));
    // The core still runs in the repository: its inputs' relative paths are relative to it.
    assert.equal(core.cwd, result.dirs.sources);
    for (const call of result.calls) {
      assert.deepEqual(call.envNames.filter((name) => /^PYTHON(PATH|HOME)$/.test(name)), [], `${call.tool} ${call.argv.slice(0, 3).join(' ')}`);
    }
  });

  test('the venv is reused by the next job: no venv, no pip, one quick look that its python still runs', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    const second = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { AGENT_TOOLSDIRECTORY: first.dirs.tools },
      fakes: { python3: {} },
    });
    const core = succeeded(second);
    // One probe (the cache is per Python ABI), the venv's python started once, then the core: nothing is installed again.
    assert.deepEqual(second.calls.map((call) => call.tool), ['python3', 'venv', 'venv']);
    assert.equal(second.calls[0]?.argv[0], '-c');
    assert.deepEqual(second.calls[1]?.argv, ['-I', '-S', '-c', '']);
    assert.deepEqual(core.argv.slice(0, 3), ['-P', '-m', 'fabric_ci']);
    assert.match(second.stdout, new RegExp(`environment ${escaped(first.venvDir())} \\(made from /opt/fake/python3/bin/python3\\)`));
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

  test('a relative pythonPath is relative to the working directory, though the probe runs elsewhere', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python', pythonPath: '../bin/python3' }, fakes: { python3: {} } });
    succeeded(result);
    assert.equal(result.calls[0]?.tool, 'python3');
    assert.match(result.stdout, /Python 3\.12\.1 from pythonPath \(\.\.\/bin\/python3\)/);
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
    assert.equal(result.calls.find((call) => pythonModule(call) === 'venv')?.tool, 'python');
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
    assert.deepEqual(versionFolder(result), [], 'no temporary or final venv left');
  });

  test('a failing `python -m venv` leaves nothing behind either', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { venvFail: true } } });
    failedWith(result, /-m venv failed \(exit code 1\)/);
    assert.match(result.stdout, /ensurepip is not available/);
    assert.deepEqual(versionFolder(result), []);
  });

  test('when another job renames its venv into place first, that one is used and ours deleted', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {}, venv: { raceWinner: true } } });
    succeeded(result);
    const root = venvRoot(result);
    assert.deepEqual(versionFolder(result), [path.basename(root)], 'our temporary venv is gone');
    assert.match(fs.readFileSync(path.join(root, 'fabric-ci-ready.json'), 'utf8'), /"winner":"the other job"/);
  });

  test('an unfinished venv (no marker) is rebuilt', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    fs.rmSync(path.join(venvRoot(first), 'fabric-ci-ready.json'));
    const second = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, env: { AGENT_TOOLSDIRECTORY: first.dirs.tools }, fakes: { python3: {} } });
    succeeded(second);
    assert.ok(second.calls.some((call) => pythonModule(call) === 'venv'), 'the venv is made again');
    assert.ok(fs.existsSync(path.join(venvRoot(first), 'fabric-ci-ready.json')));
  });
});

describe('runtime docker', () => {
  test('docker run mounts the temp and sources folders at their own paths and passes variables by name only', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'docker', password: 'docker-pass-word' },
      env: { HTTPS_PROXY: 'http://proxy.invalid:3128' },
      fakes: { docker: { daemon: true } },
      variant: WITH_IMAGE,
    });
    const core = succeeded(result);
    const { agentTemp, sources } = result.dirs;
    const args = core.argv;
    assert.deepEqual(args.slice(0, 11), ['run', '--rm', '-i', '--network', 'host', '-v', `${agentTemp}:${agentTemp}`, '-v', `${sources}:${sources}`, '-w', sources]);
    assert.deepEqual(args.slice(-3), [IMAGE, 'fabric-ci', CONFIG.command]);
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
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'docker' }, fakes: { docker: { daemon: false } }, variant: WITH_IMAGE });
    failedWith(result, /^runtime is docker, but the Docker daemon cannot be reached \(Cannot connect to the Docker daemon/);
  });

  test('no image published for this version (image: null): refused at once, docker never asked', async () => {
    assert.equal(CONFIG.image, null, 'fabric-ci.json as generated today');
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'docker' }, fakes: { docker: { daemon: true } } });
    failedWith(result, new RegExp(`^runtime is docker, but no fabric-ci image is published for version ${VERSION.replace(/\./g, '\\.')} yet\\. Use runtime python or installed$`));
    assert.deepEqual(result.calls, [], 'docker was not run');
  });
});

describe('runtime auto', () => {
  test('installed comes first', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { fabricCi: { version: VERSION }, python3: {}, docker: { daemon: true } }, variant: WITH_IMAGE });
    assert.equal(succeeded(result).tool, 'fabric-ci');
  });

  test('a fabric-ci of another version is passed over for python', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { fabricCi: { version: '9.9.9' }, python3: {}, docker: { daemon: true } }, variant: WITH_IMAGE });
    assert.equal(succeeded(result).tool, 'venv');
  });

  test('docker comes last', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { docker: { daemon: true } }, variant: WITH_IMAGE });
    assert.equal(succeeded(result).tool, 'docker');
  });

  test('when nothing works, one error names runtime and why each way failed', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { python3: { version: [3, 8, 10] }, docker: { daemon: false } }, variant: WITH_IMAGE });
    const message = failedWith(result, /^runtime is auto, and no way to run fabric-ci .+ works on this agent\. /);
    assert.match(message, /installed: fabric-ci is not on PATH\./);
    assert.match(message, /python: no usable Python: python3 on PATH \(.+\) is Python 3\.8\.10; fabric-ci needs Python 3\.11 or newer; python is not on PATH\. docker:/);
    assert.match(message, /docker: the Docker daemon cannot be reached/);
    assert.match(message, /or use a Linux agent with Docker$/);
  });

  test('with no image published, docker is not tried, and the error says it is not available yet', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN }, fakes: { python3: { version: [3, 10, 4] }, docker: { daemon: true } } });
    const message = failedWith(result, /^runtime is auto, and no way to run fabric-ci .+ works on this agent\. /);
    assert.match(message, /installed: fabric-ci is not on PATH\. python: no usable Python: python3 on PATH \(.+\) is Python 3\.10\.4/);
    assert.match(message, new RegExp(`docker: not available yet \\(no fabric-ci image is published for version ${VERSION.replace(/\./g, '\\.')} yet\\)\\.`));
    assert.ok(!/Linux agent with Docker/.test(message), message);
    assert.ok(!result.calls.some((call) => call.tool === 'docker'), 'docker was not run');
  });

  test('a pythonPath that does not work is an error, not a reason to use docker', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN },
      fakes: { pythonPath: { version: [3, 10, 0] }, python3: {}, docker: { daemon: true } },
      variant: WITH_IMAGE,
    });
    const message = failedWith(result, /^runtime is auto, and pythonPath \(.+my-python\) is Python 3\.10\.0; fabric-ci needs Python 3\.11 or newer\. /);
    assert.match(message, /Set pythonPath to a Python 3\.11 or newer, or remove it$/);
    assert.ok(!result.calls.some((call) => call.tool === 'docker' || call.tool === 'python3'), 'nothing else was tried');
  });

  test('a pythonPath that cannot be started is an error too', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN, pythonPath: '/nowhere/python3.12' },
      fakes: { docker: { daemon: true } },
      variant: WITH_IMAGE,
    });
    failedWith(result, /^runtime is auto, and pythonPath \(\/nowhere\/python3\.12\) cannot be started \(spawn \/nowhere\/python3\.12 ENOENT\)/);
    assert.ok(!result.calls.some((call) => call.tool === 'docker'));
  });

  test('a pythonLocation (UsePythonVersion) that does not work is an error, not a reason to use docker', async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN },
      fakes: { pythonLocation: { version: [3, 9, 13] }, docker: { daemon: true } },
      variant: WITH_IMAGE,
    });
    const message = failedWith(result, /^runtime is auto, and the Python of UsePythonVersion \(pythonLocation: .+\) is Python 3\.9\.13; /);
    assert.match(message, /Give UsePythonVersion@0 a versionSpec of 3\.11 or newer/);
    assert.ok(!result.calls.some((call) => call.tool === 'docker'));
  });
});

describe('the venv cache', () => {
  test('a rebuilt wheel of the same version gets a venv of its own, beside the old one', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} }, variant: { wheel: 'build one' } });
    succeeded(first);
    const second = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { AGENT_TOOLSDIRECTORY: first.dirs.tools },
      fakes: { python3: {} },
      variant: { wheel: 'build two' },
    });
    const core = succeeded(second);
    assert.ok(second.calls.some((call) => pythonModule(call) === 'venv'), 'the venv is made for the new wheel');
    assert.notEqual(first.venvDir(), second.venvDir());
    assert.deepEqual(versionFolder(second), [path.basename(first.venvDir()), path.basename(second.venvDir())].sort());
    assert.match(second.stdout, new RegExp(`environment ${escaped(second.venvDir())}`));
    assert.equal(core.tool, 'venv');
  });

  test('a venv made from one Python 3.12 is not used with another: one venv per base interpreter', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: { version: [3, 12, 1] } } });
    succeeded(first);
    const second = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { AGENT_TOOLSDIRECTORY: first.dirs.tools },
      fakes: { pythonLocation: { version: [3, 12, 1], base: '/opt/hostedtoolcache/Python/3.12.1/x64/bin/python3.12' } },
    });
    succeeded(second);
    assert.ok(second.calls.some((call) => call.tool === 'pythonLocation' && pythonModule(call) === 'venv'), 'made from the Python of UsePythonVersion');
    assert.notEqual(second.venvDir(), first.venvDir());
    assert.deepEqual(versionFolder(second), [path.basename(first.venvDir()), path.basename(second.venvDir())].sort());
    assert.match(
      second.stdout,
      new RegExp(`environment ${escaped(second.venvDir())} \\(made from /opt/hostedtoolcache/Python/3\\.12\\.1/x64/bin/python3\\.12\\)`),
    );
  });

  test('a venv whose python no longer runs (its base Python removed) is set aside and rebuilt', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    writeTool(path.join(first.venvDir(), 'bin', 'python'), 'venv-dead');
    const second = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, env: { AGENT_TOOLSDIRECTORY: first.dirs.tools }, fakes: { python3: {} } });
    succeeded(second);
    assert.deepEqual(second.calls.map((call) => `${call.tool} ${call.argv.slice(0, 3).join(' ')}`), [
      'python3 -c ' + second.calls[0]?.argv[1],
      'venv-dead -I -S -c',
      'venv-dead -I -S -c', // looked at again once moved aside: still broken, so deleted
      'python3 -P -m venv',
      'venv -P -m pip',
      'venv -P -m pip',
      'venv -P -m fabric_ci',
    ]);
    assert.deepEqual(versionFolder(second), [path.basename(first.venvDir())], 'the broken one is gone, nothing left aside');
    assert.equal(fs.readFileSync(path.join(first.venvDir(), 'bin', 'python'), 'utf8').includes('venv-dead'), false, 'a new venv is in place');
  });

  test('a venv another job renames into place while this one looks is kept, never deleted', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(first);
    // The venv is broken; while this job checks it, another job moves it aside and puts a good one in.
    writeTool(path.join(first.venvDir(), 'bin', 'python'), 'venv-dead-replaced');
    const second = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, env: { AGENT_TOOLSDIRECTORY: first.dirs.tools }, fakes: { python3: {} } });
    succeeded(second);
    assert.ok(!second.calls.some((call) => pythonModule(call) === 'venv'), 'not rebuilt: the other job\'s venv is used');
    assert.match(fs.readFileSync(path.join(first.venvDir(), 'fabric-ci-ready.json'), 'utf8'), /the other job/);
    assert.equal(second.core?.tool, 'venv');
  });

  test('temporary folders a killed job left behind are swept once they are an hour old', async () => {
    const first = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} }, variant: { wheel: 'sweep one' } });
    succeeded(first);
    const parent = path.dirname(first.venvDir());
    const old = path.join(parent, '.cpython-312-0123456789ab-Xy12Zq');
    const recent = path.join(parent, '.cpython-312-0123456789ab-Ab34Cd');
    const otherAbi = path.join(parent, '.cpython-311-0123456789ab-Ef56Gh');
    for (const dir of [old, recent, otherAbi]) fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(old, twoHoursAgo, twoHoursAgo);
    fs.utimesSync(otherAbi, twoHoursAgo, twoHoursAgo);
    const second = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { AGENT_TOOLSDIRECTORY: first.dirs.tools },
      fakes: { python3: {} },
      variant: { wheel: 'sweep two' },
    });
    succeeded(second);
    assert.ok(!fs.existsSync(old), 'an hour old: swept');
    assert.ok(fs.existsSync(recent), 'maybe another job\'s build in progress: kept');
    assert.ok(fs.existsSync(otherAbi), 'another Python\'s: left to it');
  });
});
