// What the runtime does as runc does, beyond the shim's calls (shim-calls.test.ts): runc's
// flags — systemd socket activation (LISTEN_FDS) before --preserve-fds, exec --ignore-paused
// and --cgroup, run --no-subreaper, list's owner, the Intel RDT flags runc itself refuses on
// this host — and delete removing the cgroups a container made below its own. Run under runc
// too where the outcome is compared.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, shell } from '../helpers/bundle.js';
import { execute } from '../helpers/exec.js';
import { cgroupVersion, requires, root } from '../helpers/host.js';
import { runc, runcInstalled, runcPath } from '../helpers/reference.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';

const s = suite('runcparity');
const withRunc = requires(root, runcInstalled);

withRunc('socket activation: the descriptors systemd passed (LISTEN_FDS) reach the process, as with runc', async (t) => {
  const dir = await s.hostDir(t);
  const passed = path.join(dir, 'passed');
  await writeFile(passed, 'the passed descriptor\n');
  const c = await s.container(t, shell('echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; cat <&4 2>/dev/null || echo "no 4"'));
  // As systemd does: LISTEN_PID is the pid of the process it execs, fd 3 is the socket.
  const activated = (program: string, ...args: string[]) =>
    execute(
      '/bin/sh',
      ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" 3<"$PASSED"', program, ...args],
      { scratch: dir, env: { ...process.env, PASSED: passed } },
    );
  const ours = await activated(runtimePath(), ...c.globalFlags, 'run', '--bundle', c.bundle, c.id);
  t.is(ours.code, 0, ours.stderr);
  t.is(ours.stdout, '1 1\nthe passed descriptor\nno 4\n');
  const theirs = await activated(runcPath!, '--root', path.join(dir, 'runc'), 'run', '--bundle', c.bundle, `${c.id}-runc`);
  t.is(theirs.stdout, ours.stdout, theirs.stderr);

  // Meant for another process (LISTEN_PID is not ours): nothing is passed.
  const other = await execute(
    '/bin/sh',
    ['-c', 'LISTEN_PID=1 LISTEN_FDS=1 exec "$0" "$@" 3<"$PASSED"', runtimePath(), ...c.globalFlags, 'run', '--bundle', c.bundle, c.id],
    { scratch: dir, env: { ...process.env, PASSED: passed } },
  );
  t.regex(other.stdout, /^ \n/, 'no LISTEN_FDS for the container');
  t.regex(other.stdout, /no 4\n$/);
  t.notRegex(other.stdout, /the passed descriptor/, 'descriptor 3 is not passed');
});

