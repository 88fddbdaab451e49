/**
 * Relaying this process's signals to a container, as a foreground supervisor does
 * (`docker run`, `runc run`): the signals a user or a service manager sends to stop,
 * reload or poke a program go to the container's process, and this process stays
 * alive to report how it ended.
 */
import type { ContainerProcess } from './run.js';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** The signals to relay: not those the terminal already delivered to the runtime. */
export function signalsToRelay(receivesTerminalSignals: boolean): ForwardedSignal[] {
  return FORWARDED_SIGNALS.filter(
    (signal) => !(receivesTerminalSignals && (signal === 'SIGINT' || signal === 'SIGQUIT')),
  );
}

/**
 * Forwards FORWARDED_SIGNALS received by this process to `container` until the
 * returned function is called. Every one of them is handled, relayed or not, so none
 * of them ends this process.
 */
export function forwardSignals(container: ContainerProcess): () => void {
  const relayed = new Set<NodeJS.Signals>(signalsToRelay(container.receivesTerminalSignals));
  const handler = (signal: NodeJS.Signals) => {
    if (relayed.has(signal)) container.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, handler);
  };
}
