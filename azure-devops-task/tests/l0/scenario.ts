/**
 * The script MockTestRunner starts for every L0 test: it sets the step's inputs, variables and
 * endpoints as the agent would, then runs the real bundled task (`run(true)`: the real task-lib,
 * real child processes) in this same process, in the step's working directory (the agent's
 * System.DefaultWorkingDirectory, the repository). The scenario comes as a JSON file named by
 * $L0_SCENARIO. To run as on Windows or macOS, process.platform is set before the task loads: the
 * wrapper and task-lib decide by it (Node's `path` was bound to the real OS before, so paths stay
 * usable on this disk).
 */
import * as fs from 'fs';
import * as path from 'path';
import { TaskMockRunner } from 'azure-pipelines-task-lib/mock-run';
import type { Scenario } from './harness';

const scenario = JSON.parse(fs.readFileSync(process.env['L0_SCENARIO'] ?? '', 'utf8')) as Scenario;

// Nothing of the machine running the tests may leak into the step: only what the scenario sets
// (PYTHONUNBUFFERED included: the agent does not set it, the wrapper must).
for (const name of Object.keys(process.env)) {
  if (/^(INPUT|ENDPOINT|SECRET|AGENT|SYSTEM|BUILD|RELEASE|VSTS|FABRIC_CI|PIP)_|^(HTTPS?|NO)_PROXY$|^PYTHON|^L0_SCENARIO$/i.test(name)) {
    delete process.env[name];
  }
}
for (const [name, value] of Object.entries(scenario.env)) process.env[name] = value;
// The agent starts a Node task in System.DefaultWorkingDirectory (NodeHandler.cs).
process.chdir(scenario.cwd);

process.on('exit', (code) => fs.writeFileSync(scenario.exitFile, String(code)));
if (scenario.stdout === 'broken') {
  // Before anything wrote to stdout: fd 1 becomes /dev/full (the lowest free descriptor), which
  // refuses every write with ENOSPC.
  fs.closeSync(1);
  if (fs.openSync('/dev/full', 'w') !== 1) throw new Error('could not put /dev/full on fd 1');
}
if (scenario.platform !== process.platform) Object.defineProperty(process, 'platform', { value: scenario.platform });

const runner = new TaskMockRunner(path.join(scenario.taskDir, 'index.js'));
for (const [name, value] of Object.entries(scenario.inputs)) runner.setInput(name, value);
runner.run(true);
