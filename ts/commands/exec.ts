import { CLIError } from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';

import { get } from '../api/container.js';
import { relaySignals } from '../api/signals.js';
import { splitCommand } from '../cli/argv.js';
import { TscontainerCommand } from '../cli/command.js';
import { processFlags } from '../cli/process-flags.js';

export default class Exec extends TscontainerCommand {
  static override summary = 'Run a command in a running container.';

  static override description = `The process joins the container: its namespaces, cgroup, seccomp filter and capabilities; it starts from the container's own process settings (environment, user, working directory), changed by the flags.
Flags end at the container id, as with docker exec. Exits with the command's status, 128+N when signal N killed it, 126 when it cannot be executed or started, 127 when it does not exist, 125 when tscontainer itself failed (no such container, for one).`;

  static override usage = '<%= command.id %> [FLAGS] CONTAINER COMMAND [ARG...]';

  static override examples = [
    '<%= config.bin %> <%= command.id %> web ps',
    "<%= config.bin %> <%= command.id %> -e DEBUG=1 -w /tmp -u 1000 web sh -c 'echo $DEBUG; pwd; id -u'",
    '<%= config.bin %> <%= command.id %> -it web sh',
  ];

  // The command line is split by hand (see run()), so oclif never sees the command.
  static override strict = false;

  static override flags = {
    detach: Flags.boolean({
      char: 'd',
      description: 'start the command and return; its output is discarded',
      exclusive: ['tty', 'interactive'],
    }),
    interactive: Flags.boolean({ char: 'i', description: "keep the command's stdin open" }),
    tty: Flags.boolean({ char: 't', description: 'give the command a terminal' }),
    ...processFlags,
  };

  protected override readonly failureExitCode = 125;

  async run(): Promise<void> {
    const { options, command: words } = splitCommand(this.argv, Exec.flags);
    const { flags } = await this.parse(Exec, options);
    const [id, ...command] = words;
    if (id === undefined || command.length === 0) {
      throw new CLIError(`missing the ${id === undefined ? 'container' : 'command'}: ${this.config.bin} exec [FLAGS] CONTAINER COMMAND [ARG...]`);
    }
    const container = await get(id);
    const settings = { env: flags.env, workdir: flags.workdir, user: flags.user };
    if (flags.detach) {
      await container.execDetached(command, settings);
      return;
    }
    // Before the runtime starts: a signal sent once the process runs must reach it.
    const relay = relaySignals();
    try {
      const running = container.exec(command, { ...settings, tty: flags.tty, interactive: flags.interactive });
      relay.attach(running);
      process.exitCode = (await running).exitCode;
    } finally {
      relay.stop();
    }
  }
}
