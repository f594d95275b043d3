/**
 * Masking: every secret the wrapper reads (a secret input, a connection's key or certificate, the
 * job's access token) is registered with the agent before anything else can print it.
 */
import * as fs from 'fs';
import { Writable } from 'stream';
import * as tl from 'azure-pipelines-task-lib/task';

/**
 * The strings to register for one secret value. The agent masks line by line and task-lib refuses a
 * multi-line secret, so a PEM key is masked per line of key material (its armour lines are public),
 * and any other multi-line value line by line. The same rule as the core's `secret_fragments`.
 */
export function secretFragments(value: string): string[] {
  const lines = value
    .trim()
    .split(/\r?\n|\r/)
    .map((line) => line.trim());
  if (lines.length <= 1) return value.trim() ? [value.trim()] : [];
  if (lines.some((line) => line.startsWith('-----BEGIN'))) {
    return lines.filter((line) => line.length >= 8 && !line.startsWith('-----'));
  }
  return lines.filter((line) => line !== '');
}

/** Register a secret with the agent: `##vso[task.setsecret]` for each fragment. */
export function maskSecret(value: string): void {
  for (const fragment of secretFragments(value)) tl.setSecret(fragment);
}

/** A client certificate given as a file path is not a secret (its contents are read by the core). */
export function isFilePath(value: string): boolean {
  if (/\r|\n/.test(value)) return false;
  try {
    return fs.statSync(value.trim()).isFile();
  } catch {
    return false;
  }
}

const discard = new Writable({
  write(_chunk, _encoding, done) {
    done();
  },
});

/**
 * Run a task-lib read without its debug echo. getInput and getEndpointAuthorizationParameter write
 * `##vso[task.debug]name=<value>` before returning, that is before the value can be registered as a
 * secret, so a secret read through them would reach the log unmasked (with System.Debug on).
 */
export function quietly<T>(read: () => T): T {
  tl.setStdStream(discard);
  try {
    return read();
  } finally {
    tl.setStdStream(process.stdout);
  }
}

/** Read a secret through task-lib without echo, and mask it at once. */
export function readSecret(read: () => string | undefined, mask: (value: string) => boolean = () => true): string | undefined {
  const value = quietly(read);
  if (value && mask(value)) maskSecret(value);
  return value;
}
