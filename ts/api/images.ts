/**
 * Images: pull from a registry, list, inspect, tag, remove, prune, load and save archives,
 * log in and out. The work is native (crates/image-host), in one of two hosts that answer
 * with the same objects: the addon, on libuv's thread pool; or, for an ordinary user with
 * subordinate ids, `tscontainer-runtime storage`, a process that enters the user's
 * namespace (where files of the image's users can be made and removed: Node itself never
 * enters a namespace). `imageHost()` says which; every function here chooses for itself.
 *
 * Every failure is a `TscontainerError`: `ImageNotKnownError`, `ImageInUseError`,
 * `RegistryError` (unreachable, TLS, credentials, unknown tag, digest mismatch, ...), or an
 * `ImageError` whose `code` (`ERR_TSC_<KIND>`) says what went wrong.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

import type * as Addon from '../../native/index.cjs';
import { RuntimeFailedError, fromNative, imageError } from './errors.js';
import { callNative, callNativeAsync } from './native.js';

export type {
  DiskUsage,
  ImageHostInfo,
  ImageInspect,
  ImageRunConfig,
  ImageSummary,
  LoadedImage,
  ProgressEvent,
  PrunedImages,
  PulledImage,
  RemovedImage,
  UsageLine,
} from '../../native/index.cjs';

/** Where the store is. */
export interface StorageOption {
  /**
   * The store's root (default: `TSCONTAINER_STORAGE`, else `/var/lib/tscontainer` for root,
   * `$XDG_DATA_HOME/tscontainer` for an ordinary user).
   */
  storageRoot?: string | undefined;
}

/** How registries are reached: podman's `--tls-verify`, `--cert-dir`, `--authfile`. */
export interface RegistryAccessOptions {
  /**
   * `false`: plain HTTP and unverified TLS for every registry; `true`: never, even where
   * registries.conf allows them; unset: as registries.conf says.
   */
  tlsVerify?: boolean | undefined;
  /** The only directory searched for CA certificates (`*.crt`) and client certificates. */
  certDir?: string | undefined;
  /** The only credentials file read (and written by `login`); default podman's. */
  authFile?: string | undefined;
}

export interface PullOptions extends StorageOption, RegistryAccessOptions {
  /** `os/arch[/variant]` to choose from a multi-platform image (default: this host's). */
  platform?: string | undefined;
  /** Aborting it stops the pull; it rejects with code `ERR_TSC_CANCELED` and keeps nothing. */
  signal?: AbortSignal | undefined;
  /** Each layer's progress; every event arrives before the promise settles. */
  onProgress?: ((event: Addon.ProgressEvent) => void) | undefined;
}

export interface ImagesOptions extends StorageOption {
  /**
   * Docker's and podman's `-a` (intermediate images too). This store keeps no intermediate
   * images (nothing is built here), so the list is the same either way.
   */
  all?: boolean | undefined;
}

export interface RemoveImageOptions extends StorageOption {
  /** Remove an image a container uses (its layers stay while the container does), or one with several names by id. */
  force?: boolean | undefined;
}

export interface PruneImagesOptions extends StorageOption {
  /** Every image no container uses, not only the dangling ones. */
  all?: boolean | undefined;
}

export interface LoginOptions extends RegistryAccessOptions {
  username: string;
  password: string;
}

/** Which native host runs this caller's image operations, and why. */
export function imageHost(): Addon.ImageHostInfo {
  return callNative((native) => native.imageHost());
}

/** The store's root when none is given. */
export function defaultStorageRoot(): string | null {
  return callNative((native) => native.defaultStorageRoot());
}

/** Whether pulls, loads and removals run in `tscontainer-runtime storage` for this user. */
function hostedByRuntime(): boolean {
  return imageHost().host === 'runtime';
}

interface StorageCall {
  /** A descriptor of this process the runtime gets as its standard input (a load from it). */
  stdin?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: Addon.ProgressEvent) => void) | undefined;
}

type StorageLine =
  | { progress: Addon.ProgressEvent }
  | { result: unknown }
  | { error: { code: string; message: string } };

/**
 * Runs `tscontainer-runtime storage [--storage-root DIR] ARGS...` and reads its JSON lines:
 * progress to `onProgress`, then the result (resolved) or the error (rejected with its
 * class). Aborting `signal` sends SIGTERM, which the runtime turns into a canceled
 * operation that keeps nothing.
 */
