/** How a cancel is handled, as a pure function of the platform. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancelPlan } from '../../src/signals';
import { treeOptions } from '../../src/tree';

test('Windows: the agent\'s CTRL+C already reached the children; SIGINT is not passed on, the tree is only killed late', () => {
  const plan = cancelPlan('win32');
  assert.equal(plan.forward, false, 'child.kill() on Windows is TerminateProcess: no SIGINT is passed on');
  assert.deepEqual(plan.listen, ['SIGINT', 'SIGBREAK'], 'CTRL+C and CTRL+BREAK, as Node names them');
  assert.deepEqual(plan.hardKill, { after: 'SIGBREAK', ms: 1500 }, 'after the last warning, before the agent kills at 2.5 s');
});

test('Linux and macOS: SIGINT and SIGTERM are passed on to the child\'s whole group', () => {
  for (const platform of ['linux', 'darwin'] as const) {
    const plan = cancelPlan(platform);
    assert.equal(plan.forward, true, platform);
    assert.deepEqual(plan.listen, ['SIGINT', 'SIGTERM'], platform);
    assert.deepEqual(plan.hardKill, { after: 'SIGTERM', ms: 1500 }, platform);
  }
});

test('children lead a process group of their own on POSIX, and stay on the wrapper\'s console on Windows', () => {
  assert.deepEqual(treeOptions('linux'), { detached: true });
  assert.deepEqual(treeOptions('darwin'), { detached: true });
  // detached would give the child its own console, windowsHide (all stdio piped) none: either way CTRL+C would miss it.
  assert.deepEqual(treeOptions('win32'), { detached: false, windowsHide: false });
});
