/**
 * The options of `run()` and their translation into what the native core takes. Only
 * shapes change here (objects to `K=V` strings, numbers to text): every value is checked
 * and parsed once, by the core, for every front end.
 */
import { closeSync, openSync, readSync } from 'node:fs';

import { InvalidOptionError } from './errors.js';
import type { ProgressEvent } from './images.js';
import { callNative, type ImageRunArgs, type RunSpecOptions } from './native.js';

export type Stdio = 'inherit' | 'pipe' | 'ignore';
export type Network = 'none' | 'host' | 'pasta' | 'slirp4netns';

export interface VolumeMount {
  /** A path on the host. */
  source: string;
  /** An absolute path inside the container. */
  target: string;
  readOnly?: boolean;
}

/** When run() and create() pull the image: Docker's `--pull`. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** What run() and create() say of a pull they make before the container (the CLI prints it). */
export interface PullReport {
  /** A pull of `ref` starts: `missing`, the image is not stored; else `pull: 'always'`. */
  start?(ref: string, missing: boolean): void;
  /** Each layer's progress. */
  progress?(event: ProgressEvent): void;
  /** The pull is done: the digest the reference named. */
  done?(result: { ref: string; digest: string }): void;
}


export interface RunOptions {
  /**
   * The command and its arguments. With an image: replaces its Cmd (and follows its
   * Entrypoint), and may be left out to run the image's own; without one: required.
   */
  command?: readonly string[] | undefined;
  /**
   * An image to run (`debian:12`, `HOST:PORT/NAME:TAG`, `NAME@sha256:...`, an id): the
   * container's root is a copy-on-write overlay of its layers, and its Entrypoint, Cmd,
   * Env, WorkingDir, User and StopSignal apply as Docker applies them. Pulled first when
   * it is not stored (see `pull`). Not with `rootfs`.
   */
  image?: string | undefined;
  /** Replaces the image's Entrypoint (Docker's `--entrypoint`); `''` clears it. */
  entrypoint?: string | undefined;
  /** Default `missing`: pull the image when it is not stored; `always`; `never` (an error). */
  pull?: PullPolicy | undefined;
  /** The platform to pull (`linux/arm64[/v8]`; default: this host's). */
  platform?: string | undefined;
  /** `false`: plain HTTP and unverified TLS allowed for the image's registry (podman's `--tls-verify`). */
  tlsVerify?: boolean | undefined;
  /** The only directory searched for the registry's CA and client certificates (podman's `--cert-dir`). */
  certDir?: string | undefined;
  /**
   * The store of images and of image containers' storage (default: `TSCONTAINER_STORAGE`,
   * else `/var/lib/tscontainer` for root, `$XDG_DATA_HOME/tscontainer` for a user).
   */
  storageRoot?: string | undefined;
  /** Told of a pull made before the container, and of its progress. */
  onPull?: PullReport | undefined;
  /** A directory to use as root filesystem; without it (and without an image), a read-only view of the host's root. */
  rootfs?: string | undefined;
  /** The container id (default: 12 random lowercase hex characters). */
  name?: string | undefined;
  /** Default: derived from the id. */
  hostname?: string | undefined;
  /** A size such as `50M`, or a number of bytes. */
  memory?: string | number | undefined;
  /**
   * The most processes the container may have (default 2048, podman's, where a limit can
   * be applied: root, or a cgroup delegated to the user); 0 or -1: unlimited.
   */
  pidsLimit?: number | undefined;
  /** CPUs as a decimal (`0.5`, `2`). */
  cpus?: string | number | undefined;
  /** Variables to set; a bare `NAME` in the list form copies this process's value. */
  env?: Readonly<Record<string, string>> | readonly string[] | undefined;
  workdir?: string | undefined;
  /** `uid[:gid]` or a user name from the rootfs, or a numeric uid. */
  user?: string | number | undefined;
  /**
   * Default `none`: a network namespace with only loopback. `pasta` or `slirp4netns`: its own
   * namespace with outbound access through that user-mode helper (no privilege needed).
   */
  network?: Network | undefined;
  /**
   * Host ports to forward into the container, `[hostIp:]hostPort:containerPort[/tcp|udp]`;
   * without `network`, they bring the first helper installed (pasta, then slirp4netns).
   */
  publish?: readonly string[] | undefined;
  /** `host:container[:ro]` strings or objects. */
  volumes?: readonly (string | VolumeMount)[] | undefined;
  readOnly?: boolean | undefined;
  /** Capabilities added to Docker's default set (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`). */
  capAdd?: readonly string[] | undefined;
  /** Capabilities dropped from Docker's default set (`ALL` drops every one). */
  capDrop?: readonly string[] | undefined;
  /** Every capability and the host's devices, no seccomp filter, nothing of /proc or /sys hidden. */
  privileged?: boolean | undefined;
  /**
   * Docker's `--security-opt`: `seccomp=FILE` (a runtime-spec `linux.seccomp` object),
   * `seccomp=unconfined`, `no-new-privileges[=true|false]`, `systempaths=unconfined`.
   */
  securityOpt?: readonly string[] | undefined;
  /** Give the container a terminal; the runtime relays this process's terminal to it. */
  tty?: boolean | undefined;
  /** Keep the container's stdin open (attached to this process's stdin or a pipe). */
  interactive?: boolean | undefined;
  /** Delete the container when it stops (default true). */
  remove?: boolean | undefined;
  /** Default `inherit`. */
  stdio?: Stdio | undefined;
  /** Stops the container: SIGTERM, then SIGKILL after `killTimeout`. */
  signal?: AbortSignal | undefined;
  /** Milliseconds from SIGTERM to SIGKILL when `signal` aborts (default 5000). */
  killTimeout?: number | undefined;
  /** The state directory (default: the runtime's, `/run/tscontainer` for root). */
  root?: string | undefined;
}

