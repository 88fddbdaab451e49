/**
 * `Container`: a handle on one container, whoever created it and whether or not it is
 * running. Every operation goes through the runtime (or, for state and stats, through the
 * addon's reads); the handle itself holds no container resources, so any number of
 * handles, in any processes, may point at the same container.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import type { ContainerProcess } from './attached.js';
import {
  bundleLog,
  imageStoreOf,
  isOwnBundle,
  removeBundle,
  removeImageContainer,
  STOP_SIGNAL_ANNOTATION,
  type Bundle,
} from './bundle.js';
import { findState, readState, stateRoot, type ContainerState, type RootOption } from './containers.js';
import { ContainerNotFoundError, OperationFailedError, TscontainerError } from './errors.js';
import { exec, execDetached, type DetachedExecOptions, type ExecOptions } from './exec.js';
import { summarizeConfig, type ContainerDetails } from './inspect.js';
import { callNative } from './native.js';
import type { RunResult } from './options.js';
import { readOutput, type FollowOptions, type OutputOptions } from './output.js';
import { runtimeAction, shortArgs } from './runtime.js';
import { parseSignal } from './signals.js';
import { parseStats, statsStream, type ContainerStats, type StatsOptions, type StatsReading } from './stats.js';
import { findSupervisor, isAlive, untilGone } from './supervisor.js';
import { pollExit, type WaitTarget } from './wait.js';

export interface WaitOptions {
  /** Stops waiting (the container runs on); the wait rejects with a ContainerAbortedError. */
  signal?: AbortSignal | undefined;
}

export interface StopOptions extends WaitOptions {
  /** Seconds from SIGTERM to SIGKILL (default 10, as `docker stop`). */
  timeout?: number | undefined;
}

export interface KillOptions {
  /** Signal every process of the container, not only its init. */
  all?: boolean | undefined;
}

export interface DeleteOptions {
  /** Kill the container first if it is still running. */
  force?: boolean | undefined;
}

export interface Container {
  readonly id: string;
  /** The state directory it lives in. */
  readonly root: string;
  /** Its current state, with the exit status once its process has ended. */
  state(): Promise<ContainerState>;
  /** Its state and the essentials of the config it was created from. */
  inspect(): Promise<ContainerDetails>;
  /** Runs the command of a created container; resolves once it runs. */
  start(): Promise<void>;
  /** Resolves to how its process ended, once it has (from the recorded exit status). */
  wait(options?: WaitOptions): Promise<RunResult>;
  /** Runs another process in the running container and resolves to how it ended. */
  exec(command: readonly string[], options?: ExecOptions): ContainerProcess;
  /** Starts another process in the running container and resolves once it runs. */
  execDetached(command: readonly string[], options?: DetachedExecOptions): Promise<void>;
  /** Sends a signal (default SIGTERM): a name (`SIGUSR1`, `USR1`) or a number. */
  kill(signal?: NodeJS.Signals | string | number, options?: KillOptions): Promise<void>;
  /**
   * SIGTERM, then SIGKILL after `timeout` seconds; resolves once it has stopped. A container
   * that was never started or has stopped is left as it is.
   */
  stop(options?: StopOptions): Promise<void>;
  /** Its resource usage now. */
  stats(options?: StatsOptions & { stream?: false | undefined }): Promise<ContainerStats>;
  /**
   * Its resource usage every `interval` ms (1000) until it stops or is deleted, each reading
   * with the CPU use since the one before: `for await (const r of c.stats({ stream: true }))`.
   */
  stats(options: StatsOptions & { stream: true }): AsyncGenerator<StatsReading, void, undefined>;
  /** Freezes every process of the container. */
  pause(): Promise<void>;
  /** Thaws a paused container. */
  resume(): Promise<void>;
  /**
   * Deletes the container if it is stopped or never started (with `force`, a running or
   * paused one), and the bundle this package made for it.
   */
  delete(options?: DeleteOptions): Promise<void>;
  /**
   * What its process wrote to stdout and stderr (all that its size limit kept, or the last
   * `tail` lines), for a container `create()` made; else null.
   */
  logs(options?: OutputOptions): Promise<string | null>;
  /**
   * The same output as it comes, chunk by chunk; with `follow`, on until the container
   * stops (or `signal` aborts). An OperationFailedError for a container that keeps none.
   */
  streamLogs(options?: FollowOptions): AsyncIterable<string>;
}

