// `tscontainer run` as a user checks its isolation: the command is PID 1, has its own
// hostname and namespaces, its own network (or the host's with --net host), sees the host
// only where asked (-v), and cannot write what it must not (the host-root default, --read-only).
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliSuite } from '../helpers/cli.js';
import { containerTest } from '../helpers/host.js';
import { repoRoot } from '../helpers/paths.js';
import { fixtureRootfs } from '../helpers/rootfs.js';

const s = cliSuite('cli-isolation');
const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;
const sh = (script: string) => ['sh', '-c', script];

function hostNamespace(type: string): string {
  return readlinkSync(`/proc/self/ns/${type}`);
}

containerTest('the command is PID 1', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', 'echo $$');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '1\n');
});

containerTest('the hostname defaults to the container id (--name)', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'hostname');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${c.id}\n`);
  t.not(r.stdout.trim(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
});

containerTest('--hostname sets the hostname', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--hostname', 'box.example', ...sh('hostname; echo $HOSTNAME'));
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'box.example\nbox.example\n');
});

containerTest('every namespace in /proc/self/ns differs from the host (cgroup, ipc, mnt, net, pid, uts)', async (t) => {
  const c = await s.container(t);
  const script = NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`).join('; ');
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', script);
  t.is(r.code, 0, r.stderr);
  const inside = r.stdout.trim().split('\n');
  t.is(inside.length, NAMESPACES.length, r.stdout);
  NAMESPACES.forEach((ns, i) => {
    t.regex(inside[i] ?? '', new RegExp(`^${ns}:\\[\\d+\\]$`));
    t.not(inside[i], hostNamespace(ns), `${ns} namespace`);
  });
});

containerTest('--net none (the default) has only lo, and it is up', async (t) => {
  for (const flags of [['--net', 'none'], []]) {
    const c = await s.container(t);
    const r = await c.run('--rm', '--rootfs', fixtureRootfs(), ...flags, 'ip', '-o', 'link');
    t.is(r.code, 0, r.stderr);
    const links = r.stdout.trim().split('\n');
    t.is(links.length, 1, r.stdout);
    t.regex(links[0] ?? '', /^1: lo: <[^>]*\bUP\b[^>]*>/, `${flags.join(' ') || 'default'}: ${r.stdout}`);
  }
});

containerTest("--net host shares the host's network namespace and sees its interfaces", async (t) => {
  const c = await s.container(t);
  const script = 'readlink /proc/self/ns/net; ls /sys/class/net';
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--net', 'host', ...sh(script));
  t.is(r.code, 0, r.stderr);
  const [ns, ...interfaces] = r.stdout.trim().split('\n');
  t.is(ns, hostNamespace('net'));
  t.deepEqual(interfaces, readdirSync('/sys/class/net').sort());
});

containerTest('-v binds host directories read-write, and read-only with :ro', async (t) => {
  const ro = await s.hostDir(t);
  const rw = await s.hostDir(t);
  await writeFile(path.join(ro, 'from-host'), 'written by the host\n');
  const c = await s.container(t);
  const script = [
    'cat /mnt/from-host',
    'echo "written by the container" > /var/from-container',
    'touch /mnt/new 2>&1; echo "ro status $?"',
  ].join('; ');
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-v', `${ro}:/mnt:ro`, '-v', `${rw}:/var`, ...sh(script));
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^written by the host\n.*Read-only file system\nro status 1\n$/);
  t.is(readFileSync(path.join(rw, 'from-container'), 'utf8'), 'written by the container\n');
  t.deepEqual(readdirSync(ro), ['from-host']);
});

containerTest('--read-only makes the --rootfs read-only; without it the rootfs is written', async (t) => {
  const rootfs = await s.privateRootfs(t);
  const write = ['sh', '-c', 'touch /probe 2>&1; echo "status $?"'];

  const readOnly = await s.container(t);
  const r = await readOnly.run('--rm', '--rootfs', rootfs, '--read-only', ...write);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Read-only file system\nstatus 1\n$/);
  t.false(existsSync(path.join(rootfs, 'probe')));

  const writable = await s.container(t);
  const w = await writable.run('--rm', '--rootfs', rootfs, ...write);
  t.is(w.code, 0, w.stderr);
  t.is(w.stdout, 'status 0\n');
  t.true(existsSync(path.join(rootfs, 'probe')));
});

containerTest('without --rootfs the host root is read-only: /root, /etc and the repository cannot be written', async (t) => {
  const c = await s.container(t);
  const probe = `${c.id}-probe`;
  const dirs = ['/root', '/etc', repoRoot];
  const script = dirs.map((d) => `touch ${d}/${probe} 2>&1; echo "status $?"`).join('; ');
  const r = await c.run('--rm', '--', 'sh', '-c', script);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 2 * dirs.length, r.stdout);
  dirs.forEach((d, i) => {
    t.regex(lines[2 * i] ?? '', new RegExp(`${d}/${probe}.*Read-only file system`));
    t.is(lines[2 * i + 1], 'status 1');
    t.false(existsSync(path.join(d, probe)), `${d}/${probe} on the host`);
  });
});

containerTest("without --rootfs, /tmp and /run are the container's own empty tmpfs", async (t) => {
  // Something of the host's in each: a file in /tmp, and /run holds /run/tscontainer.
  const hostTmp = await mkdtemp('/tmp/tscontainer-test-marker-');
  t.teardown(() => rm(hostTmp, { recursive: true, force: true }));
  t.true(existsSync('/run/tscontainer'));
  const c = await s.container(t);
  const script = [
    'echo "tmp: $(ls -A /tmp | wc -l) run: $(ls -A /run | wc -l)"',
    `awk '$2 == "/tmp" || $2 == "/run" { print $2, $3 }' /proc/self/mounts`,
    `echo inside > /tmp/${c.id}; cat /tmp/${c.id}`,
  ].join('; ');
  const r = await c.run('--rm', '--', 'sh', '-c', script);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `tmp: 0 run: 0\n/tmp tmpfs\n/run tmpfs\ninside\n`);
  t.false(existsSync(`/tmp/${c.id}`));
});

containerTest('without --rootfs the container has its own /proc', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--', 'sh', '-c', 'echo $$; readlink /proc/self/ns/pid; tr "\\0" " " < /proc/1/cmdline');
  t.is(r.code, 0, r.stderr);
  const [pid, ns, init] = r.stdout.split('\n');
  t.is(pid, '1');
  t.not(ns, hostNamespace('pid'));
  t.regex(init ?? '', /^sh -c echo \$\$/);
  t.not(readFileSync('/proc/1/cmdline', 'utf8').split('\0')[0], 'sh');
});
