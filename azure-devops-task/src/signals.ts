/**
 * Cancel. The agent (ProcessInvoker) sends the wrapper SIGINT, waits 7.5 s, sends SIGTERM, waits
 * 2.5 s, then kills it; on Windows the two are CTRL+C and CTRL+BREAK, sent to every process on the
 * wrapper's console. Whatever child runs at the time (a probe, pip, or the core) is given the same
 * chance to end its own way, and the wrapper keeps running until it has, so that it can report
 * what happened; no new step starts after a cancel (cancelSignal).
 */
import type { ChildProcess } from 'child_process';
import { killTree, signalTree } from './tree';

export interface CancelPlan {
  /** The signals the agent's cancel arrives as. */
  readonly listen: readonly NodeJS.Signals[];
  /** Pass each one on to the child's process group. */
  readonly forward: boolean;
  /** Kill the child's tree outright this long after the agent's last warning. */
  readonly hardKill: { readonly after: NodeJS.Signals; readonly ms: number };
}

/**
 * POSIX: the agent signals the wrapper alone, so each signal is passed on to the child's group.
 * Windows: the agent's CTRL+C has already reached the children (they share the console), and
 * Node's kill() there is TerminateProcess whatever the signal: passing SIGINT on would end the core
 * abruptly before it could handle its own CTRL+C. Either way, a tree still running 1.5 s after the
 * last warning is killed, so that the wrapper can still report before the agent kills it (2.5 s).
 */
export function cancelPlan(platform: NodeJS.Platform): CancelPlan {
  if (platform === 'win32') {
    return { listen: ['SIGINT', 'SIGBREAK'], forward: false, hardKill: { after: 'SIGBREAK', ms: 1500 } };
  }
  return { listen: ['SIGINT', 'SIGTERM'], forward: true, hardKill: { after: 'SIGTERM', ms: 1500 } };
}

let platform: NodeJS.Platform = process.platform;
let received: NodeJS.Signals | undefined;
const running = new Set<ChildProcess>();
let installed = false;

export function forwardSignals(on: NodeJS.Platform = process.platform): void {
  if (installed) return;
  installed = true;
  platform = on;
  const plan = cancelPlan(on);
  for (const signal of plan.listen) {
    process.on(signal, () => {
      received = signal;
      if (plan.forward) for (const child of running) signalTree(child, signal, platform);
      if (signal === plan.hardKill.after) {
        setTimeout(() => {
          for (const child of running) killTree(child, platform);
        }, plan.hardKill.ms).unref();
      }
    });
  }
}

/** Make `child` one that cancel signals go to, until the returned function is called. */
export function track(child: ChildProcess): () => void {
  running.add(child);
  // A cancel that came while the child was being started: it must not run unwarned.
  if (received !== undefined && cancelPlan(platform).forward) signalTree(child, received, platform);
  return () => {
    running.delete(child);
  };
}

/** The last cancel signal received so far, if any (the core's 128+N answers the last one it got). */
export function cancelSignal(): NodeJS.Signals | undefined {
  return received;
}
