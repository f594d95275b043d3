/**
 * Cancel: the agent sends SIGINT, then SIGTERM, to this process. Each is passed on to whatever
 * child runs at the time (pip, a probe, or the core), which then ends the way it chooses; the
 * wrapper keeps running until it has, so that it can report what happened.
 */
import { ChildProcess } from 'child_process';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
let current: ChildProcess | undefined;
let received: NodeJS.Signals | undefined;
let installed = false;

export function forwardSignals(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      received = signal;
      current?.kill(signal);
    });
  }
}

/** Make `child` the one signals go to until the returned function is called. */
export function track(child: ChildProcess): () => void {
  current = child;
  return () => {
    if (current === child) current = undefined;
  };
}

/** The cancel signal received so far, if any: no new step starts after one. */
export function cancelSignal(): NodeJS.Signals | undefined {
  return received;
}
