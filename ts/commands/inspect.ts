import * as Args from '@oclif/core/args';

import { get } from '../api/container.js';
import type { ContainerDetails } from '../api/inspect.js';
import { TscontainerCommand } from '../cli/command.js';
import { failure } from '../cli/errors.js';

export default class Inspect extends TscontainerCommand {
  static override summary = 'Show containers in detail, as JSON.';

  static override description = `A JSON array with one object per container found: its state (status, pid, exit: {exitCode, signal, oomKilled, finished} or null, created, bundle, rootfs) and config, the essentials of what it was created from (args, env, cwd, user, hostname, mounts, namespaces, resources).
Unknown ids are reported on stderr and make the exit status 1.`;

  static override examples = ['<%= config.bin %> <%= command.id %> web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Inspect);
    const found: ContainerDetails[] = [];
    for (const id of args.ids) {
      try {
        found.push(await (await get(id)).inspect());
      } catch (error) {
        const { message, exitCode } = failure(error, this.failureExitCode);
        if (message !== undefined) this.report(message);
        process.exitCode = exitCode;
      }
    }
    this.log(JSON.stringify(found, null, 2));
  }
}
