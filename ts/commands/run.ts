import { CLIError } from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';

import { runPositionals, splitCommand } from '../cli/argv.js';
import { TscontainerCommand } from '../cli/command.js';
import { integer } from '../cli/flags.js';
import { processFlags } from '../cli/process-flags.js';
import { runContainer } from '../cli/run-container.js';

export default class Run extends TscontainerCommand {
  static override summary = 'Run a command in a new container of an image, a root filesystem or the host.';

  static override description = `As docker run: the first word that is not a flag names the IMAGE, and the words after it (or after a \`--\` that follows it) are the command, which replaces the image's Cmd. The image is pulled when it is not stored (--pull), its progress on stderr; the container's root is a copy-on-write overlay of its layers, kept until rm (or --rm); its Entrypoint, Cmd, Env, WorkingDir, User and StopSignal apply as Docker applies them.
With --rootfs DIR every word is the command, run in that root filesystem. With \`--\` before any other word (run --rm -- sh -c '...'), there is no image: the container sees a read-only view of the host's root filesystem, with its own /proc, /dev and /tmp.
Exits with the command's status, 128+N when signal N killed it, 125 when the container could not be created (an unknown image, a failed pull, a bad flag), 126 when the command cannot be executed and 127 when it does not exist.
With --detach the container runs on its own, after tscontainer exits: its id is printed, its output kept for logs (10 MiB per file, 3 files, unless --log-opt says otherwise), and its exit status recorded for ps and inspect (see stop, kill, exec, rm).`;

  static override usage = [
    '<%= command.id %> [FLAGS] IMAGE [COMMAND [ARG...]]',
    '<%= command.id %> [FLAGS] --rootfs DIR COMMAND [ARG...]',
    '<%= command.id %> [FLAGS] -- COMMAND [ARG...]',
  ];

  static override examples = [
    '<%= config.bin %> <%= command.id %> --rm debian:12 cat /etc/os-release',
    '<%= config.bin %> <%= command.id %> --rm -it alpine sh',
    '<%= config.bin %> <%= command.id %> --rm --tls-verify=false 127.0.0.1:5000/app:1 -- ls -l',
    "<%= config.bin %> <%= command.id %> --rm -- sh -c 'echo $$; hostname'",
    '<%= config.bin %> <%= command.id %> --rm --memory 50M --pids-limit 64 --rootfs ./rootfs /bin/app',
    '<%= config.bin %> <%= command.id %> -d --name web --rootfs ./rootfs /bin/server',
    '<%= config.bin %> <%= command.id %> --rm -p 8080:80 --rootfs ./rootfs httpd -f -p 80',
  ];

  // The command line is split by hand (see run()), so oclif never sees the command.
  static override strict = false;

  static override flags = {
    rootfs: Flags.string({
      description: 'directory to use as the root filesystem (every word is then the command: no image)',
      helpValue: 'DIR',
    }),
    pull: Flags.string({
      description: 'pull the image: when it is not stored (missing, the default), always, or never',
      options: ['missing', 'always', 'never'],
      helpValue: 'missing|always|never',
    }),
    entrypoint: Flags.string({
      description: "replace the image's Entrypoint (one executable; '' clears it, and the image's Cmd with it)",
      helpValue: 'CMD',
    }),
    platform: Flags.string({ description: "the image's platform to pull (default: this host's)", helpValue: 'OS/ARCH[/VARIANT]' }),
    'tls-verify': Flags.string({
      description: 'false: reach the registry over plain HTTP or unverified TLS (default: as registries.conf says)',
      options: ['true', 'false'],
      helpValue: 'true|false',
    }),
    'cert-dir': Flags.string({ description: "the only directory searched for the registry's CA and client certificates", helpValue: 'DIR' }),
    'storage-root': Flags.string({
      description: 'where images and image containers are stored (default: $TSCONTAINER_STORAGE, else /var/lib/tscontainer for root, ~/.local/share/tscontainer for a user)',
      helpValue: 'DIR',
    }),
    quiet: Flags.boolean({ char: 'q', description: 'print nothing of a pull' }),
    name: Flags.string({ description: 'container id (default: 12 random hex characters)' }),
    hostname: Flags.string({ description: 'hostname inside the container (default: from the id)' }),
    memory: Flags.string({ description: 'memory limit, such as 50M or 1g', helpValue: 'SIZE' }),
    'pids-limit': integer({
      description: 'maximum number of processes (default 2048 where a limit can apply; 0 or -1: unlimited)',
      helpValue: 'N',
    }),
    cpus: Flags.string({ description: 'CPU limit, such as 0.5 or 2', helpValue: 'N' }),
    ...processFlags,
    net: Flags.string({
      description:
        'network: none (loopback only, the default), host, or pasta / slirp4netns (outbound access without privilege)',
      helpValue: 'none|host|pasta|slirp4netns',
    }),
    publish: Flags.string({
      char: 'p',
      description: 'publish a container port on the host (with pasta or slirp4netns; the first installed by default)',
      helpValue: '[IP:]HOST:CONTAINER[/udp]',
      multiple: true,
      multipleNonGreedy: true,
    }),
    volume: Flags.string({
      char: 'v',
      description: 'bind-mount a host path',
      helpValue: 'HOST:CONTAINER[:ro]',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'read-only': Flags.boolean({ description: 'mount the root filesystem read-only' }),
    'cap-add': Flags.string({
      description: "add a capability to Docker's default set (ALL for every one)",
      helpValue: 'CAP',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'cap-drop': Flags.string({
      description: "drop a capability from Docker's default set (ALL for every one)",
      helpValue: 'CAP',
      multiple: true,
      multipleNonGreedy: true,
    }),
    privileged: Flags.boolean({
      description: 'every capability and device, no seccomp filter, nothing of /proc or /sys hidden',
    }),
    'security-opt': Flags.string({
      description: 'seccomp=FILE|unconfined, no-new-privileges[=true|false] or systempaths=unconfined',
      helpValue: 'OPT',
      multiple: true,
      multipleNonGreedy: true,
    }),
    tty: Flags.boolean({ char: 't', description: 'give the container a terminal' }),
    interactive: Flags.boolean({ char: 'i', description: "keep the container's stdin open" }),
    rm: Flags.boolean({ description: 'delete the container when it stops (else it is kept, see ps -a and rm)' }),
    detach: Flags.boolean({
      char: 'd',
      description: 'run the container in the background and print its id',
      exclusive: ['tty', 'interactive'],
    }),
    'log-opt': Flags.string({
      description:
        "with --detach: how much output to keep, as Docker's json-file options: max-size=SIZE (10m), max-file=N (3)",
      helpValue: 'KEY=VALUE',
      multiple: true,
      multipleNonGreedy: true,
    }),
  };

  protected override readonly failureExitCode = 125;

  async run(): Promise<void> {
    const split = splitCommand(this.argv, Run.flags);
    const { flags } = await this.parse(Run, split.options);
    const { image, command } = runPositionals(split, flags.rootfs !== undefined);
    if (image === undefined && command.length === 0) {
      throw new CLIError(
        flags.rootfs === undefined
          ? `missing the image or command to run: ${this.config.bin} run [FLAGS] IMAGE [COMMAND [ARG...]]`
          : `missing the command to run: ${this.config.bin} run [FLAGS] --rootfs DIR COMMAND [ARG...]`,
      );
    }
    await runContainer(flags, command, image, { log: (line) => this.log(line), report: (message) => this.report(message) });
  }
}
