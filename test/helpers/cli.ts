// The CLI as a user runs it: `bin/run.cjs run ...`, the command npm links as `tscontainer`
// (the built package, after `npm run build`), through its own first line, as a separate
// process with its own TMPDIR. The CLI has no `--root`, so its
// containers live in the default state root, /run/tscontainer, and every one gets an id of
// the test's own through `--name`: the leftover checks look for those ids only.
//
//   const s = cliSuite('cli-run');
//   test('…', async (t) => {
//     const c = await s.container(t);
//     const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', 'echo $$');
//   });
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { execute, type Exit } from './exec.js';
import { isAlive } from './leftovers.js';
import { repoRoot } from './paths.js';
import { userSuite, waitUntil, type Scope, type UserSuite } from './user-suite.js';

export const CLI = path.join(repoRoot, 'bin', 'run.cjs');
const DEFAULT_STATE_ROOT = '/run/tscontainer';

export interface CliResult extends Exit {
  /** The non-empty lines the CLI wrote to stderr. */
  errorLines: string[];
}

export interface CliOptions {
  /** Written to the CLI's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | undefined;
  /** Added to the CLI's environment. */
  env?: Readonly<Record<string, string>> | undefined;
  /** A command the CLI runs under (`prlimit --data=N`, `timeout 30`), as argv. */
  wrapper?: readonly string[] | undefined;
}

export interface TerminalOptions {
  rows: number;
  cols: number;
  /** Typed on the terminal (the CLI's stdin is the terminal). */
  input: string;
}

