/**
 * What `tscontainer run` does once its command line is parsed: the flags become the
 * typed API's options, and the API runs the container (in the foreground, or created and
 * started for `--detach`). Shared by the oclif command and the fast start (`fast-run.ts`),
 * so both run containers the same way; free of oclif, so the fast start never loads it.
 */
import { InvalidOptionError } from '../api/errors.js';
import type { Network } from '../api/options.js';
import { run } from '../api/run.js';
import { forwardSignals } from '../api/signals.js';

/** `run`'s flags, as parsed. */
export interface RunFlags {
  rootfs?: string | undefined;
  name?: string | undefined;
  hostname?: string | undefined;
  memory?: string | undefined;
  'pids-limit'?: number | undefined;
  cpus?: string | undefined;
  env?: string[] | undefined;
  workdir?: string | undefined;
  user?: string | undefined;
  net?: string | undefined;
  publish?: string[] | undefined;
  volume?: string[] | undefined;
  'read-only'?: boolean | undefined;
  'cap-add'?: string[] | undefined;
  'cap-drop'?: string[] | undefined;
  privileged?: boolean | undefined;
  'security-opt'?: string[] | undefined;
  tty?: boolean | undefined;
  interactive?: boolean | undefined;
  rm?: boolean | undefined;
  detach?: boolean | undefined;
  'log-opt'?: string[] | undefined;
}

/** The flags runContainer maps; the fast start leaves any other flag to oclif. */
export const RUN_FLAG_KINDS: Readonly<Record<keyof RunFlags, 'string' | 'integer' | 'boolean'>> = {
  rootfs: 'string',
  name: 'string',
  hostname: 'string',
  memory: 'string',
  'pids-limit': 'integer',
  cpus: 'string',
  env: 'string',
  workdir: 'string',
  user: 'string',
  net: 'string',
  publish: 'string',
  volume: 'string',
  'read-only': 'boolean',
  'cap-add': 'string',
  'cap-drop': 'string',
  privileged: 'boolean',
  'security-opt': 'string',
  tty: 'boolean',
  interactive: 'boolean',
  rm: 'boolean',
  detach: 'boolean',
  'log-opt': 'string',
};

export interface Output {
  /** A line on stdout. */
  log(line: string): void;
  /** A `tscontainer: ...` line on stderr. */
  report(message: string): void;
}

/** `--log-opt max-size=10m --log-opt max-file=3` as the API's `log` option; the values are checked there. */
export function logOptions(opts: readonly string[] | undefined): { maxSize?: string; maxFiles?: number } | undefined {
  if (opts === undefined) return undefined;
  const log: { maxSize?: string; maxFiles?: number } = {};
  for (const opt of opts) {
    const [key, value] = [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)];
    if (key === 'max-size' && value !== '') log.maxSize = value;
    else if (key === 'max-file' && /^\d+$/.test(value)) log.maxFiles = Number(value);
    else throw new InvalidOptionError(`invalid --log-opt \`${opt}\`: expected max-size=SIZE or max-file=N`);
  }
  return log;
}

/** Runs `command` as `flags` say; sets process.exitCode to the container's status. */
export async function runContainer(flags: RunFlags, command: string[], out: Output): Promise<void> {
  const settings = {
    command,
    rootfs: flags.rootfs,
    name: flags.name,
    hostname: flags.hostname,
    memory: flags.memory,
    pidsLimit: flags['pids-limit'],
    cpus: flags.cpus,
    env: flags.env,
    workdir: flags.workdir,
    user: flags.user,
    // The core checks the value and names it in its error.
    network: flags.net as Network | undefined,
    publish: flags.publish,
    volumes: flags.volume,
    readOnly: flags['read-only'],
    capAdd: flags['cap-add'],
    capDrop: flags['cap-drop'],
    privileged: flags.privileged,
    securityOpt: flags['security-opt'],
    // Docker's default: a stopped container is kept unless --rm. An absent boolean flag
    // is undefined, which the API would read as its own default (remove).
    remove: flags.rm === true,
  };
  const log = logOptions(flags['log-opt']);
  if (flags.detach === true) {
    const { create } = await import('../api/create.js');
    const container = await create({ ...settings, log });
    try {
      await container.start();
    } catch (error) {
      await container.delete({ force: true }).catch(() => undefined);
      throw error;
    }
    out.log(container.id);
    return;
  }
  if (log !== undefined) {
    throw new InvalidOptionError('--log-opt applies to a detached container (--detach): in the foreground its output is not kept');
  }
  const container = run({ ...settings, tty: flags.tty, interactive: flags.interactive });
  const stopForwarding = forwardSignals(container);
  try {
    const result = await container;
    if (result.oomKilled) {
      const limit = flags.memory === undefined ? '' : ` (limit ${flags.memory})`;
      out.report(`container ${container.id} was killed: out of memory${limit}`);
    }
    process.exitCode = result.exitCode;
  } finally {
    stopForwarding();
  }
}