function runtimeStorage<T>(storageRoot: string | undefined, args: readonly string[], call: StorageCall = {}): Promise<T> {
  const runtime = callNative((n) => n.runtimePath());
  const argv = ['storage', ...(storageRoot === undefined ? [] : ['--storage-root', storageRoot]), ...args];
  if (call.signal?.aborted === true) {
    return Promise.reject(imageError('ERR_TSC_CANCELED', 'the operation was canceled', { cause: call.signal.reason, coreCode: 'canceled' }));
  }
  return new Promise<T>((resolve, reject) => {
    const child = spawn(runtime, argv, { stdio: [call.stdin ?? 'ignore', 'pipe', 'pipe'] });
    const { stdout, stderr: errors } = child as typeof child & { stdout: Readable; stderr: Readable };
    let stderr = '';
    errors.setEncoding('utf8');
    errors.on('data', (chunk: string) => {
      stderr += chunk;
    });
    let last: StorageLine | undefined;
    let garbled: string | undefined;
    const lines = createInterface({ input: stdout, crlfDelay: Infinity });
    lines.on('line', (text) => {
      let line: StorageLine;
      try {
        line = JSON.parse(text) as StorageLine;
      } catch {
        garbled ??= text;
        return;
      }
      if ('progress' in line) call.onProgress?.(line.progress);
      else last = line;
    });
    const abort = () => child.kill('SIGTERM');
    call.signal?.addEventListener('abort', abort, { once: true });
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
    });
    // 'close': the process has exited and its stdout has ended (every line was read).
    child.once('close', (code, signal) => {
      call.signal?.removeEventListener('abort', abort);
      if (spawnError !== undefined) {
        reject(fromNative(Object.assign(new Error(`cannot run ${runtime}: ${spawnError.message}`), { code: 'runtime-not-found' })));
      } else if (last !== undefined && 'result' in last && code === 0) {
        resolve(last.result as T);
      } else if (last !== undefined && 'error' in last) {
        // The same classes as the addon's errors: the codes are the same.
        reject(fromNative(Object.assign(new Error(last.error.message), { code: last.error.code })));
      } else {
        const why = signal === null ? `exited with status ${String(code)}` : `was killed by ${signal}`;
        const detail = stderr.trim() || garbled;
        reject(new RuntimeFailedError(`tscontainer-runtime storage ${why}${detail ? `: ${detail}` : ''}`, { signal: signal ?? undefined }));
      }
    });
  });
}

function registryArgs(options: RegistryAccessOptions): string[] {
  return [
    ...(options.tlsVerify === undefined ? [] : [`--tls-verify=${String(options.tlsVerify)}`]),
    ...(options.certDir === undefined ? [] : ['--cert-dir', options.certDir]),
    ...(options.authFile === undefined ? [] : ['--authfile', options.authFile]),
  ];
}

/** Drops the keys whose value is undefined: the addon's options are `Option`s, not `undefined`s. */
function defined<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/**
 * Pulls `ref` (`debian:12`, `host:port/name:tag`, `name@sha256:...`) from its registry into
 * the store. Resolves with the stored image, the digest the reference named (an index's,
 * for a multi-platform image: the `Digest:` line Docker prints) and whether the image was
 * already there (`upToDate`).
 */
export async function pull(ref: string, options: PullOptions = {}): Promise<Addon.PulledImage> {
  const { platform, signal, onProgress, storageRoot, tlsVerify, certDir, authFile } = options;
  if (hostedByRuntime()) {
    const args = [
      'pull',
      ...(platform === undefined ? [] : ['--platform', platform]),
      ...registryArgs({ tlsVerify, certDir, authFile }),
      '--',
      ref,
    ];
    return runtimeStorage<Addon.PulledImage>(storageRoot, args, { signal, onProgress });
  }
  return callNativeAsync((n) =>
    n.pull(ref, defined({ platform, signal, onProgress, storageRoot, tlsVerify, certDir, authFile })),
  );
}

/** Every image in the store, in the order they were first stored. */
export function images(options: ImagesOptions = {}): Promise<Addon.ImageSummary[]> {
  return callNativeAsync((n) => n.images(defined({ storageRoot: options.storageRoot })));
}

/** `image inspect`, in podman's shape, of the image `ref` names (a reference, an id or a unique id prefix). */
export function inspectImage(ref: string, options: StorageOption = {}): Promise<Addon.ImageInspect> {
  return callNativeAsync((n) => n.inspectImage(ref, defined({ storageRoot: options.storageRoot })));
}

/**
 * `rmi`: by name, removes that name (and the image with its last name); by id, the image.
 * An image a container uses is refused (`ImageInUseError`) unless `force`.
 */
export async function removeImage(ref: string, options: RemoveImageOptions = {}): Promise<Addon.RemovedImage> {
  const { force = false, storageRoot } = options;
  if (hostedByRuntime()) {
    return runtimeStorage<Addon.RemovedImage>(storageRoot, ['remove-image', ...(force ? ['--force'] : []), '--', ref]);
  }
  return callNativeAsync((n) => n.removeImage(ref, defined({ force, storageRoot })));
}

/** `image prune`: dangling images (with `all`, every image no container uses), and what nothing references. */
export async function pruneImages(options: PruneImagesOptions = {}): Promise<Addon.PrunedImages> {
  const { all = false, storageRoot } = options;
  if (hostedByRuntime()) return runtimeStorage<Addon.PrunedImages>(storageRoot, ['prune', ...(all ? ['--all'] : [])]);
  return callNativeAsync((n) => n.pruneImages(defined({ all, storageRoot })));
}

