import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { get } from '../api/container.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Kill extends TscontainerCommand {
  static override summary = "Send a signal to containers' processes.";

  static override description =
    'The signal is a name (SIGUSR1, USR1) or a number; SIGKILL by default, as docker kill. Prints the id of each container signalled; the others are reported and make the exit status 1.';

  static override examples = ['<%= config.bin %> <%= command.id %> web', '<%= config.bin %> <%= command.id %> -s HUP web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    signal: Flags.string({ char: 's', description: 'signal to send', default: 'SIGKILL', helpValue: 'SIGNAL' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Kill);
    await this.eachContainer(args.ids, async (id) => (await get(id)).kill(flags.signal));
  }
}
