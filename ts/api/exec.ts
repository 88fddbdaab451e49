/**
 * Running another process in a running container (`docker exec`): the runtime's `exec`
 * joins the container (its namespaces, cgroup, seccomp filter, capabilities) with the
 * container's process spec as the base, changed by these options. In the foreground this
 * process waits for it, as `run()` waits for a container.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isatty } from 'node:tty';

import { aborted, asApiError, containerProcess, settle, type ContainerProcess } from './attached.js';
import { createScratchDir, imageStoreOf } from './bundle.js';
import { readState } from './containers.js';
import { InvalidOptionError, OperationFailedError, type Failure } from './errors.js';
import { outcomeOf, parseLog, readLog } from './log.js';
import { callNative } from './native.js';
import { processOptions, type RunOptions } from './options.js';
import { attachment, execArgs, runtimeMissing, spawnRuntime, runtimeCommand } from './runtime.js';

export interface ExecOptions {
  /** Variables on top of the container's; a bare `NAME` in the list form copies this process's value. */
  env?: Readonly<Record<string, string>> | readonly string[] | undefined;
  /** The working directory (default: the container's). */
  workdir?: string | undefined;
  /**
   * `uid[:gid]`, `name[:group]` or a numeric uid, resolved in the container's /etc/passwd and
   * /etc/group as `run`'s `user` is (default: the container's user).
   */
  user?: string | number | undefined;
  /** Give the process a terminal; the runtime relays this process's terminal to it. */
  tty?: boolean | undefined;
  /** Keep the process's stdin open (attached to this process's stdin or a pipe). */
  interactive?: boolean | undefined;
  /** Default `inherit`. */
  stdio?: RunOptions['stdio'];
  /** Stops the process: SIGTERM, then SIGKILL after `killTimeout`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds from SIGTERM to SIGKILL when `signal` aborts (default 5000). */
  killTimeout?: number | undefined;
}

export type DetachedExecOptions = Pick<ExecOptions, 'env' | 'workdir' | 'user'>;

/** The container an exec runs in. */
export interface ExecTarget {
  id: string;
  root: string;
  runtime: string;
}

/**
 * `K=V` entries; a bare `NAME` copies this process's value, and is left out when unset: the
 * core's rule for `run -e`, applied by the core.
 */
export function execEnvironment(env: ExecOptions['env']): string[] {
  if (env === undefined) return [];
  const entries = Array.isArray(env)
    ? (env as readonly string[])
    : Object.entries(env as Readonly<Record<string, string>>).map(([key, value]) => `${key}=${value}`);
  return callNative((native) => native.resolveEnv([...entries]));
}

/** The user as the runtime's exec takes it. */
export interface ExecUser {
  /** `uid:gid`. */
  user: string;
  additionalGids: number[];
}

/**
 * `user` resolved in the container's root filesystem (`rootfs()`, read only when there is a
 * user) as `run --user` is, by the same core function: names through its /etc/passwd and
 * /etc/group, a uid alone with its passwd entry's group, and the user's supplementary groups.
 */
export function execUser(user: ExecOptions['user'], rootfs: () => string): ExecUser | undefined {
  if (user === undefined) return undefined;
  const resolved = callNative((native) => native.resolveUser(String(user), rootfs()));
  return { user: `${resolved.uid}:${resolved.gid}`, additionalGids: resolved.additionalGids };
}

/**
 * The root filesystem of the container `target`, as its state records it; for a container
 * of an image, whose root is an overlay mounted only in its own mount namespace (the
 * recorded rootfs is the empty mount point), the root its process sees.
 */
function rootfsOf(target: ExecTarget): () => string {
  return () => {
    const state = readState(target.id, target.root);
    const overlaid = imageStoreOf(state.bundle, state.id) !== undefined && state.pid > 0;
    return overlaid ? `/proc/${state.pid}/root` : state.rootfs;
  };
}

// Docker's status when the runtime cannot start an exec'd process.
const execFailure: Failure = (message, options) => new OperationFailedError(message, { ...options, exitCode: 126 });

function startExec(target: ExecTarget, command: readonly string[], options: ExecOptions): ContainerProcess {
  const { id, root, runtime } = target;
  const what = `a process in container ${id}`;
  const processOpts = processOptions({ ...options, command });
  if (command.length === 0) throw new InvalidOptionError('exec needs a command to run');
  if (options.signal?.aborted === true) throw aborted(what, options.signal.reason);
  const env = execEnvironment(options.env);
  const user = execUser(options.user, rootfsOf(target));
  const stdinIsTTY = isatty(0);
  const how = attachment(processOpts, stdinIsTTY);
  const scratch = createScratchDir();
  const pidFile = join(scratch.dir, 'pid');
  const args = execArgs({
    root,
    logPath: scratch.logPath,
    id,
    command,
    env,
    cwd: options.workdir,
    ...user,
    tty: processOpts.tty,
    detach: false,
    pidFile,
  });
  let child;
  try {
    child = spawnRuntime(runtime, args, how);
  } catch (error) {
    void scratch.remove();
    throw runtimeMissing(runtime, error);
  }
  const result = settle(
    {
      id,
      what,
      runtime,
      child,
      logPath: scratch.logPath,
      reported: how.stdio[2] === 'inherit',
      outcome: { exitMessage: 'process exited', failure: execFailure },
      killTimeout: processOpts.killTimeout,
      // SIGKILL cannot be relayed by the runtime: it goes to the process itself.
      forceKill: async () => {
        const pid = Number((await readFile(pidFile, 'utf8')).trim());
        if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
      },
      recover: async () => undefined,
      cleanup: () => scratch.remove(),
    },
    options.signal,
  );
  return containerProcess(result, id, child, !how.detached && stdinIsTTY && !processOpts.tty);
}

/** Runs `command` in the container and resolves to how it ended. */
export function exec(target: ExecTarget, command: readonly string[], options: ExecOptions = {}): ContainerProcess {
  try {
    return startExec(target, command, options);
  } catch (error) {
    return containerProcess(Promise.reject(asApiError(error)), target.id, undefined, false);
  }
}

/**
 * Starts `command` in the container and resolves once it runs (`docker exec -d`); its
 * output is discarded.
 */
export async function execDetached(
  target: ExecTarget,
  command: readonly string[],
  options: DetachedExecOptions = {},
): Promise<void> {
  const { id, root, runtime } = target;
  if (command.length === 0) throw new InvalidOptionError('exec needs a command to run');
  const scratch = createScratchDir();
  try {
    const args = execArgs({
      root,
      logPath: scratch.logPath,
      id,
      command,
      env: execEnvironment(options.env),
      cwd: options.workdir,
      ...execUser(options.user, rootfsOf(target)),
      tty: false,
      detach: true,
    });
    const result = await runtimeCommand(runtime, args);
    if (result.code === 0) return;
    const outcome = outcomeOf(parseLog(readLog(scratch.logPath)), false, { failure: execFailure });
    if (outcome.kind === 'failed') throw outcome.error;
    throw execFailure(result.message || `tscontainer-runtime could not start ${command.join(' ')} in container ${id}`, {
      reported: false,
    });
  } catch (error) {
    throw asApiError(error);
  } finally {
    await scratch.remove();
  }
}
