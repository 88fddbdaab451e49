// Another user's hand in a state root: a user without XDG_RUNTIME_DIR keeps state in
// /tmp/tscontainer-UID, which anyone could create first; a --root anywhere could be swapped
// for someone else's directory. A forged state.json carries a poststop hook, which `delete`
// would run as the victim. The runtime must refuse a root (and anything below it) that is a
// symlink, another user's, or writable by others, on the descriptor it then uses, so the
// hook never runs: not when the root is planted, not when it is swapped during the delete.
import { chmod, chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { containerTest } from '../helpers/host.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';
import { buildProbe, runAs, spawnAs, stop, testUsers } from '../helpers/users.js';

const s = suite('security-state-root');
const { victim, attacker } = testUsers();

/** A state.json for container `id` whose config's poststop hook writes the runner's uid to `marker`. */
function forgedState(id: string, marker: string): string {
  return JSON.stringify({
    ociVersion: '1.2.0',
    id,
    status: 'stopped',
    pid: null,
    pidStartTime: null,
    bundle: '/',
    rootfs: '/',
    created: '2024-01-01T00:00:00.000000000Z',
    annotations: {},
    cgroupPath: `/tscontainer-forged-${id}`,
    config: {
      ociVersion: '1.2.0',
      hooks: { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `id -u > ${marker}`] }] },
    },
  });
}

/** Writes a forged container `id` into `root` as the attacker would: every part of it the attacker's and writable by all, so the victim's delete can remove it. */
async function plantContainer(root: string, id: string, marker: string): Promise<void> {
  const dir = path.join(root, id);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'state.json'), forgedState(id, marker));
  for (const p of [root, dir]) {
    await chown(p, attacker, attacker);
    await chmod(p, 0o777);
  }
  await chown(path.join(dir, 'state.json'), attacker, attacker);
  await chmod(path.join(dir, 'state.json'), 0o666);
}

/** A directory the marker can be written to by anyone, and the marker's path. */
async function markerPlace(t: ExecutionContext): Promise<{ dir: string; marker: string }> {
  const dir = await s.hostDir(t);
  await chmod(dir, 0o777);
  return { dir, marker: path.join(dir, 'pwned') };
}

containerTest("a planted /tmp/tscontainer-UID (another user's, writable by all, or a symlink) is refused and its hooks never run", async (t) => {
  const root = `/tmp/tscontainer-${victim}`;
  const { dir, marker } = await markerPlace(t);
  const clear = () => rm(root, { recursive: true, force: true });
  t.teardown(clear);
  const variants: [string, () => Promise<void>, RegExp][] = [
    [
      "the attacker's, mode 0777",
      () => plantContainer(root, 'evil', marker),
      new RegExp(`^tscontainer-runtime: refusing state directory ${root}: it is owned by uid ${attacker}, not by uid ${victim}, who runs tscontainer$`, 'm'),
    ],
    [
      'a symlink to a directory of the attacker',
      async () => {
        const elsewhere = path.join(dir, 'attackers');
        await plantContainer(elsewhere, 'evil', marker);
        await symlink(elsewhere, root);
      },
      new RegExp(`^tscontainer-runtime: refusing state directory ${root}: it is a symbolic link$`, 'm'),
    ],
    [
      "the victim's own, left writable by all",
      async () => {
        await plantContainer(root, 'evil', marker);
        await chown(root, victim, victim);
      },
      new RegExp(`^tscontainer-runtime: refusing state directory ${root}: other users may write to it \\(mode 0777\\); only its owner may$`, 'm'),
    ],
  ];
  for (const [what, plant, refusal] of variants) {
    await clear();
    await plant();
    for (const args of [['delete', '--force', 'evil'], ['list'], ['state', 'evil']]) {
      const r = await runAs(victim, runtimePath(), args, { scratch: dir });
      t.not(r.code, 0, `${what}: ${args.join(' ')} is refused`);
      t.regex(r.stderr, refusal, `${what}: ${args.join(' ')}`);
    }
    t.false(existsSync(marker), `${what}: the forged poststop hook did not run`);
  }
});

containerTest("--root anywhere: another user's or a world-writable state root is refused, root's as well", async (t) => {
  const { dir, marker } = await markerPlace(t);
  const root = path.join(dir, 'state');
  // As root (the /run/tscontainer case): a root someone else owns, or anyone may write to.
  await plantContainer(root, 'evil', marker);
  const theirs = await runAs(0, runtimePath(), ['--root', root, 'delete', '--force', 'evil'], { scratch: dir });
  t.regex(theirs.stderr, new RegExp(`refusing state directory ${root}: it is owned by uid ${attacker}, not by uid 0`));
  await chown(root, 0, 0);
  const open = await runAs(0, runtimePath(), ['--root', root, 'delete', '--force', 'evil'], { scratch: dir });
  t.regex(open.stderr, new RegExp(`refusing state directory ${root}: other users may write to it \\(mode 0777\\)`));
  // A private root, but a container directory in it that is not ours.
  await chmod(root, 0o711);
  const below = await runAs(0, runtimePath(), ['--root', root, 'delete', '--force', 'evil'], { scratch: dir });
  t.regex(below.stderr, new RegExp(`refusing container state directory ${path.join(root, 'evil')}: it is owned by uid ${attacker}`));
  t.false(existsSync(marker), 'the forged poststop hook did not run');
  t.true(existsSync(path.join(root, 'evil', 'state.json')), 'nothing of the refused directory was removed');
});

containerTest('a state root swapped for another user\'s during delete (200 attempts) never runs its hooks', async (t) => {
  // The attacker may rename entries of the root's parent (mode 0777, no sticky bit): it
  // swaps the victim's root with its own, holding a forged container, as fast as it can,
  // while the victim deletes that container id 200 times. Every delete that looks at the
  // root must see the victim's directory (nothing to delete) or refuse the attacker's.
  t.timeout(10 * 60_000, '200 runtime runs on a loaded machine');
  const { dir, marker } = await markerPlace(t);
  const tools = await s.hostDir(t);
  await chmod(tools, 0o755);
  const race = buildProbe('race', tools);
  const parent = path.join(dir, 'parent');
  await mkdir(parent);
  await chown(parent, attacker, attacker);
  await chmod(parent, 0o777);
  const root = path.join(parent, 'state');
  await mkdir(root, { mode: 0o700 });
  await chown(root, victim, victim);
  const forged = path.join(parent, 'forged');
  await plantContainer(forged, 'c', marker);
  await chmod(forged, 0o755);
  const swapper = spawnAs(attacker, race, ['exchange', root, forged]);
  t.teardown(() => stop(swapper));
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 200 && !existsSync(marker); i++) {
    const r = await runAs(victim, runtimePath(), ['--root', root, 'delete', '--force', 'c'], { scratch: dir });
    const outcome = r.code === 0 ? 'deleted nothing' : (/refusing [^:]*: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr.trim());
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  await stop(swapper);
  t.log([...outcomes].map(([o, n]) => `${n}× ${o}`).join('; '));
  t.false(existsSync(marker), 'the forged poststop hook never ran');
});
