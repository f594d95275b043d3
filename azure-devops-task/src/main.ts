/**
 * The Azure Pipelines entry point of every fabric-ci task: read the inputs, work out the sign-in,
 * pick how the Python core runs on this agent, run it, and report only what the core could not.
 */
import * as path from 'path';
import * as tl from 'azure-pipelines-task-lib/task';
import { outcome, runChild } from './child';
import { loadConfig } from './config';
import { agentEndpoints, fromAzureSubscription, fromFabricConnection } from './connection';
import type { ConnectionSignIn } from './connection';
import { childEnvironment } from './env';
import { TaskError } from './errors';
import { readCoreInputs, readWrapperInputs } from './inputs';
import { chooseRuntime } from './runtime';
import { cancelSignal, forwardSignals } from './signals';
import { chooseSource } from './signin';

async function main(): Promise<void> {
  forwardSignals();
  const taskDir = __dirname;
  const config = loadConfig(path.join(taskDir, 'fabric-ci.json'));
  const given = readCoreInputs(config);
  const wrapper = readWrapperInputs();

  const source = chooseSource(config.signIn, given, wrapper);
  let connection: ConnectionSignIn | undefined;
  if (source.kind === 'azureSubscription') connection = fromAzureSubscription(source.id, given['cloud'], agentEndpoints);
  if (source.kind === 'fabricConnection') connection = fromFabricConnection(source.id, given['cloud'], agentEndpoints);

  const inputs = { ...given, ...connection?.inputs };
  const childEnv = childEnvironment(process.env, inputs, connection?.env ?? {});
  const launch = await chooseRuntime(wrapper.runtime, {
    config,
    taskDir,
    platform: process.platform,
    baseEnv: process.env,
    childEnv,
    ...(wrapper.pythonPath !== undefined && { pythonPath: wrapper.pythonPath }),
    variable: (name) => tl.getVariable(name),
    show: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  });

  const cancelled = cancelSignal();
  if (cancelled) throw new TaskError(`fabric-ci ${config.command} was cancelled (${cancelled}) before it started`);
  console.log(`fabric-ci ${config.version} ${config.command}: ${launch.describe}`);
  const ended = await runChild(launch);
  const result = outcome(ended, `fabric-ci ${config.command}`, cancelSignal());
  process.exitCode = result.exitCode;
  if (result.failure !== undefined) tl.setResult(tl.TaskResult.Failed, result.failure);
}

main().catch((error: unknown) => {
  // A TaskError is a message for the user; anything else is a fault of the wrapper itself.
  const message =
    error instanceof TaskError ? error.message : `fabric-ci's task wrapper failed: ${(error as Error).stack ?? String(error)}`;
  tl.setResult(tl.TaskResult.Failed, message);
  process.exitCode = 1;
});
