/** The agent's proxy and CA as variables for pip and the core. */
import './setup';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkEnv, noProxyHosts, proxyAddress } from '../../src/network';

test('the proxy URL carries the credentials percent-encoded (task-lib\'s own would break on @ : /)', () => {
  assert.equal(proxyAddress({ url: 'http://proxy:3128', username: 'dom\\user', password: 'p@ss:w/rd', bypass: [] }), 'http://dom%5Cuser:p%40ss%3Aw%2Frd@proxy:3128');
  assert.equal(proxyAddress({ url: 'http://proxy.corp:8080/', bypass: [] }), 'http://proxy.corp:8080');
  assert.equal(proxyAddress({ url: 'https://proxy', username: 'u', bypass: [] }), 'https://u@proxy');
});

test('bypass patterns that are host names become NO_PROXY entries; other regular expressions are left out', () => {
  assert.deepEqual(noProxyHosts(['github\\.com', '.*\\.corp\\.example', '^localhost$', '.*contoso\\.com', '10\\.0\\.0\\.1', 'build-01:8080', 'https?://[^/]+', '.*', '']), {
    hosts: ['github.com', '.corp.example', 'localhost', '.contoso.com', '10.0.0.1', 'build-01:8080'],
    skipped: ['https?://[^/]+', '.*', ''],
  });
});

test('what the environment has already stands, in either spelling', () => {
  const network = { proxy: { url: 'http://proxy:3128', bypass: ['github\\.com'] }, caFile: '/etc/agent/ca.pem' };
  assert.deepEqual(networkEnv(network, {}), {
    proxy: { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'github.com' },
    caBundle: '/etc/agent/ca.pem',
  });
  const kept = networkEnv(network, { https_proxy: 'http://mine:1', no_proxy: 'x' });
  assert.deepEqual(kept.proxy, { HTTP_PROXY: 'http://proxy:3128' });
  assert.deepEqual(networkEnv({}, {}), { proxy: {} });
});

test("the agent's CA file is for the core (caBundle) only: never PIP_CERT, which would replace pip's roots", () => {
  const env = networkEnv({ caFile: '/etc/agent/ca.pem' }, {});
  assert.deepEqual(env, { proxy: {}, caBundle: '/etc/agent/ca.pem' });
});
