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
    if (arg === '--') return { options: argv.slice(0, i), command: argv.slice(i + 1) };
    if (arg.startsWith('--')) {
      const takesNext = !arg.includes('=') && long.get(arg.slice(2))?.type === 'option';
      i += takesNext ? 2 : 1;
    } else if (arg.startsWith('-') && arg.length > 1) {
      i += groupTakesNext(arg, short) ? 2 : 1;
    } else {
      return { options: argv.slice(0, i), command: argv.slice(i) };
    }
  }
  return { options: [...argv], command: [] };
}
