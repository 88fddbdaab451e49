/**
 * What `tscontainer run` does once its command line is parsed: the flags become the
 * typed API's options, and the API runs the container (in the foreground, or created and
 * started for `--detach`). Shared by the oclif command and the fast start (`fast-start.ts`),
 * so both run containers the same way; free of oclif, so the fast start never loads it.
 */
import { InvalidOptionError } from '../api/errors.js';
import type { PullReport } from '../api/options.js';
import { run } from '../api/run.js';
import { relaySignals } from '../api/signals.js';
import { PullProgress, withDefaultTag } from './pull-progress.js';
import { runCommand, type RunFlags } from './run-options.js';

export interface Output {
  /** A line on stdout. */
  log(line: string): void;
  /** A `tscontainer: ...` line on stderr. */
  report(message: string): void;
}

/**
 * A pull's progress on stderr, as `docker run` prints it when the image is not stored:
 * `Unable to find image 'REF' locally` (podman's `Trying to pull REF...` for `--pull
 * always`), `TAG: Pulling from REPOSITORY` and each layer's progress (the `pull` command's
 * renderer), then the digest and status lines; REF with `:latest` when it has no tag.
 */
function pullReport(): PullReport {
  const write = (text: string) => process.stderr.write(text);
  const progress = new PullProgress(write, process.stderr.isTTY === true, { pulling: true });
  return {
    start: (ref, missing) => write(missing ? `Unable to find image '${withDefaultTag(ref)}' locally\n` : `Trying to pull ${ref}...\n`),
    progress: progress.onProgress,
    done: ({ ref, digest }) => write(`Digest: ${digest}\nStatus: Downloaded newer image for ${withDefaultTag(ref)}\n`),
  };
}

/** Runs `command` (of `image`, if one is named) as `flags` say; sets process.exitCode to the container's status. */
export async function runContainer(
  flags: Partial<RunFlags>,
  command: string[],
  image: string | undefined,
  out: Output,
): Promise<void> {
  const { detach, tty, interactive, log, quiet, ...options } = runCommand(flags, command, image);
  if (image !== undefined && quiet !== true) options.onPull = pullReport();
  // Docker's default: a stopped container is kept unless --rm (the API's default is to remove).
  const settings = { ...options, remove: options.remove ?? false };
  if (detach === true) {
    const { create } = await import('../api/create.js');
    const container = await create({ ...settings, log });
    try {
      await container.start();
    } catch (error) {
      await container.delete({ force: true }).catch(() => undefined);
      throw error;
    }
    out.log(container.id);
    return;
  }
  if (log !== undefined) {
    throw new InvalidOptionError('--log-opt applies to a detached container (--detach): in the foreground its output is not kept');
  }
  // Before the runtime starts: a signal sent once the container runs must reach it.
  const relay = relaySignals();
  try {
    const container = run({ ...settings, tty, interactive });
    relay.attach(container);
    const result = await container;
    if (result.oomKilled) {
      const limit = options.memory === undefined ? '' : ` (limit ${options.memory})`;
      out.report(`container ${container.id} was killed: out of memory${limit}`);
    }
    process.exitCode = result.exitCode;
  } finally {
    relay.stop();
  }
}
