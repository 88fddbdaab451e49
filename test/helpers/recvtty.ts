// A console-socket receiver for `--console-socket` tests (test/fixtures/recvtty.c), compiled
// with cc once per machine into test/.work, and a way to run it beside a runtime command.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, workRoot } from './paths.js';

const source = path.join(repoRoot, 'test', 'fixtures', 'recvtty.c');
const binary = path.join(workRoot, 'recvtty');

/** The receiver, built when missing or older than its source (written under a temporary name). */
export function recvttyPath(): string {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    const tmp = `${binary}.${process.pid}`;
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, source], { stdio: 'inherit' });
    renameSync(tmp, binary);
  }
  return binary;
}

export interface Receiver {
  socket: string;
  /** What the container wrote to its terminal (carriage returns dropped), once it closed. */
  output(): Promise<string>;
  /** Stops waiting (when the runtime never connected). */
  stop(): void;
}

/** Listens on SOCKET (a path that must not exist yet) until the socket is there. */
export async function receiveConsole(socket: string): Promise<Receiver> {
  const child = spawn(recvttyPath(), [socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 5000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) throw new Error(`recvtty did not listen on ${socket}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return {
    socket,
    async output() {
      await exited;
      return out.replaceAll('\r', '');
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}
