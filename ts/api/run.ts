/**
 * `run()`: every input becomes a bundle `config.json`, and the runtime runs it through
 * the one lifecycle (create → start → wait → delete) while this process waits, relays
 * abort requests, and reads the outcome from the runtime's log.
 */
import type { ChildProcess } from 'node:child_process';
import { isatty } from 'node:tty';

import { aborted, asApiError, containerProcess, settle, type ContainerProcess } from './attached.js';
import { createBundle } from './bundle.js';
import { callNative } from './native.js';
import { processOptions, randomId, toSpecOptions, type RunOptions } from './options.js';
import { attachment, runArgs, runtimeCommand, runtimeMissing, spawnRuntime } from './runtime.js';

export type { ContainerProcess } from './attached.js';

function start(options: RunOptions, id: string): ContainerProcess {
  const processOpts = processOptions(options);
  if (options.signal?.aborted === true) throw aborted(`container ${id}`, options.signal.reason);
  const config = callNative((native) => native.buildRunSpec(toSpecOptions(options, id)));
  const runtime = callNative((native) => native.runtimePath());
  const root = options.root ?? callNative((native) => native.defaultStateRoot());
  const stdinIsTTY = isatty(0);
  const how = attachment(processOpts, stdinIsTTY);
  const bundle = createBundle(id, config);
  const args = runArgs({ root, bundle: bundle.dir, logPath: bundle.logPath, id, keep: !processOpts.remove });
  let child: ChildProcess;
  try {
    child = spawnRuntime(runtime, args, how);
  } catch (error) {
    void bundle.remove();
    throw runtimeMissing(runtime, error);
  }
  const kill = async (signal: string) => {
    await runtimeCommand(runtime, ['--root', root, 'kill', id, signal]).catch(() => undefined);
  };
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
      // The runtime ended without finishing its lifecycle: delete whatever it left.
      recover: async () => {
        await runtimeCommand(runtime, ['--root', root, 'delete', '--force', id]).catch(() => undefined);
      },
      cleanup: () => bundle.remove(),
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
    return start(options, id);
  } catch (error) {
    return containerProcess(Promise.reject(asApiError(error)), id, undefined, false);
  }
}
