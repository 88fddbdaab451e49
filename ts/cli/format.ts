/**
 * How the CLI shows containers to people, as Docker shows them: `Up`, `Exited (3) 5
 * seconds ago`, `2 minutes ago`, `1.5MiB`, `0.25%`. Pure functions of their input and
 * the current time.
 */
import type { ContainerState } from '../api/containers.js';

/** A duration as Docker words it (go-units' HumanDuration): `Less than a second`, `3 minutes`, `About an hour`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** `5 minutes ago` for an RFC 3339 time; the text itself when it is no time. */
export function ago(time: string, now: number): string {
  const then = Date.parse(time);
  if (Number.isNaN(then)) return time;
  return `${humanDuration(Math.max(0, now - then))} ago`;
}

/** The STATUS column of `ps`: `Created`, `Up`, `Paused`, `Exited (N) ... ago`. */
export function statusText(state: Pick<ContainerState, 'status' | 'exit'>, now: number): string {
  switch (state.status) {
    case 'creating':
      return 'Creating';
    case 'created':
      return 'Created';
    case 'running':
      return 'Up';
    case 'paused':
      return 'Paused';
    case 'stopped':
      // Stopped with nothing recorded: its supervisor ended first, or no supervisor ran it.
      return state.exit === null ? 'Stopped' : `Exited (${state.exit.exitCode}) ${ago(state.exit.finished, now)}`;
  }
}

/** A command line in one cell: quoted as Docker does, cut to `width` characters with `…`. */
export function commandText(args: readonly string[], width = 20): string {
  const line = args.join(' ');
  const cut = line.length > width ? `${line.slice(0, width - 1)}…` : line;
  return `"${cut}"`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Bytes with a binary unit and four significant digits, as go-units' BytesSize: `1.5MiB`. */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${Number(size.toPrecision(4))}${UNITS[unit] ?? 'B'}`;
}

/** A percentage with two decimals; `--` when unknown. */
export function percent(value: number | null): string {
  return value === null ? '--' : `${value.toFixed(2)}%`;
}
