import * as Args from '@oclif/core/args';

import { get } from '../api/container.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Pause extends TscontainerCommand {
  static override summary = 'Freeze every process of running containers.';

  static override description =
    'The processes stay in memory, frozen, until resume. Prints the id of each container paused; the others are reported and make the exit status 1.';

  static override examples = ['<%= config.bin %> <%= command.id %> web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Pause);
    await this.eachContainer(args.ids, async (id) => (await get(id)).pause());
  }
}
