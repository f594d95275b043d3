/** The pure parts of starting the core: its environment, docker's argv, and what an exit status means. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outcome } from '../../src/child';
import { dockerEnvNames, dockerRunArgs } from '../../src/docker';
import { childEnvironment, inputVariable } from '../../src/env';

describe('the core\'s environment', () => {
  test('inputs are spelled as the agent spells them', () => {
    assert.equal(inputVariable('sourceStage'), 'INPUT_SOURCESTAGE');
    assert.equal(inputVariable('a.b c'), 'INPUT_A_B_C');
  });

  test('stale INPUT_* and FABRIC_CI_CONNECTION* are dropped; TF_BUILD and PYTHONUNBUFFERED set; extras last', () => {
    const env = childEnvironment(
      { PATH: '/bin', INPUT_NOTE: '', input_lower: 'x', FABRIC_CI_CONNECTION: 'stale', FABRIC_CI_OTHER: 'kept' },
      { sourceStage: 'Test', clientSecret: 's' },
      { FABRIC_CI_CONNECTION: 'azureSubscription', SYSTEM_ACCESSTOKEN: 'tok' },
    );
    assert.deepEqual(env, {
      PATH: '/bin',
      FABRIC_CI_OTHER: 'kept',
      TF_BUILD: 'True',
      PYTHONUNBUFFERED: '1',
      INPUT_SOURCESTAGE: 'Test',
      INPUT_CLIENTSECRET: 's',
      FABRIC_CI_CONNECTION: 'azureSubscription',
      SYSTEM_ACCESSTOKEN: 'tok',
    });
  });
});

describe('docker run', () => {
  test('names only, sorted; the agent\'s variables and the proxy, not PATH or HOME', () => {
    const names = dockerEnvNames({ PATH: '/bin', HOME: '/root', INPUT_X: '1', TF_BUILD: 'True', AGENT_TEMPDIRECTORY: '/t', https_proxy: 'p', FABRIC_CI_CONNECTION: 'a' });
    assert.deepEqual(names, ['AGENT_TEMPDIRECTORY', 'FABRIC_CI_CONNECTION', 'INPUT_X', 'TF_BUILD', 'https_proxy']);
  });

  test('one mount when the sources are the temp folder; no -w without sources', () => {
    assert.deepEqual(dockerRunArgs({ image: 'img:1', command: 'add-user', tempDir: '/w', sourcesDir: '/w', envNames: ['INPUT_A'] }), [
      'run', '--rm', '-i', '-v', '/w:/w', '-w', '/w', '-e', 'INPUT_A', 'img:1', 'add-user',
    ]);
    assert.deepEqual(dockerRunArgs({ image: 'img:1', command: 'add-user', tempDir: '/t', envNames: [] }), ['run', '--rm', '-i', '-v', '/t:/t', 'img:1', 'add-user']);
  });
});

describe('exit status', () => {
  test('0, 1 and 2 are the core\'s own: nothing to add', () => {
    for (const code of [0, 1, 2]) assert.deepEqual(outcome({ code, signal: null }, 'fabric-ci x'), { exitCode: code });
  });

  test('128+N after the wrapper passed cancel signal N on is the core\'s own report of the cancel', () => {
    assert.deepEqual(outcome({ code: 130, signal: null }, 'fabric-ci x', 'SIGINT'), { exitCode: 130 });
    assert.deepEqual(outcome({ code: 143, signal: null }, 'fabric-ci x', 'SIGTERM'), { exitCode: 143 });
    assert.equal(outcome({ code: 143, signal: null }, 'fabric-ci x', 'SIGINT').failure, 'fabric-ci x ended with exit code 143 (stopped by SIGTERM)');
    assert.equal(outcome({ code: 130, signal: null }, 'fabric-ci x').failure, 'fabric-ci x ended with exit code 130 (stopped by SIGINT)');
  });

  test('anything else is reported, with the reason', () => {
    assert.deepEqual(outcome({ code: 137, signal: null }, 'fabric-ci x'), { exitCode: 1, failure: 'fabric-ci x ended with exit code 137 (stopped by SIGKILL)' });
    assert.deepEqual(outcome({ code: 255, signal: null }, 'fabric-ci x'), { exitCode: 1, failure: 'fabric-ci x ended with exit code 255 without reporting a result' });
    assert.deepEqual(outcome({ code: null, signal: 'SIGTERM' }, 'fabric-ci x'), { exitCode: 1, failure: 'fabric-ci x was stopped by SIGTERM before it reported a result' });
    assert.deepEqual(outcome({ error: new Error('spawn x EACCES') }, 'fabric-ci x'), { exitCode: 1, failure: 'fabric-ci x could not be started: spawn x EACCES' });
  });
});
