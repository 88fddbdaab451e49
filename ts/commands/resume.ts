import * as Args from '@oclif/core/args';

import { get } from '../api/container.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Resume extends TscontainerCommand {
  static override summary = 'Thaw paused containers.';

  static override description =
    'Prints the id of each container resumed; the others are reported and make the exit status 1. Also known as unpause, as in Docker.';

  static override aliases = ['unpause'];

  static override examples = ['<%= config.bin %> <%= command.id %> web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Resume);
    await this.eachContainer(args.ids, async (id) => (await get(id)).resume());
  }
}
