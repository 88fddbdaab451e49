/**
 * The OCI bundle a container runs from: a private temporary directory
 * (`$TMPDIR/tscontainer-*`) holding `config.json`, the runtime's log and, for a detached
 * container, its output. The rootfs in the config is absolute, so the bundle holds
 * nothing else. `exec` uses the same kind of directory for its log.
 */
import { mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

import { onExit } from './cleanup.js';

const PREFIX = 'tscontainer-';

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
  /** Where a detached container's stdout and stderr go. */
  readonly outputPath: string;
}

/**
 * Removes a scratch directory, which holds a few small files. Synchronously: an asynchronous
 * rm would start libuv's thread pool, which costs a `tscontainer run` more than the removal
 * itself. File by file first: Node's recursive rmSync loads its own tree walker, a few
 * milliseconds again; it takes over for anything else (a subdirectory, a directory gone).
 */
function removeScratchDir(dir: string): void {
  try {
    for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A new private directory, removed when this process exits unless released or removed. */
export function createScratchDir(): ScratchDir {
  const dir = mkdtempSync(join(tmpdir(), PREFIX));
  const unregister = onExit(() => removeScratchDir(dir));
  return {
    dir,
    logPath: join(dir, 'runtime.log'),
    // Removed at once (see removeScratchDir); the promise stays for callers.
    async remove() {
      unregister();
      removeScratchDir(dir);
    },
    release: unregister,
  };
}

/**
 * Writes `config` into a new bundle. Synchronous, so `run()` can spawn the runtime and
 * return its stdio streams at once; the files are small.
 */
export function createBundle(config: string): Bundle {
  const scratch = createScratchDir();
  try {
    writeFileSync(join(scratch.dir, 'config.json'), config, { mode: 0o600 });
  } catch (error) {
    void scratch.remove();
    throw error;
  }
  return { ...scratch, outputPath: join(scratch.dir, 'output.log') };
}

/**
 * Whether `dir` is a bundle this package made, and so one it may remove: a
 * `tscontainer-*` directory directly in `tmp` (the temporary directory when the bundle
 * was made and when it is removed are taken to be the same).
 */
export function isOwnBundle(dir: string, tmp: string = tmpdir()): boolean {
  return dir !== '' && basename(dir).startsWith(PREFIX) && dirname(resolve(dir)) === resolve(tmp);
}

/** The files of a bundle this package made, from its directory. */
export function bundleFiles(dir: string): { logPath: string; outputPath: string } {
  return { logPath: join(dir, 'runtime.log'), outputPath: join(dir, 'output.log') };
}
