import * as Flags from '@oclif/core/flags';
import { isatty } from 'node:tty';

import { InvalidOptionError } from '../api/errors.js';
import { loadImage } from '../api/images.js';
import { ImageCommand, PullProgress, storage, storageFlags } from '../cli/images.js';

export default class Load extends ImageCommand {
  static override summary = 'Load images from an archive.';

  static override description = `Reads a docker-archive (docker save, podman save), an oci-archive (plain, gzip or zstd compressed) or an OCI layout directory, from -i PATH or standard input (a pipe or a file), checking every blob as a pull does; all of its images are stored or none. Prints "Loaded image: NAME" for each name, "Loaded image: sha256:ID" for an image without one.`;

  static override examples = ['<%= config.bin %> <%= command.id %> -i busybox.tar', '<%= config.bin %> <%= command.id %> < busybox.tar'];

  static override flags = {
    input: Flags.string({ char: 'i', description: 'the archive or layout directory (default: standard input)', helpValue: 'PATH' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress' }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Load);
    // isatty(0), not process.stdin: making that stream would set the descriptor non-blocking.
    if (flags.input === undefined && isatty(0)) {
      throw new InvalidOptionError('cannot read an archive from a terminal: give -i PATH or redirect standard input');
    }
    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    const progress = flags.quiet || process.stdout.isTTY !== true ? undefined : new PullProgress((text) => process.stdout.write(text), true);
    try {
      const loaded = await loadImage(flags.input ?? { fd: 0 }, {
        ...storage(flags),
        signal: controller.signal,
        ...(progress === undefined ? {} : { onProgress: progress.onProgress }),
      });
      for (const image of loaded) {
        if (image.names.length === 0) this.log(`Loaded image: ${image.id}`);
        for (const name of image.names) this.log(`Loaded image: ${name}`);
      }
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  }
}
