/** L0: the agent's proxy and CA (its variables, as the agent sets them) reach pip and the core. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { debugLines, IMAGE, installed, maskedFirst, maskedValues, pythonModule, runTask } from './harness';
import type { Result } from './harness';

const SIGN_IN = { tenantId: 'contoso.com', clientId: '0d9b4c3e-1111-4222-8333-944455556666', clientSecret: 'network-secret-23' };
const PASSWORD = 'pr0xy@Pass:w/rd';
const PROXY = 'http://builder:pr0xy%40Pass%3Aw%2Frd@proxy.corp.invalid:3128';

/** What the agent (ExecutionContext.cs) sets for a proxy with credentials, a bypass list and a CA file. */
function agentVariables(caFile: string): Record<string, string> {
  return {
    AGENT_PROXYURL: 'http://proxy.corp.invalid:3128',
    AGENT_PROXYUSERNAME: 'builder',
    SECRET_AGENT_PROXYPASSWORD: PASSWORD,
    VSTS_SECRET_VARIABLES: JSON.stringify(['Agent.ProxyPassword']),
    AGENT_PROXYBYPASSLIST: JSON.stringify(['github\\.com', '.*\\.corp\\.invalid', 'https?://[^/]+\\.example']),
    AGENT_CAINFO: caFile,
  };
}

function writeCa(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-l0-ca-'));
  const file = path.join(dir, 'agent-ca.pem');
  fs.writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return file;
}

function ok(result: Result): void {
  assert.equal(result.exitCode, 0, result.stdout);
  assert.ok(result.core, 'the core ran');
}

describe("the agent's proxy and CA", () => {
  test('pip gets HTTPS_PROXY, HTTP_PROXY, NO_PROXY, and not the CA file as PIP_CERT; the core the proxy and caBundle', async () => {
    const ca = writeCa();
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'python' }, env: agentVariables(ca), fakes: { python3: {} } });
    ok(result);
    const pips = result.calls.filter((call) => pythonModule(call) === 'pip');
    assert.equal(pips.length, 2);
    for (const pip of pips) {
      assert.equal(pip.env['HTTPS_PROXY'], PROXY);
      assert.equal(pip.env['HTTP_PROXY'], PROXY);
      assert.equal(pip.env['NO_PROXY'], 'github.com,.corp.invalid');
      // pip's --cert replaces its roots: an agent CA file for an on-premises server alone would fail PyPI.
      assert.equal(pip.env['PIP_CERT'], undefined);
      assert.equal(pip.env['INPUT_CABUNDLE'], undefined, 'pip sees no input');
    }
    const core = result.core as NonNullable<Result['core']>;
    assert.equal(core.env['HTTPS_PROXY'], PROXY);
    assert.equal(core.env['NO_PROXY'], 'github.com,.corp.invalid');
    assert.equal(core.env['INPUT_CABUNDLE'], ca, "the core's own way to trust more CAs, beside its public and system ones");
    assert.equal(core.env['PIP_CERT'], undefined);
    assert.ok(debugLines(result.stdout).some((line) => line.includes('https?://[^/]+\\.example')), 'a pattern left out is said');
  });

  test('the proxy credentials are masked before anything prints them, and never printed', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'installed' }, env: agentVariables(writeCa()), fakes: installed() });
    ok(result);
    const masked = maskedValues(result.stdout);
    for (const secret of [PROXY, PASSWORD, encodeURIComponent(PASSWORD)]) assert.ok(masked.includes(secret), secret);
    assert.ok(maskedFirst(result.stdout, PROXY));
    // task-lib itself, as it loads (internal.js _exposeProxySettings), echoes the secret variable
    // Agent.ProxyPassword in a debug line, before any of the wrapper's code runs; the agent masks
    // it, as it masks every secret variable. Every other line must not hold it.
    const lines = result.stdout
      .split('\n')
      .filter((line) => !line.startsWith('##vso[task.setsecret]') && !line.startsWith('##vso[task.debug]Agent.ProxyPassword='));
    for (const line of lines) {
      assert.ok(!line.includes(PASSWORD) && !line.includes(encodeURIComponent(PASSWORD)), `printed: ${line}`);
    }
  });

  test("a PIP_CERT the pipeline or agent machine set reaches pip as it is", async () => {
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'python' },
      env: { ...agentVariables(writeCa()), PIP_CERT: '/etc/pki/corp-and-public.pem' },
      fakes: { python3: {} },
    });
    ok(result);
    for (const pip of result.calls.filter((call) => pythonModule(call) === 'pip')) {
      assert.equal(pip.env['PIP_CERT'], '/etc/pki/corp-and-public.pem');
    }
  });

  test('what the pipeline set stands: its HTTPS_PROXY and NO_PROXY, and a caBundle input', async () => {
    const ca = writeCa();
    const mine = writeCa();
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'installed', caBundle: mine },
      env: { ...agentVariables(ca), https_proxy: 'http://mine.invalid:8080', NO_PROXY: 'internal.invalid' },
      fakes: installed(),
    });
    ok(result);
    const core = result.core as NonNullable<Result['core']>;
    assert.equal(core.env['INPUT_CABUNDLE'], mine);
    assert.equal(core.env['HTTPS_PROXY'], undefined, 'no second spelling beside https_proxy');
    assert.equal(core.env['HTTP_PROXY'], PROXY, 'the one the pipeline did not set comes from the agent');
    assert.equal(core.env['NO_PROXY'], 'internal.invalid');
  });

  test('docker passes the proxy variables by name and mounts the CA file read-only', async () => {
    const ca = writeCa();
    const result = await runTask({
      inputs: { ...SIGN_IN, runtime: 'docker' },
      env: agentVariables(ca),
      fakes: { docker: { daemon: true } },
      variant: { image: IMAGE },
    });
    ok(result);
    const args = (result.core as NonNullable<Result['core']>).argv;
    const names = args.filter((_, index) => args[index - 1] === '-e');
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'INPUT_CABUNDLE', 'PYTHONUNBUFFERED']) assert.ok(names.includes(name), name);
    assert.ok(args.includes(`${ca}:${ca}:ro`), args.join(' '));
    assert.ok(!args.some((arg) => arg.includes(PASSWORD) || arg.includes('pr0xy%40')), 'no credentials on the command line');
  });

  test('without a proxy or CA configured, nothing is added', async () => {
    const result = await runTask({ inputs: { ...SIGN_IN, runtime: 'installed' }, fakes: installed() });
    ok(result);
    const core = result.core as NonNullable<Result['core']>;
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'INPUT_CABUNDLE']) assert.equal(core.env[name], undefined, name);
  });
});
