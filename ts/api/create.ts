/**
 * `create()`: a container that runs on its own, after this process if need be (`docker
 * run -d` is `create()` then `start()`). The runtime creates it and stays as its parent
 * (`create --supervise`), detached from this process: it waits for the container's
 * process, forwards signals sent to it, and records how the process ended in the
 * container's state. The container's stdout and stderr go through the supervisor to
 * `output.log` in its bundle, rotated at a size limit (`log`, Docker's `max-size` and
 * `max-file`).
 */
import type { ChildProcess } from 'node:child_process';

import { aborted, asApiError } from './attached.js';
import { createBundle, createImageBundle, type Bundle } from './bundle.js';
import { containerHandle, type Container } from './container.js';
import { findState, stateRoot } from './containers.js';
import { ContainerCreateError, InvalidOptionError, RuntimeFailedError } from './errors.js';
import { withImage } from './image-run.js';
import { outcomeOf, parseLog, readLog, type Outcome } from './log.js';
import { callNative } from './native.js';
import { imageRunArgs, randomId, toSpecOptions, type RunOptions } from './options.js';
import { runtimeCommand, runtimeMissing, shortArgs, spawnSupervisor, supervisedCreateArgs } from './runtime.js';
import { untilGone } from './supervisor.js';

export interface CreateOptions
  extends Omit<RunOptions, 'stdio' | 'interactive' | 'tty' | 'killTimeout' | 'remove' | 'signal'> {
  /**
   * Delete the container as soon as its process ends (default false: it is kept, with
   * its exit status, until `delete()`); its bundle goes once it has started.
   */
  remove?: boolean | undefined;
  /** Aborts the creation: what was made is deleted, and create() rejects. */
  signal?: AbortSignal | undefined;
  /**
   * How much of the container's output is kept, as Docker's json-file log options: an
   * object, or Docker's `--log-opt` strings (`max-size=10m`, `max-file=3`).
   */
  log?: LogOptions | readonly string[] | undefined;
}

export interface LogOptions {
  /** The size at which the output file is rotated: `10m` (the default), `512k`, bytes. */
  maxSize?: string | number | undefined;
  /** How many files are kept, the current one included (default 3; 1 empties it instead). */
  maxFiles?: number | undefined;
}

/**
 * `log` as Docker's `--log-opt` entries, which the core reads (`max-size=10m`, `max-file=3`):
 * only the shape changes here.
 */
export function logEntries(log: CreateOptions['log']): string[] {
  if (log === undefined) return [];
  if (Array.isArray(log)) return [...(log as readonly string[])];
  const { maxSize, maxFiles } = log as LogOptions;
  return [
    ...(maxSize === undefined ? [] : [`max-size=${String(maxSize)}`]),
    ...(maxFiles === undefined ? [] : [`max-file=${String(maxFiles)}`]),
  ];
}

/** How often to look whether the container has been created. */
const POLL_INTERVAL = 10;
/** How long to wait for the supervisor to end after an aborted creation is deleted. */
const SUPERVISOR_EXIT_TIMEOUT = 10_000;

interface Creating {
  id: string;
  root: string;
  runtime: string;
  bundle: Bundle;
  supervisor: ChildProcess;
  remove: boolean;
}

/**
 * Everything up to the supervisor's start. Without an image, synchronous up to the
 * supervisor (no await on that path), so the bundle lands in the TMPDIR of the call.
 */
