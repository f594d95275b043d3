/** Where the venv's and UsePythonVersion's interpreters are, on each platform. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathPythons, pythonInLocation, venvDirectory, venvPython } from '../../src/paths';

test('Windows: the venv interpreter is Scripts\\python.exe, under the tools folder', () => {
  const dir = venvDirectory('win32', 'C:\\hostedtoolcache\\windows', '0.1.0', 'cpython-312');
  assert.equal(dir, 'C:\\hostedtoolcache\\windows\\fabric-ci\\0.1.0\\cpython-312');
  assert.equal(venvPython('win32', dir), 'C:\\hostedtoolcache\\windows\\fabric-ci\\0.1.0\\cpython-312\\Scripts\\python.exe');
});

test('macOS and Linux: the venv interpreter is bin/python', () => {
  const mac = venvDirectory('darwin', '/Users/runner/hostedtoolcache', '0.1.0', 'cpython-311');
  assert.equal(venvPython('darwin', mac), '/Users/runner/hostedtoolcache/fabric-ci/0.1.0/cpython-311/bin/python');
  assert.equal(venvPython('linux', '/opt/hostedtoolcache/fabric-ci/0.1.0/cpython-313'), '/opt/hostedtoolcache/fabric-ci/0.1.0/cpython-313/bin/python');
});

test('pythonLocation: <loc>\\python.exe on Windows, <loc>/bin/python on macOS and Linux', () => {
  assert.equal(pythonInLocation('win32', 'C:\\hostedtoolcache\\windows\\Python\\3.12.1\\x64'), 'C:\\hostedtoolcache\\windows\\Python\\3.12.1\\x64\\python.exe');
  assert.equal(pythonInLocation('darwin', '/Users/runner/hostedtoolcache/Python/3.12.1/x64'), '/Users/runner/hostedtoolcache/Python/3.12.1/x64/bin/python');
  assert.equal(pythonInLocation('linux', '/opt/hostedtoolcache/Python/3.11.9/x64'), '/opt/hostedtoolcache/Python/3.11.9/x64/bin/python');
});

test('on PATH: python3 then python everywhere, and the py -3 launcher on Windows only', () => {
  const names = (platform: NodeJS.Platform): string[] => pathPythons(platform).map((found) => [found.command, ...found.args].join(' '));
  assert.deepEqual(names('win32'), ['python3', 'python', 'py -3']);
  assert.deepEqual(names('darwin'), ['python3', 'python']);
  assert.deepEqual(names('linux'), ['python3', 'python']);
});
