/**
 * What run() and create() do for an image before the container: check the options, and
 * pull the image as `pull` says (Docker's `--pull missing|always|never`) through the API's
 * own pull(). The container's directory and config are made by the native core
 * (bundle.ts's createImageBundle), which refuses an image that is not stored.
 */
import { ImageNotKnownError, InvalidOptionError } from './errors.js';
import { pull } from './images.js';
import type { PullPolicy, RunOptions } from './options.js';

const POLICIES: readonly PullPolicy[] = ['missing', 'always', 'never'];

/** The pull policy of `options`, checked; `options.image` must not come with `rootfs`. */
export function pullPolicy(options: RunOptions): PullPolicy {
  if (options.rootfs !== undefined) {
    throw new InvalidOptionError('an image and a rootfs cannot both be given: the image is the root filesystem');
  }
  const policy = options.pull ?? 'missing';
  if (!POLICIES.includes(policy)) {
    throw new InvalidOptionError(`invalid pull policy \`${String(policy)}\`: expected \`missing\`, \`always\` or \`never\``);
  }
  return policy;
}

/** Whether `error` says the image is not in the store. */
export function isImageNotKnown(error: unknown): boolean {
  return error instanceof ImageNotKnownError;
}

/** Pulls `options.image` (`missing`: because it is not stored), telling `options.onPull`. */
export async function pullImage(options: RunOptions & { image: string }, missing: boolean): Promise<void> {
  options.onPull?.start?.(options.image, missing);
  const progress = options.onPull?.progress;
  const pulled = await pull(options.image, {
    platform: options.platform,
    tlsVerify: options.tlsVerify,
    certDir: options.certDir,
    storageRoot: options.storageRoot,
    signal: options.signal,
    onProgress: progress === undefined ? undefined : (event) => progress(event),
  });
  options.onPull?.done?.({ ref: options.image, digest: pulled.digest });
}

/**
 * Runs `make` (which makes the container's directory from the stored image) after pulling
 * the image as `options.pull` says: first with `always`; with `missing`, only when `make`
 * finds the image absent, then once more.
 */
export async function withImage<T>(options: RunOptions & { image: string }, make: () => Promise<T>): Promise<T> {
  const policy = pullPolicy(options);
  if (policy === 'always') {
    await pullImage(options, false);
    return make();
  }
  try {
    return await make();
  } catch (error) {
    if (policy === 'never' || !isImageNotKnown(error)) throw error;
  }
  await pullImage(options, true);
  return make();
}
