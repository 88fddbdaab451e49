/**
 * Reading what the runtime wrote to `--log` (`--log-format json`): the runtime's exit
 * status is the process's, or 1 when the runtime itself failed, so only its log tells
 * the two apart. An `error` entry means the runtime failed, and its `code` says how (the
 * core's codes, mapped to the API's classes by `errorFor`); a `container exited` entry
 * (`run`, `create --supervise`) or a `process exited` entry (`exec`) carries the
 * process's fate.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

import { ContainerCreateError, errorFor, type Failure, type TscontainerError } from './errors.js';
import type { RunResult } from './options.js';
import { isSignalName } from './signals.js';

export interface LogEntry {
  level: string;
  msg: string;
  [field: string]: unknown;
}

function isEntry(value: unknown): value is LogEntry {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['level'] === 'string' &&
    typeof (value as Record<string, unknown>)['msg'] === 'string'
  );
}

/**
 * A log's text; empty when there is none (the runtime failed before it could open it).
 * Read at once: a log is a few lines, and an asynchronous read would start libuv's thread
 * pool, which costs a `tscontainer run` more than the read itself.
 */
export function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** The JSON entries of a log, skipping lines that are not entries (a torn last line). */
export function parseLog(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isEntry(value)) entries.push(value);
    } catch {
      continue;
    }
  }
  return entries;
}

/** The shell's status for a process killed by `signal`: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

export type Outcome =
  | { kind: 'exited'; result: RunResult }
  | { kind: 'failed'; error: TscontainerError }
  | { kind: 'unknown' };

/** The entry that reports how the watched process ended. */
export type ExitMessage = 'container exited' | 'process exited';

export interface OutcomeOptions {
  /** Default `container exited`; `exec` logs `process exited`. */
  exitMessage?: ExitMessage | undefined;
  /**
   * The error for a failure whose code names no class of its own (default: the container
   * could not be created or started).
   */
  failure?: Failure | undefined;
}

const createFailure: Failure = (message, options) => new ContainerCreateError(message, options);

/** The API error an `error` entry stands for. */
export function entryError(entry: LogEntry, otherwise: Failure, reported: boolean): TscontainerError {
  return errorFor(entry['code'], entry.msg, otherwise, { reported });
}

/**
 * What the log says happened. `reported` tells whether the runtime's stderr (where it
 * printed its error line) reached the user, so the error need not be shown again.
 */
export function outcomeOf(entries: readonly LogEntry[], reported: boolean, how: OutcomeOptions = {}): Outcome {
  const failure = entries.find((entry) => entry.level === 'error');
  if (failure !== undefined) return { kind: 'failed', error: entryError(failure, how.failure ?? createFailure, reported) };
  const exitMessage = how.exitMessage ?? 'container exited';
  const exited = entries.findLast((entry) => entry.level === 'info' && entry.msg === exitMessage);
  if (exited === undefined) return { kind: 'unknown' };
  const signal = isSignalName(exited['signal']) ? exited['signal'] : null;
  const code = exited['exitCode'];
  let exitCode: number;
  if (typeof code === 'number') exitCode = code;
  else if (signal !== null) exitCode = signalExitCode(signal);
  else return { kind: 'unknown' };
  return { kind: 'exited', result: { exitCode, signal, oomKilled: exited['oomKilled'] === true } };
}
