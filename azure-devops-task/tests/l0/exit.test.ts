/**
 * L0: the core's exit status decides what the wrapper reports; cancel signals reach the core. The
 * wrapper itself exits 0 once a result is reported: the agent runs a Node task with
 * requireExitCodeZero (NodeHandler.cs), and any other status would add a second error, "Exit code N
 * returned from process: ...".
 */
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
    test(`exit ${exit}: the core reported ${result} itself, the wrapper adds nothing and exits 0`, async () => {
      const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit }) });
      assert.equal(run.exitCode, 0);
      assert.equal(run.runner.succeeded, exit === 0);
      assert.deepEqual(run.runner.errorIssues, []);
      const completes = run.stdout.split('\n').filter((line) => line.includes('##vso[task.complete'));
      assert.deepEqual(completes, [`##vso[task.complete result=${result};]fake core exited ${exit}`]);
    });
  }

  for (const exit of [1, 2]) {
    test(`exit ${exit} without a task.complete: the wrapper adds the failure, after the core's output, and exits 0`, async () => {
      const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit, reports: false, lines: ['Traceback (most recent call last):', 'ImportError: fake'] }) });
      assert.equal(run.exitCode, 0);
      assert.ok(run.runner.failed);
      const reason = `fabric-ci ${COMMAND} exited with status ${exit} without reporting a result; its output is above`;
      assert.deepEqual(run.runner.errorIssues, [reason]);
      assert.ok(run.stdout.indexOf('ImportError: fake') < run.stdout.indexOf(reason), 'the reason comes after the output');
    });
  }

  test("the core's stdout passes through whole and in order, and a task.complete split across writes counts", async () => {
    const lines = Array.from({ length: 50 }, (_, index) => `line ${index} ${'x'.repeat(index * 40)}`);
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit: 1, lines, splitReport: true }) });
    assert.equal(run.exitCode, 0);
    assert.ok(run.runner.failed);
    assert.deepEqual(run.runner.errorIssues, [], 'the core reported: nothing added');
    const out = run.stdout.split('\n');
    const start = out.indexOf(lines[0] as string);
    assert.ok(start >= 0, run.stdout);
    assert.deepEqual(out.slice(start, start + lines.length + 1), [...lines, '##vso[task.complete result=Failed;]fake core exited 1']);
  });

  test('any other exit code: the wrapper fails the step with the reason, and exits 0', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit: 3 }) });
    assert.equal(run.exitCode, 0);
    assert.ok(run.runner.failed);
    assert.deepEqual(run.runner.errorIssues, [`fabric-ci ${COMMAND} ended with exit code 3 without reporting a result`]);
  });

  test('killed by a signal: the wrapper fails the step naming it, and exits 0', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ signal: 'SIGKILL' }) });
    assert.equal(run.exitCode, 0);
    assert.ok(run.runner.failed);
    assert.deepEqual(run.runner.errorIssues, [`fabric-ci ${COMMAND} was stopped by SIGKILL before it reported a result`]);
  });

  test('a core that cannot be started fails the step with the reason, and exits 0', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: { fabricCi: { version: VERSION, deleteAfterVersion: true } } });
    assert.equal(run.exitCode, 0);
    assert.ok(run.runner.failed);
    assert.equal(run.core, undefined);
    assert.equal(run.runner.errorIssues.length, 1);
    assert.match(run.runner.errorIssues[0] ?? '', new RegExp(`^fabric-ci ${COMMAND} could not be started: spawn .*fabric-ci ENOENT$`));
  });

  test('a failure before the core starts (a missing input) is reported, and the wrapper exits 0', async () => {
    const run = await runTask({ inputs: { runtime: 'installed' }, fakes: core({ exit: 0 }) });
    assert.equal(run.exitCode, 0);
    assert.ok(run.runner.failed);
    assert.equal(run.runner.errorIssues.length, 1, run.runner.errorIssues.join('\n'));
    assert.equal(run.core, undefined);
  });

  test('when nothing can be reported (stdout fails), the wrapper exits 1 and says why on stderr', async () => {
    const run = await runTask({ inputs: SIGN_IN, fakes: core({ exit: 1 }), stdout: 'broken' });
    assert.equal(run.exitCode, 1);
    assert.equal(run.runner.stderr, "fabric-ci's task wrapper cannot write to its stdout (write ENOSPC), so no result could be reported\n");
  });
});

describe('cancel', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to the wrapper is passed on to the core, whose own report of the cancel stands`, async () => {
      const run = await runTask({ inputs: SIGN_IN, fakes: core({ signalParent: signal }) });
      const events = run.calls.filter((call) => call.event !== undefined).map((call) => call.event);
      assert.deepEqual(events, [`received ${signal}`]);
      assert.equal(run.exitCode, 0, 'the wrapper waited for the core, which reported');
      assert.ok(run.runner.failed);
      assert.deepEqual(run.runner.errorIssues, [], 'the core reported the cancel: nothing added');
      assert.ok(fs.existsSync(path.join(run.dirs.root, 'exit-code')));
    });
  }
});
