/**
 * Typed reads of the JSON the core hands over: a container's config (`inspect`) and its
 * cgroup readings (`stats`). A field that is missing or of another type reads as empty,
 * never as a throw: the core, not this layer, decides what a config may hold.
 */
import { InternalError } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** Parses `json`; text that is not JSON is an InternalError `<what>: <reason>`. */
export function parseJson(json: string, what: string): unknown {
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new InternalError(`${what}: ${String(error)}`, { cause: error });
  }
}

export function object(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function integer(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A count or amount, 0 when missing. */
export function number(value: unknown): number {
  return integer(value) ?? 0;
}

export function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.map(number) : [];
}

/** The numeric fields of an object, by name. */
export function counters(value: unknown): Record<string, number> {
  return Object.fromEntries(
    Object.entries(object(value)).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );
}

/**
 * Where the kernel's "no limit" starts. cgroup v1 reports it as LONG_MAX rounded down to a
 * page (2^63 - 4096 with 4 KiB pages), v2 as `max`, which the core reads as 2^64 - 1; no
 * real limit comes near 2^62 bytes (4 EiB).
 */
const UNLIMITED = 2 ** 62;

/**
 * A limit, or null when there is none. Each source says "none" its own way, and no
 * source's way is a real limit in another's, so one reading serves both: the runtime
 * spec (a config) writes -1, or leaves the field out; the kernel (cgroup readings, which
 * are never negative) reports a number from 2^62 up. A pids controller without a limit
 * reads as 0 in cgroup readings, as runc reports it (`zeroIsUnlimited`); in a config, 0 is
 * a value like any other.
 */
export function limit(value: unknown, { zeroIsUnlimited = false }: { zeroIsUnlimited?: boolean } = {}): number | null {
  const n = integer(value);
  if (n === null || n < 0 || n >= UNLIMITED || (zeroIsUnlimited && n === 0)) return null;
  return n;
}
