/**
 * Where the container's command starts on a `run` command line. As with `docker run`,
 * flags end at the first word that is neither a flag nor a flag's value, so
 * `tscontainer run -e A=1 sh -c 'echo $A'` needs no `--`; `--` also ends them.
 */

/** What splitting needs to know of a flag: whether it takes a value, and its names. */
export interface FlagShape {
  type: 'boolean' | 'option';
  char?: string | undefined;
  aliases?: readonly string[] | undefined;
  charAliases?: readonly string[] | undefined;
}

export interface SplitArgv {
  /** The flags and their values, for the flag parser. */
  options: string[];
  /** The command and its arguments, untouched. */
  command: string[];
  /** Whether a `--` ended the flags (rather than a first positional word). */
  dashed: boolean;
}

function byName(flags: Readonly<Record<string, FlagShape>>) {
  const long = new Map<string, FlagShape>();
  const short = new Map<string, FlagShape>();
  for (const [name, flag] of Object.entries(flags)) {
    for (const alias of [name, ...(flag.aliases ?? [])]) long.set(alias, flag);
    for (const char of [flag.char, ...(flag.charAliases ?? [])]) if (char !== undefined) short.set(char, flag);
  }
  return { long, short };
}

/**
 * Whether a group of short flags (`-it`, `-e`, `-eA=1`) takes the next word as its
 * value: only when it ends with a flag that takes a value. An unknown letter is left for
 * the parser to report.
 */
function groupTakesNext(group: string, short: ReadonlyMap<string, FlagShape>): boolean {
  for (let i = 1; i < group.length; i++) {
    const flag = short.get(group.charAt(i));
    if (flag === undefined) return false;
    if (flag.type === 'option') return i === group.length - 1;
  }
  return false;
}

export function splitCommand(argv: readonly string[], flags: Readonly<Record<string, FlagShape>>): SplitArgv {
  const { long, short } = byName(flags);
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] ?? '';
    if (arg === '--') return { options: argv.slice(0, i), command: argv.slice(i + 1), dashed: true };
    if (arg.startsWith('--')) {
      const takesNext = !arg.includes('=') && long.get(arg.slice(2))?.type === 'option';
      i += takesNext ? 2 : 1;
    } else if (arg.startsWith('-') && arg.length > 1) {
      i += groupTakesNext(arg, short) ? 2 : 1;
    } else {
      return { options: argv.slice(0, i), command: argv.slice(i), dashed: false };
    }
  }
  return { options: [...argv], command: [], dashed: false };
}

/** What `run`'s positional words name: an image and its command, or only a command. */
export interface RunPositionals {
  image: string | undefined;
  command: string[];
}

/**
 * `run [FLAGS] IMAGE [CMD...]`: without `--rootfs`, the first positional word before a
 * `--` is the image, and the rest (after one `--`, if one follows it) the command. With
 * `--rootfs`, or when `--` comes before any positional word, every word is the command
 * (no image: the rootfs, or the host's root).
 */
export function runPositionals(split: SplitArgv, rootfs: boolean): RunPositionals {
  if (rootfs || split.dashed || split.command.length === 0) return { image: undefined, command: split.command };
  const [image, ...rest] = split.command;
  return { image, command: rest[0] === '--' ? rest.slice(1) : rest };
}
