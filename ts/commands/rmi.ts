import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { removeImage } from '../api/images.js';
import { failure } from '../cli/errors.js';
import { ImageCommand, storage, storageFlags } from '../cli/images.js';

export default class Rmi extends ImageCommand {
  static override summary = 'Remove images.';

  static override description = `By name, removes that name, and the image with its last name; by id (or unique id prefix), the image. Prints podman's "Untagged: NAME" and "Deleted: ID" lines. An image a container uses is refused (exit 2, podman's status for an image in use) unless -f: then its names go and its layers stay until the container is removed. Every image is tried; any other failure makes the exit status 125.`;

  static override examples = ['<%= config.bin %> <%= command.id %> debian:12', '<%= config.bin %> <%= command.id %> -f 3f2a9c01b7de'];

  static override args = {
    refs: Args.string({ description: 'images', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'remove images containers use, and images with several names by id' }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rmi);
    for (const ref of args.refs) {
      try {
        const removed = await removeImage(ref, { force: flags.force, ...storage(flags) });
        for (const name of removed.untagged) this.log(`Untagged: ${name}`);
        if (removed.deleted !== undefined) this.log(`Deleted: ${removed.deleted.replace(/^sha256:/, '')}`);
      } catch (error) {
        const { message, exitCode } = failure(error, this.failureExitCode);
        if (message !== undefined) this.report(message);
        // An image in use (2) does not hide a worse failure of another.
        if (typeof process.exitCode !== 'number' || process.exitCode === 0 || process.exitCode === 2) process.exitCode = exitCode;
      }
    }
  }
}
