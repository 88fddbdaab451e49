/**
 * Relaying this process's signals to a container, as a foreground supervisor does
 * (`docker run`, `runc run`): the signals a user or a service manager sends to stop,
 * reload or poke a program go to the container's process, and this process stays
 * alive to report how it ended.
 */
import { constants } from 'node:os';

import { InvalidOptionError } from './errors.js';
import type { ContainerProcess } from './attached.js';

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

/** The highest signal number Linux has (SIGRTMAX). */
const MAX_SIGNAL = 64;

/**
 * A signal as the runtime's `kill` takes it: `SIGUSR1`, `usr1`, `USR1` become `SIGUSR1`;
 * a number from 1 to 64 (realtime signals included) stays a number.
 */
export function parseSignal(signal: string | number): string {
  const text = String(signal).trim();
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number >= 1 && number <= MAX_SIGNAL) return text;
  } else {
    const upper = text.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (isSignalName(name)) return name;
  }
  throw new InvalidOptionError(`invalid signal \`${text}\`: expected a name such as SIGTERM or TERM, or a number from 1 to ${MAX_SIGNAL}`);
}
