/**
 * Imported first by unit tests whose modules load task-lib: task-lib keeps a key file in
 * Agent.TempDirectory (else the working directory) the moment it loads, so point it elsewhere.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-ci-unit-'));
process.env['AGENT_TEMPDIRECTORY'] = temp;
process.on('exit', () => fs.rmSync(temp, { recursive: true, force: true }));
