/**
 * The script MockTestRunner starts for every L0 test: it sets the step's inputs, variables and
 * endpoints as the agent would, then runs the real bundled task (`run(true)`: the real task-lib,
 * real child processes). The scenario comes as a JSON file named by $L0_SCENARIO.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TaskMockRunner } from 'azure-pipelines-task-lib/mock-run';
import type { Scenario } from './harness';

const scenario = JSON.parse(fs.readFileSync(process.env['L0_SCENARIO'] ?? '', 'utf8')) as Scenario;

// Nothing of the machine running the tests may leak into the step: only what the scenario sets.
for (const name of Object.keys(process.env)) {
  if (/^(INPUT|ENDPOINT|SECRET|AGENT|SYSTEM|BUILD|RELEASE|VSTS|FABRIC_CI)_|^PYTHONLOCATION$|^L0_SCENARIO$/i.test(name)) {
    delete process.env[name];
  }
}
for (const [name, value] of Object.entries(scenario.env)) process.env[name] = value;

process.on('exit', (code) => fs.writeFileSync(scenario.exitFile, String(code)));

const runner = new TaskMockRunner(path.join(scenario.taskDir, 'index.js'));
for (const [name, value] of Object.entries(scenario.inputs)) runner.setInput(name, value);
runner.run(true);
