import * as Args from '@oclif/core/args';

import { get } from '../api/container.js';
import { TscontainerCommand } from '../cli/command.js';
import { integer } from '../cli/flags.js';

export default class Stop extends TscontainerCommand {
  static override summary = 'Stop running containers.';

  static override description =
    "Sends SIGTERM to each container's process and, if it has not ended after the timeout, SIGKILL; returns once it has stopped. Prints the id of each container stopped; the others are reported and make the exit status 1.";

  static override examples = ['<%= config.bin %> <%= command.id %> web', '<%= config.bin %> <%= command.id %> -t 2 web worker'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    time: integer({ char: 't', description: 'seconds to wait before SIGKILL', default: 10, min: 0, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Stop);
    await this.eachContainer(args.ids, async (id) => (await get(id)).stop({ timeout: flags.time }));
  }
}
