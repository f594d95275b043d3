/**
 * L0: runtime selection on Windows and macOS agents. The task runs with process.platform set to
 * win32 or darwin (scenario.ts), on this machine's disk: the layouts are those platforms' own.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { IMAGE, pythonModule, runTask } from './harness';
import type { Result } from './harness';

const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'platform-secret-55' };

function succeeded(result: Result): void {
  assert.equal(result.exitCode, 0, result.stdout);
  assert.ok(result.runner.succeeded, result.stdout);
  assert.ok(result.core, 'the core ran');
}

function failedWith(result: Result, pattern: RegExp): string {
  assert.ok(result.runner.failed, 'the step failed');
  assert.equal(result.core, undefined, 'the core did not run');
  const message = result.runner.errorIssues.join('\n');
  assert.match(message, pattern);
  return message;
}

describe('Windows', () => {
  test('the venv interpreter is Scripts\\python.exe, and the core runs from it', async () => {
    const result = await runTask({ platform: 'win32', inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python: {} } });
    succeeded(result);
    const exe = path.join(result.venvDir(), 'Scripts', 'python.exe');
    assert.ok(fs.existsSync(exe));
    assert.ok(!fs.existsSync(path.join(result.venvDir(), 'bin')));
    const pip = result.calls.find((call) => pythonModule(call) === 'pip');
    assert.equal(pip?.tool, 'venv');
    assert.match(result.stdout, /Python 3\.12\.1 from python on PATH \(.+python\.exe\)/);
  });

  test('with only the launcher on PATH, `py -3` makes the venv', async () => {
    const result = await runTask({ platform: 'win32', inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { py: { version: [3, 13, 1] } } });
    succeeded(result);
    const probe = result.calls[0];
    assert.equal(probe?.tool, 'py');
    assert.deepEqual(probe?.argv.slice(0, 2), ['-3', '-c']);
    const venv = result.calls.find((call) => call.argv.includes('venv'));
    assert.deepEqual(venv?.argv.slice(0, 4), ['-3', '-P', '-m', 'venv']);
    assert.ok(fs.existsSync(path.join(result.venvDir('cpython-313'), 'Scripts', 'python.exe')));
    assert.match(result.stdout, /Python 3\.13\.1 from py -3 on PATH \(.+py\.exe\)/);
  });

  test('UsePythonVersion\'s pythonLocation is <pythonLocation>\\python.exe', async () => {
    const result = await runTask({ platform: 'win32', inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { pythonLocation: { version: [3, 12, 4] } } });
    succeeded(result);
    assert.match(result.stdout, /the Python of UsePythonVersion \(pythonLocation: .+x64.python\.exe\)/);
  });

  test('docker is refused: the image runs on Linux agents only', async () => {
    const result = await runTask({ platform: 'win32', inputs: { ...SIGN_IN, runtime: 'docker' }, fakes: { docker: { daemon: true } }, variant: { image: IMAGE } });
    failedWith(result, /^runtime is docker, but the image runs on Linux agents only, and this agent is win32\./);
    assert.deepEqual(result.calls, [], 'docker was not asked');
  });
});

describe('macOS', () => {
  test('the venv interpreter is bin/python', async () => {
    const result = await runTask({ platform: 'darwin', inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { python3: {} } });
    succeeded(result);
    assert.ok(fs.existsSync(path.join(result.venvDir(), 'bin', 'python')));
    assert.ok(!fs.existsSync(path.join(result.venvDir(), 'Scripts')));
  });

  test('the py launcher is not looked for off Windows', async () => {
    const result = await runTask({ platform: 'darwin', inputs: { ...SIGN_IN, runtime: 'python' }, fakes: { py: {} } });
    const message = failedWith(result, /^runtime is python, but no usable Python: python3 is not on PATH; python is not on PATH\./);
    assert.ok(!message.includes('py -3'), message);
    assert.deepEqual(result.calls, []);
  });

  test('docker is refused, and auto goes on without it', async () => {
    const refused = await runTask({ platform: 'darwin', inputs: { ...SIGN_IN, runtime: 'docker' }, fakes: { docker: { daemon: true } }, variant: { image: IMAGE } });
    failedWith(refused, /^runtime is docker, but the image runs on Linux agents only, and this agent is darwin\./);
    const auto = await runTask({ platform: 'darwin', inputs: SIGN_IN, fakes: { docker: { daemon: true } }, variant: { image: IMAGE } });
    const message = failedWith(auto, /^runtime is auto, and no way to run fabric-ci /);
    assert.match(message, /docker: the image runs on Linux agents only, and this agent is darwin\./);
    assert.deepEqual(auto.calls, []);
  });
});
