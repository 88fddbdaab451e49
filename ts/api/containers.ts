/**
 * Containers that outlive a `run()` (`remove: false`): listing them from the state
 * store, and deleting them through the runtime, which owns their cgroups and mounts.
 */
import { RuntimeFailedError } from './errors.js';
import { callNative, type ContainerInfo } from './native.js';
import { runtimeCommand } from './runtime.js';

export const CONTAINER_STATUSES = ['creating', 'created', 'running', 'paused', 'stopped'] as const;

export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export interface Container {
  id: string;
  /** The container's init process, or 0 once it has stopped. */
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  /** When it was created, as an RFC 3339 timestamp. */
  created: string;
}

export interface ListOptions {
  /** Include stopped containers (default false, as `docker ps`). */
  all?: boolean | undefined;
  /** The state directory (default: the runtime's). */
  root?: string | undefined;
}

export interface RemoveOptions {
  /** Kill the container first if it is still running; an unknown id is then no error. */
  force?: boolean | undefined;
  root?: string | undefined;
}

function toContainer(info: ContainerInfo): Container {
  const status = CONTAINER_STATUSES.find((s) => s === info.status);
  // A status this version does not know comes from a newer core: the nearest
  // meaning is "not stopped", which keeps it visible in a default listing.
  return { ...info, status: status ?? 'running' };
}

export async function listContainers(options: ListOptions = {}): Promise<Container[]> {
  const all = options.all ?? false;
  return callNative((native) => native.listContainers(options.root))
    .map(toContainer)
    .filter((c) => all || c.status !== 'stopped');
}

export async function removeContainer(id: string, options: RemoveOptions = {}): Promise<void> {
  const force = options.force ?? false;
  const root = options.root ?? callNative((native) => native.defaultStateRoot());
  if (!force) callNative((native) => native.containerState(id, root));
  const runtime = callNative((native) => native.runtimePath());
  const result = await runtimeCommand(runtime, ['--root', root, 'delete', ...(force ? ['--force'] : []), id]);
  if (result.code === 0) return;
  throw new RuntimeFailedError(result.message || `tscontainer-runtime could not delete container ${id}`, {
    signal: result.signal ?? undefined,
  });
}
