// The confinement `tscontainer-runtime spec` gives a container, read from the kernel's view
// of the process (/proc/self/status) and from what the container can and cannot touch.
import { execFileSync } from 'node:child_process';
import { openSync, closeSync, fstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { runtimePath } from '../helpers/runtime-path.js';
import { patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite } from '../helpers/suite.js';

const s = suite('security');

// Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_CAPABILITIES = '00000000a80425fb';
const NONE = '0000000000000000';

/** The `Cap*`, `NoNewPrivs` and `Seccomp` lines of the command's /proc/self/status. */
function parseStatus(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((line) => line.split(':\t') as [string, string])
      .filter(([key, value]) => value !== undefined && /^(Cap|NoNewPrivs|Seccomp)/.test(key)),
  );
}

const printStatus = shell('cat /proc/self/status');

containerTest("root in the container has Docker's capability set, no_new_privs and a seccomp filter", async (t) => {
  const c = await s.container(t, printStatus);
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.like(parseStatus(r.stdout), {
    CapBnd: DOCKER_CAPABILITIES,
    CapPrm: DOCKER_CAPABILITIES,
    CapEff: DOCKER_CAPABILITIES,
    NoNewPrivs: '1',
    Seccomp: '2',
  });
});

containerTest('the default spec grants no inheritable or ambient capabilities', async (t) => {
  // runc's `spec` stopped granting inheritable capabilities for CVE-2022-29162; its
  // capabilities.bats expects CapInh and CapAmb to be zero with the default config.
  const c = await s.container(t, printStatus);
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.like(parseStatus(r.stdout), { CapInh: NONE, CapAmb: NONE });
});

containerTest('an unprivileged user starts with no capabilities', async (t) => {
  const c = await s.container(
    t,
    patches((config) => {
      config.process!.user = { uid: 1000, gid: 1000 };
    }, printStatus),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.like(parseStatus(r.stdout), { CapPrm: NONE, CapEff: NONE, CapAmb: NONE });
});

containerTest('masked paths read empty and read-only /proc paths cannot be written', async (t) => {
  t.not(readFileSync('/proc/timer_list', 'utf8'), '', 'the host shows /proc/timer_list');
  const c = await s.container(
    t,
    shell('wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 3 > /proc/sys/vm/drop_caches; echo "status $?"'),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '0\n0\nstatus 1\n');
  t.regex(r.stderr, /Read-only file system/);
});

// CVE-2019-5736: a created container's init is the runtime itself, waiting for `start`
// inside the container; through its /proc/PID/exe the container must not reach the host's
// runtime binary, only a view of it that cannot be written (a read-only overlayfs mount,
// or a sealed memfd copy where overlayfs is unavailable).
containerTest("a created container's init cannot reach the host's runtime binary (CVE-2019-5736)", async (t) => {
  const c = await s.container(t, shell('true'));
  const created = await c.runtime('create', '--bundle', c.bundle, c.id);
  t.is(created.code, 0, created.stderr);
  const pid = (await c.state())?.pid ?? 0;
  const exe = `/proc/${pid}/exe`;
  const fd = openSync(exe, 'r');
  const seen = fstatSync(fd);
  closeSync(fd);
  const host = statSync(runtimePath());
  t.false(seen.dev === host.dev && seen.ino === host.ino, 'the init runs from a copy or view, not the host file');
  const link = readlinkSync(exe);
  const fsType = execFileSync('stat', ['-f', '-L', '-c', '%T', exe], { encoding: 'utf8' }).trim();
  t.true(link.startsWith('/memfd:') || fsType === 'overlayfs', `${link} on ${fsType}`);
  if (fsType === 'overlayfs') {
    const error = t.throws(() => openSync(exe, 'r+'));
    t.is((error as NodeJS.ErrnoException).code, 'EROFS');
  }
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});