/** A CLI started in the background, its output read as it comes. */
export interface RunningCli {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`; rejects when the CLI exits first or 60 s pass. */
  waitForStdout(pattern: RegExp): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  exited: Promise<CliResult>;
}

export interface CliContainer {
  /** The container id the scope checks; `run` passes it as `--name`. */
  id: string;
  /** The CLI's TMPDIR: a detached container's bundle (`tscontainer-*`) is made there. */
  tmpdir: string;
  /** `tscontainer run --name <id> ARGS` to completion. */
  run(...args: string[]): Promise<CliResult>;
  runWith(options: CliOptions, ...args: string[]): Promise<CliResult>;
  /** Any `tscontainer` command (`ps`, `rm`), with this container's TMPDIR. */
  cli(...args: string[]): Promise<CliResult>;
  /** `tscontainer run --name <id> ARGS` in the background. */
  start(...args: string[]): RunningCli;
  /** `tscontainer run --name <id> ARGS` on a terminal of the given size, through script(1). */
  runInTerminal(options: TerminalOptions, ...args: string[]): Promise<CliResult>;
  /** Any `tscontainer` command on a terminal of the given size, through script(1). */
  cliInTerminal(options: TerminalOptions, ...args: string[]): Promise<CliResult>;
}

export interface CliSuite extends Omit<UserSuite, 'scope'> {
  container(t: ExecutionContext): Promise<CliContainer>;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

function withLines(exit: Exit): CliResult {
  return { ...exit, errorLines: lines(exit.stderr) };
}

/** Quotes `word` for sh. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A user's environment: this process's, less ava's NODE_ENV=test, with the scope's TMPDIR. */
function environment(scope: Scope, extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: scope.tmpdir, ...extra };
  if (extra['NODE_ENV'] === undefined) delete env['NODE_ENV'];
  return env;
}

function cliContainer(scope: Scope): CliContainer {
  const runArgs = (args: string[]) => ['run', '--name', scope.id, ...args];
  const exec = async (args: string[], options: CliOptions = {}) => {
    const [file, ...argv] = [...(options.wrapper ?? []), CLI, ...args];
    return withLines(
      await execute(file!, argv, {
        scratch: scope.dir,
        input: options.input,
        env: environment(scope, options.env),
      }),
    );
  };

  async function inTerminal({ rows, cols, input }: TerminalOptions, args: string[]): Promise<CliResult> {
    // script(1) gives the CLI a pty; its size is set before the CLI starts, which reads it.
    const command = [CLI, ...args].map(shellQuote).join(' ');
    const script = `stty rows ${rows} cols ${cols}; exec ${command}`;
    return withLines(
      await execute('script', ['--quiet', '--return', '--command', script, '/dev/null'], {
        scratch: scope.dir,
        input,
        env: environment(scope),
      }),
    );
  }

  function start(...args: string[]): RunningCli {
    const child = spawn(CLI, runArgs(args), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: environment(scope),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let done = false;
    const exited = new Promise<CliResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        done = true;
        // The output is complete at 'close'; a leaked container holding the pipes would
        // delay that forever, and the leftover check reports it.
        const timer = setTimeout(() => resolve(withLines({ code, signal, stdout, stderr })), 2000);
        child.once('close', () => {
          clearTimeout(timer);
          resolve(withLines({ code, signal, stdout, stderr }));
        });
      });
    });
    scope.onTeardown(async () => {
      if (done || child.pid === undefined || !isAlive(child.pid)) return [];
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
      return [`the CLI (pid ${child.pid}) was still running`];
    });
    return {
      pid: child.pid ?? 0,
      stdout: () => stdout,
      stderr: () => stderr,
      async waitForStdout(pattern) {
        // A generous deadline: this is no timing check, and a loaded machine starts Node slowly.
        const matched = await waitUntil(() => pattern.test(stdout) || done, 60_000);
        if (!pattern.test(stdout)) {
          throw new Error(
            `the CLI ${matched ? 'exited' : 'did not print'} ${String(pattern)} ` +
              `(stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)})`,
          );
        }
      },
      signal: (signal) => {
        child.kill(signal);
      },
      exited,
    };
  }

  return {
    id: scope.id,
    tmpdir: scope.tmpdir,
    run: (...args) => exec(runArgs(args)),
    runWith: (options, ...args) => exec(runArgs(args), options),
    cli: (...args) => exec(args),
    start,
    runInTerminal: (options, ...args) => inTerminal(options, runArgs(args)),
    cliInTerminal: (options, ...args) => inTerminal(options, args),
  };
}

export function cliSuite(name: string): CliSuite {
  const suite = userSuite(name, () => DEFAULT_STATE_ROOT);
  return {
    stateRoot: suite.stateRoot,
    hostDir: suite.hostDir,
    privateRootfs: suite.privateRootfs,
    container: async (t) => cliContainer(await suite.scope(t)),
  };
}

function newestMtime(dir: string, extension: string): { file: string; mtime: number } | undefined {
  let newest: { file: string; mtime: number } | undefined;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith(extension)) continue;
    const file = path.join(dir, entry);
    const mtime = statSync(file).mtimeMs;
    if (newest === undefined || mtime > newest.mtime) newest = { file, mtime };
  }
  return newest;
}

/**
 * Why the built CLI cannot be tested as it is, or undefined when it can: `bin/run.cjs` loads
 * the commands from dist/, and `run`'s fast start from its bundle (dist/cli/fast-start.cjs),
 * which `npm run build` makes from ts/.
 */
export function staleBuild(): string | undefined {
  const dist = path.join(repoRoot, 'dist');
  if (!existsSync(path.join(dist, 'commands', 'run.js'))) return 'dist/ has no commands: run `npm run build`';
  const bundle = path.join(dist, 'cli', 'fast-start.cjs');
  if (!existsSync(bundle)) return 'dist/ has no bundle of the fast start: run `npm run build`';
  const source = newestMtime(path.join(repoRoot, 'ts'), '.ts');
  const built = newestMtime(dist, '.js');
  if (source !== undefined && built !== undefined && source.mtime > built.mtime) {
    return `${path.relative(repoRoot, source.file)} is newer than dist/: run \`npm run build\``;
  }
  if (source !== undefined && source.mtime > statSync(bundle).mtimeMs) {
    return `${path.relative(repoRoot, source.file)} is newer than dist/cli/fast-start.cjs: run \`npm run build\``;
  }
  return undefined;
}
