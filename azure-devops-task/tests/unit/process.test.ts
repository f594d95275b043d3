/** The pure parts of starting the core: its environment, docker's argv, and what an exit status means. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outcome } from '../../src/child';
import { dockerEnvNames, dockerRunArgs } from '../../src/docker';
import { childEnvironment, inputVariable, withoutPythonPath } from '../../src/env';

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

describe('the python runtime\'s environment', () => {
  test('PYTHONPATH and PYTHONHOME go (in any spelling), every other PYTHON* setting stays', () => {
    assert.deepEqual(withoutPythonPath({ PATH: '/bin', PYTHONPATH: '/s', pythonhome: '/h', PYTHONUNBUFFERED: '1', PYTHONUTF8: '1', GONE: undefined }), {
      PATH: '/bin',
      PYTHONUNBUFFERED: '1',
      PYTHONUTF8: '1',
    });
  });
});

describe('docker run', () => {
  test('names only, sorted; the agent\'s variables and the proxy, not PATH or HOME', () => {
    const names = dockerEnvNames({ PATH: '/bin', HOME: '/root', INPUT_X: '1', TF_BUILD: 'True', AGENT_TEMPDIRECTORY: '/t', https_proxy: 'p', FABRIC_CI_CONNECTION: 'a' });
    assert.deepEqual(names, ['AGENT_TEMPDIRECTORY', 'FABRIC_CI_CONNECTION', 'INPUT_X', 'TF_BUILD', 'https_proxy']);
  });

  test('the proxy variables pass, in either spelling', () => {
    assert.deepEqual(dockerEnvNames({ HTTPS_PROXY: 'a', HTTP_PROXY: 'b', NO_PROXY: 'c', no_proxy: 'd', PIP_CERT: 'e' }), ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'no_proxy']);
  });

  test('a file from outside the mounted folders (the agent\'s CA) is mounted read-only at its own path', () => {
    const args = dockerRunArgs({ image: 'img@sha256:1', command: 'c', tempDir: '/t', sourcesDir: '/s', files: ['/etc/agent/ca.pem', '/t/ca.pem', 'relative.pem'], envNames: [] });
    assert.deepEqual(args, ['run', '--rm', '-i', '--network', 'host', '-v', '/t:/t', '-v', '/s:/s', '-v', '/etc/agent/ca.pem:/etc/agent/ca.pem:ro', '-w', '/s', 'img@sha256:1', 'fabric-ci', 'c']);
  });

  test('one mount when the sources are the temp folder; no -w without sources', () => {
    assert.deepEqual(dockerRunArgs({ image: 'img:1', command: 'add-user', tempDir: '/w', sourcesDir: '/w', envNames: ['INPUT_A'] }), [
      'run', '--rm', '-i', '--network', 'host', '-v', '/w:/w', '-w', '/w', '-e', 'INPUT_A', 'img:1', 'fabric-ci', 'add-user',
    ]);
    assert.deepEqual(dockerRunArgs({ image: 'img:1', command: 'add-user', tempDir: '/t', envNames: [] }), ['run', '--rm', '-i', '--network', 'host', '-v', '/t:/t', 'img:1', 'fabric-ci', 'add-user']);
  });
});

describe('exit status: what the wrapper must report (it exits 0 either way)', () => {
  const reported = { signal: null, reported: true } as const;
  const silent = { signal: null, reported: false } as const;

  test('0, 1 and 2 with a task.complete are the core\'s own: nothing to add', () => {
    for (const code of [0, 1, 2]) assert.equal(outcome({ code, ...reported }, 'fabric-ci x'), undefined);
  });

  test('exit 1 or 2 without a task.complete is no proof the core reported: the wrapper says so', () => {
    for (const code of [1, 2]) {
      assert.equal(outcome({ code, ...silent }, 'fabric-ci x'), `fabric-ci x exited with status ${code} without reporting a result; its output is above`);
    }
    assert.equal(outcome({ code: 0, ...silent }, 'fabric-ci x'), undefined, 'success needs no report');
  });

  test('128+N after the wrapper passed cancel signal N on is the core\'s own report of the cancel, when it wrote one', () => {
    assert.equal(outcome({ code: 130, ...reported }, 'fabric-ci x', 'SIGINT'), undefined);
    assert.equal(outcome({ code: 143, ...reported }, 'fabric-ci x', 'SIGTERM'), undefined);
    assert.equal(outcome({ code: 130, ...silent }, 'fabric-ci x', 'SIGINT'), 'fabric-ci x exited with status 130 without reporting a result; its output is above');
    assert.equal(outcome({ code: 143, ...reported }, 'fabric-ci x', 'SIGINT'), 'fabric-ci x ended with exit code 143 (stopped by SIGTERM)');
    assert.equal(outcome({ code: 130, ...reported }, 'fabric-ci x'), 'fabric-ci x ended with exit code 130 (stopped by SIGINT)');
  });

  test('anything else is reported, with the reason', () => {
    assert.equal(outcome({ code: 137, ...silent }, 'fabric-ci x'), 'fabric-ci x ended with exit code 137 (stopped by SIGKILL)');
    assert.equal(outcome({ code: 255, ...silent }, 'fabric-ci x'), 'fabric-ci x ended with exit code 255 without reporting a result');
    assert.equal(outcome({ code: null, signal: 'SIGTERM', reported: false }, 'fabric-ci x'), 'fabric-ci x was stopped by SIGTERM before it reported a result');
    assert.equal(outcome({ error: new Error('spawn x EACCES') }, 'fabric-ci x'), 'fabric-ci x could not be started: spawn x EACCES');
  });
});
