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
import { isImageNotKnown, pullImage, pullPolicy } from './image-run.js';
import { callNative } from './native.js';
import { imageRunArgs, processOptions, randomId, toSpecOptions, type RunOptions } from './options.js';
import { attachment, runArgs, runtimeCommand, runtimeMissing, shortArgs, spawnRuntime } from './runtime.js';

export type { ContainerProcess } from './attached.js';

function start(options: RunOptions, id: string): ContainerProcess {
  const processOpts = processOptions(options);
  if (options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
  const spec = toSpecOptions(options, id);
  const image = imageRunArgs(options);
  // Without an image, the config is built (and checked) now; with one, by createImageBundle.
  const source = image === undefined ? { config: callNative((native) => native.buildRunSpec(spec)) } : { image };
  const runtime = callNative((native) => native.runtimePath());
  const root = options.root ?? callNative((native) => native.defaultStateRoot());
  const stdinIsTTY = isatty(0);
  const how = attachment(processOpts, stdinIsTTY);
  const bundle: Bundle = 'config' in source ? createBundle(id, source.config) : createImageBundle(spec, source.image);
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
    if (options.image !== undefined && pullPolicy(options) === 'always') return afterPull(options, id, false);
    return start(options, id);
  } catch (error) {
    if (options.image !== undefined && options.pull !== 'never' && isImageNotKnown(error)) return afterPull(options, id, true);
    return containerProcess(Promise.reject(asApiError(error)), id, undefined, false);
  }
}

/**
 * A run that pulls its image first: the container starts once the pull is done, so its
 * streams are stand-ins now, joined to the runtime's when it starts; a kill() before then
 * is delivered as it starts, and an abort stops the pull.
 */
function afterPull(options: RunOptions, id: string, missing: boolean): ContainerProcess {
  const processOpts = processOptions(options);
  const how = attachment(processOpts, isatty(0));
  const stand = (i: number) => (how.stdio[i] === 'pipe' ? new PassThrough() : null);
  const [stdin, stdout, stderr] = [stand(0), stand(1), stand(2)];
  let inner: ContainerProcess | undefined;
  let pending: NodeJS.Signals | number | undefined;
  const result = (async () => {
    await pullImage({ ...options, image: options.image ?? '' }, missing);
    inner = start({ ...options, pull: 'never' }, id);
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
