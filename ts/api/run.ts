/**
 * `run()`: every input becomes a bundle `config.json`, and the runtime runs it through
 * the one lifecycle (create → start → wait → delete) while this process waits, relays
 * abort requests, and reads the outcome from the runtime's log.
 */
import type { ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { isatty } from 'node:tty';

import { aborted, asApiError, containerProcess, settle, type ContainerProcess } from './attached.js';
import { createBundle, createImageBundle, type Bundle } from './bundle.js';
import { findState } from './containers.js';
import { pullPolicy, withImage } from './image-run.js';
import { callNative, type ImageRunArgs } from './native.js';
import { imageRunArgs, processOptions, randomId, toSpecOptions, type RunOptions } from './options.js';
import { attachment, runArgs, runtimeCommand, runtimeMissing, shortArgs, spawnRuntime } from './runtime.js';

export type { ContainerProcess } from './attached.js';

/**
 * Starts the runtime on `imageBundle` (an image's container, made already) or on a new
 * bundle of the config `options` make (synchronous: the streams are there at once).
 */
function start(options: RunOptions, id: string, imageBundle?: Bundle): ContainerProcess {
  const processOpts = processOptions(options);
  if (options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
  const runtime = callNative((native) => native.runtimePath());
  const root = options.root ?? callNative((native) => native.defaultStateRoot());
  const stdinIsTTY = isatty(0);
  const how = attachment(processOpts, stdinIsTTY);
  const bundle = imageBundle ?? createBundle(id, callNative((native) => native.buildRunSpec(toSpecOptions(options, id))));
  const args = runArgs({ root, bundle: bundle.dir, logPath: bundle.logPath, id, keep: !processOpts.remove });
  let child: ChildProcess;
  try {
    child = spawnRuntime(runtime, args, how);
  } catch (error) {
    void bundle.remove();
    throw runtimeMissing(runtime, error);
  }
  const kill = async (signal: string) => {
    await runtimeCommand(runtime, shortArgs(root, 'kill', id, signal)).catch(() => undefined);
  };
  const stopSignal = bundle.image?.stopSignal;
  const result = settle(
    {
      id,
      what: `container ${id}`,
      runtime,
      child,
      logPath: bundle.logPath,
      reported: how.stdio[2] === 'inherit',
      outcome: { exitMessage: 'container exited' },
      killTimeout: processOpts.killTimeout,
      forceKill: () => kill('KILL'),
      // The image's StopSignal, sent through the runtime (it may be one Node cannot name).
      stop: stopSignal === undefined ? undefined : () => void kill(stopSignal),
      // The runtime ended without finishing its lifecycle: delete whatever it left.
      recover: async () => {
        await runtimeCommand(runtime, shortArgs(root, 'delete', '--force', id)).catch(() => undefined);
      },
      // A kept container of an image keeps its directory (its writable layer) until it is
      // removed; one that was never created leaves nothing.
      cleanup: async () => {
        if (bundle.image !== undefined && !processOpts.remove && findState(id, root) !== undefined) bundle.release();
        else await bundle.remove();
      },
    },
    options.signal,
  );
  return containerProcess(result, id, child, !how.detached && stdinIsTTY && !processOpts.tty);
}

/**
 * Runs a command in a new container and resolves to how it ended:
 * `await run({ command: ['sh', '-c', 'exit 7'] })` is `{ exitCode: 7, signal: null, oomKilled: false }`.
 * For a container that runs on after this process (detached), see `create()`.
 */
export function run(options: RunOptions): ContainerProcess {
  const id = options.name ?? randomId();
  try {
    const image = imageRunArgs(options);
    return image === undefined ? start(options, id) : ofImage(options, image, id);
  } catch (error) {
    return containerProcess(Promise.reject(asApiError(error)), id, undefined, false);
  }
}

/**
 * A run of an image: its container's directory is made off the main thread (after a pull
 * when `options.pull` says so), so the streams are stand-ins now, joined to the runtime's
 * when it starts; a kill() before then is delivered as it starts, and an abort stops the
 * pull.
 */
function ofImage(options: RunOptions, image: ImageRunArgs, id: string): ContainerProcess {
  const processOpts = processOptions(options);
  pullPolicy(options);
  const spec = toSpecOptions(options, id);
  const how = attachment(processOpts, isatty(0));
  const stand = (i: number) => (how.stdio[i] === 'pipe' ? new PassThrough() : null);
  const [stdin, stdout, stderr] = [stand(0), stand(1), stand(2)];
  let inner: ContainerProcess | undefined;
  let pending: NodeJS.Signals | number | undefined;
  const result = (async () => {
    const bundle = await withImage({ ...options, image: image.image }, () => createImageBundle(spec, image));
    try {
      inner = start(options, id, bundle);
    } catch (error) {
      await bundle.remove();
      throw error;
    }
    if (stdin !== null && inner.stdin !== null) stdin.pipe(inner.stdin as Writable);
    if (stdout !== null) (inner.stdout as Readable | null)?.pipe(stdout);
    if (stderr !== null) (inner.stderr as Readable | null)?.pipe(stderr);
    if (pending !== undefined) inner.kill(pending);
    return await inner;
  })().catch((error: unknown) => {
    stdout?.end();
    stderr?.end();
    // An abort during the pull cancels it: the run was aborted, as one aborted later is.
    if (inner === undefined && options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
    throw asApiError(error);
  });
  const running = containerProcess(result, id, undefined, !how.detached && isatty(0) && !processOpts.tty);
  return Object.assign(running, {
    stdin,
    stdout,
    stderr,
    kill: (signal: NodeJS.Signals | number = 'SIGTERM') => {
      if (inner !== undefined) return inner.kill(signal);
      pending = signal;
      return true;
    },
  });
}
