// The commands a workflow's `run:` script runs, as argument vectors: enough of the shell's
// grammar for the scripts in .github/workflows (quotes, escapes, line continuations, comments,
// command substitutions, redirections, `;` `&&` `||` `|` and compound keywords), not a shell.

/** The words of each simple command in SCRIPT, quotes removed, expansions left as written. */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let dropNext = false; // the next word is a redirection's target
  const endWord = () => {
    if (inWord && !dropNext) words.push(word);
    if (inWord) dropNext = false;
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i] as string;
    if (c === '\\') {
      const next = script[i + 1];
      i++;
      if (next === undefined || next === '\n') continue;
      word += next;
      inWord = true;
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      const end = close < 0 ? script.length : close;
      word += script.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      const end = closingQuote(script, i);
      word += unquote(script.slice(i + 1, end));
      inWord = true;
      i = end;
    } else if ((c === '$' && script[i + 1] === '(') || c === '`') {
      const end = c === '`' ? Math.max(script.indexOf('`', i + 1), i) : closingParen(script, i + 2);
      word += script.slice(i, end + 1);
      inWord = true;
      i = end;
    } else if (c === '#' && !inWord) {
      const newline = script.indexOf('\n', i);
      i = (newline < 0 ? script.length : newline) - 1;
    } else if (c === '>' || c === '<') {
      // A file descriptor number before it belongs to the redirection, as does the next word.
      if (/^\d+$/.test(word)) {
        word = '';
        inWord = false;
      } else endWord();
      while (script[i + 1] === '>' || script[i + 1] === '<' || script[i + 1] === '&') i++;
      if (/\d/.test(script[i + 1] ?? '') && script[i] === '&') {
        while (/\d/.test(script[i + 1] ?? '')) i++; // >&2
      } else dropNext = true;
    } else if ('\n;&|()'.includes(c)) {
      endCommand();
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

// The index of the `"` closing the double-quoted string that opens at START.
function closingQuote(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
    else if (s[i] === '$' && s[i + 1] === '(') i = closingParen(s, i + 2);
  }
  return s.length;
}

// The index of the `)` closing a `$(` whose contents start at START.
function closingParen(s: string, start: number): number {
  let depth = 1;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === "'") i = Math.max(s.indexOf("'", i + 1), i);
    else if (c === '"') i = closingQuote(s, i);
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return s.length;
}

// Inside double quotes a backslash escapes only $ ` " \ and a newline.
function unquote(s: string): string {
  return s.replace(/\\([$`"\\\n])/g, (_, ch: string) => (ch === '\n' ? '' : ch));
}

const keywords = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', '!', '{', '}', 'exec', 'time']);
const assignment = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** A command with what runs it: sudo, env, nice and assignments unwrapped. */
export interface Command {
  argv: string[];
  /** NAME=VALUE given on the command line (before it, after sudo, or to env). */
  assigns: Record<string, string>;
  /** Run through sudo, as root. */
  sudo: boolean;
  /** Which of the step's environment reaches it: all, the names listed, or none. */
  inherits: 'all' | 'none' | string[];
}

export function unwrap(words: string[]): Command {
  const argv = [...words];
  const assigns: Record<string, string> = {};
  let sudo = false;
  let inherits: Command['inherits'] = 'all';
  const takeAssigns = () => {
    while (argv.length > 0 && assignment.test(argv[0] as string)) {
      const [name, ...value] = (argv.shift() as string).split('=');
      assigns[name as string] = value.join('=');
    }
  };
  for (;;) {
    while (argv.length > 0 && keywords.has(argv[0] as string)) argv.shift();
    takeAssigns();
    const head = argv[0];
    if (head === 'sudo') {
      argv.shift();
      sudo = true;
      let preserve: Command['inherits'] = 'none';
      while (argv[0]?.startsWith('-')) {
        const opt = argv.shift() as string;
        if (opt === '--') break;
        if (opt === '-E' || opt === '--preserve-env') preserve = 'all';
        else if (opt.startsWith('--preserve-env=')) preserve = opt.slice('--preserve-env='.length).split(',');
        else if (['-u', '--user', '-g', '--group', '-C', '-h', '-p', '-r', '-t', '-U', '-D', '--chdir'].includes(opt)) {
          const user = argv.shift();
          if ((opt === '-u' || opt === '--user') && user !== 'root' && user !== '#0') sudo = false;
        }
      }
      // sudo resets the environment unless told to keep it (sudoers env_reset).
      inherits = preserve === 'all' ? inherits : preserve === 'none' ? 'none' : preserve;
    } else if (head === 'env') {
      argv.shift();
      while (argv[0]?.startsWith('-')) {
        const opt = argv.shift() as string;
        if (opt === '-i' || opt === '--ignore-environment' || opt === '-') inherits = 'none';
        else if (opt === '-u' || opt === '--unset') argv.shift();
        else if (opt === '--') break;
      }
    } else if (head === 'nice') {
      argv.shift();
      if (argv[0] === '-n') argv.splice(0, 2);
      else if (/^-\d+$/.test(argv[0] ?? '')) argv.shift();
    } else break;
  }
  return { argv, assigns, sudo, inherits };
}

/** The environment a command sees, given its step's. */
export function commandEnv(cmd: Command, stepEnv: Record<string, string>): Record<string, string> {
  const base: Record<string, string> =
    cmd.inherits === 'all' ? { ...stepEnv } : cmd.inherits === 'none' ? {} : Object.fromEntries(cmd.inherits.flatMap((n) => (n in stepEnv ? [[n, stepEnv[n] as string]] : [])));
  return { ...base, ...cmd.assigns };
}
