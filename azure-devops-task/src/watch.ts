/**
 * Whether the core reported a result: a `##vso[task.complete ...]` line on its stdout. The agent
 * finds `##vso[` anywhere in a line and compares command names case-insensitively (Command.cs), so
 * this does too. Output arrives in chunks that split lines anywhere, so the unfinished last line is
 * kept until its end comes.
 */

const COMPLETE = /##vso\[task\.complete[\s\]]/i;

export class CompletionWatch {
  private partial = '';
  private found = false;

  feed(chunk: Buffer | string): void {
    if (this.found) return;
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    if (lines.some((line) => COMPLETE.test(line))) this.found = true;
    // A line that never ends is not kept whole: looked at, then only a tail long enough to hold
    // the start of a command split across chunks.
    if (this.partial.length > 64 * 1024) {
      if (COMPLETE.test(this.partial)) this.found = true;
      this.partial = this.partial.slice(-64);
    }
  }

  /** True once a task.complete has been seen (a last line without a newline counts too). */
  get reported(): boolean {
    return this.found || COMPLETE.test(this.partial);
  }
}
