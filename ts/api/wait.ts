/**
 * Waiting for a container's process to end, from any process: the supervisor records
 * the exit status in the container's state, so this polls the state at a modest
 * interval. A stopped container with no record is waited on while its supervisor is still
 * finishing, and is a RuntimeFailedError once the supervisor is gone. A failure to exec
 * the command after `start` is in the supervisor's log, and rejects as `run()` does.
 */
import type { ChildProcess } from 'node:child_process';

import { findState, type ContainerState, type ExitRecord } from './containers.js';
import { ContainerAbortedError, ContainerNotFoundError, RuntimeFailedError } from './errors.js';
import { outcomeOf, parseLog } from './log.js';
import type { RunResult } from './options.js';
import { findSupervisor } from './supervisor.js';

/** What a waiter knows of a container. */
export interface WaitTarget {
  id: string;
  root: string;
  /** The supervisor, when this process started it. */
  supervisor: ChildProcess | undefined;
  /** The text of the supervisor's log, when it can be read (a bundle of ours). */
  readLog(state: ContainerState | undefined): Promise<string | undefined>;
}

export interface PollOptions {
  signal?: AbortSignal | undefined;
  /** Give up after this many milliseconds, resolving to `timeout`. */
  timeout?: number | undefined;
  /** Milliseconds between looks at the state (default 100). */
  interval?: number | undefined;
}

const INTERVAL = 100;

export function toResult(exit: ExitRecord): RunResult {
  return { exitCode: exit.exitCode, signal: exit.signal, oomKilled: exit.oomKilled };
}

function supervisorAlive(target: WaitTarget): boolean {
  const child = target.supervisor;
  if (child !== undefined) return child.exitCode === null && child.signalCode === null;
  return findSupervisor(target.id, target.root) !== undefined;
}

/** Sleeps `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

type Look = { done: RunResult } | { gone: true } | { pending: true };

function outcome(log: string | undefined) {
  return log === undefined ? ({ kind: 'unknown' } as const) : outcomeOf(parseLog(log), false);
}

/** One look at the container: ended (and how), gone for good, or not ended yet. */
async function look(target: WaitTarget): Promise<Look> {
  const state = findState(target.id, target.root);
  if (state !== undefined && state.status !== 'stopped') return { pending: true };
  // A start-time exec failure is only in the log: read it before the recorded status.
  const log = await target.readLog(state);
  const first = outcome(log);
  if (first.kind === 'failed') throw first.error;
  if (state?.exit != null) return { done: toResult(state.exit) };
  // A container that deleted itself, its supervisor's log still at hand.
  if (first.kind === 'exited') return { done: first.result };
  if (state === undefined && log === undefined) return { gone: true };
  if (supervisorAlive(target)) return { pending: true };
  // The supervisor may have recorded the exit and ended since the first look.
  const again = findState(target.id, target.root);
  if (again?.exit != null) return { done: toResult(again.exit) };
  if (again === undefined) {
    const late = outcome(await target.readLog(undefined));
    if (late.kind === 'failed') throw late.error;
    return late.kind === 'exited' ? { done: late.result } : { gone: true };
  }
  throw new RuntimeFailedError(
    `container ${target.id} stopped without a recorded exit status: the runtime supervising it ended first`,
  );
}

/** Waits for the container's process to end; `timeout` when options.timeout passed first. */
export async function pollExit(target: WaitTarget, options: PollOptions = {}): Promise<RunResult | 'timeout'> {
  const { signal } = options;
  const interval = options.interval ?? INTERVAL;
  const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
  for (;;) {
    if (signal?.aborted === true) {
      throw new ContainerAbortedError(`waiting for container ${target.id} was aborted`, { cause: signal.reason });
    }
    const seen = await look(target);
    if ('done' in seen) return seen.done;
    if ('gone' in seen) {
      throw new ContainerNotFoundError(`container \`${target.id}\` was deleted before its exit status was read`);
    }
    const left = deadline - Date.now();
    if (left <= 0) return 'timeout';
    await pause(Math.min(interval, left), signal);
  }
}
