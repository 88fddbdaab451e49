import * as Flags from '@oclif/core/flags';

import { listContainers, type Container } from '../api/containers.js';
import { TscontainerCommand } from '../cli/command.js';
import { table } from '../cli/table.js';

export default class Ps extends TscontainerCommand {
  static override summary = 'List containers.';

  static override description = 'Without --all, only containers that have not stopped.';

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -a --json'];

  static override enableJsonFlag = true;

  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'include stopped containers' }),
  };

  async run(): Promise<Container[]> {
    const { flags } = await this.parse(Ps);
    const containers = await listContainers({ all: flags.all });
    this.log(
      table(
        ['CONTAINER ID', 'STATUS', 'PID', 'CREATED', 'ROOTFS'],
        containers.map((c) => [c.id, c.status, c.pid === 0 ? '-' : String(c.pid), c.created, c.rootfs]),
      ),
    );
    return containers;
  }
}
