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
import { childEnvironment, helperEnvironment } from './env';
import { Cancelled, TaskError } from './errors';
import { readCoreInputs, readWrapperInputs } from './inputs';
import { networkEnv, readAgentNetwork } from './network';
import { chooseRuntime } from './runtime';
import { cancelSignal, forwardSignals } from './signals';
import { chooseSource } from './signin';

async function main(): Promise<void> {
  const platform = process.platform;
  forwardSignals(platform);
  const taskDir = __dirname;
  const config = loadConfig(path.join(taskDir, 'fabric-ci.json'));
  const given = readCoreInputs(config);
  const wrapper = readWrapperInputs();

  const source = chooseSource(config.signIn, given, wrapper);
  let connection: ConnectionSignIn | undefined;
  if (source.kind === 'azureSubscription') connection = fromAzureSubscription(source.id, given['cloud'], agentEndpoints);
  if (source.kind === 'fabricConnection') connection = fromFabricConnection(source.id, given['cloud'], agentEndpoints);

  // The agent's proxy (network.ts) for pip and the core; its CA file for the core only, as its
  // caBundle input (pip's --cert would replace pip's roots, not add to them). A caBundle given stands.
  const network = networkEnv(readAgentNetwork(), process.env, (text) => tl.debug(text));
  const fromAgent: Record<string, string> = {};
  if (network.caBundle !== undefined && 'caBundle' in config.inputs && given['caBundle'] === undefined) {
    fromAgent['caBundle'] = network.caBundle;
  }
  const inputs = { ...given, ...fromAgent, ...connection?.inputs };
  const childEnv = childEnvironment(process.env, inputs, { ...network.proxy, ...connection?.env });
  const launch = await chooseRuntime(wrapper.runtime, {
    config,
    taskDir,
    platform,
    baseEnv: helperEnvironment(process.env, network.proxy),
    childEnv,
    ...(wrapper.pythonPath !== undefined && { pythonPath: wrapper.pythonPath }),
    variable: (name) => tl.getVariable(name),
    show: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    note: (text) => tl.debug(text),
  });

  const cancelled = cancelSignal();
  if (cancelled) throw new Cancelled('as fabric-ci was about to start', cancelled);
  console.log(`fabric-ci ${config.version} ${config.command}: ${launch.describe}`);
  const ended = await runChild(launch);
  const failure = outcome(ended, `fabric-ci ${config.command}`, cancelSignal());
  if (failure !== undefined) tl.setResult(tl.TaskResult.Failed, failure);
}

// The exit status. The agent runs a Node task with requireExitCodeZero (NodeHandler.cs): any other
// status adds an error of its own, "Exit code N returned from process: file name ..., arguments
// ...", beside the result already reported. So the wrapper exits 0 whenever a result has been
// reported (the core's task.complete, or the wrapper's setResult), whatever the core's status was.
// An exception thrown outside main() (in an event handler) is reported by task-lib's own
// uncaughtException handler, with setResult too. Only when nothing can be reported, because writing
// to the agent (stdout) fails, does the wrapper exit non-zero, saying why on stderr. (Without this
// handler that failure would be an uncaught exception, which task-lib's handler would try to report
// on the same stdout, failing again, forever.)
process.stdout.on('error', (error) => {
  if (process.exitCode === 1) return; // said once
  process.exitCode = 1;
  process.stderr.write(`fabric-ci's task wrapper cannot write to its stdout (${error.message}), so no result could be reported\n`);
});

main().catch((error: unknown) => {
  // A TaskError (a Cancelled too) is a message for the user; anything else is a fault of the wrapper itself.
  const message =
    error instanceof TaskError ? error.message : `fabric-ci's task wrapper failed: ${(error as Error).stack ?? String(error)}`;
  tl.setResult(tl.TaskResult.Failed, message);
});
