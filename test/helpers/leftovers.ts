// "Nothing left behind" (DESIGN.md, invariant 3), checked from the host after every test. What
// of a container can be left — processes, mounts, cgroups, state entries, bundles, temporary
// files — is defined once, in test/lib/leftovers.mjs, which the shell tiers run too: a test's
// harness (suite.ts, user-suite.ts) names its container's scope there. `removeLeftovers` then
// clears whatever was found, within the tests' own scratch space and ids, so one leaking test
// does not break the next.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Leftover } from '../lib/leftovers.mjs';
import { isAlive, TEST_ID_PREFIX } from '../lib/leftovers.mjs';
import { workRoot } from './paths.js';

export {
  bundleDir,
  describeLeftover,
  findLeftovers,
  isAlive,
  mountTable,
  overlayDirectories,
  ROOT_DATA_DIR,
  supervisorsOf,
  TEST_ID_PREFIX,
  type Leftover,
  type MountEntry,
  type Scope,
} from '../lib/leftovers.mjs';

const run = promisify(execFile);

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await run('rmdir', [dir]);
      return;
    } catch {
      if (!existsSync(dir)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Removes a directory tree without crossing into another filesystem (a leaked mount). */
export async function removeTree(dir: string): Promise<void> {
  await run('rm', ['-rf', '--one-file-system', dir]);
}

/** Whether `p` may be removed by the tests: inside their scratch space, or a test container's
 * state entry (the CLI keeps its state in the default root, /run/tscontainer). */
function removable(p: string): boolean {
  return p.startsWith(workRoot + path.sep) || path.basename(p).startsWith(TEST_ID_PREFIX);
}

/** Clears what `findLeftovers` reported: processes first, then mounts, cgroups, state, files. */
export async function removeLeftovers(found: readonly Leftover[]): Promise<void> {
  await killAndWait(found.flatMap((l) => (l.kind === 'process' ? [l.pid] : [])));
  const byDepth = (a: string, b: string) => b.split('/').length - a.split('/').length;
  const paths = (kind: Exclude<Leftover['kind'], 'process'>) =>
    found.flatMap((l) => (l.kind === kind ? [l.path] : [])).sort(byDepth);
  for (const m of paths('mount')) {
    await run('umount', ['-l', m]).catch(() => undefined);
  }
  for (const c of paths('cgroup')) {
    await removeCgroup(c);
  }
  for (const s of [...paths('state'), ...paths('bundle'), ...paths('temporary file')]) {
    if (removable(s)) await removeTree(s);
  }
}
