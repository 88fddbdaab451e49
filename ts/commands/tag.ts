import * as Args from '@oclif/core/args';

import { tagImage } from '../api/images.js';
import { ImageCommand, storage, storageFlags } from '../cli/images.js';

export default class Tag extends ImageCommand {
  static override summary = 'Give an image another name.';

  static override description = 'The image SOURCE names (a reference, an id or a unique id prefix) gets the name TARGET (`:latest` when it has no tag); that name moves from any image that had it. Prints nothing.';

  static override examples = ['<%= config.bin %> <%= command.id %> debian:12 localhost/base:v1'];

  static override args = {
    source: Args.string({ description: 'the image', required: true }),
    target: Args.string({ description: 'its new name', required: true }),
  };

  static override flags = { ...storageFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Tag);
    await tagImage(args.source, args.target, storage(flags));
  }
}
