/**
 * Containers as the state store sees them: their state (with the exit status a
 * supervisor recorded), listing them, and finding one by id.
 */
import { ContainerNotFoundError } from './errors.js';
import { callNative, type ContainerInfo } from './native.js';
import type { RunResult } from './options.js';
import { isSignalName } from './signals.js';

export const CONTAINER_STATUSES = ['creating', 'created', 'running', 'paused', 'stopped'] as const;

export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

/** How a container's process ended, as its supervisor (or a kept `run()`) recorded it. */
export interface ExitRecord extends RunResult {
  /** When it ended, as an RFC 3339 timestamp. */
  finished: string;
}

export interface ContainerState {
  id: string;
  /** The container's init process, or 0 once it has stopped. */
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  /** When it was created, as an RFC 3339 timestamp. */
  created: string;
  /** How its process ended; null until it has (or when nothing recorded it). */
  exit: ExitRecord | null;
}

/** A container as `list()` shows it: its state and its command. */
export interface ContainerSummary extends ContainerState {
  /** The command and its arguments (empty when its config cannot be read). */
  command: string[];
}

export interface ListOptions {
  /** Include stopped containers (default false, as `docker ps`). */
  all?: boolean | undefined;
  /** The state directory (default: the runtime's). */
  root?: string | undefined;
}

export interface RootOption {
  /** The state directory (default: the runtime's, `/run/tscontainer` for root). */
  root?: string | undefined;
}

function toExit(exit: NonNullable<ContainerInfo['exit']>): ExitRecord {
  return {
    exitCode: exit.exitCode,
    signal: isSignalName(exit.signal) ? exit.signal : null,
    oomKilled: exit.oomKilled,
    finished: exit.finished,
  };
}

export function toState(info: ContainerInfo): ContainerState {
  const status = CONTAINER_STATUSES.find((s) => s === info.status);
  return {
    id: info.id,
    pid: info.pid,
    // A status this version does not know comes from a newer core: the nearest
    // meaning is "not stopped", which keeps it visible in a default listing.
    status: status ?? 'running',
    bundle: info.bundle,
    rootfs: info.rootfs,
    created: info.created,
    exit: info.exit === undefined ? null : toExit(info.exit),
  };
}

/** The state root for `root` (the runtime's default when undefined). */
export function stateRoot(root: string | undefined): string {
  return root ?? callNative((native) => native.defaultStateRoot());
}

/** A container's state; a ContainerNotFoundError when there is no such container. */
export function readState(id: string, root: string): ContainerState {
  return toState(callNative((native) => native.containerState(id, root)));
}

/** A container's state, or undefined when there is no such container. */
export function findState(id: string, root: string): ContainerState | undefined {
  try {
    return readState(id, root);
  } catch (error) {
    if (error instanceof ContainerNotFoundError) return undefined;
    throw error;
  }
}

function commandOf(id: string, root: string | undefined): string[] {
  try {
    const config: unknown = JSON.parse(callNative((native) => native.containerConfig(id, root)));
    const args = (config as { process?: { args?: unknown } } | null)?.process?.args;
    return Array.isArray(args) ? args.filter((arg): arg is string => typeof arg === 'string') : [];
  } catch {
    // Deleted since it was listed, or a config this version cannot read.
    return [];
  }
}

/** The containers in the state root: those not stopped, or all of them with `all`. */
export async function list(options: ListOptions = {}): Promise<ContainerSummary[]> {
  const all = options.all ?? false;
  return callNative((native) => native.listContainers(options.root))
    .map(toState)
    .filter((c) => all || c.status !== 'stopped')
    .map((c) => ({ ...c, command: commandOf(c.id, options.root) }));
}
