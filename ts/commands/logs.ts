import * as Args from '@oclif/core/args';

import { get } from '../api/container.js';
import { OperationFailedError } from '../api/errors.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Logs extends TscontainerCommand {
  static override summary = "Print a detached container's output.";

  static override description =
    'What the container\'s process wrote to stdout and stderr, kept in its bundle by run --detach (as one stream, in order). A container run in the foreground, or one removed with --rm, keeps none.';

  static override examples = ['<%= config.bin %> <%= command.id %> web'];

  static override args = {
    id: Args.string({ description: 'container id', required: true, ignoreStdin: true }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Logs);
    const output = await (await get(args.id)).logs();
    if (output === null) throw new OperationFailedError(`container ${args.id} keeps no output: only run --detach keeps it`);
    process.stdout.write(output);
  }
}
