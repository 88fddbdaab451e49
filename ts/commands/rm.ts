import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { removeContainer } from '../api/containers.js';
import { TscontainerCommand } from '../cli/command.js';
import { failure } from '../cli/errors.js';

export default class Rm extends TscontainerCommand {
  static override summary = 'Remove containers kept after they stopped.';

  static override description = 'Prints the id of each container removed; the others are reported and make the exit status 1.';

  static override examples = ['<%= config.bin %> <%= command.id %> 3f2a9c01b7de', '<%= config.bin %> <%= command.id %> -f web'];

  static override args = {
    ids: Args.string({ description: 'container ids', required: true, multiple: true, ignoreStdin: true }),
  };

  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'kill running containers first; unknown ids are not an error' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rm);
    for (const id of args.ids) {
      try {
        await removeContainer(id, { force: flags.force });
        this.log(id);
      } catch (error) {
        const { message, exitCode } = failure(error, this.failureExitCode);
        if (message !== undefined) this.report(message);
        process.exitCode = exitCode;
      }
    }
  }
}
