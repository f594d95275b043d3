/** L0: the agent's cancel while the wrapper prepares the Python environment. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { IMAGE, runTask, taskConfig } from './harness';
import type { Result } from './harness';

const VERSION = taskConfig('FabricCiDeployAll').version;
const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'cancel-secret-17' };

function cancelled(result: Result): void {
  assert.ok(result.runner.failed, 'the step failed');
  assert.equal(result.core, undefined, 'the core never started');
  assert.deepEqual(result.runner.errorIssues, ['cancelled while preparing the Python environment (SIGINT); fabric-ci did not run']);
  assert.ok(!/^\s+at /m.test(result.stdout + result.runner.stderr), 'no stack trace');
  assert.ok(!result.calls.some((call) => call.tool === 'docker'), 'no other runtime was tried');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('cancel while preparing the Python environment', () => {
  test('during `python -m venv`: the whole tree gets SIGINT, is waited for, and nothing is left in the tools folder', async () => {
    const result = await runTask({
      inputs: SIGN_IN,
      fakes: { python3: { venvCancel: true }, docker: { daemon: true } },
      variant: { image: IMAGE },
    });
    cancelled(result);
    const events = result.calls.filter((call) => call.event !== undefined).map((call) => call.event);
    assert.deepEqual(events, ['writer got SIGINT'], 'the process ensurepip started got the signal too');
    // Whatever would still be writing had a moment to do so.
    await sleep(300);
    const versionFolder = path.join(result.dirs.tools, 'fabric-ci', VERSION);
    assert.deepEqual(fs.readdirSync(versionFolder), [], 'no temporary venv left');
  });

  test('during pip: reported as the cancel, not as "no runtime works", and docker is not tried', async () => {
    const result = await runTask({
      inputs: SIGN_IN,
      fakes: { python3: {}, venv: { pipCancel: true }, docker: { daemon: true } },
      variant: { image: IMAGE },
    });
    cancelled(result);
    assert.ok(result.calls.some((call) => call.event === 'pip got SIGINT'));
    assert.deepEqual(fs.readdirSync(path.join(result.dirs.tools, 'fabric-ci', VERSION)), []);
  });
});
