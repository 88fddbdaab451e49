/**
 * A container's resource usage, typed from what the core reads in its cgroup (runc's
 * `events --stats` shape): CPU time, memory, processes. Limits the kernel reports as
 * "none" are null.
 */
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
