// A container root that is an overlay of layers with an upper directory of its own, named
// by the config's first mount (destination `/`, type overlay) over an empty root.path. The
// runtime mounts it inside the container's mount namespace: the container sees the union,
// writes only reach the upper directory, and the host's mount table never holds the overlay
// — before, while and after the container runs, nor after `kill -9` of the runtime or of the
// container. Layers are made by hand: the fixture rootfs at the bottom (never written) and a
// layer with a whiteout, an opaque directory, a replaced and an added file.
import type { ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, patches, shell } from '../helpers/bundle.js';
import { execute } from '../helpers/exec.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { isAlive } from '../helpers/leftovers.js';
import type { OciConfig } from '../helpers/oci-config.js';
import {
  hostOverlaysOf,
  overlayMount,
  overlayRoot,
  REPLACED_PASSWD,
  snapshot,
  useOverlayRoot,
  type OverlayDirs,
} from '../helpers/overlay.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite, type Container } from '../helpers/suite.js';
import { waitUntil } from '../helpers/user-suite.js';

const s = suite('overlay-root');

/** The file system type of `/`, as the container's own mount table says. */
const ROOT_FS_TYPE = `sed -n 's|^[0-9]* [0-9]* [^ ]* [^ ]* / .* - \\([^ ]*\\) .*|\\1|p' /proc/self/mountinfo`;

/** What the union of the fixture and the top layer looks like from inside. */
const SHOW_UNION = [
  `echo "root: $(${ROOT_FS_TYPE})"`,
  'echo "group: $(test -e /etc/group && echo present || echo gone)"',
  'echo "home: $(ls /home)"',
  'echo "users: $(cut -d: -f1 /etc/passwd | tr "\\n" " ")"',
  'cat /layer-marker',
].join('; ');

const UNION_SEEN = 'root: overlay\ngroup: gone\nhome: newcomer\nusers: root layer \nfrom the top layer\n';

/**
 * The fixture rootfs is shared by every test file, and other files' containers may create
 * empty mount points at its top (a bind on /sync): anything else that differs was written.
 */
function fixtureChanges(before: string[], after: string[]): string[] {
  const known = new Set(before.map((l) => l.split(' ')[0]));
  const addedMountPoint = (line: string) => {
    const rel = line.split(' ')[0]!;
    return !known.has(rel) && !rel.includes('/') && readdirSync(path.join(fixtureRootfs(), rel)).length === 0;
  };
  const ignored = (line: string) => line.startsWith('. ') || addedMountPoint(line);
  const a = new Set(after.filter((l) => !ignored(l)));
  const b = new Set(before.filter((l) => !l.startsWith('. ')));
  return [...[...a].filter((l) => !b.has(l)), ...[...b].filter((l) => !a.has(l))];
}

async function overlayContainer(
  t: ExecutionContext,
  script: string,
  options: { readonly?: boolean; extra?: string[] } = {},
): Promise<{ c: Container; dirs: OverlayDirs }> {
  const c = await s.container(t, shell(script));
  return { c, dirs: await useOverlayRoot(c, options) };
}

