// Other users, for the attacks that need one: processes run as uids that have no account
// (the kernel needs none), from a root test. Two uids per test file, from its pid, so files
// running side by side never share one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Exit } from './exec.js';
import { repoRoot } from './paths.js';

export interface Users {
  /** The user whose files are attacked. */
  victim: number;
  /** Another unprivileged user. */
  attacker: number;
}

export function testUsers(): Users {
  const victim = 61_000 + (process.pid % 2000) * 2;
  return { victim, attacker: victim + 1 };
}

/** A plain environment for `uid`: no XDG_RUNTIME_DIR, as under `su`, cron or CI. */
export function userEnv(uid: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: '/', USER: String(uid), ...extra };
}

/** Runs `file` as `uid` (gid the same) to completion; output through files in `scratch`. */
export async function runAs(
  uid: number,
  file: string,
  args: readonly string[],
  options: { scratch: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<Exit> {
  const dir = await mkdtemp(path.join(options.scratch, 'as-'));
  const out = await open(path.join(dir, 'stdout'), 'w+');
  const err = await open(path.join(dir, 'stderr'), 'w+');
  try {
    const child = spawn(file, args, {
      uid,
      gid: uid,
      cwd: options.cwd ?? '/',
      env: options.env ?? userEnv(uid),
      stdio: ['ignore', out.fd, err.fd],
    });
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

/** Starts `file` as `uid` in the background; the caller kills it. */
export function spawnAs(uid: number, file: string, args: readonly string[]): ChildProcess {
  return spawn(file, args, { uid, gid: uid, cwd: '/', env: userEnv(uid), stdio: 'ignore' });
}

/** Kills a background process and waits for it. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await done;
}

/** Builds test/security/probes/NAME.c into `dir` (static: it may run in a container), readable by anyone. */
export function buildProbe(name: string, dir: string): string {
  const out = path.join(dir, name);
  execFileSync('cc', ['-static', '-O2', '-o', out, path.join(repoRoot, 'test', 'security', 'probes', `${name}.c`)]);
  return out;
}
