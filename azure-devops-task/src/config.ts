/**
 * fabric-ci.json, written next to index.js by the generator (`make generate`): which core command
 * this task runs, the core's version and image, and how the task's inputs map onto the core's.
 * The one bundle serves every task; this file is what makes it one task or another.
 */
import * as fs from 'fs';

export interface TaskConfig {
  /** The core command, e.g. `deploy-all`. */
  readonly command: string;
  /** The core's version; the wheel, the venv cache and `fabric-ci --version` must agree with it. */
  readonly version: string;
  /**
   * The image `runtime: docker` runs (a digest-pinned reference), or null while none is published
   * for this version: then docker is no runtime at all.
   */
  readonly image: string | null;
  /** Task input name (camelCase) -> the core's name (kebab-case), for every core input. */
  readonly inputs: Readonly<Record<string, string>>;
  /** Task input names whose values are masked as soon as they are read. */
  readonly secrets: readonly string[];
  /** Task input names that, given, mean "sign in with these inputs" (auth counts unless auto). */
  readonly signIn: readonly string[];
  /** Task output name -> the core's name (the core writes the outputs itself). */
  readonly outputs: Readonly<Record<string, string>>;
}

function fail(file: string, what: string): never {
  // A broken fabric-ci.json is a packaging bug, not a user error: say which file and what is wrong.
  throw new Error(`${file} is not a valid fabric-ci.json: ${what}`);
}

function stringRecord(file: string, value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(file, `"${field}" must be an object`);
  }
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (typeof item !== 'string') fail(file, `"${field}.${key}" must be a string`);
    record[key] = item;
  }
  return record;
}

function stringList(file: string, value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    fail(file, `"${field}" must be a list of strings`);
  }
  return value as string[];
}

export function parseConfig(file: string, text: string): TaskConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    fail(file, (error as Error).message);
  }
  if (typeof raw !== 'object' || raw === null) fail(file, 'expected an object');
  const data = raw as Record<string, unknown>;
  for (const field of ['command', 'version']) {
    if (typeof data[field] !== 'string' || data[field] === '') fail(file, `"${field}" must be a non-empty string`);
  }
  const image = data['image'];
  if (image !== null && (typeof image !== 'string' || image === '')) fail(file, '"image" must be a non-empty string or null');
  const inputs = stringRecord(file, data['inputs'], 'inputs');
  const secrets = stringList(file, data['secrets'], 'secrets');
  const signIn = stringList(file, data['signIn'], 'signIn');
  for (const name of [...secrets, ...signIn]) {
    if (!(name in inputs)) fail(file, `"${name}" is listed in secrets or signIn but is not one of "inputs"`);
  }
  return {
    command: data['command'] as string,
    version: data['version'] as string,
    image: image as string | null,
    inputs,
    secrets,
    signIn,
    outputs: data['outputs'] === undefined ? {} : stringRecord(file, data['outputs'], 'outputs'),
  };
}

export function loadConfig(file: string): TaskConfig {
  return parseConfig(file, fs.readFileSync(file, 'utf8'));
}
