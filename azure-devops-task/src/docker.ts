/**
 * `runtime: docker`: the core's image, run with the job's temporary and sources directories mounted
 * at their own paths (so paths in inputs, and the summary file the core hands the agent, mean the
 * same inside and out), and single files the core needs from elsewhere (the agent's CA file) read
 * only. Variables go as `-e NAME` without a value: docker copies each from its own environment, so
 * no input value, secret or not, is ever on docker's command line.
 */

// What the core may read of the job besides its inputs: the agent's variables and the proxy
// (network.ts sets HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the agent's configuration).
const PASSED = [
  /^INPUT_/,
  /^FABRIC_CI_/,
  /^AZURESUBSCRIPTION_/,
  /^(SYSTEM|BUILD|AGENT|RELEASE)_/,
  /^TF_BUILD$/,
  /^PYTHONUNBUFFERED$/,
  /^(HTTPS?_PROXY|NO_PROXY)$/i,
];

export function dockerEnvNames(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .filter((name) => PASSED.some((pattern) => pattern.test(name)))
    .sort();
}

export interface DockerRun {
  readonly image: string;
  readonly command: string;
  readonly tempDir?: string;
  readonly sourcesDir?: string;
  /** Absolute paths of files outside those folders, mounted read-only at the same path. */
  readonly files?: readonly string[];
  readonly envNames: readonly string[];
}

function inside(dir: string, file: string): boolean {
  return file === dir || file.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

export function dockerRunArgs(run: DockerRun): string[] {
  // The host's network: the core must reach what the agent reaches (a proxy on the agent's own
  // loopback, its hosts file, its VPN routes), as the installed and python runtimes do.
  const args = ['run', '--rm', '-i', '--network', 'host'];
  const mounts = [run.tempDir, run.sourcesDir].filter((dir): dir is string => dir !== undefined && dir !== '');
  for (const dir of new Set(mounts)) args.push('-v', `${dir}:${dir}`);
  for (const file of new Set(run.files ?? [])) {
    if (file.startsWith('/') && !mounts.some((dir) => inside(dir, file))) args.push('-v', `${file}:${file}:ro`);
  }
  if (run.sourcesDir) args.push('-w', run.sourcesDir);
  for (const name of run.envNames) args.push('-e', name);
  // The image has no ENTRYPOINT (Azure Pipelines container jobs need none): name the program.
  args.push(run.image, 'fabric-ci', run.command);
  return args;
}
