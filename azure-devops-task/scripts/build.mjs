#!/usr/bin/env node
// Builds the Azure DevOps extension.
//   node scripts/build.mjs bundle   src/main.ts -> build/bundle/index.js (one file: task-lib included)
//   node scripts/build.mjs vsix     assemble <repo>/build/vsix/<Task>/ and pack <repo>/dist/fabric-ci-<version>.vsix
// The vsix step expects the bundle (npm run bundle) and the wheel in <repo>/build/wheel (make vsix does both).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url))); // azure-devops-task/
const repo = path.dirname(here);
const bundleFile = path.join(here, 'build', 'bundle', 'index.js');

function die(message) {
  console.error(`build.mjs: ${message}`);
  process.exit(1);
}

async function bundle() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'src', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: bundleFile,
    logLevel: 'warning',
    legalComments: 'eof',
  });
  // A warning here has meant a module that cannot be bundled (a dynamic require): fail loudly.
  if (result.warnings.length > 0) die(`esbuild gave ${result.warnings.length} warning(s)`);
  console.log(`bundle: ${path.relative(repo, bundleFile)} (${kib(fs.statSync(bundleFile).size)})`);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function folderSize(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? folderSize(full) : fs.statSync(full).size;
  }
  return total;
}

/**
 * Compressed bytes per top-level folder of a zip (a .vsix is one), from its central directory:
 * what the Marketplace stores and the agent downloads, beside what the folder takes unpacked.
 */
function zipFolderSizes(file) {
  const zip = fs.readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) die(`${file} is not a zip`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const sizes = new Map();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) die(`${file}: broken central directory`);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const top = name.split('/')[0];
    sizes.set(top, (sizes.get(top) ?? 0) + compressed);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return sizes;
}

/** The task folders, from the hand-written manifest: one task contribution each. */
function manifestTasks(manifest) {
  return manifest.contributions
    .filter((contribution) => contribution.type === 'ms.vss-distributed-task.task')
    .map((contribution) => contribution.properties.name);
}

/** A task's generated files (make generate): task.json and fabric-ci.json. */
function taskSources(task) {
  const dir = path.join(here, task);
  for (const file of ['task.json', 'fabric-ci.json']) {
    if (!fs.existsSync(path.join(dir, file))) die(`${task}/${file} is missing: run make generate`);
  }
  return dir;
}

function pyprojectVersion() {
  const text = fs.readFileSync(path.join(repo, 'pyproject.toml'), 'utf8');
  const match = /^version\s*=\s*"([^"]+)"/m.exec(text);
  if (!match) die('no version in pyproject.toml');
  return match[1];
}

function vsix() {
  if (!fs.existsSync(bundleFile)) die(`${bundleFile} is missing: run npm run bundle first`);
  const manifest = readJson(path.join(here, 'vss-extension.json'));
  const tasks = manifestTasks(manifest);
  const listed = new Set(manifest.files.map((file) => file.path));
  for (const task of tasks) if (!listed.has(task)) die(`vss-extension.json: task ${task} is not in "files"`);

  const version = pyprojectVersion();
  const wheels = fs
    .readdirSync(path.join(repo, 'build', 'wheel'))
    .filter((name) => name.startsWith(`fabric_ci-${version}-`) && name.endsWith('.whl'));
  if (wheels.length !== 1) die(`expected one fabric_ci-${version}-*.whl in build/wheel, found ${wheels.length}`);
  const wheel = path.join(repo, 'build', 'wheel', wheels[0]);

  const root = path.join(repo, 'build', 'vsix');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  for (const task of tasks) {
    const source = taskSources(task);
    const config = readJson(path.join(source, 'fabric-ci.json'));
    const taskJson = readJson(path.join(source, 'task.json'));
    // The wheel packed beside it must be the core the wrapper expects (it checks `fabric-ci --version` too).
    if (config.version !== version) die(`${task}/fabric-ci.json is version ${config.version}, pyproject.toml ${version}`);
    if (taskJson.name !== task) die(`${task}/task.json names the task ${taskJson.name}`);
    const out = path.join(root, task);
    fs.mkdirSync(out);
    fs.copyFileSync(path.join(source, 'task.json'), path.join(out, 'task.json'));
    fs.copyFileSync(path.join(source, 'fabric-ci.json'), path.join(out, 'fabric-ci.json'));
    fs.copyFileSync(bundleFile, path.join(out, 'index.js'));
    fs.copyFileSync(path.join(here, 'images', 'icon.png'), path.join(out, 'icon.png'));
    fs.copyFileSync(wheel, path.join(out, path.basename(wheel)));
    fs.copyFileSync(path.join(repo, 'requirements', 'runtime.lock'), path.join(out, 'runtime.lock'));
  }
  fs.cpSync(path.join(here, 'images'), path.join(root, 'images'), { recursive: true });
  fs.copyFileSync(path.join(here, 'overview.md'), path.join(root, 'overview.md'));
  fs.copyFileSync(path.join(repo, 'LICENSE'), path.join(root, 'LICENSE'));
  fs.writeFileSync(path.join(root, 'vss-extension.json'), JSON.stringify({ ...manifest, version }, null, 2) + '\n');

  const dist = path.join(repo, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  const output = path.join(dist, `fabric-ci-${version}.vsix`);
  fs.rmSync(output, { force: true });
  const tfx = path.join(here, 'node_modules', '.bin', process.platform === 'win32' ? 'tfx.cmd' : 'tfx');
  execFileSync(
    tfx,
    ['extension', 'create', '--manifest-globs', 'vss-extension.json', '--root', root, '--output-path', output, '--no-prompt'],
    { cwd: root, stdio: 'inherit' },
  );
  if (!fs.existsSync(output)) die(`tfx wrote no ${output}`);
  console.log(`vsix: ${path.relative(repo, output)} ${kib(fs.statSync(output).size)}`);
  const compressed = zipFolderSizes(output);
  for (const task of tasks) {
    console.log(`vsix:   ${task}/ ${kib(compressed.get(task) ?? 0)} compressed in the vsix, ${kib(folderSize(path.join(root, task)))} unpacked`);
  }
}

const command = process.argv[2];
if (command === 'bundle') await bundle();
else if (command === 'vsix') vsix();
else if (command !== undefined) die(`unknown command ${command}: expected bundle or vsix`);