/** What the process that created a container knows of it. */
export interface Origin {
  supervisor: ChildProcess;
  bundle: Bundle;
  /** It deletes itself when its process ends. */
  remove: boolean;
}

/** How long a delete waits for the supervisor to finish after the container is gone. */
const SUPERVISOR_EXIT_TIMEOUT = 10_000;

/** The whole text of an open file, from its start. */
function readFd(fd: number): string {
  const buffer = Buffer.alloc(fstatSync(fd).size);
  let offset = 0;
  while (offset < buffer.length) {
    const n = readSync(fd, buffer, offset, buffer.length - offset, offset);
    if (n === 0) break;
    offset += n;
  }
  return buffer.subarray(0, offset).toString('utf8');
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

class Handle implements Container {
  readonly id: string;
  readonly root: string;
  #runtime: string | undefined;
  readonly #origin: Origin | undefined;
  /**
   * The supervisor's log of a container that deletes itself, kept open once its bundle
   * is removed (after start), so a wait can still read how it ended.
   */
  #keptLog: number | undefined;
  /** How its process ended, once a wait has learned it (a container runs only once). */
  #result: RunResult | undefined;

  constructor(id: string, root: string, origin?: Origin) {
    this.id = id;
    this.root = root;
    this.#origin = origin;
  }

  get #rt(): string {
    this.#runtime ??= callNative((native) => native.runtimePath());
    return this.#runtime;
  }

  #args(...args: string[]): string[] {
    return shortArgs(this.root, ...args);
  }

  /**
   * Whether `error` means the container had already stopped (or gone), which a stop allows:
   * the runtime refused for its status (`invalid-status`), and that status is `stopped`.
   */
  #alreadyStopped(error: unknown): boolean {
    if (error instanceof ContainerNotFoundError) return true;
    if (!(error instanceof TscontainerError) || error.coreCode !== 'invalid-status') return false;
    const status = findState(this.id, this.root)?.status;
    return status === undefined || status === 'stopped';
  }

  /** The bundle directory if it is one of ours. */
  #ownBundle(state: ContainerState | undefined): string | undefined {
    if (this.#origin !== undefined) return this.#origin.bundle.dir;
    if (state !== undefined && (isOwnBundle(state.bundle, this.id) || imageStoreOf(state.bundle, this.id) !== undefined)) {
      return state.bundle;
    }
    return undefined;
  }

  #closeKeptLog(): void {
    if (this.#keptLog === undefined) return;
    closeSync(this.#keptLog);
    this.#keptLog = undefined;
  }

  get #waitTarget(): WaitTarget {
    return {
      id: this.id,
      root: this.root,
      supervisor: this.#origin?.supervisor,
      readLog: async (state) => {
        if (this.#keptLog !== undefined) return readFd(this.#keptLog);
        const bundle = this.#ownBundle(state);
        return bundle === undefined ? undefined : readIfExists(bundleLog(bundle));
      },
    };
  }

  async state(): Promise<ContainerState> {
    return readState(this.id, this.root);
  }

  async inspect(): Promise<ContainerDetails> {
    const state = readState(this.id, this.root);
    const config = callNative((native) => native.containerConfig(this.id, this.root));
    return { ...state, config: summarizeConfig(config) };
  }

  async start(): Promise<void> {
    await runtimeAction(this.#rt, this.#args('start', this.id), this.id, 'start');
    const origin = this.#origin;
    // A container of an image runs from its directory (its writable layer): the supervisor
    // removes it once the container has deleted itself.
    if (origin?.remove === true && origin.bundle.image === undefined && this.#keptLog === undefined) {
      // Nothing of the bundle is needed once the container runs: its supervisor holds its
      // log and output open. Keep the log readable here to learn how the process ends.
      this.#keptLog = openSync(origin.bundle.logPath, 'r');
      await origin.bundle.remove();
    }
  }

  async wait(options: WaitOptions = {}): Promise<RunResult> {
    if (this.#result !== undefined) return this.#result;
    const result = await pollExit(this.#waitTarget, { signal: options.signal });
    if (result === 'timeout') throw new Error('unreachable: a wait without a timeout timed out');
    this.#result = result;
    this.#closeKeptLog();
    // A container that deletes itself is gone once its supervisor is: wait for that too.
    const supervisor = this.#origin?.supervisor;
    if (this.#origin?.remove === true && supervisor?.pid !== undefined) {
      await untilGone(supervisor.pid, SUPERVISOR_EXIT_TIMEOUT);
    }
    return result;
  }

  exec(command: readonly string[], options: ExecOptions = {}): ContainerProcess {
    return exec({ id: this.id, root: this.root, runtime: this.#rt }, command, options);
  }

  async execDetached(command: readonly string[], options: DetachedExecOptions = {}): Promise<void> {
    await execDetached({ id: this.id, root: this.root, runtime: this.#rt }, command, options);
  }

  async kill(signal: NodeJS.Signals | string | number = 'SIGTERM', options: KillOptions = {}): Promise<void> {
    const name = parseSignal(signal);
    const all = options.all === true ? ['--all'] : [];
    await runtimeAction(this.#rt, this.#args('kill', ...all, this.id, name), this.id, 'kill');
  }

  /** Whether the container stopped within `ms` (a wait that cannot tell how counts too). */
  async #stoppedWithin(ms: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      return (await pollExit(this.#waitTarget, { timeout: ms, signal })) !== 'timeout';
    } catch (error) {
      if (error instanceof TscontainerError && error.code === 'ABORT_ERR') throw error;
      return true;
    }
  }

  /** The image's StopSignal (recorded in the config as OCI's annotation), else SIGTERM. */
  #stopSignal(): string {
    try {
      const config = JSON.parse(callNative((native) => native.containerConfig(this.id, this.root))) as {
        annotations?: Record<string, string>;
      };
      return config.annotations?.[STOP_SIGNAL_ANNOTATION] || 'SIGTERM';
    } catch {
      return 'SIGTERM';
    }
  }

  async stop(options: StopOptions = {}): Promise<void> {
    const timeout = options.timeout ?? 10;
    const state = readState(this.id, this.root);
    // As with Docker, stopping what never started (or has ended) changes nothing.
    if (state.status === 'stopped' || state.status === 'created' || state.status === 'creating') return;
    try {
      await this.kill(this.#stopSignal());
      // A frozen process cannot act on a signal: thaw it.
      if (state.status === 'paused') await this.resume();
    } catch (error) {
      if (!this.#alreadyStopped(error)) throw error;
    }
    if (await this.#stoppedWithin(Math.max(0, timeout) * 1000, options.signal)) return;
    try {
      await this.kill('SIGKILL');
    } catch (error) {
      if (!this.#alreadyStopped(error)) throw error;
    }
    await this.#stoppedWithin(undefined, options.signal);
  }

  stats(options?: StatsOptions & { stream?: false | undefined }): Promise<ContainerStats>;
  stats(options: StatsOptions & { stream: true }): AsyncGenerator<StatsReading, void, undefined>;
  stats(options: StatsOptions = {}): Promise<ContainerStats> | AsyncGenerator<StatsReading, void, undefined> {
    if (options.stream !== true) return this.#readStats();
    return statsStream(
      {
        id: this.id,
        read: () => this.#readStats(),
        ended: () => {
          const state = findState(this.id, this.root);
          return state === undefined || state.status === 'stopped';
        },
      },
      options,
    );
  }

  async #readStats(): Promise<ContainerStats> {
    const read = new Date();
    return parseStats(callNative((native) => native.containerStats(this.id, this.root)), read);
  }

  async pause(): Promise<void> {
    await runtimeAction(this.#rt, this.#args('pause', this.id), this.id, 'pause');
  }

  async resume(): Promise<void> {
    await runtimeAction(this.#rt, this.#args('resume', this.id), this.id, 'resume');
  }

  /** The live supervisor of this container, if it has one. */
  #supervisor(): number | undefined {
    const child = this.#origin?.supervisor;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null && isAlive(child.pid)) {
      return child.pid;
    }
    return findSupervisor(this.id, this.root);
  }

  async delete(options: DeleteOptions = {}): Promise<void> {
    const force = options.force === true;
    const state = findState(this.id, this.root);
    if (state === undefined && !force) throw new ContainerNotFoundError(`container \`${this.id}\` does not exist`);
    if (state !== undefined) {
      const alive = state.status !== 'stopped';
      // Refused by the runtime, in its words: it is running or paused.
      if (alive && !force && state.status !== 'created') {
        await runtimeAction(this.#rt, this.#args('delete', this.id), this.id, 'delete');
      }
      const supervisor = this.#supervisor();
      if (alive) await this.#killForDelete(state.status);
      // The supervisor records the end (or, with remove, deletes the container) and exits:
      // deleting before it has would race its last write of the state.
      if (supervisor !== undefined) await untilGone(supervisor, SUPERVISOR_EXIT_TIMEOUT);
      if (findState(this.id, this.root) !== undefined) {
        await runtimeAction(this.#rt, this.#args('delete', '--force', this.id), this.id, 'delete');
      }
    }
    this.#closeKeptLog();
    const store = state === undefined ? undefined : imageStoreOf(state.bundle, this.id);
    if (this.#origin !== undefined) await this.#origin.bundle.remove();
    else if (store !== undefined) await removeImageContainer(this.id, store);
    else if (state !== undefined && isOwnBundle(state.bundle, this.id)) removeBundle(this.id);
  }

  /** Kills every process of a container about to be deleted (a paused one is thawed to die). */
  async #killForDelete(status: ContainerState['status']): Promise<void> {
    try {
      await this.kill('SIGKILL', { all: true });
      if (status === 'paused') await this.resume();
    } catch (error) {
      if (!this.#alreadyStopped(error)) throw error;
    }
  }

  async logs(options: OutputOptions = {}): Promise<string | null> {
    const bundle = this.#ownBundle(findState(this.id, this.root));
    if (bundle === undefined) return null;
    let text = '';
    for await (const chunk of readOutput(bundle, { tail: options.tail }, () => false)) text += chunk;
    return text;
  }

  async *streamLogs(options: FollowOptions = {}): AsyncGenerator<string, void, undefined> {
    const bundle = this.#ownBundle(findState(this.id, this.root));
    if (bundle === undefined) {
      throw new OperationFailedError(`container ${this.id} keeps no output: only a detached container (create(), run -d) does`);
    }
    const running = () => {
      const status = findState(this.id, this.root)?.status;
      return status !== undefined && status !== 'stopped';
    };
    yield* readOutput(bundle, options, running);
  }
}

/** A handle on container `id` in `root` (made by create() and get()). */
export function containerHandle(id: string, root: string, origin?: Origin): Container {
  return new Handle(id, root, origin);
}

/** The container with this id; a ContainerNotFoundError when there is none. */
export async function get(id: string, options: RootOption = {}): Promise<Container> {
  const root = stateRoot(options.root);
  readState(id, root);
  return new Handle(id, root);
}
