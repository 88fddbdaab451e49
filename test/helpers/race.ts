// The attacker of the race tests: a separate process that swaps two names (a directory and a
// symlink) with renameat2(RENAME_EXCHANGE) in a tight loop while the test creates containers
// (test/security/tools/exchange.c). The tools of test/security/tools are compiled with cc on
// first use into test/.work/tools.
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, workRoot } from './paths.js';

/** A tool of test/security/tools, compiled when its source is newer (atomically: test files run side by side). */
export function securityTool(name: 'exchange' | 'no-mount-api'): string {
  const source = path.join(repoRoot, 'test', 'security', 'tools', `${name}.c`);
  const binary = path.join(workRoot, 'tools', name);
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}`;
  execFileSync('cc', ['-O2', '-Wall', '-o', tmp, source], { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, binary);
  return binary;
}

function isSymlink(file: string): boolean {
  return lstatSync(file).isSymbolicLink();
}

/**
 * Starts swapping `a` and `b` and resolves once the loop runs. The swapping stops when the
 * returned function is called (or the test ends), and `a` and `b` are then put back as they
 * were, so the test can inspect and remove them.
 */
export async function swapping(t: ExecutionContext, a: string, b: string): Promise<() => Promise<void>> {
  const aWasLink = isSymlink(a);
  const child = spawn(securityTool('exchange'), [a, b], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`exchange ${a} ${b} exited with ${code}`)));
    child.stdout.once('data', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      child.kill('SIGKILL');
      await exited;
      // Each rename is atomic: a and b are whole, though maybe swapped.
      if (isSymlink(a) !== aWasLink) {
        const parked = `${a}.parked`;
        renameSync(a, parked);
        renameSync(b, a);
        renameSync(parked, b);
      }
    })());
  t.teardown(stop);
  return stop;
}