containerTest('the container sees the union of its layers and writes only to its upper directory', async (t) => {
  const write = [
    'echo written > /new-file',
    'echo "extra:x:3000:3000::/:/bin/sh" >> /etc/passwd',
    'rm /bin/vi',
    'mkdir /home/made',
  ].join('; ');
  const { c, dirs } = await overlayContainer(t, `${SHOW_UNION}; ${write}; ls /bin/vi 2>/dev/null || echo "vi: gone"`);
  const [top, fixture] = dirs.lowers as [string, string];
  const topBefore = snapshot(top);
  const fixtureBefore = snapshot(fixture);
  t.deepEqual(hostOverlaysOf([c.bundle]), [], 'no overlay before the container');

  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${UNION_SEEN}vi: gone\n`);

  t.is(await readFile(path.join(dirs.upper, 'new-file'), 'utf8'), 'written\n');
  t.is(await readFile(path.join(dirs.upper, 'etc', 'passwd'), 'utf8'), `${REPLACED_PASSWD}extra:x:3000:3000::/:/bin/sh\n`);
  const vi = lstatSync(path.join(dirs.upper, 'bin', 'vi'));
  t.true(vi.isCharacterDevice() && vi.rdev === 0, 'the removed file is a whiteout in the upper directory');
  t.true(lstatSync(path.join(dirs.upper, 'home', 'made')).isDirectory());
  t.deepEqual(snapshot(top), topBefore, 'the top layer is unchanged');
  t.deepEqual(fixtureChanges(fixtureBefore, snapshot(fixture)), [], 'the fixture rootfs is unchanged');
  t.deepEqual(await readdir(dirs.rootPath), [], 'root.path stays empty');
  t.deepEqual(hostOverlaysOf([c.bundle]), [], 'no overlay after the container');
});

/** Runs `sleep` in an overlay-rooted container until it is started and has written /by-init. */
async function runningOverlay(t: ExecutionContext, patch?: (config: OciConfig) => void) {
  const { c, dirs } = await overlayContainer(t, 'echo from-init > /by-init; exec sleep 1000');
  if (patch) {
    patch(c.config);
    await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
  }
  const created = await c.runtime('create', '--bundle', c.bundle, c.id);
  t.is(created.code, 0, created.stderr);
  t.deepEqual(hostOverlaysOf([c.bundle]), [], 'no overlay on the host once created');
  t.is((await c.runtime('start', c.id)).code, 0);
  t.true(await waitUntil(() => existsSync(path.join(dirs.upper, 'by-init'))), 'the container wrote /by-init');
  return { c, dirs };
}

async function stopAndDelete(t: ExecutionContext, c: Container): Promise<void> {
  t.is((await c.runtime('kill', c.id, 'KILL')).code, 0);
  await c.waitForStatus('stopped');
  t.is((await c.runtime('delete', c.id)).code, 0);
  t.deepEqual(c.leftovers(), []);
}

containerTest('while it runs, the overlay is the root of the container and of exec, and not in the host mount table', async (t) => {
  const { c, dirs } = await runningOverlay(t);
  t.deepEqual(hostOverlaysOf([c.bundle]), [], 'no overlay on the host while it runs');
  const state = await c.state();
  const initRoot = readFileSync(`/proc/${state?.pid}/mountinfo`, 'utf8');
  t.regex(initRoot, new RegExp(` / / [^\\n]* - overlay overlay [^\\n]*upperdir=${dirs.upper}`), 'the init sees it');

  const exec = await c.runtime('exec', c.id, 'sh', '-c', `${SHOW_UNION}; cat /by-init; echo by-exec > /by-exec`);
  t.is(exec.code, 0, exec.stderr);
  t.is(exec.stdout, `${UNION_SEEN}from-init\n`);
  t.is(await readFile(path.join(dirs.upper, 'by-exec'), 'utf8'), 'by-exec\n');
  await stopAndDelete(t, c);
  t.deepEqual(hostOverlaysOf([c.bundle]), []);
});

containerTest('with rootfsPropagation rshared the overlay still stays out of the host mount table', async (t) => {
  const { c } = await runningOverlay(t, (config) => {
    config.linux!['rootfsPropagation'] = 'rshared';
  });
  t.deepEqual(hostOverlaysOf([c.bundle]), []);
  t.deepEqual(
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(c.id)),
    [],
    'nothing of the container is mounted on the host',
  );
  await stopAndDelete(t, c);
});

/**
 * Whether an overlay with `dirs`' upper and work directories can be mounted now. With
 * index=on overlayfs refuses an upper directory that any mount uses, in any mount namespace:
 * the probe fails while a mount of the first container remains anywhere.
 */
async function upperIsFree(t: ExecutionContext, dirs: OverlayDirs): Promise<{ free: boolean; why: string }> {
  const probe = await s.container(t, patches(command('cat', '/layer-marker'), overlayRoot(dirs, { extra: ['index=on'] })));
  const r = await probe.runtime('run', '--bundle', probe.bundle, probe.id);
  return { free: r.code === 0 && r.stdout === 'from the top layer\n', why: r.stderr };
}

/** A createRuntime hook that blocks `create` (the overlay is mounted by then) and says who ran it. */
async function blockingHook(dir: string): Promise<{ path: string; marker: string }> {
  const marker = path.join(dir, 'hook.pids');
  const file = path.join(dir, 'hook.sh');
  await writeFile(file, `#!/bin/sh\necho "$PPID $$" > ${marker}.tmp && mv ${marker}.tmp ${marker}\nexec sleep 300\n`);
  await chmod(file, 0o755);
  return { path: file, marker };
}

containerTest('kill -9 of the runtime during create leaves no overlay in any mount namespace', async (t) => {
  const hook = await blockingHook(await s.hostDir(t));
  const { c, dirs } = await overlayContainer(t, 'sleep 100', { extra: ['index=on'] });
  c.config['hooks'] = { createRuntime: [{ path: hook.path }] };
  await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
  const creating = spawn(runtimePath(), [...c.globalFlags, 'create', '--bundle', c.bundle, c.id], { stdio: 'ignore' });
  t.true(await waitUntil(() => existsSync(hook.marker), 60_000), 'the createRuntime hook ran');
  const [runtime, hookPid] = readFileSync(hook.marker, 'utf8').trim().split(' ').map(Number) as [number, number];
  t.teardown(() => {
    if (isAlive(hookPid)) process.kill(hookPid, 'SIGKILL');
  });
  t.is<number | undefined, number | undefined>(runtime, creating.pid, 'the create runtime runs the hook');
  t.deepEqual(hostOverlaysOf([c.bundle]), [], 'mounted in the container, not on the host');
  const busy = await upperIsFree(t, dirs);
  t.false(busy.free, 'while the container is being created its overlay holds the upper directory');
  t.regex(busy.why, /in-use|busy/i);

  process.kill(runtime, 'SIGKILL');
  t.true(await waitUntil(() => !isAlive(runtime), 30_000));
  const deleted = await c.runtime('delete', '--force', c.id);
  t.is(deleted.code, 0, deleted.stderr);
  t.deepEqual(c.leftovers(), []);
  // The init ends with its channel; with it the namespace and the overlay.
  t.true(await waitUntil(() => hostOverlaysOf([c.bundle]).length === 0));
  const free = await upperIsFree(t, dirs);
  t.true(free.free, `the upper directory is free again: ${free.why}`);
});

containerTest('kill -9 of the container process leaves no overlay in any mount namespace', async (t) => {
  const { c, dirs } = await overlayContainer(t, 'exec sleep 1000', { extra: ['index=on'] });
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await c.runtime('start', c.id)).code, 0);
  const pid = (await c.waitForStatus('running')).pid;
  process.kill(pid, 'SIGKILL');
  await c.waitForStatus('stopped');
  t.true(await waitUntil(() => !isAlive(pid), 30_000));
  const free = await upperIsFree(t, dirs);
  t.true(free.free, `the upper directory is free again: ${free.why}`);
  t.is((await c.runtime('delete', c.id)).code, 0);
  t.deepEqual(c.leftovers(), []);
  t.deepEqual(hostOverlaysOf([c.bundle]), []);
});