export interface RunResult {
  /** The exit code, or 128 + the signal number when a signal ended the process. */
  exitCode: number;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  /** Whether the kernel's OOM killer stopped a process of the container. */
  oomKilled: boolean;
}

export const DEFAULT_KILL_TIMEOUT = 5000;

/** Parses a memory size (`50M`, `1g`, `1048576`) into bytes, as `memory` is read. */
export function parseMemory(value: string): number {
  return callNative((native) => native.parseMemory(value));
}

/**
 * A new container id, as Docker makes short ones: 6 random bytes in hex. Read from the
 * kernel's /dev/urandom rather than through node:crypto (or the Web Crypto global), whose
 * loading would cost every `run` a few milliseconds for 6 bytes; Web Crypto is the fallback
 * where /dev/urandom cannot be read (a chroot without /dev).
 */
export function randomId(): string {
  const bytes = Buffer.alloc(6);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, bytes) !== bytes.length) throw new Error('short read from /dev/urandom');
    } finally {
      closeSync(fd);
    }
  } catch {
    crypto.getRandomValues(bytes);
  }
  return bytes.toString('hex');
}

function environment(env: NonNullable<RunOptions['env']>): string[] {
  if (Array.isArray(env)) return [...(env as readonly string[])];
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

function volume(entry: string | VolumeMount): string {
  if (typeof entry === 'string') return entry;
  return `${entry.source}:${entry.target}${entry.readOnly === true ? ':ro' : ''}`;
}

const same = <T>(value: T): T => value;
// napi copies a list into the core and checks its type, so a non-list from JavaScript fails
// there as a bad option instead of being spread into characters.
const list = (value: readonly string[]): string[] => value as string[];

/** The addon's fields that come from an option of the same name (the rest: the id and the command). */
type SpecField = Exclude<keyof RunSpecOptions, 'id' | 'command'>;

/**
 * run()'s options that say how this process runs the container, or how it gets the image
 * (the pull before it), not what goes in its config.
 */
type ProcessOption =
  | 'stdio'
  | 'interactive'
  | 'remove'
  | 'signal'
  | 'killTimeout'
  | 'root'
  | 'pull'
  | 'platform'
  | 'tlsVerify'
  | 'certDir'
  | 'onPull'
  | 'image'
  | 'entrypoint'
  | 'storageRoot';

/** Each field of the addon's input made from the option of run() of the same name. */
type SpecFields = {
  readonly [K in SpecField]-?: (value: NonNullable<RunOptions[K]>) => NonNullable<RunSpecOptions[K]>;
};

/** An option of run() that neither reaches the addon nor is a ProcessOption. */
type Unmapped = Exclude<keyof RunOptions, SpecField | ProcessOption | 'command' | 'name'>;

/** Nothing when every option of run() is accounted for; else a property the table lacks, named for why. */
type EveryOptionMapped = [Unmapped] extends [never]
  ? unknown
  : { [K in Unmapped]: `run() option ${K} reaches neither the addon nor processOptions()` };

/**
 * How each field of the addon's input is made from the option of the same name: the shape
 * only (objects to `K=V` strings, numbers to text); the core checks and parses every value.
 * Typed against the addon's own type (generated from the Rust), so a field without an entry,
 * or an option of run() with no field and no ProcessOption, does not compile.
 */
const SPEC_FIELDS: SpecFields & EveryOptionMapped = {
  rootfs: same,
  hostname: same,
  memory: String,
  pidsLimit: same,
  cpus: String,
  env: environment,
  workdir: same,
  user: String,
  network: same,
  publish: list,
  volumes: (volumes) => volumes.map(volume),
  readOnly: same,
  tty: same,
  capAdd: list,
  capDrop: list,
  privileged: same,
  securityOpt: list,
};

/** The spec-building input for `options`: only the options given, and the id. */
export function toSpecOptions(options: RunOptions, id: string): RunSpecOptions {
  const spec: Record<string, unknown> = { id, command: list(options.command ?? []) };
  for (const [field, convert] of Object.entries(SPEC_FIELDS) as [SpecField, (value: unknown) => unknown][]) {
    const value = options[field];
    if (value !== undefined) spec[field] = convert(value);
  }
  return spec as unknown as RunSpecOptions;
}

/** The image a run is of, for createImageBundle beside its spec options; none without one. */
export function imageRunArgs(options: RunOptions): ImageRunArgs | undefined {
  if (options.image === undefined) return undefined;
  const args: ImageRunArgs = { image: options.image };
  if (options.entrypoint !== undefined) args.entrypoint = options.entrypoint;
  if (options.storageRoot !== undefined) args.storageRoot = options.storageRoot;
  return args;
}

/** How the runtime process is attached to this one. */
export interface ProcessOptions {
  stdio: Stdio;
  interactive: boolean;
  tty: boolean;
  remove: boolean;
  killTimeout: number;
}

/**
 * The options that concern this process rather than the container. Checked here because
 * they describe how Node wires the runtime, which the core never sees.
 */
export function processOptions(options: RunOptions): ProcessOptions {
  const stdio = options.stdio ?? 'inherit';
  if (!['inherit', 'pipe', 'ignore'].includes(stdio)) {
    throw new InvalidOptionError(`invalid stdio \`${String(stdio)}\`: expected \`inherit\`, \`pipe\` or \`ignore\``);
  }
  const tty = options.tty ?? false;
  if (tty && stdio !== 'inherit') {
    throw new InvalidOptionError(
      `invalid stdio \`${stdio}\` with tty: the runtime relays this process's terminal, so stdio must be \`inherit\``,
    );
  }
  const killTimeout = options.killTimeout ?? DEFAULT_KILL_TIMEOUT;
  if (!Number.isFinite(killTimeout) || killTimeout < 0) {
    throw new InvalidOptionError(`invalid killTimeout \`${String(killTimeout)}\`: expected a number of milliseconds`);
  }
  return {
    stdio,
    interactive: options.interactive ?? false,
    tty,
    remove: options.remove ?? true,
    killTimeout,
  };
}