async function begin(options: CreateOptions, id: string): Promise<Creating> {
  if (options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
  // A detached container has no terminal to relay, and its stdin is /dev/null.
  const spec = toSpecOptions({ ...options, tty: false }, id);
  const image = imageRunArgs(options);
  // Without an image, the config is built (and checked) now; with one, by createImageBundle.
  const source = image === undefined ? { config: callNative((native) => native.buildRunSpec(spec)) } : { image };
  const limits = callNative((native) => native.outputLimits(logEntries(options.log)));
  const runtime = callNative((native) => native.runtimePath());
  const root = stateRoot(options.root);
  if (findState(id, root) !== undefined) throw new ContainerCreateError(`container \`${id}\` already exists`);
  const remove = options.remove ?? false;
  const bundle = 'config' in source ? createBundle(id, source.config) : await createImageBundle(spec, source.image);
  const output = { path: bundle.outputPath, ...limits };
  const args = supervisedCreateArgs({ root, bundle: bundle.dir, logPath: bundle.logPath, id, remove, output });
  try {
    return { id, root, runtime, bundle, supervisor: spawnSupervisor(runtime, args), remove };
  } catch (error) {
    void bundle.remove();
    throw runtimeMissing(runtime, error);
  }
}

type Ended = { code: number | null; signal: NodeJS.Signals | null } | { error: Error };

function ended(child: ChildProcess): Promise<Ended> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ error });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Why the supervisor ended before the container was created, from its log and its status. */
function failure(c: Creating, end: Ended, outcome: Outcome): Error {
  if ('error' in end) return runtimeMissing(c.runtime, end.error);
  if (outcome.kind === 'failed') return outcome.error;
  const how = end.signal === null ? `exited with status ${String(end.code)}` : `was killed by ${end.signal}`;
  return new RuntimeFailedError(`tscontainer-runtime ${how} while creating container ${c.id}`, {
    signal: end.signal ?? undefined,
  });
}

/** Deletes what an aborted or failed creation made. */
async function undo(c: Creating): Promise<void> {
  await runtimeCommand(c.runtime, shortArgs(c.root, 'delete', '--force', c.id)).catch(() => undefined);
  if (c.supervisor.pid !== undefined) await untilGone(c.supervisor.pid, SUPERVISOR_EXIT_TIMEOUT);
  await c.bundle.remove();
}

/** Statuses only a created container reaches. (`stopped` is also what an init that died while being created reads as.) */
const CREATED: readonly string[] = ['created', 'running', 'paused'];

async function untilCreated(c: Creating, signal: AbortSignal | undefined): Promise<Container> {
  let end: Ended | undefined;
  const done = ended(c.supervisor).then((e) => (end = e));
  for (;;) {
    const state = findState(c.id, c.root);
    if (state !== undefined && CREATED.includes(state.status)) break;
    if (end !== undefined) {
      const outcome = outcomeOf(parseLog(readLog(c.bundle.logPath)), false);
      // Created, started by someone else and ended already, all between two looks.
      if (outcome.kind === 'exited') break;
      // The supervisor deletes what it made when it fails; whatever is left goes here.
      const error = failure(c, end, outcome);
      await undo(c);
      throw error;
    }
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL))]);
  }
  // Aborted while the runtime was creating: let it finish, then delete the container.
  if (signal?.aborted === true) {
    await undo(c);
    throw aborted(`container ${c.id}`, signal.reason);
  }
  // The container owns its bundle now (its output goes there): it goes with the container.
  c.bundle.release();
  return containerHandle(c.id, c.root, { supervisor: c.supervisor, bundle: c.bundle, remove: c.remove });
}

/**
 * Creates a container that runs on its own, supervised, and resolves once it is created
 * (its command not started yet): `const c = await create({ command: ['sleep', '60'] });
 * await c.start();`. It outlives this process until it is deleted (or, with `remove`, until
 * its process ends).
 */
export function create(options: CreateOptions): Promise<Container> {
  const id = options.name ?? randomId();
  const image = options.image;
  if (image !== undefined) {
    // The image pulled first if need be (then the container made as below).
    let made = false;
    return withImage({ ...options, image }, () => begin(options, id))
      .then((creating) => {
        made = true;
        return untilCreated(creating, options.signal);
      })
      .catch((error: unknown) => {
        // An abort during the pull cancels it: the creation was aborted.
        if (!made && options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
        throw asApiError(error);
      });
  }
  return begin(options, id)
    .then((creating) => untilCreated(creating, options.signal))
    .catch((error: unknown) => {
      throw asApiError(error);
    });
}