withRunc('exec --ignore-paused runs in a paused container once it is resumed; without it, exec refuses as runc does', async (t) => {
  const c = await s.container(t, command('sleep', '1000'));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await c.runtime('pause', c.id)).code, 0);
  const refused = await c.runtime('exec', c.id, 'true');
  t.is(refused.code, 255, 'exec fails with runc\'s status');
  t.regex(refused.stderr, /paused/);

  const exec = spawn(runtimePath(), [...c.globalFlags, 'exec', '--ignore-paused', c.id, 'echo', 'ran'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  exec.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => exec.on('exit', resolve));
  await new Promise((r) => setTimeout(r, 300));
  t.is(out, '', 'nothing runs while the container is frozen');
  t.is((await c.runtime('resume', c.id)).code, 0);
  t.is(await done, 0);
  t.is(out, 'ran\n');
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

withRunc('run --no-subreaper is accepted; update --l3-cache-schema and --mem-bw-schema are refused, as runc refuses them without resctrl', async (t) => {
  const dir = await s.hostDir(t);
  const c = await s.container(t, command('sleep', '1000'));
  const r = await c.runtime('run', '--no-subreaper', '--detach', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is((await runc(path.join(dir, 'runc'), dir, 'run', '--no-subreaper', '--detach', '--bundle', c.bundle, `${c.id}-runc`)).code, 0);
  for (const flag of ['--l3-cache-schema', '--mem-bw-schema']) {
    const ours = await c.runtime('update', flag, 'L3:0=f', c.id);
    const theirs = await runc(path.join(dir, 'runc'), dir, 'update', flag, 'L3:0=f', `${c.id}-runc`);
    t.is(ours.code, 1);
    t.is(theirs.code, 1, theirs.stderr);
    t.regex(ours.stderr, /Intel RDT/);
  }
  await runc(path.join(dir, 'runc'), dir, 'delete', '--force', `${c.id}-runc`);
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

withRunc('list names the owner of each container, as runc does', async (t) => {
  const c = await s.container(t, command('sleep', '1000'));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  const json = JSON.parse((await c.runtime('list', '--format', 'json')).stdout) as { id: string; owner: string }[];
  t.is(json.find((e) => e.id === c.id)?.owner, 'root');
  t.regex((await c.runtime('list')).stdout, new RegExp(`^${c.id}\\s.*\\sroot$`, 'm'));
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

/** The cgroup directories named NAME (a path below the roots), one per hierarchy that has it. */
function cgroupDirs(name: string): string[] {
  const roots =
    cgroupVersion === 'v2'
      ? ['/sys/fs/cgroup']
      : readdirSync('/sys/fs/cgroup', { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => path.join('/sys/fs/cgroup', d.name));
  return roots.map((r) => path.join(r, name)).filter((d) => existsSync(d));
}

/** A copy of the container's bundle for runc, with `edit` applied to its config. */
async function runcBundle(dir: string, bundle: string, edit: (config: Record<string, any>) => void = () => undefined) {
  const copy = path.join(dir, 'runc-bundle');
  await mkdir(copy);
  const config = JSON.parse(await readFile(path.join(bundle, 'config.json'), 'utf8')) as Record<string, any>;
  edit(config);
  await writeFile(path.join(copy, 'config.json'), JSON.stringify(config));
  return copy;
}

withRunc('exec --cgroup puts the process in a cgroup below the container\'s, in every hierarchy, as runc does', async (t) => {
  const dir = await s.hostDir(t);
  const parent = `${path.basename(dir)}-cg`;
  const c = await s.container(t, (config) => {
    config.process!.args = ['sleep', '1000'];
    (config.linux as Record<string, unknown>).cgroupsPath = `/${parent}/ours`;
  });
  const runcRoot = path.join(dir, 'runc');
  const theirBundle = await runcBundle(dir, c.bundle, (config) => void (config.linux.cgroupsPath = `/${parent}/theirs`));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await runc(runcRoot, dir, 'run', '--detach', '--bundle', theirBundle, `${c.id}-runc`)).code, 0);
  try {
    for (const d of [...cgroupDirs(`${parent}/ours`), ...cgroupDirs(`${parent}/theirs`)]) {
      await mkdir(path.join(d, 'sub'));
      // A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(path.join(d, file))) await writeFile(path.join(d, 'sub', file), await readFile(path.join(d, file)));
      }
    }
    const show = ['sh', '-c', "sed 's/^[0-9]*:[^:]*://' /proc/self/cgroup | sort -u"];
    const ours = await c.runtime('exec', '--cgroup', 'sub', c.id, ...show);
    const theirs = await runc(runcRoot, dir, 'exec', '--cgroup', 'sub', `${c.id}-runc`, ...show);
    t.is(ours.code, 0, ours.stderr);
    t.is(theirs.code, 0, theirs.stderr);
    // Seen from its cgroup namespace, rooted at the container's cgroup: `sub` in every
    // hierarchy (a hierarchy it was not moved in would say `/`).
    t.is(ours.stdout, '/sub\n');
    t.is(theirs.stdout, ours.stdout);
    for (const bad of ['../escape', 'cpu:sub']) {
      const r = await c.runtime('exec', '--cgroup', bad, c.id, 'true');
      t.is(r.code, 255, `--cgroup ${bad}: ${r.stderr}`);
    }
  } finally {
    await runc(runcRoot, dir, 'delete', '--force', `${c.id}-runc`);
    t.is((await c.runtime('delete', '--force', c.id)).code, 0, 'delete removes the sub-cgroup with the container\'s');
    for (const d of cgroupDirs(parent)) await rmdir(d);
  }
});

withRunc('delete removes the cgroups the container made below its own, as runc does', async (t) => {
  const dir = await s.hostDir(t);
  const c = await s.container(t, command('sleep', '1000'));
  const theirBundle = await runcBundle(dir, c.bundle);
  const runcId = `${c.id}-runc`;
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await runc(path.join(dir, 'runc'), dir, 'run', '--detach', '--bundle', theirBundle, runcId)).code, 0);
  // What systemd or a nested runtime inside would make (the host stands in for them).
  for (const d of [...cgroupDirs(c.id), ...cgroupDirs(runcId)]) await mkdir(path.join(d, 'made-inside', 'deeper'), { recursive: true });
  const ours = await c.runtime('delete', '--force', c.id);
  const theirs = await runc(path.join(dir, 'runc'), dir, 'delete', '--force', runcId);
  t.is(theirs.code, 0, theirs.stderr);
  t.is(ours.code, 0, ours.stderr);
  t.deepEqual(cgroupDirs(c.id), [], 'no cgroup of the container is left');
  t.deepEqual(cgroupDirs(runcId), []);
});
