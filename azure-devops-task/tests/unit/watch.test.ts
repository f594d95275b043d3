/** Seeing the core's task.complete in its stdout, however the chunks fall. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompletionWatch } from '../../src/watch';

function watched(...chunks: string[]): boolean {
  const watch = new CompletionWatch();
  for (const chunk of chunks) watch.feed(Buffer.from(chunk));
  return watch.reported;
}

test('a task.complete line is seen, anywhere in its line and in any case, as the agent sees it', () => {
  assert.ok(watched('hello\n##vso[task.complete result=Failed;]done\n'));
  assert.ok(watched('prefix ##VSO[Task.Complete result=Succeeded;]\n'));
  assert.ok(watched('##vso[task.complete]\n'));
});

test('split across chunks, even inside the command name, it is still seen', () => {
  const line = '##vso[task.complete result=Failed;]fabric-ci failed\n';
  for (let at = 1; at < line.length; at++) assert.ok(watched(line.slice(0, at), line.slice(at)), `split at ${at}`);
});

test('a last line without a newline counts', () => {
  assert.ok(watched('##vso[task.complete result=Succeeded;]ok'));
});

test('other commands and look-alikes do not', () => {
  assert.ok(!watched('##vso[task.completed result=x]\n', '##vso[task.logissue type=error;]task.complete\n'));
  assert.ok(!watched('task.complete result=Failed\n'));
  assert.ok(!watched(''));
});

test('a line that never ends is not kept whole, and a command in it is still seen', () => {
  assert.ok(!watched('x'.repeat(200 * 1024)));
  assert.ok(watched('##vso[task.complete result=Failed;]' + 'y'.repeat(200 * 1024)));
});
