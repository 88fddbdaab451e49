import * as Flags from '@oclif/core/flags';

import { list, type ContainerSummary } from '../api/containers.js';
import { TscontainerCommand } from '../cli/command.js';
import { ago, commandText, statusText } from '../cli/format.js';
import { table } from '../cli/table.js';

export default class Ps extends TscontainerCommand {
  static override summary = 'List containers.';

  static override description = `Without --all, only containers that have not stopped.
STATUS is Created, Up, Paused, or Exited (N) with the exit status (128+S when signal S ended the process); --json gives each container's state, with exit ({exitCode, signal, oomKilled, finished}, or null) and command.`;

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -a --json'];

  static override enableJsonFlag = true;

  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'include stopped containers' }),
  };

  async run(): Promise<ContainerSummary[]> {
    const { flags } = await this.parse(Ps);
    const containers = await list({ all: flags.all });
    const now = Date.now();
    this.log(
      table(
        ['CONTAINER ID', 'COMMAND', 'CREATED', 'STATUS', 'PID'],
        containers.map((c) => [
          c.id,
          commandText(c.command),
          ago(c.created, now),
          statusText(c, now),
          c.pid === 0 ? '-' : String(c.pid),
        ]),
      ),
    );
    return containers;
  }
}
