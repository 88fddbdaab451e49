/**
 * A container's resource usage, typed from what the core reads in its cgroup (runc's
 * `events --stats` shape): CPU time, memory, processes. Limits the kernel reports as
 * "none" are null. Read once, or as a stream of readings a given interval apart.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ContainerAbortedError, InvalidOptionError } from './errors.js';
import { counters, limit, number, numbers, object, parseJson } from './json.js';

export interface CpuStats {
  /** CPU time used, in nanoseconds: in all, per CPU, in user and kernel mode. */
  total: number;
  perCpu: number[];
  user: number;
  kernel: number;
  throttling: {
    periods: number;
    throttledPeriods: number;
    /** Nanoseconds. */
    throttledTime: number;
  };
}

export interface MemoryStats {
  /** Bytes in use, the page cache included (the cgroup's own count). */
  usage: number;
  /** The highest usage seen (0 where the kernel does not keep it). */
  maxUsage: number;
  /** Bytes; null when unlimited. */
  limit: number | null;
  /** How often the limit was hit. */
  failcnt: number;
  /** Page cache, in bytes. */
  cache: number;
  /** Memory plus swap on cgroup v1, swap alone on v2. */
  swap: { usage: number; limit: number | null };
  /** The kernel's own counters (`memory.stat`), by name. */
  raw: Record<string, number>;
}

export interface ContainerStats {
  /** When these were read, as an RFC 3339 timestamp. */
  read: string;
  cpu: CpuStats;
  memory: MemoryStats;
  pids: { current: number; limit: number | null };
}

/** Parses the core's stats JSON, read at `read`. */
export function parseStats(json: string, read: Date = new Date()): ContainerStats {
  const stats = object(parseJson(json, "the core's stats are not JSON"));
  const cpu = object(stats['cpu']);
  const usage = object(cpu['usage']);
  const throttling = object(cpu['throttling']);
  const memory = object(stats['memory']);
  const memoryUsage = object(memory['usage']);
  const swap = object(memory['swap']);
  const pids = object(stats['pids']);
  return {
    read: read.toISOString(),
    cpu: {
      total: number(usage['total']),
      perCpu: numbers(usage['percpu']),
      user: number(usage['user']),
      kernel: number(usage['kernel']),
      throttling: {
        periods: number(throttling['periods']),
        throttledPeriods: number(throttling['throttledPeriods']),
        throttledTime: number(throttling['throttledTime']),
      },
    },
    memory: {
      usage: number(memoryUsage['usage']),
      maxUsage: number(memoryUsage['max']),
      limit: limit(memoryUsage['limit']),
      failcnt: number(memoryUsage['failcnt']),
      cache: number(memory['cache']),
      swap: { usage: number(swap['usage']), limit: limit(swap['limit']) },
      raw: counters(memory['raw']),
    },
    // The core reports an unlimited pids controller as 0, as runc does.
    pids: { current: number(pids['current']), limit: limit(pids['limit'], { zeroIsUnlimited: true }) },
  };
}

/**
 * CPU use between two readings as a percentage of one CPU (200 is two CPUs busy), as
 * `docker stats` shows it; null without time between them.
 */
export function cpuPercent(previous: ContainerStats, current: ContainerStats): number | null {
  const wall = (Date.parse(current.read) - Date.parse(previous.read)) * 1e6;
  if (!(wall > 0)) return null;
  const used = Math.max(0, current.cpu.total - previous.cpu.total);
  return (used / wall) * 100;
}

/**
 * The memory the container's processes use, less the page cache the kernel can drop at
 * will (inactive file pages), as `docker stats` counts it.
 */
export function memoryInUse(memory: MemoryStats): number {
  const inactiveFile = memory.raw['total_inactive_file'] ?? memory.raw['inactive_file'] ?? 0;
  return Math.max(0, memory.usage - inactiveFile);
}

export interface StatsOptions {
  /**
   * Readings one `interval` apart, as an async iterator, until the container stops or
   * is deleted (or `signal` aborts), instead of one reading now.
   */
  stream?: boolean | undefined;
  /** Milliseconds between the readings of a stream (default 1000). */
  interval?: number | undefined;
  /** Ends a stream: the pending reading rejects with a ContainerAbortedError. */
  signal?: AbortSignal | undefined;
}

/** One reading of a stream. */
export interface StatsReading extends ContainerStats {
  /** CPU use since the reading before, as cpuPercent() computes it. */
  cpuPercent: number | null;
}

/** Where a stream's readings come from. */
export interface StatsSource {
  id: string;
  /** A reading now. */
  read(): Promise<ContainerStats>;
  /** Whether the container has stopped or gone: its stream is over. */
  ended(): boolean;
}

export const DEFAULT_STATS_INTERVAL = 1000;

/**
 * Readings of `source`, each `interval` ms after the one before and with the CPU use
 * between them: a first reading is taken at once, unreported, so that every reading
 * yielded has one (as `docker stats` waits for two samples). Ends once the container
 * has stopped (its cgroup, kept until delete, has nothing more to say) or is gone; a read
 * that fails while it runs rejects. Between readings only the timer of the pending sleep
 * exists, cleared by an abort; a consumer that stops iterating leaves none.
 */
export async function* statsStream(
  source: StatsSource,
  options: StatsOptions = {},
): AsyncGenerator<StatsReading, void, undefined> {
  const interval = options.interval ?? DEFAULT_STATS_INTERVAL;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new InvalidOptionError(
      `invalid stats interval \`${String(interval)}\`: expected a number of milliseconds above 0`,
    );
  }
  const { signal } = options;
  const abort = () =>
    new ContainerAbortedError(`reading the stats of container ${source.id} was aborted`, { cause: signal?.reason });
  const read = async (): Promise<ContainerStats | undefined> => {
    let stats: ContainerStats;
    try {
      stats = await source.read();
    } catch (error) {
      if (source.ended()) return undefined;
      throw error;
    }
    return source.ended() ? undefined : stats;
  };
  if (signal?.aborted === true) throw abort();
  let previous = await read();
  while (previous !== undefined) {
    try {
      await sleep(interval, undefined, { signal });
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw abort();
      throw error;
    }
    const current = await read();
    if (current === undefined) return;
    yield { ...current, cpuPercent: cpuPercent(previous, current) };
    previous = current;
  }
}
