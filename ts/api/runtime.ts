/**
 * Starting `tscontainer-runtime`. Node never does container work itself (it is
 * multithreaded, and the kernel refuses namespace changes to threaded processes): it
 * hands a bundle to the runtime and waits.
 */
import { spawn, type ChildProcess } from 'node:child_process';

import {
  ContainerNotFoundError,
  OperationFailedError,
  RuntimeNotFoundError,
  type TscontainerError,
} from './errors.js';
import type { ProcessOptions, Stdio } from './options.js';

/**
 * The name the runtime runs under: it prints its one error line as `<argv0>: <message>`,
 * and users should read `tscontainer: ...`.
 */
const ARGV0 = 'tscontainer';

export interface RunInvocation {
  root: string;
  bundle: string;
  logPath: string;
  id: string;
  /** Keep the stopped container's state (Docker without `--rm`). */
  keep: boolean;
}

/** The runtime's arguments for create → start → wait → delete of one bundle. */
export function runArgs(invocation: RunInvocation): string[] {
  const { root, bundle, logPath, id, keep } = invocation;
  return [
    '--root', root,
    '--log', logPath,
    '--log-format', 'json',
    'run', '--bundle', bundle,
    ...(keep ? ['--keep'] : []),
    id,
  ];
}

export interface CreateInvocation {
  root: string;
  bundle: string;
  logPath: string;
  id: string;
  /** Delete the container as soon as its process ends. */
  remove: boolean;
  /** Where the supervisor writes the container's stdout and stderr, and how much it keeps. */
  output: { path: string; maxSize: number; maxFiles: number };
}

/**
 * The runtime's arguments for a supervised create: the runtime creates the container and
 * stays as its parent until its process ends, recording how it ended.
 */
export function supervisedCreateArgs(invocation: CreateInvocation): string[] {
  const { root, bundle, logPath, id, remove, output } = invocation;
  return [
    '--root', root,
    '--log', logPath,
    '--log-format', 'json',
    'create', '--supervise',
    ...(remove ? ['--rm'] : []),
    '--output', output.path,
    '--output-max-size', String(output.maxSize),
    '--output-max-files', String(output.maxFiles),
    '--bundle', bundle,
    id,
  ];
}

export interface ExecInvocation {
  root: string;
  logPath: string;
  id: string;
  command: readonly string[];
  /** `K=V` entries, on top of the container's environment. */
  env: readonly string[];
  cwd?: string | undefined;
  /** `uid[:gid]`. */
  user?: string | undefined;
  /** Supplementary groups of `user` (none: the container process's stay). */
  additionalGids?: readonly number[] | undefined;
  tty: boolean;
  /** Return once the process runs instead of waiting for it. */
  detach: boolean;
  /** Where the runtime writes the process's pid. */
  pidFile?: string | undefined;
}

/** The runtime's arguments for running another process in a container. */
export function execArgs(invocation: ExecInvocation): string[] {
  const { root, logPath, id, command, env, cwd, user, additionalGids = [], tty, detach, pidFile } = invocation;
  return [
    '--root', root,
    '--log', logPath,
    '--log-format', 'json',
    'exec',
    ...(detach ? ['--detach'] : []),
    ...(tty ? ['--tty'] : []),
    ...env.flatMap((entry) => ['--env', entry]),
    ...(cwd === undefined ? [] : ['--cwd', cwd]),
    ...(user === undefined ? [] : ['--user', user]),
    ...additionalGids.flatMap((gid) => ['--additional-gids', String(gid)]),
    ...(pidFile === undefined ? [] : ['--pid-file', pidFile]),
    // The command's own flags (`ls -l`) must not be read as the runtime's.
    '--',
    id,
    ...command,
  ];
}

export interface Attachment {
  stdio: [Stdio, Stdio, Stdio];
  /**
   * Whether the runtime gets its own session and process group. It does unless it reads
   * the terminal: then it must stay in the terminal's foreground group with us. In its
   * own group, a ^C on the terminal reaches it only through us, and so only once.
   */
  detached: boolean;
}

/** How the runtime's stdio and process group are set up for `options`. */
export function attachment(
  options: Pick<ProcessOptions, 'stdio' | 'interactive' | 'tty'>,
  stdinIsTTY: boolean,
): Attachment {
  // With a tty the runtime relays the terminal itself (raw mode, window size), through
  // its own stdin and stdout, so they must be the terminal.
  if (options.tty) return { stdio: ['inherit', 'inherit', 'inherit'], detached: false };
  const readsTerminal = options.interactive && options.stdio === 'inherit' && stdinIsTTY;
  return {
    stdio: [options.interactive ? options.stdio : 'ignore', options.stdio, options.stdio],
    detached: !readsTerminal,
  };
}

export function spawnRuntime(runtime: string, args: readonly string[], how: Attachment): ChildProcess {
  return spawn(runtime, args, { argv0: ARGV0, stdio: how.stdio, detached: how.detached });
}

/**
 * Starts a container's supervisor (`create --supervise`) detached from this process: in
 * its own session, so it outlives this process and no terminal signal reaches it; stdio
 * /dev/null. The container's stdout and stderr go to the supervisor, which writes them to
 * the output file its arguments name (`--output`), rotating it.
 */
export function spawnSupervisor(runtime: string, args: readonly string[]): ChildProcess {
  const child = spawn(runtime, args, { argv0: ARGV0, detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

export function runtimeMissing(runtime: string, cause: unknown): RuntimeNotFoundError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RuntimeNotFoundError(`cannot run ${runtime}: ${reason}`, { cause });
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The runtime's error message, without the program-name prefix; empty on success. */
  message: string;
}

/** The message in the runtime's stderr: its last line, less the `tscontainer: ` prefix. */
export function runtimeMessage(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  const last = lines.at(-1) ?? '';
  return last.startsWith(`${ARGV0}: `) ? last.slice(ARGV0.length + 2) : last;
}

/** Runs a short runtime command (`delete`, `kill`) to completion. */
export function runtimeCommand(runtime: string, args: readonly string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(runtime, args, { argv0: ARGV0, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error) => reject(runtimeMissing(runtime, error)));
    child.once('close', (code, signal) => resolve({ code, signal, message: runtimeMessage(stderr) }));
  });
}

/**
 * The error for a short runtime command that failed: the runtime's own message, as a
 * ContainerNotFoundError when it names no such container.
 */
export function commandError(result: CommandResult, id: string, action: string): TscontainerError {
  const signal = result.signal ?? undefined;
  let message = result.message;
  if (message === '') {
    message =
      result.signal === null
        ? `tscontainer-runtime could not ${action} container ${id} (status ${String(result.code)})`
        : `tscontainer-runtime was killed by ${result.signal} while trying to ${action} container ${id}`;
  }
  if (/^container `.*` does not exist$/.test(message)) return new ContainerNotFoundError(message);
  return new OperationFailedError(message, { signal });
}

/** Runs a short runtime command for container `id`, throwing commandError() on failure. */
export async function runtimeAction(runtime: string, args: readonly string[], id: string, action: string): Promise<void> {
  const result = await runtimeCommand(runtime, args);
  if (result.code !== 0) throw commandError(result, id, action);
}
