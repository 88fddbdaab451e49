/**
 * The native addon, loaded on first use: commands and programs that never touch a
 * container (`--help`, `--version`, importing only the types) do not pay for loading it.
 * The generated loader is CommonJS so it can be loaded synchronously from here, which
 * lets `run()` hand back its stdio streams at once.
 */
import { createRequire } from 'node:module';

import type * as Addon from '../../native/index.cjs';
import { RuntimeNotFoundError, fromNative, type Failure } from './errors.js';

export type NativeAddon = typeof Addon;
export type { ContainerInfo, ImageRunArgs } from '../../native/index.cjs';
/** The addon's `buildRunSpec` input: generated from the run-options crate's `RunOptions`. */
export type { RunSpecOptions } from './generated/run-spec-options.js';

let addon: NativeAddon | undefined;

function load(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)('../../native/index.cjs') as NativeAddon;
    } catch (error) {
      throw new RuntimeNotFoundError(
        `cannot load the tscontainer native addon: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
  return addon;
}

/**
 * Calls into the addon, turning what it throws into the API's error classes (`otherwise`:
 * the error for a failure whose code names no class, InternalError by default). Loading
 * failures surface the same way, as a RuntimeNotFoundError.
 */
export function callNative<T>(call: (native: NativeAddon) => T, otherwise?: Failure): T {
  const native = load();
  try {
    return call(native);
  } catch (error) {
    throw fromNative(error, otherwise);
  }
}

/** An addon call that returns a promise (work on the thread pool), its rejection as the API's error. */
export async function callNativeAsync<T>(call: (native: NativeAddon) => Promise<T>, otherwise?: Failure): Promise<T> {
  const promise = callNative(call, otherwise);
  try {
    return await promise;
  } catch (error) {
    throw fromNative(error, otherwise);
  }
}
