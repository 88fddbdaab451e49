// Known container escapes, each attempted from inside a container made from the runtime's
// default spec (`tscontainer-runtime spec`, as test/helpers/bundle.ts makes it): every one
// must fail, and the host must be unchanged afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { bindMount, patches, shell } from '../helpers/bundle.js';
import type { Exit } from '../helpers/exec.js';
import { containerTest } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite } from '../helpers/suite.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { waitUntil } from '../helpers/user-suite.js';

const s = suite('security-escapes');

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Host mount points, from the kernel's table. */
function hostMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4] ?? '');
}

containerTest('CVE-2019-5736: the runtime executable reachable through /proc/<pid>/exe cannot be overwritten', async (t) => {
  // The attack: a process in the container holds /proc/<runtime pid>/exe open while a
  // runtime process is inside (the init before start), then writes through that descriptor
  // once the runtime has moved on. Here an exec'd shell opens the init's exe before
  // `start`, and writes to it, truncating and appending, after the init has exec'd. The
  // waiting init is not dumpable, so even the open is refused now; should it succeed, the
  // writes must still fail.
  const runtime = runtimePath();
  const before = sha256(runtime);
  const sync = await s.hostDir(t);
  const c = await s.container(t, patches(bindMount(sync, '/sync', 'rw'), shell('sleep 100')));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);

  const attack = [
    '{ readlink /proc/1/exe || echo "(cannot be read)"; } > /sync/exe 2>> /sync/errors',
    // A failed `exec` redirection ends a shell: try it in a subshell first.
    'if ( exec 5</proc/1/exe ) 2>> /sync/errors; then exec 5</proc/1/exe; echo held > /sync/held; fi',
    'touch /sync/ready',
    'while [ ! -e /sync/go ]; do usleep 10000; done',
    '( echo pwned > /proc/self/fd/5 ) 2>> /sync/errors; echo "truncate $?" >> /sync/result',
    '( echo pwned >> /proc/self/fd/5 ) 2>> /sync/errors; echo "append $?" >> /sync/result',
  ].join('; ');
  const attacker = spawn(runtime, [...c.globalFlags, 'exec', c.id, 'sh', '-c', attack], { stdio: 'ignore' });
  const attackerDone = new Promise<void>((resolve) => attacker.once('exit', () => resolve()));
  t.true(await waitUntil(() => existsSync(path.join(sync, 'ready')), 30_000), 'the attacker tried to hold the exe open');
  t.is((await c.runtime('start', c.id)).code, 0);
  await c.waitForStatus('running');
  await writeFile(path.join(sync, 'go'), '');
  await attackerDone;

  const result = await readFile(path.join(sync, 'result'), 'utf8');
  t.log(`the init's exe: ${(await readFile(path.join(sync, 'exe'), 'utf8')).trim()}`);
  t.log(existsSync(path.join(sync, 'held')) ? 'the attacker held the exe open' : 'opening the exe was refused');
  t.log(`write errors: ${(await readFile(path.join(sync, 'errors'), 'utf8').catch(() => '')).trim()}`);
  t.regex(result, /^truncate [1-9]\d*$/m, 'opening the exe for writing fails');
  t.regex(result, /^append [1-9]\d*$/m, 'appending to the exe fails');
  t.is(sha256(runtime), before, 'the host runtime binary is unchanged');
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('CVE-2024-21626: no runtime descriptor crosses into the container or an exec', async (t) => {
  const c = await s.container(t, shell('ls /proc/self/fd; sleep 100'));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  // The exec'd shell's own table, listed by a child (`; true` keeps sh from exec'ing ls).
  const exec = await c.runtime('exec', c.id, 'sh', '-c', 'ls -l /proc/$$/fd; true');
  t.is(exec.code, 0, exec.stderr);
  const fds = exec.stdout.split('\n').filter((line) => /^l.* (\d+) -> /.test(line));
  t.deepEqual(
    fds.map((line) => Number(/ (\d+) -> /.exec(line)![1])),
    [0, 1, 2],
    `an exec has: ${exec.stdout}`,
  );
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest("CVE-2024-21626: a process's own descriptors are 0, 1 and 2 only", async (t) => {
  const c = await s.container(t, shell('ls -l /proc/self/fd'));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  // `ls` itself holds one more: the /proc/self/fd directory it is reading.
  const fds = r.stdout
    .split('\n')
    .map((line) => / (\d+) -> (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) > 2 && !m[2]!.startsWith('/proc/'));
  t.deepEqual(
    fds.map((m) => m[0]),
    [],
  );
});

/**
 * CVE-2024-21626's check for a command run with cwd /proc/self/fd/FD (`pwd; ls`): it either
 * ran in a directory of the container (nothing of the runtime's state or cgroup in sight),
 * or was refused with `refusal`.
 */
function staysInside(t: ExecutionContext, fd: number, r: Exit, refusal: RegExp): void {
  if (r.code === 0) {
    t.regex(r.stdout, /^\//, `fd ${fd}: the cwd is a path inside the container`);
    t.notRegex(r.stdout, /state\.json|exec\.fifo|cgroup\.procs|unreachable/, `fd ${fd}: ${r.stdout}`);
  } else {
    t.regex(r.stderr, refusal, `fd ${fd}: ${r.stderr}`);
  }
}

containerTest('CVE-2024-21626: a working directory through /proc/self/fd/N never lands on the host', async (t) => {
  // runc's bug: the init still held host directories (the cgroup, the state dir) when it
  // chdir'ed, so cwd /proc/self/fd/7 put the command in the host's filesystem.
  for (let fd = 3; fd <= 12; fd++) {
    const c = await s.container(
      t,
      patches(shell('pwd; ls'), (config) => {
        config.process!.cwd = `/proc/self/fd/${fd}`;
      }),
    );
    const r = await c.runtime('run', '--bundle', c.bundle, c.id);
    staysInside(
      t,
      fd,
      r,
      /working directory .* is outside the container's root|cannot resolve \/proc\/self\/fd\/\d+ inside the container's rootfs/,
    );
    await c.runtime('delete', '--force', c.id);
  }
});

containerTest('CVE-2024-21626: exec --cwd /proc/self/fd/N never lands on the host', async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  for (let fd = 3; fd <= 12; fd++) {
    const r = await c.runtime('exec', '--cwd', `/proc/self/fd/${fd}`, c.id, 'sh', '-c', 'pwd; ls');
    staysInside(t, fd, r, /cannot change to the working directory|working directory .* is outside the container's root/);
  }
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('CVE-2021-30465: a mount target that is a symlink out of the rootfs stays inside the rootfs', async (t) => {
  const host = await s.hostDir(t);
  const victim = path.join(host, 'victim');
  await mkdir(victim);
  await writeFile(path.join(victim, 'host-file'), 'host\n');
  const rootfs = path.join(host, 'rootfs');
  execFileSync('cp', ['-a', fixtureRootfs(), rootfs]);
  // Absolute and relative links that point at the victim directory on the host.
  await symlink(victim, path.join(rootfs, 'abs'));
  await symlink(path.join('../../../../../../../../..', victim), path.join(rootfs, 'rel'));
  const c = await s.container(
    t,
    patches(
      (config) => {
        config.root = { path: rootfs, readonly: false };
        config.mounts = [
          ...(config.mounts ?? []),
          { destination: '/abs', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
          { destination: '/rel', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
        ];
      },
      shell('echo inside > /abs/marker && echo inside > /rel/marker && ls /abs /rel'),
    ),
  );
  const mountsBefore = hostMounts().filter((m) => m.startsWith(victim));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  // Either the mounts land inside the rootfs (the links resolved within it) or the create
  // refuses; never on the host's victim directory.
  t.log(`exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`);
  t.deepEqual(hostMounts().filter((m) => m.startsWith(victim)), mountsBefore);
  t.false(existsSync(path.join(victim, 'marker')), 'nothing was written to the host directory');
  t.is(readFileSync(path.join(victim, 'host-file'), 'utf8'), 'host\n');
  if (r.code === 0) {
    t.is(r.stdout, '/abs:\nmarker\n\n/rel:\nmarker\n');
    t.true(statSync(path.join(rootfs, victim)).isDirectory(), 'the target was made inside the rootfs');
  }
});

containerTest('the default profile denies mknod-and-open of a host disk, mounting, modules, sysrq and /sys writes', async (t) => {
  // A block device the host really has, so only the device allowlist stands in the way.
  const [major, minor] = (readdirSync('/sys/dev/block')[0] ?? '8:0').split(':');
  const attempts = [
    // mknod itself is allowed (as with Docker); opening a disk through the node is not.
    `mknod /tmp/disk b ${major} ${minor} && head -c1 /tmp/disk >/dev/null; echo "disk $?"`,
    'mknod /tmp/mem c 1 1 && head -c1 /tmp/mem >/dev/null; echo "mem $?"',
    'mount -t tmpfs none /mnt; echo "mount $?"',
    'unshare -m true; echo "unshare $?"',
    'echo "\\0" > /tmp/fake.ko; insmod /tmp/fake.ko; echo "insmod $?"',
    'echo h > /proc/sysrq-trigger; echo "sysrq $?"',
    'echo 1 > /sys/kernel/profiling; echo "sysfs $?"',
    'ls /dev | tr "\\n" " "; echo',
  ].join('; ');
  const c = await s.container(
    t,
    patches(shell(attempts), (config) => {
      // A writable /tmp for the device nodes (the fixture rootfs is read-only).
      config.mounts = [...(config.mounts ?? []), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['dev'] }];
    }),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  const status = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.stdout)?.[1]);
  for (const name of ['disk', 'mem', 'mount', 'unshare', 'insmod', 'sysrq', 'sysfs']) {
    t.not(status(name), 0, `${name} must fail: ${r.stdout} ${r.stderr}`);
    t.false(Number.isNaN(status(name)), `${name} ran`);
  }
  // Refused by the device allowlist, not for want of the device.
  t.regex(r.stderr, /\/tmp\/disk: Operation not permitted/);
  t.regex(r.stderr, /\/tmp\/mem: Operation not permitted/);
  const devices = r.stdout.trim().split('\n').at(-1)!.trim().split(' ').sort();
  t.deepEqual(
    devices.filter((d) => !['console', 'core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].includes(d)),
    [],
    `only the standard devices are in /dev: ${devices.join(' ')}`,
  );
});

containerTest('the default profile keeps host processes, rlimits and the hostname out of reach', async (t) => {
  const host = hostname();
  const c = await s.container(
    t,
    shell(
      [
        'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "; echo',
        'ls -d /proc/[0-9]* | wc -l',
        `ulimit -H -n; ulimit -H -n $(( $(ulimit -H -n) + 1 )); echo "raise $?"`,
        'hostname escaped; echo "hostname $?"',
        'kill -0 1; echo "own $?"',
      ].join('; '),
    ),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout.split('\n')[0]!, /node|ava|tscontainer/, 'no host process is visible');
  t.true(Number(r.stdout.split('\n')[1]) <= 5, `only the container's processes: ${r.stdout}`);
  t.regex(r.stdout, /^raise [1-9]/m, 'the hard rlimit cannot be raised');
  t.regex(r.stdout, /^hostname [1-9]/m, 'the hostname cannot be changed without CAP_SYS_ADMIN');
  t.regex(r.stdout, /^own 0$/m);
  t.is(hostname(), host, "the host's hostname is unchanged");
});

containerTest('exec joins every namespace and the cgroup, with the same capabilities, seccomp and no_new_privs', async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const probe = [
    'for ns in cgroup ipc mnt net pid uts user; do',
    '  [ "$(readlink /proc/1/ns/$ns)" = "$(readlink /proc/self/ns/$ns)" ] && echo "same $ns" || echo "differs $ns";',
    'done',
    '[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] && echo "same cgroup"',
    'grep -E "^(CapBnd|CapEff|CapPrm|CapInh|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status',
    'grep -E "^(CapBnd|CapEff|CapPrm|CapInh|CapAmb|NoNewPrivs|Seccomp):" /proc/1/status | sed "s/^/init /"',
    'mount -t tmpfs none /mnt; echo "mount $?"',
  ].join('\n');
  const r = await c.runtime('exec', c.id, 'sh', '-c', probe);
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, /differs/, r.stdout);
  t.regex(r.stdout, /same cgroup/);
  const fields = (prefix: string) =>
    Object.fromEntries(
      r.stdout
        .split('\n')
        .filter((l) => (prefix === '' ? /^[A-Z]/.test(l) : l.startsWith(prefix)))
        .map((l) => l.slice(prefix.length).split(':\t') as [string, string]),
    );
  t.like(fields(''), { CapBnd: '00000000a80425fb', CapEff: '00000000a80425fb', NoNewPrivs: '1', Seccomp: '2' });
  t.deepEqual(fields(''), fields('init '), 'the exec has exactly the init confinement');
  t.regex(r.stdout, /^mount [1-9]/m);
  await c.runtime('delete', '--force', c.id);
});
