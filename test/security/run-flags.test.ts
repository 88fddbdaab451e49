// The defaults and security flags of `tscontainer run`, read from the kernel's view of the
// container's process: Docker's capability set, no_new_privs, the seccomp filter, masked and
// read-only paths, and what --cap-add, --cap-drop, --privileged and --security-opt change.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import { limitFileInContainer, requires, root } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';

const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);
const s = cliSuite('security-flags');

const DOCKER_CAPABILITIES = '00000000a80425fb';
const NET_ADMIN = 1n << 12n;
const CHOWN = 1n << 0n;
const SYS_ADMIN = 1n << 21n;

const STATUS = 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status';

function status(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => /^(Cap|NoNewPrivs|Seccomp)/.test(l))
      .map((l) => l.split(':\t') as [string, string]),
  );
}

cliTest("tscontainer run's defaults: Docker's capabilities, no_new_privs, seccomp, hidden /proc paths, read-only /proc/sys and /sys", async (t) => {
  const c = await s.container(t);
  const r = await c.run(
    '--rm',
    '--rootfs',
    fixtureRootfs(),
    'sh',
    '-c',
    `${STATUS}; echo "timer_list $(wc -c < /proc/timer_list)"; echo 1 > /proc/sys/kernel/panic; echo "procsys $?"; touch /sys/x; echo "sys $?"`,
  );
  t.is(r.code, 0, r.stderr);
  t.like(status(r.stdout), { CapBnd: DOCKER_CAPABILITIES, CapEff: DOCKER_CAPABILITIES, NoNewPrivs: '1', Seccomp: '2' });
  t.regex(r.stdout, /^timer_list 0$/m, '/proc/timer_list is masked');
  t.regex(r.stdout, /^procsys 1$/m);
  t.regex(r.stdout, /^sys 1$/m);
});

cliTest('--cap-add and --cap-drop change the set, as Docker does', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--cap-add', 'NET_ADMIN', '--cap-drop', 'chown', 'sh', '-c', STATUS);
  t.is(r.code, 0, r.stderr);
  const effective = BigInt(`0x${status(r.stdout)['CapEff']}`);
  t.is(effective & NET_ADMIN, NET_ADMIN);
  t.is(effective & CHOWN, 0n);
  t.is(effective, (BigInt(`0x${DOCKER_CAPABILITIES}`) | NET_ADMIN) & ~CHOWN);
});

cliTest('--cap-drop ALL leaves root with no capability: chown fails', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--cap-drop', 'ALL', 'sh', '-c', `${STATUS}; chown 1 /tmp; echo "chown $?"`);
  t.is(r.code, 0, r.stderr);
  t.like(status(r.stdout), { CapEff: '0000000000000000', CapBnd: '0000000000000000' });
  t.regex(r.stdout, /^chown 1$/m);
});

cliTest("--privileged: every capability and host device, no seccomp filter, /proc and /sys not hidden, mounting works", async (t) => {
  // /dev/kmsg, which the host's root may write, but which no default container has or
  // may open: a privileged one gets the host's node and may write it.
  t.true(existsSync('/dev/kmsg'), 'the host has /dev/kmsg');
  const c = await s.container(t);
  const r = await c.run(
    '--rm',
    '--rootfs',
    fixtureRootfs(),
    '--privileged',
    'sh',
    '-c',
    `${STATUS}; mount -t tmpfs none /mnt && echo mounted; echo "timer_list $(head -c 1 /proc/timer_list | wc -c)"; ` +
      'echo "tscontainer privileged test" > /dev/kmsg; echo "kmsg $?"',
  );
  t.is(r.code, 0, r.stderr);
  const fields = status(r.stdout);
  t.is(BigInt(`0x${fields['CapEff']}`) & SYS_ADMIN, SYS_ADMIN);
  t.is(fields['Seccomp'], '0');
  t.regex(r.stdout, /^mounted$/m);
  t.regex(r.stdout, /^timer_list 1$/m, '/proc/timer_list is not masked');
  t.regex(r.stdout, /^kmsg 0$/m, "the host's /dev/kmsg is there and usable");
});

cliTest('--security-opt seccomp=unconfined and no-new-privileges=false', async (t) => {
  const c = await s.container(t);
  const r = await c.run(
    '--rm',
    '--rootfs',
    fixtureRootfs(),
    '--security-opt',
    'seccomp=unconfined',
    '--security-opt',
    'no-new-privileges=false',
    'sh',
    '-c',
    STATUS,
  );
  t.is(r.code, 0, r.stderr);
  t.like(status(r.stdout), { Seccomp: '0', NoNewPrivs: '0', CapEff: DOCKER_CAPABILITIES });
});

cliTest('--security-opt seccomp=FILE loads that profile', async (t) => {
  const dir = await s.hostDir(t);
  const profile = path.join(dir, 'no-mkdir.json');
  await writeFile(
    profile,
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
    }),
  );
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--security-opt', `seccomp=${profile}`, 'sh', '-c', `${STATUS}; mkdir /tmp/d; echo "mkdir $?"`);
  t.is(r.code, 0, r.stderr);
  t.is(status(r.stdout)['Seccomp'], '2');
  t.regex(r.stdout, /^mkdir 1$/m);
  t.regex(r.stderr, /Operation not permitted/);
});

cliTest('bad security flags exit 125 with one line naming the value', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--cap-add', 'CAP_FLY'], /invalid capability to add `CAP_FLY`: not a Linux capability/],
    [['--cap-drop', 'bogus'], /invalid capability to drop `bogus`/],
    [['--security-opt', 'apparmor=x'], /invalid security option `apparmor=x`/],
    [['--security-opt', 'seccomp=/nonexistent/profile.json'], /invalid seccomp profile `\/nonexistent\/profile.json`: cannot be read/],
    [['--security-opt', 'no-new-privileges=perhaps'], /invalid security option `no-new-privileges=perhaps`/],
  ];
  for (const [flags, message] of cases) {
    const c = await s.container(t);
    const r = await c.run('--rm', '--rootfs', fixtureRootfs(), ...flags, 'true');
    t.is(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
    t.is(r.errorLines.length, 1, r.stderr);
    t.regex(r.stderr, message);
  }
});

cliTest.serial("a fork bomb in a default run stops at podman's 2048 processes", async (t) => {
  // Counted with shell builtins: once the limit is reached no command can be forked.
  const c = await s.container(t);
  const bomb = 'i=0; while [ $i -lt 3000 ]; do sleep 60 & i=$((i+1)); echo $i > /dev/shm/n; done';
  const r = await c.run(
    '--rm',
    '--rootfs',
    fixtureRootfs(),
    'sh',
    '-c',
    `read max < ${limitFileInContainer.pids}; echo "limit $max"; sh -c '${bomb}' 2>/dev/null; read n < /dev/shm/n; echo "started $n"`,
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^limit 2048$/m);
  const started = Number(/^started (\d+)$/m.exec(r.stdout)?.[1]);
  t.true(started > 2000 && started < 2048, `started ${started} processes`);
});
