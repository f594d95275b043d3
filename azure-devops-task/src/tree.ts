/**
 * Child processes as whole trees. `python -m venv` runs ensurepip, which runs pip in a process of
 * its own; a cancel must reach all of them, and cleaning up after them must wait until all have
 * gone (else they keep writing into the folder being deleted).
 *
 * POSIX: every child leads a process group of its own (`detached`), and the group is signalled.
 * Windows: the agent's CTRL+C goes to every process attached to the wrapper's console
 * (GenerateConsoleCtrlEvent to group 0), so children must stay attached to it: not `detached`
 * (a console of its own) and not `windowsHide`, which, when every stdio is piped, starts the child
 * with CREATE_NO_WINDOW and so without the wrapper's console (libuv's process.c).
 */
import { spawn } from 'child_process';
import type { ChildProcess, SpawnOptions } from 'child_process';

export function treeOptions(platform: NodeJS.Platform): Pick<SpawnOptions, 'detached' | 'windowsHide'> {
  return platform === 'win32' ? { detached: false, windowsHide: false } : { detached: true };
}

function groupOf(child: ChildProcess): number | undefined {
  return child.pid === undefined ? undefined : -child.pid;
}

/** Send `signal` to the child's whole group (POSIX); on Windows Node can only terminate the child itself. */
export function signalTree(child: ChildProcess, signal: NodeJS.Signals, platform: NodeJS.Platform): void {
  const group = groupOf(child);
  if (platform !== 'win32' && group !== undefined) {
    try {
      process.kill(group, signal);
      return;
    } catch {
      // No such group (it has gone, or the child never started one): try the child alone.
    }
  }
  try {
    child.kill(signal);
  } catch {
    // Gone already.
  }
}

/** End the child's tree outright, for a cancel it did not honour. */
export function killTree(child: ChildProcess, platform: NodeJS.Platform): void {
  if (platform === 'win32' && child.pid !== undefined) {
    // taskkill /T walks the tree by parent process id, as the agent's own tree kill does.
    const killer = spawn('taskkill', ['/pid', String(child.pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    killer.on('error', () => child.kill('SIGKILL'));
    return;
  }
  signalTree(child, 'SIGKILL', platform);
}

function groupAlive(group: number): boolean {
  try {
    process.kill(group, 0);
    return true;
  } catch (error) {
    // EPERM: a process of that group exists but is not ours to signal; it still holds files.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Resolves once no process of the child's group is left (POSIX), or after `timeoutMs`; true when
 * the group is known to be gone. On Windows there is no cheap way to ask: true at once, and the
 * caller's deletes retry for a while instead.
 */
export async function treeGone(child: ChildProcess, platform: NodeJS.Platform, timeoutMs = 5000): Promise<boolean> {
  const group = groupOf(child);
  if (platform === 'win32' || group === undefined) return true;
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(group)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
