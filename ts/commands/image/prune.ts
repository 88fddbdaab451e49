import * as Flags from '@oclif/core/flags';

import { pruneImages } from '../../api/images.js';
import { ImageCommand, humanSize, storage, storageFlags } from '../../cli/images.js';

export default class ImagePrune extends ImageCommand {
  static override summary = 'Remove unused images.';

  static override description = `Removes dangling images (without a name), or with -a every image no container uses, then the layers and blobs nothing references. Prints the removed image ids and "Total reclaimed space: SIZE". Without -f on a terminal, asks first, as podman does.`;

  static override examples = ['<%= config.bin %> <%= command.id %> -f', '<%= config.bin %> <%= command.id %> -a -f'];

  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'every image no container uses' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask' }),
    ...storageFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagePrune);
    if (!flags.force && process.stdin.isTTY === true) {
      const what = flags.all ? 'all images without at least one container associated to them' : 'all dangling images';
      process.stdout.write(`WARNING! This command removes ${what}.\nAre you sure you want to continue? [y/N] `);
      if (!/^y(es)?$/i.test(await readLine())) return;
    }
    const pruned = await pruneImages({ all: flags.all, ...storage(flags) });
    for (const id of pruned.images) this.log(id.replace(/^sha256:/, ''));
    this.log(`Total reclaimed space: ${humanSize(pruned.reclaimed)}`);
  }
}

function readLine(): Promise<string> {
  return new Promise((resolve) => {
    process.stdin.setEncoding('utf8');
    process.stdin.once('data', (chunk: string) => {
      process.stdin.pause();
      resolve(chunk.trim());
    });
  });
}
