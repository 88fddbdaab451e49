/**
 * `tscontainer pull`'s work once its command line is parsed, shared by the oclif command and
 * the fast start (without oclif: a pull's memory is mostly the process's own).
 */
import { pull } from '../api/images.js';
import { hex, PullProgress, withDefaultTag } from './pull-progress.js';
import { registryAccess, storage } from './registry-options.js';

export interface PullFlags {
  quiet?: boolean | undefined;
  platform?: string | undefined;
  'tls-verify'?: boolean | undefined;
  'cert-dir'?: string | undefined;
  authfile?: string | undefined;
  'storage-root'?: string | undefined;
}

/** Pulls `ref` as the flags say, printing Docker's lines (or only the id with `quiet`) with `log`. */
export async function pullImage(ref: string, flags: PullFlags, log: (line: string) => void): Promise<void> {
  const progress =
    flags.quiet === true ? undefined : new PullProgress((text) => process.stdout.write(text), process.stdout.isTTY === true, { pulling: true });
  const shown = withDefaultTag(ref);
  if (progress !== undefined && shown !== ref) log('Using default tag: latest');
  const controller = new AbortController();
  // ^C stops the pull, keeping nothing of it, then exits as a signal would.
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const pulled = await pull(ref, {
      ...registryAccess(flags),
      ...storage(flags),
      ...(flags.platform === undefined ? {} : { platform: flags.platform }),
      signal: controller.signal,
      ...(progress === undefined ? {} : { onProgress: progress.onProgress }),
    });
    if (flags.quiet === true) {
      log(hex(pulled.image.id));
      return;
    }
    log(`Digest: ${pulled.digest}`);
    log(pulled.upToDate ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}`);
    log(pulled.reference);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}
