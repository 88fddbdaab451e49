/**
 * Relaying this process's signals to a container, as a foreground supervisor does
 * (`docker run`, `runc run`): the signals a user or a service manager sends to stop,
 * reload or poke a program go to the container's process, and this process stays
 * alive to report how it ended.
 */
import { constants } from 'node:os';

import type { ContainerProcess } from './attached.js';
import { callNative } from './native.js';

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

export function isSignalName(value: unknown): value is NodeJS.Signals {
  return typeof value === 'string' && value.startsWith('SIG') && Object.hasOwn(constants.signals, value);
}

/** Node's name of each signal number; where two names share one (SIGABRT, SIGIOT), the first. */
let signalNames: Map<number, NodeJS.Signals> | undefined;

function signalName(number: number): NodeJS.Signals | undefined {
  signalNames ??= new Map(
    (Object.entries(constants.signals) as [NodeJS.Signals, number][]).reverse().map(([name, n]) => [n, name]),
  );
  return signalNames.get(number);
}

/**
 * A signal as the runtime's `kill` takes it, read by the core's rule (the runtime's own):
 * `SIGUSR1`, `usr1` and `USR1` are `SIGUSR1`; a number from 1 to SIGRTMAX (realtime signals
 * included), and `RTMIN+n`, `RTMAX-n`, are numbers.
 */
export function parseSignal(signal: string | number): string {
  const text = String(signal).trim();
  const number = callNative((native) => native.parseSignal(text));
  return (/^\d+$/.test(text) ? undefined : signalName(number)) ?? String(number);
}
