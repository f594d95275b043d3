/** fabric-ci.json and task.json, as the generator writes them, fit what the wrapper expects. */
import './setup';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseConfig } from '../../src/config';
import { isSupported } from '../../src/python';
import { PACKAGE, TASKS, taskSource } from '../l0/harness';

const WRAPPER_INPUTS = { azureSubscription: 'connectedService:AzureRM', fabricConnection: 'connectedService:fabric-ci', runtime: 'pickList', pythonPath: 'string' };

describe('each task folder', () => {
  for (const task of TASKS) {
    test(`${task}: fabric-ci.json parses, and task.json declares its inputs, the wrapper's, and both Node handlers`, () => {
      const dir = taskSource(task);
      const config = parseConfig('fabric-ci.json', fs.readFileSync(path.join(dir, 'fabric-ci.json'), 'utf8'));
      const taskJson = JSON.parse(fs.readFileSync(path.join(dir, 'task.json'), 'utf8')) as {
        name: string;
        inputs: { name: string; type: string; defaultValue?: string }[];
        execution: Record<string, { target: string }>;
      };
      assert.equal(taskJson.name, task);
      const declared = new Map(taskJson.inputs.map((input) => [input.name, input]));
      for (const name of Object.keys(config.inputs)) assert.ok(declared.has(name), `task.json declares ${name}`);
      for (const [name, type] of Object.entries(WRAPPER_INPUTS)) assert.equal(declared.get(name)?.type, type, name);
      assert.equal(declared.size, Object.keys(config.inputs).length + Object.keys(WRAPPER_INPUTS).length, 'no other inputs');
      // The wrapper takes a `cloud` of public beside a connection as no choice (chosenCloud): any other
      // default would be sent on every run and override every connection's cloud.
      assert.ok(['', 'public'].includes(declared.get('cloud')?.defaultValue ?? ''), 'cloud defaults to nothing or public');
      assert.deepEqual(taskJson.execution, { Node20_1: { target: 'index.js' }, Node24: { target: 'index.js' } });
    });
  }

  test('vss-extension.json lists every task folder in files, and one fabric-ci endpoint type', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'vss-extension.json'), 'utf8')) as {
      files: { path: string }[];
      contributions: { type: string; properties: { name: string; authenticationSchemes?: { type: string }[] } }[];
    };
    assert.deepEqual(manifest.files.map((file) => file.path).filter((name) => name !== 'images'), TASKS);
    const endpoints = manifest.contributions.filter((c) => c.type === 'ms.vss-endpoint.service-endpoint-type');
    assert.deepEqual(endpoints.map((c) => c.properties.name), ['fabric-ci']);
    assert.deepEqual(endpoints[0]?.properties.authenticationSchemes?.map((s) => s.type), [
      'ms.vss-endpoint.endpoint-auth-scheme-service-principal',
      'ms.vss-endpoint.endpoint-auth-scheme-basic',
    ]);
  });
});

describe('the fabric-ci connection type', () => {
  test('its basic (UsernamePassword) scheme asks for the tenant and client id the password grant needs', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'vss-extension.json'), 'utf8')) as {
      contributions: { type: string; properties: { authenticationSchemes?: { type: string; inputDescriptors: { id: string; isConfidential: boolean; validation: { isRequired: boolean } }[] }[] } }[];
    };
    const endpoint = manifest.contributions.find((c) => c.type === 'ms.vss-endpoint.service-endpoint-type');
    const basic = endpoint?.properties.authenticationSchemes?.find((s) => s.type === 'ms.vss-endpoint.endpoint-auth-scheme-basic');
    // The ids are the parameter keys the agent delivers (ENDPOINT_AUTH_PARAMETER_<id>_<KEY>), read by connection.ts.
    assert.deepEqual(basic?.inputDescriptors.map((input) => input.id), ['tenantId', 'clientId', 'username', 'password']);
    assert.ok(basic?.inputDescriptors.every((input) => input.validation.isRequired));
    assert.deepEqual(basic?.inputDescriptors.filter((input) => input.isConfidential).map((input) => input.id), ['password']);
  });
});

describe('fabric-ci.json', () => {
  test('image is a reference, or null while none is published', () => {
    const base = { command: 'c', version: '1', inputs: {}, secrets: [], signIn: [] };
    assert.equal(parseConfig('x.json', JSON.stringify({ ...base, image: null })).image, null);
    assert.equal(parseConfig('x.json', JSON.stringify({ ...base, image: 'img@sha256:00' })).image, 'img@sha256:00');
    assert.throws(() => parseConfig('x.json', JSON.stringify({ ...base, image: '' })), /"image" must be a non-empty string or null/);
    assert.throws(() => parseConfig('x.json', JSON.stringify(base)), /"image" must be a non-empty string or null/);
  });

  test('an input listed as a secret must be one of the inputs', () => {
    const text = JSON.stringify({ command: 'c', version: '1', image: 'i', inputs: { a: 'a' }, secrets: ['b'], signIn: [] });
    assert.throws(() => parseConfig('x.json', text), /^Error: x\.json is not a valid fabric-ci\.json: "b" is listed in secrets or signIn but is not one of "inputs"$/);
  });

  test('a missing field is named', () => {
    assert.throws(() => parseConfig('x.json', '{"command": "c"}'), /"version" must be a non-empty string/);
  });
});

test('Python 3.11 is the oldest the core runs on', () => {
  assert.ok(isSupported([3, 11, 0]) && isSupported([3, 13, 1]) && isSupported([4, 0, 0]));
  assert.ok(!isSupported([3, 10, 14]) && !isSupported([2, 7, 18]));
});