containerTest('symlinks an earlier run left in the upper directory cannot send later mounts out of the root', async (t) => {
  // A container writes links into its upper directory; the next start of the same container
  // mounts over them (CVE-2021-30465's shape). Targets resolve in the overlay's root.
  const { c, dirs } = await overlayContainer(t, 'echo inside > /abs/marker && echo inside > /rel/marker && ls /abs /rel');
  const victim = path.join(c.bundle, 'victim');
  await mkdir(victim);
  await writeFile(path.join(victim, 'host-file'), 'host\n');
  // The same path inside the overlay, where the links must resolve.
  await mkdir(path.join(dirs.upper, victim), { recursive: true });
  await symlink(victim, path.join(dirs.upper, 'abs'));
  await symlink(path.join('../../../../../../../../..', victim), path.join(dirs.upper, 'rel'));
  c.config.mounts!.push(
    { destination: '/abs', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
    { destination: '/rel', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
  );
  await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '/abs:\nmarker\n\n/rel:\nmarker\n');
  t.deepEqual(await readdir(victim), ['host-file'], 'nothing was written to the host directory');
  t.deepEqual(await readdir(path.join(dirs.upper, victim)), [], 'the tmpfs went on the overlay\'s copy, now unmounted');
  t.deepEqual(hostOverlaysOf([c.bundle]), []);
});

containerTest('120 layers under long paths, more than a page of mount options, make one root', async (t) => {
  const c = await s.container(t, shell('cat /stack-top; ls /layers | wc -l; cat /layers/119 /etc/passwd | head -n 2'));
  const dirs = await useOverlayRoot(c);
  const parent = path.join(c.bundle, `layers-${'l'.repeat(100)}`);
  const layers = Array.from({ length: 120 }, (_, i) => path.join(parent, String(i).padStart(3, '0')));
  for (const [i, layer] of layers.entries()) {
    await mkdir(path.join(layer, 'layers'), { recursive: true });
    await writeFile(path.join(layer, 'layers', String(i)), `layer ${i}\n`);
    await writeFile(path.join(layer, 'stack-top'), `layer ${i} is on top\n`);
  }
  // Uppermost first: layer 0 above layer 119, all of them above the top layer and the fixture.
  const all = { ...dirs, lowers: [...layers, ...dirs.lowers] };
  c.config.mounts![0] = overlayMount(all);
  await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
  const options = c.config.mounts![0]!.options!.join(',');
  t.true(options.length > 4096, `${options.length} bytes of options`);

  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `layer 0 is on top\n120\nlayer 119\n${REPLACED_PASSWD.split('\n')[0]}\n`);
});

