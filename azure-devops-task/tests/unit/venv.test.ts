/** The venv cache's look at a finished venv: only a definite failure makes it replace one. */
import './setup';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Python } from '../../src/python';
import { ensureVenv, fileSha256, MARKER, venvKey } from '../../src/venv';

const VERSION = '0.1.0';

/** A finished venv for `wheel` whose python is the sh script `body`; the Python given cannot make a new one. */
function agentWith(body: string): { python: Python; request: Parameters<typeof ensureVenv>[1]; dir: string; notes: string[] } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-venv-'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const wheel = path.join(root, `fabric_ci-${VERSION}-py3-none-any.whl`);
  fs.writeFileSync(wheel, 'a wheel');
  const python: Python = {
    command: path.join(root, 'no-such-python'),
    args: [],
    version: [3, 12, 1],
    cacheTag: 'cpython-312',
    base: '/usr/bin/python3.12',
    label: 'a Python that is not there',
  };
  const toolsDir = path.join(root, 'tools');
  const dir = path.join(toolsDir, 'fabric-ci', VERSION, venvKey('linux', python.cacheTag, fileSha256(wheel), python.base));
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bin', 'python'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, MARKER), JSON.stringify({ version: VERSION, wheelSha256: fileSha256(wheel), python: '3.12.1', base: python.base }));
  const notes: string[] = [];
  const request = {
    platform: 'linux' as const,
    toolsDir,
    version: VERSION,
    wheel,
    lock: path.join(root, 'runtime.lock'),
    env: process.env,
    show: () => undefined,
    note: (text: string) => notes.push(text),
    checkMs: 300,
  };
  return { python, request, dir, notes };
}

for (const [what, body, note] of [
  ['does not answer in time (a busy agent)', 'sleep 5', /was not seen to start \(no answer in 0\.3 s\); the environment is used as it is/],
  ['is killed by a signal (the OOM killer)', 'kill -KILL $$', /was not seen to start \(stopped by SIGKILL\)/],
] as const) {
  test(`a venv whose python ${what} is used, never moved aside or deleted`, async () => {
    const { python, request, dir, notes } = agentWith(body);
    const venv = await ensureVenv(python, request);
    assert.deepEqual(venv, { python: path.join(dir, 'bin', 'python'), dir, base: '/usr/bin/python3.12' });
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), [path.basename(dir)], 'nothing moved aside, nothing deleted');
    assert.ok(fs.existsSync(path.join(dir, MARKER)));
    assert.match(notes.join('\n'), note);
  });
}

test('a venv whose python exits with an error is replaced (here the new one cannot be made)', async () => {
  const { python, request, dir } = agentWith('echo "No Python at /usr/bin/python3.12" >&2; exit 101');
  await assert.rejects(ensureVenv(python, request), /no-such-python/);
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), [], 'the broken one was set aside and deleted');
});

test('the key holds the ABI, the wheel and the base interpreter (case-blind on Windows)', () => {
  const sha = 'ab'.repeat(32);
  const key = venvKey('linux', 'cpython-312', sha, '/usr/bin/python3.12');
  assert.match(key, /^cpython-312-abababababab-[0-9a-f]{8}$/);
  assert.notEqual(venvKey('linux', 'cpython-312', sha, '/opt/hostedtoolcache/Python/3.12.1/x64/bin/python3.12'), key);
  assert.equal(venvKey('win32', 'cpython-312', sha, 'C:\\Python312\\python.exe'), venvKey('win32', 'cpython-312', sha, 'c:\\python312\\PYTHON.EXE'));
});
