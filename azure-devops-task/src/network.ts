/**
 * The agent's proxy, for pip and the core, and its CA file, for the core. The agent hands them to
 * tasks only as variables, which task-lib reads (getHttpProxyConfiguration,
 * getHttpCertConfiguration): Agent.ProxyUrl, Agent.ProxyUsername, Agent.ProxyPassword (a secret
 * variable), Agent.ProxyBypassList (JSON, the regular expressions of the agent's .proxybypass),
 * Agent.CAInfo. Nothing sets HTTPS_PROXY for a Node task, so without this pip and the core would go
 * around the proxy the agent itself uses.
 */
import * as tl from 'azure-pipelines-task-lib/task';
import { maskSecret, quietly } from './secrets';

export interface AgentProxy {
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly bypass: readonly string[];
}

export interface AgentNetwork {
  readonly proxy?: AgentProxy;
  /** A PEM file of CAs the agent was configured to trust (`--sslcacert`). */
  readonly caFile?: string;
}

/**
 * What the agent configured, read without task-lib's debug echo of each variable. That keeps this
 * read from printing the proxy password again; it does not keep it out of the log: task-lib already
 * printed `##vso[task.debug]Agent.ProxyPassword=<password>` when it loaded (`_exposeProxySettings`),
 * before any of the wrapper's code runs. The agent masks that line, as it masks every secret variable.
 */
export function readAgentNetwork(): AgentNetwork {
  const proxy = quietly(() => tl.getHttpProxyConfiguration());
  const cert = quietly(() => tl.getHttpCertConfiguration());
  return {
    ...(proxy && {
      proxy: { url: proxy.proxyUrl, username: proxy.proxyUsername, password: proxy.proxyPassword, bypass: proxy.proxyBypassHosts ?? [] },
    }),
    ...(cert?.caFile && { caFile: cert.caFile }),
  };
}

/**
 * The proxy as one URL, credentials in it. Percent-encoded: task-lib's own proxyFormattedUrl pastes
 * them in as they are, which breaks on a password with `@`, `:` or `/` in it.
 */
export function proxyAddress(proxy: AgentProxy): string {
  const url = new URL(proxy.url);
  if (proxy.username) {
    url.username = encodeURIComponent(proxy.username);
    url.password = proxy.password ? encodeURIComponent(proxy.password) : '';
  }
  // URL adds a trailing slash to a bare host; proxies are given without one.
  return url.href.replace(/\/$/, '');
}

/**
 * NO_PROXY from the agent's bypass list. The list holds regular expressions matched against whole
 * URLs; NO_PROXY holds host names and domain suffixes. Each pattern that is a plain host or domain
 * (`github\.com`, `.*\.contoso\.com`) is translated; any other is left out, and said in the debug log.
 */
export function noProxyHosts(patterns: readonly string[]): { hosts: string[]; skipped: string[] } {
  const hosts: string[] = [];
  const skipped: string[] = [];
  for (const pattern of patterns) {
    let text = pattern.trim().replace(/^\^/, '').replace(/\$$/, '');
    const anyPrefix = text.startsWith('.*');
    if (anyPrefix) text = text.slice(2);
    text = text.replace(/\\([.\-])/g, '$1');
    if (/^[A-Za-z0-9.-]+(:\d+)?$/.test(text) && text.replace(/^\./, '') !== '') {
      hosts.push(anyPrefix && !text.startsWith('.') ? `.${text}` : text);
    } else {
      skipped.push(pattern);
    }
  }
  return { hosts, skipped };
}

function hasAny(env: NodeJS.ProcessEnv, name: string): boolean {
  // Windows' environment is case-insensitive, POSIX's is not: https_proxy and HTTPS_PROXY both count.
  return Object.keys(env).some((key) => key.toUpperCase() === name && env[key] !== '');
}

export interface NetworkEnv {
  /** For pip and the core: HTTPS_PROXY, HTTP_PROXY, NO_PROXY. */
  readonly proxy: Record<string, string>;
  /**
   * The CA file for the core's caBundle input, when the agent has one: the core adds it to its
   * public and system roots. Not PIP_CERT: pip's `--cert` replaces pip's roots instead of adding to
   * them, so an agent CA file for an on-premises server alone would fail every download from PyPI.
   */
  readonly caBundle?: string;
}

/**
 * The variables to add, given the environment the wrapper has. Whatever is set already (by the
 * pipeline's `env:`, or the agent machine) stands: it is the more deliberate choice.
 */
export function networkEnv(network: AgentNetwork, env: NodeJS.ProcessEnv, debug: (text: string) => void = () => {}): NetworkEnv {
  const proxy: Record<string, string> = {};
  if (network.proxy) {
    const address = proxyAddress(network.proxy);
    const { password } = network.proxy;
    if (password) {
      // Masked before anything could print it: the URL as a whole, and the password as it is written in it.
      for (const secret of new Set([address, password, encodeURIComponent(password)])) maskSecret(secret);
    }
    for (const name of ['HTTPS_PROXY', 'HTTP_PROXY']) if (!hasAny(env, name)) proxy[name] = address;
    const { hosts, skipped } = noProxyHosts(network.proxy.bypass);
    if (skipped.length > 0) debug(`proxy bypass patterns that are no host name, left out of NO_PROXY: ${skipped.join(', ')}`);
    if (hosts.length > 0 && !hasAny(env, 'NO_PROXY')) proxy['NO_PROXY'] = hosts.join(',');
  }
  return { proxy, ...(network.caFile && { caBundle: network.caFile }) };
}
