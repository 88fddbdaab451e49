/**
 * Relaying this process's signals to a container, as a foreground supervisor does
 * (`docker run`, `runc run`): the signals a user or a service manager sends to stop,
 * reload or poke a program go to the container's process, and this process stays
 * alive to report how it ended.
 */
import { constants } from 'node:os';

import type { ContainerProcess } from './attached.js';
import { InvalidOptionError } from './errors.js';
import { callNative } from './native.js';

export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/** The signals to relay: not those the terminal already delivered to the runtime. */
export function signalsToRelay(receivesTerminalSignals: boolean): ForwardedSignal[] {
  return FORWARDED_SIGNALS.filter(
    (signal) => !(receivesTerminalSignals && (signal === 'SIGINT' || signal === 'SIGQUIT')),
  );
}

/** FORWARDED_SIGNALS handled from now on, for the container `attach` names. */
export interface SignalRelay {
  /** Relays to `container` what arrives from now on, and what arrived before it was known. */
  attach(container: ContainerProcess): void;
  /** Handles none of them any more. */
  stop(): void;
}

/**
 * Handles FORWARDED_SIGNALS from now on, so that none of them ends this process, and
 * relays them to the container once `attach` names it. Made before the container's
 * runtime is started: under load this process may get the CPU back only after the
 * container already runs (and prints), and a signal sent then would otherwise meet
 * Node's default handling and end it. A signal that arrives before `attach` is held and
 * relayed then.
 */
export function relaySignals(): SignalRelay {
  let target: ContainerProcess | undefined;
  let relayed = new Set<NodeJS.Signals>();
  const held: NodeJS.Signals[] = [];
  const handler = (signal: NodeJS.Signals) => {
    if (target === undefined) held.push(signal);
    else if (relayed.has(signal)) target.kill(signal);
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, handler);
  return {
    attach(container) {
      target = container;
      relayed = new Set(signalsToRelay(container.receivesTerminalSignals));
      for (const signal of held.splice(0)) if (relayed.has(signal)) container.kill(signal);
    },
    stop() {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, handler);
    },
  };
}

/**
 * Forwards FORWARDED_SIGNALS received by this process to `container` until the
 * returned function is called. Every one of them is handled, relayed or not, so none
 * of them ends this process. (Where the container is started by this process, make the
 * relay before starting it: relaySignals.)
 */
export function forwardSignals(container: ContainerProcess): () => void {
  const relay = relaySignals();
  relay.attach(container);
  return () => relay.stop();
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
  // The runtime (as runc) takes 0, kill(2)'s "does it exist"; as a signal to send, Docker
  // refuses it, and so does this API: it would report a kill that did nothing.
  if (number === 0) throw new InvalidOptionError(`invalid signal \`${text}\``);
  return (/^\d+$/.test(text) ? undefined : signalName(number)) ?? String(number);
}
