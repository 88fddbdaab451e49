/**
 * A runtime process attached to this one (`run` for `run()`, `exec` for
 * `Container.exec()`): waiting for it, relaying an abort (SIGTERM, then a kill for good
 * after a grace period), and reading how the process it ran ended from its log. The
 * result is a promise that also carries the streams and a `kill()`, execa style.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

import { onExit } from './cleanup.js';
import { ContainerAbortedError, InternalError, RuntimeFailedError, TscontainerError } from './errors.js';
import { outcomeOf, parseLog, readLog, type OutcomeOptions } from './log.js';
import type { RunResult } from './options.js';
import { runtimeMissing } from './runtime.js';

/**
 * A running container or container process: a promise of its result that also carries
 * the container's id and, with `stdio: 'pipe'`, its streams. A non-zero exit resolves;
 * only failures to run it reject, always with a `TscontainerError`.
 */
export interface ContainerProcess extends Promise<RunResult> {
  /** The container's id. */
  readonly id: string;
  /** The process's stdin with `stdio: 'pipe'` and `interactive`, else null. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Whether ^C and ^\ typed on this process's terminal reach the runtime directly (it
   * shares our process group to read the terminal), so relaying SIGINT or SIGQUIT to
   * it would deliver them twice.
   */
  readonly receivesTerminalSignals: boolean;
  /**
   * Sends `signal` (default SIGTERM) to the runtime, which forwards it to the process.
   * False when the runtime is no longer running.
   */
  kill(signal?: NodeJS.Signals | number): boolean;
}

export interface Attached {
  /** The container's id. */
  id: string;
  /** What runs, for messages: `container ID`, `a process in container ID`. */
  what: string;
  runtime: string;
  child: ChildProcess;
  logPath: string;
  /** Whether the runtime's stderr reaches the user (it prints its error line there). */
  reported: boolean;
  /** How to read the log. */
  outcome: OutcomeOptions;
  /** Milliseconds from an abort's SIGTERM to `forceKill`. */
  killTimeout: number;
  /** Kills the process for good after an abort's grace period. */
  forceKill(): Promise<void>;
  /** How an abort asks the process to stop (default: SIGTERM to the runtime, which forwards it). */
  stop?: (() => void) | undefined;
  /** Clears what the runtime may have left when its log does not say how things ended. */
  recover(): Promise<void>;
  /** Removes this process's files (the bundle, the log); runs however things ended. */
  cleanup(): Promise<void>;
}

export function aborted(what: string, reason: unknown): ContainerAbortedError {
  return new ContainerAbortedError(`${what} was stopped: the operation was aborted`, { cause: reason });
}

export function asApiError(error: unknown): TscontainerError {
  if (error instanceof TscontainerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(message, { cause: error });
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function exited(child: ChildProcess, runtime: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      // After a successful spawn, 'error' only reports a failed kill(); the 'close' that
      // follows still settles the wait.
      if (child.pid === undefined) reject(runtimeMissing(runtime, error));
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Waits for the attached runtime and resolves to how the process it ran ended. */
export async function settle(a: Attached, signal: AbortSignal | undefined): Promise<RunResult> {
  const { child } = a;
  const unregister = onExit(() => child.kill('SIGTERM'));
  let abortedBy: { reason: unknown } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    abortedBy = { reason: signal?.reason };
    if (a.stop === undefined) child.kill('SIGTERM');
    else a.stop();
    killTimer = setTimeout(() => void a.forceKill().catch(() => undefined), a.killTimeout);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await exited(child, a.runtime);
    const outcome = outcomeOf(parseLog(readLog(a.logPath)), a.reported, a.outcome);
    if (outcome.kind === 'unknown') await a.recover().catch(() => undefined);
    if (abortedBy !== undefined) throw aborted(a.what, abortedBy.reason);
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'exited') return outcome.result;
    if (exit.signal !== null) {
      throw new RuntimeFailedError(`tscontainer-runtime was killed by ${exit.signal} while running ${a.what}`, {
        signal: exit.signal,
      });
    }
    throw new RuntimeFailedError(
      `tscontainer-runtime exited with status ${String(exit.code)} without reporting how ${a.what} ended`,
    );
  } catch (error) {
    throw asApiError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(killTimer);
    unregister();
    await a.cleanup();
  }
}

/** The promise of `result`, with the child's streams and a kill() attached. */
export function containerProcess(
  result: Promise<RunResult>,
  id: string,
  child: ChildProcess | undefined,
  receivesTerminalSignals: boolean,
): ContainerProcess {
  return Object.assign(result, {
    id,
    stdin: child?.stdin ?? null,
    stdout: child?.stdout ?? null,
    stderr: child?.stderr ?? null,
    receivesTerminalSignals,
    kill: (signal: NodeJS.Signals | number = 'SIGTERM') => child?.kill(signal) ?? false,
  });
}
