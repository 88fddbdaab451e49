/**
 * The OCI bundle a container runs from: a private temporary directory holding
 * `config.json` and the runtime's log. The rootfs in the config is absolute, so the
 * bundle holds nothing else.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { onExit } from './cleanup.js';

export interface Bundle {
  readonly dir: string;
  readonly logPath: string;
  /** Removes the directory; safe to call more than once. */
  remove(): Promise<void>;
}

/**
 * Writes `config` into a new bundle. Synchronous, so `run()` can spawn the runtime and
 * return its stdio streams at once; the files are small.
 */
export function createBundle(config: string): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'tscontainer-'));
  const removeAtExit = () => rmSync(dir, { recursive: true, force: true });
  const unregister = onExit(removeAtExit);
  try {
    writeFileSync(join(dir, 'config.json'), config, { mode: 0o600 });
  } catch (error) {
    unregister();
    removeAtExit();
    throw error;
  }
  return {
    dir,
    logPath: join(dir, 'runtime.log'),
    async remove() {
      unregister();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
