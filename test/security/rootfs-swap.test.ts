// A rootfs in a directory another user can write, swapped for a symlink to the host's `/`
// while the container is created (issue 11, item 4). The runtime resolves the rootfs once, to
// a descriptor it checks and then uses for everything; a swap either lands before that (the
// path has a symlink in it: refused) or after (the container runs in the directory that was
// checked). Never does the container see the host's root, read-only or writable.
//
// Each attempt is a whole container run while a separate process swaps `rootfs` and a
// symlink `link -> /` in a tight loop. Before the fix, 3 of ~30 such runs got the host's `/`,
// writable.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { patches, shell } from '../helpers/bundle.js';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import type { Exit } from '../helpers/exec.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { swapping } from '../helpers/race.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite } from '../helpers/suite.js';

const ATTEMPTS = Number(process.env['TSCONTAINER_RACE_ATTEMPTS'] ?? 300);

const s = suite('security-rootfs-swap');
const cli = cliSuite('security-rootfs-swap-cli');
const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);

/** A marker on the host's `/`, and the file a container that got the host's `/` would write. */
function hostMarkers(t: ExecutionContext): { marker: string; written: string; probe: string } {
  const marker = `/.tscontainer-rootfs-swap-${process.pid}`;
  const written = `${marker}-written`;
  writeFileSync(marker, 'the host\n');
  t.teardown(() => {
    rmSync(marker, { force: true });
    rmSync(written, { force: true });
  });
  const probe = `if test -e ${marker}; then echo HOST-ROOT; fi; echo x > ${written} 2>/dev/null; echo inside`;
  return { marker, written, probe };
}

/** A writable copy of the fixture and a symlink to `/` beside it, in a directory of the test's. */
async function rootfsAndLink(dir: string): Promise<{ rootfs: string; link: string }> {
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('cp', ['-a', fixtureRootfs(), rootfs]);
  const link = path.join(dir, 'link');
  await symlink('/', link);
  return { rootfs, link };
}

interface Tally {
  hostRoot: number;
  ran: number;
  refused: Map<string, number>;
}

function record(tally: Tally, r: Exit, sawHost: boolean, rootfs: string): void {
  if (sawHost) {
    tally.hostRoot++;
  } else if (r.code === 0 && r.stdout.includes('inside')) {
    tally.ran++;
  } else {
    // One sentence per refusal, counted by its reason.
    const line = r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`;
    const reason = line.replaceAll(rootfs, 'ROOTFS');
    tally.refused.set(reason, (tally.refused.get(reason) ?? 0) + 1);
  }
}

function report(t: ExecutionContext, tally: Tally): void {
  t.log(`${ATTEMPTS} attempts: ${tally.hostRoot} saw the host's root, ${tally.ran} ran in the rootfs`);
  for (const [reason, n] of tally.refused) t.log(`  refused ${n}x: ${reason}`);
}

containerTest(`a rootfs swapped for a symlink to / during create never gives the container the host root (runtime, ${ATTEMPTS} runs)`, async (t) => {
  t.timeout(20 * 60_000);
  const { marker, written, probe } = hostMarkers(t);
  const { rootfs, link } = await rootfsAndLink(await s.hostDir(t));
  const stop = await swapping(t, rootfs, link);
  const tally: Tally = { hostRoot: 0, ran: 0, refused: new Map() };
  for (let i = 0; i < ATTEMPTS; i++) {
    const c = await s.container(
      t,
      patches(shell(probe), (config) => {
        config.root = { path: rootfs, readonly: false };
      }),
    );
    const r = await c.runtime('run', '--bundle', c.bundle, c.id);
    record(tally, r, r.stdout.includes('HOST-ROOT') || existsSync(written), rootfs);
    rmSync(written, { force: true });
    // A refused create leaves nothing; a run deletes its container. Either way, nothing remains.
    await c.runtime('delete', '--force', c.id);
  }
  await stop();
  report(t, tally);
  t.is(tally.hostRoot, 0, "a container saw or wrote the host's root");
  t.true(existsSync(marker));
  t.true(tally.ran > 0, 'some runs got the rootfs: the test raced, not just refused');
});

cliTest(`tscontainer run --rootfs DIR, with DIR swapped for a symlink to /, never runs over the host root (${ATTEMPTS} runs)`, async (t) => {
  t.timeout(20 * 60_000);
  const { written, probe } = hostMarkers(t);
  const { rootfs, link } = await rootfsAndLink(await cli.hostDir(t));
  const stop = await swapping(t, rootfs, link);
  const tally: Tally = { hostRoot: 0, ran: 0, refused: new Map() };
  for (let i = 0; i < ATTEMPTS; i++) {
    const c = await cli.container(t);
    // Every other run read-only: the host's root read-only is as much a failure as writable.
    const readOnly = i % 2 === 1 ? ['--read-only'] : [];
    const r = await c.run('--rm', '--rootfs', rootfs, ...readOnly, 'sh', '-c', probe);
    record(tally, r, r.stdout.includes('HOST-ROOT') || existsSync(written), rootfs);
    rmSync(written, { force: true });
  }
  await stop();
  report(t, tally);
  t.is(tally.hostRoot, 0, "a container saw or wrote the host's root");
  t.true(tally.ran > 0, 'some runs got the rootfs: the test raced, not just refused');
});
