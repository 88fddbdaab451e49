/**
 * `tscontainer run`'s flags and the typed API's options they set: one table, typed against
 * the flags' own definitions (`Run.flags`, read here as types only, so the fast start never
 * loads oclif). A flag without an entry, or whose entry names an option that cannot take
 * its value, does not compile; `unmappedFlags()` says the same at run time for a unit test,
 * and `runCommand()` refuses a parsed flag it has no entry for rather than drop it.
 */
import type { Interfaces } from '@oclif/core';

import type Run from '../commands/run.js';
import { InternalError } from '../api/errors.js';
import type { CreateOptions } from '../api/create.js';
import type { RunOptions } from '../api/options.js';

/**
 * `run`'s flags as oclif parses them, and as the fast start must. (oclif's inferred type adds
 * `json`, the flag of commands with enableJsonFlag, which run is not.)
 */
export type RunFlags = Omit<Interfaces.InferredFlags<typeof Run.flags>, 'json'>;

/** What a `run` command line asks for: run()'s options, whether to detach, and what a detached container keeps of its output. */
export interface RunCommand extends RunOptions {
  /** Run in the background: create() and start() instead of run(). */
  detach?: boolean | undefined;
  /** create()'s `log`: only for a detached container. */
  log?: CreateOptions['log'];
  /** Print nothing of a pull (`-q`). */
  quiet?: boolean | undefined;
}

/**
 * Whether an option of type `O` takes a flag's value `V`. Text also sets options that only
 * take some strings (`network`): the core checks the text and names the flag in its error.
 */
type Takes<O, V> = [V] extends [O] ? true : [V] extends [string] ? ([O] extends [string] ? true : false) : false;

/** The options a flag with values of type `V` can set. */
type OptionFor<V> = {
  [K in keyof RunCommand]-?: Takes<NonNullable<RunCommand[K]>, V> extends true ? K : never;
}[keyof RunCommand];

/**
 * A flag's entry: the option it sets; for an integer flag `{ integer: option }`, which the
 * fast start reads to parse the value as oclif's integer flag does; for a text flag whose
 * words are `true` and `false` (podman's `--tls-verify=false`), `{ boolean: option }`.
 */
type Entry<V> = [V] extends [number]
  ? { readonly integer: OptionFor<V> }
  : OptionFor<V> | ([V] extends [string] ? { readonly boolean: OptionFor<boolean> } : never);

/** The option each flag of `run` sets. */
export const RUN_FLAGS = {
  rootfs: 'rootfs',
  name: 'name',
  hostname: 'hostname',
  memory: 'memory',
  'pids-limit': { integer: 'pidsLimit' },
  cpus: 'cpus',
  env: 'env',
  workdir: 'workdir',
  user: 'user',
  net: 'network',
  publish: 'publish',
  volume: 'volumes',
  'read-only': 'readOnly',
  'cap-add': 'capAdd',
  'cap-drop': 'capDrop',
  privileged: 'privileged',
  'security-opt': 'securityOpt',
  tty: 'tty',
  interactive: 'interactive',
  rm: 'remove',
  detach: 'detach',
  'log-opt': 'log',
  pull: 'pull',
  entrypoint: 'entrypoint',
  platform: 'platform',
  'tls-verify': { boolean: 'tlsVerify' },
  'cert-dir': 'certDir',
  'storage-root': 'storageRoot',
  quiet: 'quiet',
} as const satisfies { readonly [F in keyof RunFlags]-?: Entry<NonNullable<RunFlags[F]>> };

type RunFlag = keyof typeof RUN_FLAGS;

function entry(flag: string): (typeof RUN_FLAGS)[RunFlag] | undefined {
  return Object.hasOwn(RUN_FLAGS, flag) ? RUN_FLAGS[flag as RunFlag] : undefined;
}

/** Whether `flag` is one of run's integer flags (the fast start's question). */
export function isIntegerFlag(flag: string): boolean {
  const target = entry(flag);
  return typeof target === 'object' && 'integer' in target;
}

/** Whether `flag` has an entry: one runCommand() maps. */
export function isRunFlag(flag: string): boolean {
  return entry(flag) !== undefined;
}

/** The flags among `definitions` that set no option: none, or a flag would be lost. */
export function unmappedFlags(definitions: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(definitions).filter((flag) => !isRunFlag(flag));
}

/** The API's options for `command` (of `image`, if one is named) run with `flags`. */
export function runCommand(flags: Partial<RunFlags>, command: string[], image?: string): RunCommand {
  const options: Record<string, unknown> = { command };
  if (image !== undefined) options.image = image;
  for (const [flag, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    const target = entry(flag);
    if (target === undefined) {
      throw new InternalError(`the run flag --${flag} sets no option: ts/cli/run-options.ts has no entry for it`);
    }
    if (typeof target === 'string') options[target] = value;
    else if ('integer' in target) options[target.integer] = value;
    else options[target.boolean] = value === 'true';
  }
  return options as unknown as RunCommand;
}
