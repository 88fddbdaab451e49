/**
 * The OCI bundle a container runs from, made by the native core in this user's data
 * directory: `/var/lib/tscontainer/containers/<id>` for root,
 * `~/.local/share/tscontainer/containers/<id>` (`$XDG_DATA_HOME`) for anyone else. A new
 * directory no one but the caller can write to, holding `config.json`, the runtime's log
 * and, for a detached container, its output — never in `$TMPDIR`, which another user may
 * own and swap a bundle in while the runtime is on its way to read it. `exec` gets a private
 * directory there too, for its log and pid file. The rootfs in the config is absolute, so
 * the bundle holds nothing else. Every make and remove goes through the native core, on
 * descriptors of the checked directories: nothing this package did not make is removed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { onExit } from './cleanup.js';
import { ContainerCreateError, TscontainerError, type Failure } from './errors.js';
import { removeContainerLayers } from './images.js';
import { callNative, callNativeAsync, type ImageRunArgs, type RunSpecOptions } from './native.js';
import { OUTPUT_FILE } from './output.js';

export interface ScratchDir {
  readonly dir: string;
  /** Where the runtime writes its `--log`. */
  readonly logPath: string;
  /** Removes the directory; safe to call more than once. */
  remove(): Promise<void>;
  /**
   * Keeps the directory when this process exits: a detached container owns it now, and
   * whoever deletes the container removes it.
   */
  release(): void;
}

export interface Bundle extends ScratchDir {
  /** Where a detached container's stdout and stderr go (rotated, see output.ts). */
  readonly outputPath: string;
  /**
   * For a container of an image: its directory is its storage too (the overlay's upper
   * layer), so it stays while the container does, and goes when the container is removed.
   */
  readonly image?: { readonly stopSignal: string | undefined } | undefined;
}

/**
 * A directory `remove` deletes, at once or when this process exits. Synchronously: an
 * asynchronous removal would start libuv's thread pool, which costs a `tscontainer run`
 * more than the removal itself (a few small files).
 */
function scratch(dir: string, remove: () => void): ScratchDir {
  const unregister = onExit(remove);
  return {
    dir,
    logPath: join(dir, 'runtime.log'),
    async remove() {
      unregister();
      remove();
    },
    release: unregister,
  };
}

/** What a directory that cannot be made (an unsafe data directory, a bundle there already) fails with. */
const cannotMake: Failure = (message, options) => new ContainerCreateError(message, options);

/** A new private directory for an exec, removed when this process exits unless released or removed. */
export function createScratchDir(): ScratchDir {
  const dir = callNative((native) => native.createScratchDir(), cannotMake);
  return scratch(dir, () => callNative((native) => native.removeScratchDir(dir)));
}

/**
 * Writes `config` into container `id`'s new bundle. Synchronous, so `run()` can spawn the
 * runtime and return its stdio streams at once; the files are small.
 */
export function createBundle(id: string, config: string): Bundle {
  const dir = callNative((native) => native.createBundle(id, config), cannotMake);
  return { ...scratch(dir, () => removeBundle(id)), outputPath: join(dir, OUTPUT_FILE) };
}

/** Removes container `id`'s bundle, which this package made; a missing one is fine. */
export function removeBundle(id: string): void {
  callNative((native) => native.removeBundle(id));
}

/** Whether `dir` is the bundle this package makes for container `id` (and so one it may remove). */
export function isOwnBundle(dir: string, id: string): boolean {
  return dir !== '' && dir === callNative((native) => native.bundlePath(id));
}

/** The runtime's log in a bundle this package made, from its directory. */
export function bundleLog(dir: string): string {
  return join(dir, 'runtime.log');
}

/** The annotation of a container's config that carries its image's StopSignal (OCI image-spec's conversion rule). */
export const STOP_SIGNAL_ANNOTATION = 'org.opencontainers.image.stopSignal';

/**
 * Makes container `spec.id`'s directory in the image store (its writable layer, hosts,
 * hostname, resolv.conf and the config whose first mount is the overlay of the image's
 * layers on `/`), off the main thread: it waits for the store's lock while another process
 * removes or prunes images. The image must be stored already (an ImageNotKnownError
 * otherwise).
 */
export async function createImageBundle(spec: RunSpecOptions, image: ImageRunArgs): Promise<Bundle> {
  const made = await callNativeAsync((native) => native.createImageBundle(spec, image));
  const storageRoot = dirname(dirname(made.dir));
  const unregister = onExit(() => removeImageContainerNow(spec.id, storageRoot));
  return {
    dir: made.dir,
    logPath: join(made.dir, 'runtime.log'),
    outputPath: join(made.dir, OUTPUT_FILE),
    async remove() {
      unregister();
      await removeImageContainer(spec.id, storageRoot);
    },
    release: unregister,
    image: { stopSignal: made.stopSignal ?? undefined },
  };
}

/**
 * Whether `dir` is container `id`'s directory in an image store (`STORE/containers/ID`
 * holding the store's record), and so the store it belongs to; `dir` comes from the
 * container's state, which only this package and the runtime write.
 */
export function imageStoreOf(dir: string, id: string): string | undefined {
  if (dir === '' || basename(dir) !== id || basename(dirname(dir)) !== 'containers') return undefined;
  return existsSync(join(dir, 'container.json')) ? dirname(dirname(dir)) : undefined;
}

/**
 * Removes container `id`'s directory (and so its writable layer) from the store at
 * `storageRoot`, through removeContainerLayers (the runtime's storage host for a user
 * with subordinate ids, whose files there only that user's namespace can remove); a
 * missing one is fine.
 */
export async function removeImageContainer(id: string, storageRoot: string): Promise<void> {
  try {
    await removeContainerLayers(id, { storageRoot });
  } catch (error) {
    if (!(error instanceof TscontainerError && error.coreCode === 'container-not-known')) throw error;
  }
}

/**
 * removeImageContainer as this process exits, when only synchronous work runs: the addon
 * directly, or `tscontainer-runtime storage remove-container` waited for. Best effort.
 */
function removeImageContainerNow(id: string, storageRoot: string): void {
  try {
    if (callNative((native) => native.imageHost()).host !== 'runtime') {
      callNative((native) => native.removeImageBundle(id, storageRoot));
      return;
    }
    const runtime = callNative((native) => native.runtimePath());
    spawnSync(runtime, ['storage', '--storage-root', storageRoot, 'remove-container', '--', id], { stdio: 'ignore' });
  } catch {
    // Exiting: nothing is left to report to.
  }
}
