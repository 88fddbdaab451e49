import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { get } from '../api/container.js';
import { ContainerNotFoundError } from '../api/errors.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Rm extends TscontainerCommand {
  static override summary = 'Remove containers.';

  static override description =
    'Removes stopped containers (with --force, running ones too) and the bundles tscontainer made for them. Prints the id of each container removed; the others are reported and make the exit status 1.';

  static override examples = ['<%= config.bin %> <%= command.id %> 3f2a9c01b7de', '<%= config.bin %> <%= command.id %> -f web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'kill running containers first; unknown ids are not an error' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rm);
    await this.eachContainer(args.ids, async (id) => {
      if (flags.force) {
        // Forced: an unknown id is no error, as with `docker rm -f`.
        const container = await get(id).catch((error: unknown) => {
          if (error instanceof ContainerNotFoundError) return undefined;
          throw error;
        });
        await container?.delete({ force: true });
        return;
      }
      await (await get(id)).delete();
    });
  }
}