/** `tag SRC DST`: the image `source` names also gets the name `target` (`:latest` without a tag). */
export function tagImage(source: string, target: string, options: StorageOption = {}): Promise<void> {
  return callNativeAsync((n) => n.tagImage(source, target, defined({ storageRoot: options.storageRoot })));
}

/** `system df`: what the store holds on disk. */
export function diskUsage(options: StorageOption = {}): Promise<Addon.DiskUsage> {
  return callNativeAsync((n) => n.diskUsage(defined({ storageRoot: options.storageRoot })));
}

export interface LoadImageOptions extends StorageOption {
  /** Aborting it stops the load; it rejects with code `ERR_TSC_CANCELED` and keeps nothing. */
  signal?: AbortSignal | undefined;
  /** Each layer's progress, as for `pull()`. */
  onProgress?: ((event: Addon.ProgressEvent) => void) | undefined;
}

/**
 * `load`: every image of an archive — a docker-archive (`docker save`, `podman save`), an
 * oci-archive (plain, gzip or zstd compressed) or an OCI layout directory — at the path
 * `input`, or read from the open file descriptor `{ fd }` (standard input is `{ fd: 0 }`;
 * read whole into the store first), checked as a pull checks a registry's content. All of
 * its images are stored, or none. Resolves with each image's id and its names.
 */
export async function loadImage(input: string | { fd: number }, options: LoadImageOptions = {}): Promise<Addon.LoadedImage[]> {
  const { storageRoot, signal, onProgress } = options;
  if (hostedByRuntime()) {
    const path = typeof input === 'string' ? input : '-';
    const stdin = typeof input === 'string' ? undefined : input.fd;
    return runtimeStorage<Addon.LoadedImage[]>(storageRoot, ['load', '--input', path], { signal, onProgress, stdin });
  }
  const from = typeof input === 'string' ? input : input.fd;
  return callNativeAsync((n) => n.loadImage(from, defined({ storageRoot, signal, onProgress })));
}

export type ArchiveFormat = 'docker-archive' | 'oci-archive' | 'oci-dir';

export interface SaveImageOptions extends StorageOption {
  /** `docker-archive` (default, as `docker save` writes), `oci-archive` or `oci-dir` (a directory). */
  format?: ArchiveFormat | undefined;
}

/**
 * `save`: the images `refs` name (references, ids or id prefixes) into one archive: at the
 * path `output` (written beside it, then renamed into place), or to the open file
 * descriptor `{ fd }` (a tar format only; standard output is `{ fd: 1 }`). An image named by
 * one of its names is saved under that name.
 */
export function saveImage(refs: readonly string[], output: string | { fd: number }, options: SaveImageOptions = {}): Promise<void> {
  const { format, storageRoot } = options;
  const to = typeof output === 'string' ? output : output.fd;
  return callNativeAsync((n) => n.saveImage([...refs], to, defined({ format, storageRoot })));
}

/** `login REGISTRY`: checks the credentials with the registry, then records them where podman does. */
export function login(registry: string, options: LoginOptions): Promise<void> {
  const { username, password, tlsVerify, certDir, authFile } = options;
  return callNativeAsync((n) => n.login(registry, { username, password, ...defined({ tlsVerify, certDir, authFile }) }));
}

/** `logout REGISTRY`: removes the recorded credentials (`ERR_TSC_NOT_LOGGED_IN` when there are none). */
export function logout(registry: string, options: Pick<RegistryAccessOptions, 'authFile'> = {}): Promise<void> {
  return callNativeAsync((n) => n.logout(registry, defined({ authFile: options.authFile })));
}

/**
 * Container `id`'s writable layer over the image `image` names: the directories of its
 * overlay (upper, work, the image's layers top first) and the image's run defaults. For
 * `run`/`create` with an image (not exported from the package).
 */
export function createContainerLayers(id: string, image: string, options: StorageOption = {}): Promise<Addon.ContainerLayers> {
  return callNativeAsync((n) => n.createContainerLayers(id, image, defined({ storageRoot: options.storageRoot })));
}

/**
 * Removes container `id`'s writable layer, in the host that can: for an ordinary user with
 * subordinate ids its files belong to those ids, and only the runtime in the user's
 * namespace can remove them.
 */
export async function removeContainerLayers(id: string, options: StorageOption = {}): Promise<void> {
  const { storageRoot } = options;
  if (hostedByRuntime()) {
    await runtimeStorage<null>(storageRoot, ['remove-container', '--', id]);
    return;
  }
  await callNativeAsync((n) => n.removeContainerLayers(id, defined({ storageRoot })));
}

/**
 * `--user` (`uid`, `uid:gid`, `name`, `name:group`; undefined: the image's own `User`)
 * resolved against the image's `/etc/passwd` and `/etc/group`, read from its layers.
 */
export function resolveImageUser(image: string, user: string | undefined, options: StorageOption = {}): Promise<Addon.ImageUser> {
  return callNativeAsync((n) => n.resolveImageUser(image, user ?? null, defined({ storageRoot: options.storageRoot })));
}
