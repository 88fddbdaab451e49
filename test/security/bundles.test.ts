// Where the CLI and the API put a container's bundle, and how the runtime reads it. Root's
// `tscontainer run` used to write config.json into $TMPDIR/tscontainer-*, and $TMPDIR may
// belong to another user (sudo -E, su without -, a service): that user swapped the fresh
// bundle directory for one of its own (renameat2 RENAME_EXCHANGE) and renamed its own
// config.json into it before the runtime read it, and the runtime ran its prestart hook as
// root. Bundles now go only to the caller's data directory, which no one else can write;
// the runtime reads config.json through a descriptor of the bundle directory it checked.
import { chmod, chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { cliSuite, staleBuild } from '../helpers/cli.js';
import { execute } from '../helpers/exec.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { buildProbe, spawnAs, stop, testUsers } from '../helpers/users.js';

const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);
const s = cliSuite('security-bundles');
const { attacker } = testUsers();

/** A complete config (the fixture rootfs, `true`) whose prestart hook writes the runner's uid to `marker`. */
function evilConfig(marker: string): string {
  return JSON.stringify({
    ociVersion: '1.2.0',
    root: { path: fixtureRootfs(), readonly: true },
    process: { args: ['true'], cwd: '/', user: { uid: 0, gid: 0 } },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
    hooks: { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `id -u > ${marker}`] }] },
  });
}

/** The attacker's TMPDIR, its race tool and malicious config, and the marker its hook would write. */
async function attackersTmpdir(t: ExecutionContext): Promise<{ tmpdir: string; race: string; config: string; marker: string }> {
  const dir = await s.hostDir(t);
  await chmod(dir, 0o755);
  const race = buildProbe('race', dir);
  const tmpdir = path.join(dir, 'tmp');
  await mkdir(tmpdir);
  await chown(tmpdir, attacker, attacker);
  const marker = path.join(dir, 'pwned');
  const config = path.join(dir, 'evil.json');
  await writeFile(config, evilConfig(marker));
  await chmod(config, 0o644);
  return { tmpdir, race, config, marker };
}

cliTest.serial("root's run with another user's TMPDIR: that user's race for the bundle never gets its hook run (200 attempts)", async (t) => {
  t.timeout(10 * 60_000, '200 container runs on a loaded machine');
  const { tmpdir, race, config, marker } = await attackersTmpdir(t);
  const c = await s.container(t);
  let attempts = 0;
  for (; attempts < 200 && !existsSync(marker); attempts++) {
    // A fresh directory of the attacker's to swap in, and the tool waiting for a bundle.
    const evil = path.join(tmpdir, `evil-${attempts}`);
    await mkdir(evil);
    await writeFile(path.join(evil, 'config.json'), evilConfig(marker));
    await chown(evil, attacker, attacker);
    await chown(path.join(evil, 'config.json'), attacker, attacker);
    const racer = spawnAs(attacker, race, ['bundle', tmpdir, 'tscontainer-', evil, config]);
    const r = await c.runWith({ env: { TMPDIR: tmpdir } }, '--rm', '--rootfs', fixtureRootfs(), 'true');
    await stop(racer);
    t.is(r.code, 0, `attempt ${attempts + 1}: ${r.stderr}`);
  }
  t.log(`${attempts} attempts`);
  t.false(existsSync(marker), `the attacker's prestart hook ran as root after ${attempts} attempts`);
  t.deepEqual(
    readdirSync(tmpdir).filter((e) => !e.startsWith('evil-')),
    [],
    'the CLI put nothing in the TMPDIR',
  );
});

cliTest.serial('run --detach with another user\'s TMPDIR writes nothing there, its output included', async (t) => {
  const { tmpdir } = await attackersTmpdir(t);
  const c = await s.container(t);
  // A symlink the attacker planted where an output file could go.
  await symlink('/etc/hostname', path.join(tmpdir, 'output.log'));
  const r = await c.runWith({ env: { TMPDIR: tmpdir } }, '--detach', '--rootfs', fixtureRootfs(), 'sh', '-c', 'echo out');
  t.is(r.code, 0, r.stderr);
  t.deepEqual(readdirSync(tmpdir), ['output.log'], 'nothing of the container in the TMPDIR');
  t.is((await c.cli('rm', '--force', c.id)).code, 0);
});

containerTest('the runtime refuses a bundle others may write to, and a config.json that is a link or no regular file', async (t) => {
  const dir = await s.hostDir(t);
  const bundle = path.join(dir, 'bundle');
  await mkdir(bundle);
  await writeFile(path.join(bundle, 'config.json'), evilConfig(path.join(dir, 'pwned')));
  const state = path.join(dir, 'state');
  // Bounded: reading a FIFO would wait for a writer forever.
  const create = (id: string) =>
    execute('timeout', ['10', runtimePath(), '--root', state, 'create', '--bundle', bundle, id], { scratch: dir });
  const cases: [string, () => Promise<void>, RegExp][] = [
    ['a bundle writable by its group', () => chmod(bundle, 0o775), /refusing bundle .*: other users may write to it \(mode 0775\)/],
    ['a config.json writable by all', async () => {
      await chmod(bundle, 0o755);
      await chmod(path.join(bundle, 'config.json'), 0o666);
    }, /refusing config .*config\.json: other users may write to it \(mode 0666\)/],
    ['a config.json that is a symlink', async () => {
      await writeFile(path.join(dir, 'elsewhere.json'), evilConfig(path.join(dir, 'pwned')));
      await rm(path.join(bundle, 'config.json'));
      await symlink(path.join(dir, 'elsewhere.json'), path.join(bundle, 'config.json'));
    }, /refusing config .*config\.json: it is a symbolic link/],
    ['a config.json that is a FIFO (read, it would hang)', async () => {
      await rm(path.join(bundle, 'config.json'));
      await execute('mkfifo', [path.join(bundle, 'config.json')], { scratch: dir });
    }, /refusing config .*config\.json: it is not a regular file/],
  ];
  for (const [i, [what, make, refusal]] of cases.entries()) {
    await make();
    const id = `tscontainer-test-bundle-${process.pid}-${i}`;
    const r = await create(id);
    await execute(runtimePath(), ['--root', state, 'delete', '--force', id], { scratch: dir });
    t.not(r.code, 124, `${what}: the runtime answered`);
    t.not(r.code, 0, what);
    t.regex(r.stderr, refusal, what);
  }
  t.false(existsSync(path.join(dir, 'pwned')), 'no hook ran');
});
