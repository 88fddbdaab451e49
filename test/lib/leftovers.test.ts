// The leftover detector's scopes, on a scratch tree of its own: each option finds what it names
// and nothing else, and the command line maps onto the same scopes. (Processes, cgroups and
// mounts are exercised by every tier that uses the detector.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { describeLeftover, findLeftovers, parseScope, WORK_CACHES } from './leftovers.mjs';

function scratch(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tstier-leftovers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tree(root: string, paths: readonly string[]): void {
  for (const p of paths) mkdirSync(path.join(root, p), { recursive: true });
}

test('a state root: the ids asked for (and a `*` pattern), or every entry', (t) => {
  const dir = scratch(t);
  tree(dir, ['state/box-1', 'state/box-2', 'state/other']);
  const state = path.join(dir, 'state');
  const found = (ids?: string[]) =>
    findLeftovers({ stateRoots: [state], ...(ids ? { ids } : {}) }).map(describeLeftover).sort();
  t.deepEqual(found(['box-1']), [`state ${state}/box-1`]);
  t.deepEqual(found(['box-*']), [`state ${state}/box-1`, `state ${state}/box-2`]);
  t.deepEqual(found(), [`state ${state}/box-1`, `state ${state}/box-2`, `state ${state}/other`]);
  t.deepEqual(found(['gone']), []);
});

test('a data root: bundles of the ids, or every bundle and exec directory', (t) => {
  const dir = scratch(t);
  tree(dir, ['data/containers/box-1', 'data/containers/other', 'data/exec/0123abcd']);
  const data = path.join(dir, 'data');
  t.deepEqual(findLeftovers({ ids: ['box-1'], dataRoots: [data] }).map(describeLeftover), [
    `bundle ${data}/containers/box-1`,
  ]);
  t.deepEqual(findLeftovers({ dataRoots: [data] }).map(describeLeftover).sort(), [
    `bundle ${data}/containers/box-1`,
    `bundle ${data}/containers/other`,
    `bundle ${data}/exec/0123abcd`,
  ]);
});

test('an empty directory: any entry is a leftover, but those it keeps', (t) => {
  const dir = scratch(t);
  tree(dir, ['home/.cache']);
  writeFileSync(path.join(dir, 'home', 'stray'), '');
  const home = path.join(dir, 'home');
  t.deepEqual(findLeftovers({ emptyDirs: [home], keepFiles: ['.cache'] }).map(describeLeftover), [
    `temporary file ${home}/stray`,
  ]);
  t.is(findLeftovers({ emptyDirs: [home] }).length, 2);
});

test('the command line names the same scope', (t) => {
  const scope = parseScope([
    '--id', 'box-1', '--state-root', 'rel/state', '--cgroups-below', '/tsmanagers-1', '--keep-cgroup', '^conmon$',
    '--mounts-under', '/tmp/x', '--mounts-matching', 'merged$', '--empty', '/tmp/home', '--keep-file', '.cache',
    '--user', '4242', '--containers',
  ]);
  t.deepEqual(scope.ids, ['box-1']);
  t.deepEqual(scope.stateRoots, [path.resolve('rel/state')]);
  t.deepEqual(scope.cgroupsBelow, ['/tsmanagers-1']);
  t.true(scope.keepCgroups?.test('conmon'));
  t.false(scope.keepCgroups?.test('libpod-1'));
  t.true(scope.mountsMatching?.test('/tmp/x/a/merged'));
  t.deepEqual(scope.keepFiles, ['.cache']);
  t.deepEqual(scope.users, [4242]);
  t.true(scope.containers);
  t.throws(() => parseScope(['--user', 'root']), { message: '--user needs a number, not root' });
  t.throws(() => parseScope(['--state-root']), { message: '--state-root needs a value' });
  t.throws(() => parseScope(['--bogus', 'x']), { message: 'unknown option --bogus' });
});

test("test/.work's caches include the security tests' compiled tools", (t) => {
  // test/helpers/race.ts compiles them into test/.work/tools and reuses them across runs.
  t.true(WORK_CACHES.includes('tools'));
});