containerTest('a read-only overlay root refuses writes and leaves the upper directory empty', async (t) => {
  const script = [
    'echo x > /new-file; echo "create $?"',
    'echo y >> /etc/passwd; echo "append $?"',
    'rm /bin/vi; echo "remove $?"',
    'cat /layer-marker',
  ].join('; ');
  const { c, dirs } = await overlayContainer(t, script, { readonly: true });
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'create 1\nappend 1\nremove 1\nfrom the top layer\n');
  t.regex(r.stderr, /Read-only file system/);
  t.deepEqual(await readdir(dirs.upper), []);
});

interface BadOverlay {
  what: string;
  /** Changes the root overlay's config (and may make directories). */
  change(c: Container, dirs: OverlayDirs, t: ExecutionContext): Promise<void>;
  message(c: Container, dirs: OverlayDirs): RegExp;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces the root overlay's options. */
function options(c: Container, list: string[]): void {
  c.config.mounts![0]!.options = list;
}

const badOverlays: BadOverlay[] = [
  {
    what: 'no lowerdir',
    async change(c, dirs) {
      options(c, [`upperdir=${dirs.upper}`, `workdir=${dirs.work}`]);
    },
    message: () => /invalid config: mounts\[0\]: an overlay root needs lowerdir, its layers$/,
  },
  {
    what: 'a relative lowerdir',
    async change(c, dirs) {
      options(c, ['lowerdir=overlay/top', `upperdir=${dirs.upper}`, `workdir=${dirs.work}`]);
    },
    message: () => /invalid config: mounts\[0\]: lowerdir `overlay\/top` is not an absolute path$/,
  },
  {
    what: 'a layer that does not exist',
    async change(c, dirs) {
      options(c, [`lowerdir=${dirs.lowers[0]}-missing`, `upperdir=${dirs.upper}`, `workdir=${dirs.work}`]);
    },
    message: (_, dirs) => new RegExp(`invalid config: mounts\\[0\\]: lowerdir \`${escape(dirs.lowers[0]!)}-missing\` does not exist$`),
  },
  {
    what: 'an upperdir on another filesystem than the workdir',
    async change(c, dirs, t) {
      const shm = path.join('/dev/shm', `${c.id}-upper`);
      await mkdir(shm);
      t.teardown(() => rm(shm, { recursive: true, force: true }));
      options(c, [`lowerdir=${dirs.lowers.join(':')}`, `upperdir=${shm}`, `workdir=${dirs.work}`]);
    },
    message: (c, dirs) =>
      new RegExp(
        `upperdir \`/dev/shm/${escape(c.id)}-upper\` and workdir \`${escape(dirs.work)}\` are on different filesystems; overlayfs needs them on one$`,
      ),
  },
  {
    what: 'a mount on / that is not the first',
    async change(c) {
      c.config.mounts = [...c.config.mounts!.slice(1), c.config.mounts![0]!];
    },
    message: (c) =>
      new RegExp(
        `invalid config: mounts\\[${c.config.mounts!.length - 1}\\]: only the first mount may have destination \`/\``,
      ),
  },
  {
    what: 'a bind mount on /',
    async change(c, dirs) {
      c.config.mounts![0] = { destination: '/', type: 'bind', source: dirs.lowers[0]!, options: ['rbind'] };
    },
    message: () => /mounts\[0\]: only an overlay can be mounted on `\/`, not a mount of type `bind`$/,
  },
  {
    what: 'a workdir inside the upperdir',
    async change(c, dirs) {
      const inside = path.join(dirs.upper, 'work');
      await mkdir(inside);
      options(c, [`lowerdir=${dirs.lowers.join(':')}`, `upperdir=${dirs.upper}`, `workdir=${inside}`]);
    },
    message: (_, dirs) =>
      new RegExp(
        `upperdir \`${escape(dirs.upper)}\` and workdir \`${escape(dirs.upper)}/work\` must be separate directories, neither inside the other$`,
      ),
  },
  {
    what: 'a workdir an earlier volatile mount left behind',
    async change(_, dirs) {
      await mkdir(path.join(dirs.work, 'work', 'incompat', 'volatile'), { recursive: true });
    },
    message: (_, dirs) =>
      new RegExp(
        `workdir \`${escape(dirs.work)}\` still holds work/incompat/volatile from an earlier volatile mount; overlayfs takes it only once that is removed$`,
      ),
  },
];

for (const verb of ['create', 'run'] as const) {
  for (const bad of badOverlays) {
    requires(root)(`${verb} with an overlay root with ${bad.what} fails with one line and makes nothing`, async (t) => {
      const { c, dirs } = await overlayContainer(t, 'true');
      await bad.change(c, dirs, t);
      await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
      const upperBefore = await readdir(dirs.upper);
      const r = await c.runtime(verb, '--bundle', c.bundle, c.id);
      t.not(r.code, 0);
      t.is(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      t.is(lines.length, 1, r.stderr);
      t.regex(lines[0] ?? '', /^tscontainer-runtime: /);
      t.regex(lines[0] ?? '', bad.message(c, dirs));
      t.is(await c.state(), undefined);
      t.deepEqual(c.leftovers(), []);
      t.deepEqual(await readdir(dirs.upper), upperBefore, 'the upper directory is untouched');
      t.deepEqual(hostOverlaysOf([c.bundle]), []);
    });
  }
}

containerTest('the leftover check notices an overlay of a container\'s directories wherever it is mounted', async (t) => {
  const { c, dirs } = await overlayContainer(t, 'true');
  const elsewhere = await s.hostDir(t);
  const data = `lowerdir=${dirs.lowers.join(':')},upperdir=${dirs.upper},workdir=${dirs.work}`;
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', data, elsewhere]);
  try {
    t.deepEqual(c.leftovers(), [`mount ${elsewhere}`]);
    t.deepEqual(hostOverlaysOf([c.bundle]), [elsewhere]);
  } finally {
    execFileSync('umount', [elsewhere]);
  }
  t.deepEqual(c.leftovers(), []);
});

/** runc's version, when runc is installed. */
function runcVersion(): [number, number, number] | undefined {
  try {
    const out = execFileSync('runc', ['--version'], { encoding: 'utf8' });
    const m = /runc version (\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * runc mounts on `/` up to 1.2.7 and 1.3.2; its November 2025 security releases (1.2.8,
 * 1.3.3, 1.4.0) refuse them ("is on the top of rootfs", opencontainers/runc#5070).
 */
function runcMountsOnRoot(v: [number, number, number] | undefined): boolean {
  if (!v) return false;
  const [major, minor, patch] = v;
  return major === 1 && (minor < 2 || (minor === 2 && patch <= 7) || (minor === 3 && patch <= 2));
}

const runc = runcVersion();
requires(root, [runcMountsOnRoot(runc), `runc ${runc?.join('.') ?? 'is not installed'}; only runc <= 1.2.7 or 1.3.0-1.3.2 mounts on /`])(
  'runc runs the same bundle and shows the same union',
  async (t) => {
    const { c, dirs } = await overlayContainer(t, `${SHOW_UNION}; echo by-runc > /by-runc`);
    const scratch = await s.hostDir(t);
    const runcRoot = path.join(scratch, 'runc');
    const r = await execute('runc', ['--root', runcRoot, 'run', '--bundle', c.bundle, c.id], { scratch });
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, UNION_SEEN);
    t.is(await readFile(path.join(dirs.upper, 'by-runc'), 'utf8'), 'by-runc\n');
    t.deepEqual(hostOverlaysOf([c.bundle]), []);
  },
);
