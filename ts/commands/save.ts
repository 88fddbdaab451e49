import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { isatty } from 'node:tty';

import { InvalidOptionError } from '../api/errors.js';
import { saveImage, type ArchiveFormat } from '../api/images.js';
import { ImageCommand, storage, storageFlags } from '../cli/images.js';

export default class Save extends ImageCommand {
  static override summary = 'Save images to an archive.';

  static override description = `Writes the images named (references, ids or id prefixes) into one archive: a docker-archive (default, as docker save writes it: podman and docker load it), an oci-archive, or an OCI layout directory (oci-dir, with -o). An image named by one of its names is saved under it. To -o FILE (written beside it, then renamed into place), or to standard output when it is not a terminal.`;

  static override examples = ['<%= config.bin %> <%= command.id %> -o busybox.tar busybox', '<%= config.bin %> <%= command.id %> --format oci-archive debian:12 > debian.tar'];

  static override args = {
    refs: Args.string({ description: 'images', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    output: Flags.string({ char: 'o', description: 'the file (a directory for oci-dir)', helpValue: 'FILE' }),
    format: Flags.string({ description: 'the archive format', options: ['docker-archive', 'oci-archive', 'oci-dir'], default: 'docker-archive' }),
    quiet: Flags.boolean({ char: 'q', description: 'no progress (there is none)' }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Save);
    const format = flags.format as ArchiveFormat;
    if (flags.output === undefined) {
      if (format === 'oci-dir') throw new InvalidOptionError('--format oci-dir writes a directory: give it with -o DIR');
      if (isatty(1)) {
        throw new InvalidOptionError('refusing to write an archive to a terminal: give -o FILE or redirect standard output');
      }
    }
    await saveImage(args.refs, flags.output ?? { fd: 1 }, { format, ...storage(flags) });
  }
}
