// Runs a program to completion and collects what it wrote. Output goes through files, not
// pipes: a container created by `create` or `run --detach` inherits the runtime's stdio and
// outlives it, and a pipe it holds open would keep the caller waiting until it exits.
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

export interface Exit {
  /** The exit status, or null when a signal ended the program. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the program's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | undefined;
  /** A directory for the output files (removed again before returning). */
  scratch: string;
  /** The program's environment (default: this process's). */
  env?: NodeJS.ProcessEnv | undefined;
}

export async function execute(file: string, args: readonly string[], options: ExecOptions): Promise<Exit> {
  const dir = await mkdtemp(path.join(options.scratch, 'io-'));
  const out = await open(path.join(dir, 'stdout'), 'w+');
  const err = await open(path.join(dir, 'stderr'), 'w+');
  try {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', out.fd, err.fd],
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    if (options.input !== undefined) {
      // A program that exits without reading all of it is not an error of the test.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    return {
      code,
      signal,
      stdout: await readFile(path.join(dir, 'stdout'), 'utf8'),
      stderr: await readFile(path.join(dir, 'stderr'), 'utf8'),
    };
  } finally {
    await out.close();
    await err.close();
    await rm(dir, { recursive: true, force: true });
  }
}
