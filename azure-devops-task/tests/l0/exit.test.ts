/** L0: the core's exit status decides what the wrapper reports; cancel signals reach the core. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { runTask, taskConfig } from './harness';
import type { Fakes } from './harness';

const VERSION = taskConfig('FabricCiDeployAll').version;
const COMMAND = taskConfig('FabricCiDeployAll').command;
const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'exit-secret-42', runtime: 'installed' };

function core(behaviour: NonNullable<Fakes['core']>): Fakes {
  return { fabricCi: { version: VERSION }, core: behaviour };
}

describe('exit status', () => {
  for (const [exit, result] of [
    [0, 'Succeeded'],
    [1, 'Failed'],
    [2, 'Failed'],
  ] as const) {
    test(`exit ${exit}: the core reported ${result} itself, the wrapper adds nothing and exits ${exit}`, async () => {
      const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit }) });
      assert.equal(run.exitCode, exit);
      assert.deepEqual(run.runner.errorIssues, []);
      const completes = run.stdout.split('\n').filter((line) => line.includes('##vso[task.complete'));
      assert.deepEqual(completes, [`##vso[task.complete result=${result};]fake core exited ${exit}`]);
    });
  }

  test('any other exit code: the wrapper fails the step with the reason', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit: 3 }) });
    assert.equal(run.exitCode, 1);
    assert.ok(run.runner.failed);
    assert.deepEqual(run.runner.errorIssues, [`fabric-ci ${COMMAND} ended with exit code 3 without reporting a result`]);
  });

  test('killed by a signal: the wrapper fails the step naming it', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ signal: 'SIGKILL' }) });
    assert.ok(run.runner.failed);
    assert.deepEqual(run.runner.errorIssues, [`fabric-ci ${COMMAND} was stopped by SIGKILL before it reported a result`]);
  });

  test('a core that cannot be started fails the step with the reason', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: { fabricCi: { version: VERSION, deleteAfterVersion: true } } });
    assert.ok(run.runner.failed);
    assert.equal(run.core, undefined);
    assert.equal(run.runner.errorIssues.length, 1);
    assert.match(run.runner.errorIssues[0] ?? '', new RegExp(`^fabric-ci ${COMMAND} could not be started: spawn .*fabric-ci ENOENT$`));
  });
});

describe('cancel', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to the wrapper is passed on to the core, whose own report of the cancel stands`, async () => {
      const run = await runTask({ inputs: SIGN_IN, fakes: core({ signalParent: signal }) });
      const events = run.calls.filter((call) => call.event !== undefined).map((call) => call.event);
      assert.deepEqual(events, [`received ${signal}`]);
      assert.equal(run.exitCode, signal === 'SIGINT' ? 130 : 143, 'the wrapper waited, and exits as the core did');
      assert.ok(run.runner.failed);
      assert.deepEqual(run.runner.errorIssues, [], 'the core reported the cancel: nothing added');
      assert.ok(fs.existsSync(path.join(run.dirs.root, 'exit-code')));
    });
  }
});
