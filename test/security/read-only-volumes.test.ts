// Read-only volumes stay read-only (issue 11, items 7 and 9):
//
// - a `ro` bind mount whose mount point inside the rootfs is swapped for a symlink while the
//   container is created: the read-only flag must land on the volume, not on whatever the
//   swapped path leads to. Before the fix 3 of 23 such creates left the volume writable: the
//   runtime bound the volume, then looked its path up again to remount it read-only.
// - a read-only volume whose source has a submount: read-only reaches the submount too
//   (`-v SRC:DST:ro`, and configs that ask for runc's `rro`).
//
// The fallback for kernels before 5.12 (no open_tree/move_mount/mount_setattr) runs here
// under test/security/tools/no-mount-api.c, a seccomp filter that answers ENOSYS to them.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bindMount, patches, shell } from '../helpers/bundle.js';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { execute, type Exit } from '../helpers/exec.js';
import { securityTool, swapping } from '../helpers/race.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite, type Container } from '../helpers/suite.js';

const ATTEMPTS = Number(process.env['TSCONTAINER_RACE_ATTEMPTS'] ?? 200);

const s = suite('security-ro-volumes');
const cli = cliSuite('security-ro-volumes-cli');
const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);

/**
 * The swap race against a `ro` volume, `attempts` times; `run` runs the runtime (directly, or
 * under no-mount-api).
 */
