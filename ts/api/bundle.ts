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
import { join } from 'node:path';

import { onExit } from './cleanup.js';
import { callNative } from './native.js';
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

/** A new private directory for an exec, removed when this process exits unless released or removed. */
export function createScratchDir(): ScratchDir {
  const dir = callNative((native) => native.createScratchDir());
  return scratch(dir, () => callNative((native) => native.removeScratchDir(dir)));
}

/**
 * Writes `config` into container `id`'s new bundle. Synchronous, so `run()` can spawn the
 * runtime and return its stdio streams at once; the files are small.
 */
export function createBundle(id: string, config: string): Bundle {
  const dir = callNative((native) => native.createBundle(id, config));
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
