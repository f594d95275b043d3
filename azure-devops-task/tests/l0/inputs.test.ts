/** L0: the task's inputs reach the core as INPUT_* variables, secrets masked, nothing on argv. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { debugLines, installed, maskedFirst, maskedValues, runTask, TASKS, taskConfig } from './harness';

const WRAPPER_INPUTS = ['INPUT_AZURESUBSCRIPTION', 'INPUT_FABRICCONNECTION', 'INPUT_RUNTIME', 'INPUT_PYTHONPATH'];

describe('input mapping', () => {
  for (const task of TASKS) {
    test(`${task}: every input of its fabric-ci.json reaches the core as INPUT_<NAME>, and argv is only the command`, async () => {
      const config = taskConfig(task);
      const inputs: Record<string, string> = { runtime: 'installed' };
      for (const name of Object.keys(config.inputs)) inputs[name] = `value of ${name}`;
      const result = await runTask({ task, inputs, fakes: installed(task) });

      assert.equal(result.exitCode, 0, result.stdout);
      assert.ok(result.core, 'the core ran');
      assert.deepEqual(result.core.argv, [config.command]);
      for (const name of Object.keys(config.inputs)) {
        assert.equal(result.core.env[`INPUT_${name.toUpperCase()}`], `value of ${name}`, name);
      }
      const passed = Object.keys(result.core.env).filter((name) => name.startsWith('INPUT_'));
      assert.equal(passed.length, Object.keys(config.inputs).length, `only the core's inputs: ${passed.join(', ')}`);
      for (const name of WRAPPER_INPUTS) assert.equal(result.core.env[name], undefined, name);
      assert.equal(result.core.env['TF_BUILD'], 'True');
      assert.equal(result.core.env['FABRIC_CI_CONNECTION'], undefined, 'no connection was used');
    });
  }

  test('each secret input is masked before anything prints it, and no debug line or argv carries it', async () => {
    const config = taskConfig('FabricCiDeployAll');
    const inputs: Record<string, string> = { runtime: 'installed', tenantId: 'contoso.com', clientId: 'an-id' };
    for (const name of config.secrets) inputs[name] = `s3cret-${name}-Zq81`;
    const result = await runTask({ inputs, fakes: installed() });

    assert.equal(result.exitCode, 0, result.stdout);
    const masked = maskedValues(result.stdout);
    for (const name of config.secrets) {
      const value = inputs[name] as string;
      assert.ok(masked.includes(value), `${name} is masked`);
      assert.ok(maskedFirst(result.stdout, value), `${name}: the first appearance of the value is its setsecret`);
      for (const line of debugLines(result.stdout)) assert.ok(!line.includes(value), `debug line leaks ${name}: ${line}`);
      for (const call of result.calls) assert.ok(!call.argv.some((arg) => arg.includes(value)), `${call.tool} argv leaks ${name}`);
      assert.equal(result.core?.env[`INPUT_${name.toUpperCase()}`], value);
    }
  });

  test('a PEM certificate input is masked line by line and passed whole', async () => {
    const body = ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKB'];
    const pem = ['-----BEGIN PRIVATE KEY-----', ...body, '-----END PRIVATE KEY-----'].join('\n');
    const result = await runTask({
      inputs: { runtime: 'installed', tenantId: 'contoso.com', clientId: 'an-id', clientCertificate: pem },
      fakes: installed(),
    });

    assert.equal(result.exitCode, 0, result.stdout);
    const masked = maskedValues(result.stdout);
    for (const line of body) assert.ok(masked.includes(line), `masked: ${line}`);
    assert.ok(!masked.some((value) => value.includes('BEGIN')), 'the armour lines are not secrets');
    assert.equal(result.core?.env['INPUT_CLIENTCERTIFICATE'], pem);
  });

  test('a certificate given as the path of a file is passed on, and not masked (a path is no secret)', async () => {
    const file = path.join(os.tmpdir(), `fabric-ci-l0-cert-${process.pid}.pem`);
    fs.writeFileSync(file, '-----BEGIN CERTIFICATE-----\n');
    try {
      const result = await runTask({
        inputs: { runtime: 'installed', tenantId: 'contoso.com', clientId: 'an-id', clientCertificate: file },
        fakes: installed(),
      });
      assert.equal(result.exitCode, 0, result.stdout);
      assert.equal(result.core?.env['INPUT_CLIENTCERTIFICATE'], file);
      assert.ok(!maskedValues(result.stdout).includes(file));
    } finally {
      fs.rmSync(file);
    }
  });

  test('a blank input is not passed on, even though the agent sets it', async () => {
    const result = await runTask({
      inputs: { runtime: 'installed', tenantId: 'contoso.com', clientId: 'an-id', clientSecret: 'x-secret', note: '', timeout: '  ' },
      fakes: installed(),
    });

    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.core?.env['INPUT_NOTE'], undefined);
    assert.equal(result.core?.env['INPUT_TIMEOUT'], undefined);
    assert.equal(result.core?.env['INPUT_TENANTID'], 'contoso.com');
  });

  test('an unknown runtime fails naming runtime and the choices', async () => {
    const result = await runTask({ inputs: { runtime: 'conda', clientSecret: 'x-secret' }, fakes: installed() });

    assert.ok(result.runner.failed);
    assert.deepEqual(result.runner.errorIssues, ["runtime: expected one of auto, installed, python, docker, got 'conda'"]);
    assert.equal(result.core, undefined);
  });
});
