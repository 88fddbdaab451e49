/**
 * `run()`: every input becomes a bundle `config.json`, and the runtime runs it through
 * the one lifecycle (create → start → wait → delete) while this process waits, relays
 * abort requests, and reads the outcome from the runtime's log.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { isatty } from 'node:tty';

import { createBundle, type Bundle } from './bundle.js';
import { onExit } from './cleanup.js';
import { ContainerAbortedError, RuntimeFailedError, TscontainerError, InternalError } from './errors.js';
import { outcomeOf, parseLog } from './log.js';
import { callNative } from './native.js';
import {
  processOptions,
  randomId,
  toSpecOptions,
  type ProcessOptions,
  type RunOptions,
  type RunResult,
} from './options.js';
import {
  attachment,
  runArgs,
  runtimeCommand,
  runtimeMissing,
  spawnRuntime,
  type Attachment,
} from './runtime.js';

/**
 * A running container: a promise of its result that also carries its id and, with
 * `stdio: 'pipe'`, its streams (execa style). A non-zero exit resolves; only failures
 * to run the container reject, always with a `TscontainerError`.
 */
export interface ContainerProcess extends Promise<RunResult> {
  readonly id: string;
  /** The container's stdin with `stdio: 'pipe'` and `interactive`, else null. */
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
   * Sends `signal` (default SIGTERM) to the runtime, which forwards it to the
   * container's process. False when the runtime is no longer running.
   */
  kill(signal?: NodeJS.Signals | number): boolean;
}

interface Started {
  id: string;
  root: string;
  runtime: string;
  bundle: Bundle;
  child: ChildProcess;
  options: ProcessOptions;
  attachment: Attachment;
  receivesTerminalSignals: boolean;
}

function aborted(id: string, reason: unknown): ContainerAbortedError {
  return new ContainerAbortedError(`container ${id} was stopped: the operation was aborted`, { cause: reason });
}

function asApiError(error: unknown): TscontainerError {
  if (error instanceof TscontainerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(message, { cause: error });
}

function start(options: RunOptions, id: string): Started {
  const processOpts = processOptions(options);
  if (options.signal?.aborted === true) throw aborted(id, options.signal.reason);
  const config = callNative((native) => native.buildRunSpec(toSpecOptions(options, id)));
  const runtime = callNative((native) => native.runtimePath());
  const root = options.root ?? callNative((native) => native.defaultStateRoot());
  const stdinIsTTY = isatty(0);
  const how = attachment(processOpts, stdinIsTTY);
  const bundle = createBundle(config);
  const args = runArgs({ root, bundle: bundle.dir, logPath: bundle.logPath, id, keep: !processOpts.remove });
  let child: ChildProcess;
  try {
    child = spawnRuntime(runtime, args, how);
  } catch (error) {
    void bundle.remove();
    throw runtimeMissing(runtime, error);
  }
  return {
    id,
    root,
    runtime,
    bundle,
    child,
    options: processOpts,
    attachment: how,
    receivesTerminalSignals: !how.detached && stdinIsTTY && !processOpts.tty,
  };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exited(child: ChildProcess, runtime: string): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      // After a successful spawn, 'error' only reports a failed kill(); the 'close' that
      // follows still settles the wait.
      if (child.pid === undefined) reject(runtimeMissing(runtime, error));
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

async function readLog(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    // No log: the runtime failed before it could open one, and said so on stderr.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** Deletes whatever the runtime left when it ended without finishing its lifecycle. */
async function forceDelete(s: Started): Promise<void> {
  await runtimeCommand(s.runtime, ['--root', s.root, 'delete', '--force', s.id]).catch(() => undefined);
}

async function supervise(s: Started, signal: AbortSignal | undefined): Promise<RunResult> {
  const { child, bundle, id } = s;
  const unregister = onExit(() => child.kill('SIGTERM'));
  let abortedBy: { reason: unknown } | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    abortedBy = { reason: signal?.reason };
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      void runtimeCommand(s.runtime, ['--root', s.root, 'kill', id, 'KILL']).catch(() => undefined);
    }, s.options.killTimeout);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await exited(child, s.runtime);
    const outcome = outcomeOf(parseLog(await readLog(bundle.logPath)), s.attachment.stdio[2] === 'inherit');
    if (outcome.kind === 'unknown') await forceDelete(s);
    if (abortedBy !== undefined) throw aborted(id, abortedBy.reason);
    if (outcome.kind === 'failed') throw outcome.error;
    if (outcome.kind === 'exited') return outcome.result;
    if (exit.signal !== null) {
      throw new RuntimeFailedError(`tscontainer-runtime was killed by ${exit.signal} while running container ${id}`, {
        signal: exit.signal,
      });
    }
    throw new RuntimeFailedError(
      `tscontainer-runtime exited with status ${String(exit.code)} without reporting how container ${id} ended`,
    );
  } catch (error) {
    throw asApiError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(killTimer);
    unregister();
    await bundle.remove();
  }
}

function containerProcess(result: Promise<RunResult>, id: string, started: Started | undefined): ContainerProcess {
  const child = started?.child;
  return Object.assign(result, {
    id,
    stdin: child?.stdin ?? null,
    stdout: child?.stdout ?? null,
    stderr: child?.stderr ?? null,
    receivesTerminalSignals: started?.receivesTerminalSignals ?? false,
    kill: (signal: NodeJS.Signals | number = 'SIGTERM') => child?.kill(signal) ?? false,
  });
}

/**
 * Runs a command in a new container and resolves to how it ended:
 * `await run({ command: ['sh', '-c', 'exit 7'] })` is `{ exitCode: 7, signal: null, oomKilled: false }`.
 */
export function run(options: RunOptions): ContainerProcess {
  const id = options.name ?? randomId();
  let started: Started;
  try {
    started = start(options, id);
  } catch (error) {
    return containerProcess(Promise.reject(asApiError(error)), id, undefined);
  }
  return containerProcess(supervise(started, options.signal), id, started);
}