async function raceReadOnlyVolume(t: ExecutionContext, attempts: number, run: (c: Container) => Promise<Exit>): Promise<void> {
  t.timeout(20 * 60_000);
  const dir = await s.hostDir(t);
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('cp', ['-a', fixtureRootfs(), rootfs]);
  const volume = path.join(dir, 'volume');
  mkdirSync(volume);
  // A directory of the host beside the rootfs: nothing may reach it either.
  const outside = path.join(dir, 'outside');
  mkdirSync(outside);
  // The mount point and a symlink to the container's root, swapped without pause. Once the
  // volume is bound on `data`, the directory keeps its mount wherever the swaps move it.
  mkdirSync(path.join(rootfs, 'data'));
  symlinkSync('/', path.join(rootfs, 'data-link'));
  symlinkSync(outside, path.join(rootfs, 'outside'));
  const stop = await swapping(t, path.join(rootfs, 'data'), path.join(rootfs, 'data-link'));

  // Writes through both names (the volume is at one of them) and through the absolute link.
  const probe = [
    'for d in /data /data-link /outside; do touch $d/written-$$ 2>/dev/null && echo "wrote $d"; done',
    'echo done',
  ].join('; ');
  let ran = 0;
  let writable = 0;
  const refused = new Map<string, number>();
  for (let i = 0; i < attempts; i++) {
    const c = await s.container(
      t,
      patches(bindMount(volume, '/data', 'ro'), shell(probe), (config) => {
        config.root = { path: rootfs, readonly: false };
      }),
    );
    const r = await run(c);
    const leaked = readdirSync(volume).length + readdirSync(outside).length;
    if (leaked > 0) {
      writable++;
      t.log(`attempt ${i}: ${r.stdout.trim().replaceAll('\n', ', ')}`);
      execFileSync('find', [volume, outside, '-mindepth', '1', '-delete']);
    } else if (r.code === 0 && r.stdout.endsWith('done\n')) {
      ran++;
    } else {
      const reason = (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.code}`)
        .replaceAll(rootfs, 'ROOTFS')
        .replaceAll(s.stateRoot, 'STATE')
        .replace(/tscontainer-test-[\w-]+/g, 'ID');
      refused.set(reason, (refused.get(reason) ?? 0) + 1);
    }
    await c.runtime('delete', '--force', c.id);
  }
  await stop();
  t.log(`${attempts} attempts: ${writable} left the volume or the host writable, ${ran} ran`);
  for (const [reason, n] of refused) t.log(`  refused ${n}x: ${reason}`);
  t.is(writable, 0, 'the container wrote to the read-only volume or to the host');
  t.true(ran > 0, 'some runs got their volume: the test raced, not just refused');
}

/** The runtime under no-mount-api: the fallback of kernels before 5.12. */
function withoutMountApi(c: Container, ...args: string[]): Promise<Exit> {
  return execute(securityTool('no-mount-api'), [runtimePath(), ...c.globalFlags, ...args], { scratch: path.dirname(c.logFile) });
}

containerTest(`a read-only volume whose mount point is swapped for a symlink during create is never writable (${ATTEMPTS} runs)`, (t) =>
  raceReadOnlyVolume(t, ATTEMPTS, (c) => c.runtime('run', '--bundle', c.bundle, c.id)),
);

containerTest(`without the new mount API (before Linux 5.12) the swap race still never leaves a read-only volume writable (${Math.ceil(ATTEMPTS / 2)} runs)`, (t) =>
  raceReadOnlyVolume(t, Math.ceil(ATTEMPTS / 2), (c) => withoutMountApi(c, 'run', '--bundle', c.bundle, c.id)),
);

/** A host directory with a tmpfs mounted on its `sub`, unmounted after the test. */
function sourceWithSubmount(t: ExecutionContext, dir: string): string {
  const source = path.join(dir, 'source');
  mkdirSync(path.join(source, 'sub'), { recursive: true });
  writeFileSync(path.join(source, 'top-file'), 'top\n');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tscontainer-test-submount', path.join(source, 'sub')]);
  t.teardown(() => execFileSync('umount', ['-l', path.join(source, 'sub')]));
  return source;
}

const WRITE_BOTH = 'touch /mnt/top-new; echo "top $?"; touch /mnt/sub/new; echo "sub $?"; grep -c " /mnt/sub " /proc/self/mountinfo';

containerTest('a volume bound with rro is read-only in its submounts too (runtime config)', async (t) => {
  const source = sourceWithSubmount(t, await s.hostDir(t));
  // `rro`, as Docker 25+ asks for a read-only volume (runc's recursive attribute; plain `ro`
  // is the top mount only, in runc and here). A writable root: a read-only one would cover
  // the submount whatever the volume does.
  const c = await s.container(
    t,
    patches(shell(WRITE_BOTH), (config) => {
      config.root = { path: fixtureRootfs(), readonly: false };
      config.mounts = [...(config.mounts ?? []), { destination: '/mnt', type: 'bind', source, options: ['rbind', 'ro', 'rro'] }];
    }),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^top [1-9]\d*$/m, 'the volume itself is read-only');
  t.regex(r.stdout, /^sub [1-9]\d*$/m, 'so is its submount');
  t.regex(r.stdout, /^1$/m, 'the submount is there');
  t.deepEqual(readdirSync(path.join(source, 'sub')), []);
});

cliTest('tscontainer run -v SRC:DST:ro is read-only in the submounts of SRC too', async (t) => {
  const source = sourceWithSubmount(t, await cli.hostDir(t));
  const c = await cli.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-v', `${source}:/mnt:ro`, 'sh', '-c', WRITE_BOTH);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^top [1-9]\d*$/m, 'the volume itself is read-only');
  t.regex(r.stdout, /^sub [1-9]\d*$/m, 'so is its submount');
  t.regex(r.stdout, /^1$/m, 'the submount is there');
  t.deepEqual(readdirSync(path.join(source, 'sub')), []);
});

containerTest('without mount_setattr (before Linux 5.12) rro makes the volume read-only at its top, and create says the submounts are not', async (t) => {
  const source = sourceWithSubmount(t, await s.hostDir(t));
  const c = await s.container(
    t,
    patches(shell(WRITE_BOTH), (config) => {
      config.root = { path: fixtureRootfs(), readonly: false };
      config.mounts = [...(config.mounts ?? []), { destination: '/mnt', type: 'bind', source, options: ['rbind', 'ro', 'rro'] }];
    }),
  );
  const r = await withoutMountApi(c, 'run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^top [1-9]\d*$/m, 'the volume itself is read-only');
  t.regex(r.stdout, /^sub 0$/m, 'its submount is not: the kernel cannot do it');
  const warnings = (await c.log()).filter((e) => e.level === 'warning').map((e) => e.msg);
  t.true(
    warnings.some((w) => w.includes('lacks mount_setattr') && w.includes('/mnt')),
    `a warning names the mount: ${JSON.stringify(warnings)}`,
  );
});
