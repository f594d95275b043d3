/** Renames retried on Windows, deletes that hold, and the sweep of what killed jobs left. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { RENAME_DELAYS_MS, removeDir, renameWithRetry, sweepStale } from '../../src/dirs';

function failing(codes: string[]): { rename: (from: string, to: string) => void; calls: number } {
  const state = {
    calls: 0,
    rename: () => {
      const code = codes[state.calls++];
      if (code !== undefined) throw Object.assign(new Error(`${code}: rename`), { code });
    },
  };
  return state;
}

test('Windows: EPERM and EBUSY (a scanner holding a file) are retried with growing pauses', async () => {
  const fake = failing(['EPERM', 'EBUSY', 'EPERM']);
  const slept: number[] = [];
  await renameWithRetry('a', 'b', { platform: 'win32', rename: fake.rename, sleep: async (ms) => void slept.push(ms) });
  assert.equal(fake.calls, 4);
  assert.deepEqual(slept, [100, 200, 400]);
});

test('the retries end after about five seconds, with the last error', async () => {
  const fake = failing(Array(20).fill('EBUSY'));
  const slept: number[] = [];
  await assert.rejects(renameWithRetry('a', 'b', { platform: 'win32', rename: fake.rename, sleep: async (ms) => void slept.push(ms) }), /EBUSY/);
  assert.deepEqual(slept, RENAME_DELAYS_MS);
  assert.ok(slept.reduce((sum, ms) => sum + ms, 0) <= 6000);
});

test('no retry off Windows, for other errors, or when the caller says stop', async () => {
  const sleep = async (): Promise<void> => assert.fail('no pause expected');
  await assert.rejects(renameWithRetry('a', 'b', { platform: 'linux', rename: failing(['EPERM']).rename, sleep }), /EPERM/);
  await assert.rejects(renameWithRetry('a', 'b', { platform: 'win32', rename: failing(['ENOTEMPTY']).rename, sleep }), /ENOTEMPTY/);
  const fake = failing(['EPERM', 'EPERM']);
  await assert.rejects(renameWithRetry('a', 'b', { platform: 'win32', rename: fake.rename, sleep, stop: () => true }), /EPERM/);
  assert.equal(fake.calls, 1);
});

test('the sweep deletes entries of the prefix not changed for the given age, and nothing else', () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-unit-sweep-'));
  try {
    for (const name of ['.cpython-312-abc-old', '.cpython-312-abc-new', '.cpython-311-abc-old', 'cpython-312-abc']) {
      fs.mkdirSync(path.join(parent, name, 'lib'), { recursive: true });
    }
    const old = new Date(Date.now() - 2 * 3600 * 1000);
    for (const name of ['.cpython-312-abc-old', '.cpython-311-abc-old', 'cpython-312-abc']) fs.utimesSync(path.join(parent, name), old, old);
    const removed = sweepStale(parent, '.cpython-312-', 3600 * 1000);
    assert.deepEqual(removed, [path.join(parent, '.cpython-312-abc-old')]);
    assert.deepEqual(fs.readdirSync(parent).sort(), ['.cpython-311-abc-old', '.cpython-312-abc-new', 'cpython-312-abc']);
    assert.deepEqual(sweepStale(path.join(parent, 'missing'), '.x', 0), []);
  } finally {
    assert.equal(removeDir(parent), undefined);
  }
});
