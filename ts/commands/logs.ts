import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';

import { get } from '../api/container.js';
import { InvalidOptionError } from '../api/errors.js';
import { TscontainerCommand } from '../cli/command.js';

export default class Logs extends TscontainerCommand {
  static override summary = "Print a detached container's output.";

  static override description =
    "What the container's process wrote to stdout and stderr, kept in its bundle by run --detach (as one stream, in order, up to its --log-opt limits: 10 MiB per file, 3 files). A container run in the foreground, or one removed with --rm, keeps none.";

  static override examples = [
    '<%= config.bin %> <%= command.id %> web',
    '<%= config.bin %> <%= command.id %> --tail 20 -f web',
  ];

  static override args = {
    id: Args.string({ description: 'container id', required: true, ignoreStdin: true }),
  };

  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing what it writes, until it stops' }),
    tail: Flags.string({ description: 'only the last N lines (default: all)', helpValue: 'N|all' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    let tail: number | undefined;
    if (flags.tail !== undefined && flags.tail !== 'all') {
      if (!/^\d+$/.test(flags.tail)) throw new InvalidOptionError(`invalid --tail \`${flags.tail}\`: expected a number of lines or all`);
      tail = Number(flags.tail);
    }
    const container = await get(args.id);
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    for await (const chunk of container.streamLogs({ follow: flags.follow, tail, signal: stop.signal })) {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
  }
}
