// Mounts over /proc and /sys (issue 11, item 11). `-v /proc:/proc` used to give a container
// the host's processes and their command lines.
//
// The runtime applies runc's rule (checkProcMount) to every mount of a config, at the
// destination as resolved inside the rootfs (a symlink to /proc counts as /proc): on /proc
// itself only a proc filesystem, or a bind of a procfs; under /proc only binds onto the files
// lxcfs emulates (/proc/cpuinfo, /proc/diskstats, /proc/meminfo, /proc/stat, /proc/swaps,
// /proc/uptime, /proc/loadavg, /proc/slabinfo, /proc/sys/kernel/ns_last_pid,
// /proc/sys/crypto/fips_enabled). The CLI refuses volumes on or under /proc and /sys unless
// --privileged.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bindMount, patches, shell, type ConfigPatch } from '../helpers/bundle.js';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import { containerTest, requires, root } from '../helpers/host.js';
import type { OciMount } from '../helpers/oci-config.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('security-proc-mounts');
const cli = cliSuite('security-proc-mounts-cli');
const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);

function mount(m: OciMount): ConfigPatch {
  return (config) => {
    config.mounts = [...(config.mounts ?? []), m];
  };
}

/** Sees the host's processes: a pid of the host (this test's) is listed in its /proc. */
const PROBE = `test -d /proc/${process.pid} && echo HOST-PROCESSES; echo ran`;

async function refused(t: ExecutionContext, c: Container, destination: string): Promise<void> {
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.not(r.code, 0, `the container ran: ${r.stdout}`);
  t.notRegex(r.stdout, /HOST-PROCESSES/);
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, r.stderr);
  t.true(lines[0]!.includes(destination), `the error names ${destination}: ${r.stderr}`);
}

containerTest('a config that mounts something other than proc on or under /proc is refused', async (t) => {
  const dir = await s.hostDir(t);
  const cases: [string, ConfigPatch][] = [
    ['/proc', bindMount(dir, '/proc', 'rw')],
    ['/proc', mount({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' })],
    ['/proc', mount({ destination: '/proc', type: 'sysfs', source: 'sysfs' })],
    ['/proc/sys', bindMount('/proc/sys', '/proc/sys', 'rw')],
    ['/proc/sys', mount({ destination: '/proc/sys', type: 'tmpfs', source: 'tmpfs' })],
    ['/proc/1', bindMount('/proc/1', '/proc/1', 'ro')],
    ['/proc/sysrq-trigger', bindMount('/proc/sysrq-trigger', '/proc/sysrq-trigger', 'rw')],
  ];
  for (const [destination, patch] of cases) {
    const c = await s.container(t, patches(patch, shell(PROBE)));
    await refused(t, c, destination);
  }
});

containerTest('a mount whose destination leads to /proc through a symlink of the rootfs is refused', async (t) => {
  const dir = await s.hostDir(t);
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('cp', ['-a', fixtureRootfs(), rootfs]);
  symlinkSync('/proc', path.join(rootfs, 'myproc'));
  symlinkSync('../proc/sys', path.join(rootfs, 'mysys'));
  const source = path.join(dir, 'source');
  mkdirSync(source);
  for (const destination of ['/myproc', '/mysys']) {
    const c = await s.container(
      t,
      patches(bindMount(source, destination, 'rw'), shell(PROBE), (config) => {
        config.root = { path: rootfs, readonly: false };
      }),
    );
    await refused(t, c, destination);
  }
});

containerTest("binds runc allows on /proc still work: the lxcfs files and a procfs on /proc", async (t) => {
  const dir = await s.hostDir(t);
  const cpuinfo = path.join(dir, 'cpuinfo');
  writeFileSync(cpuinfo, 'processor : emulated\n');
  const c = await s.container(
    t,
    patches(
      (config) => {
        config.mounts = [
          ...(config.mounts ?? []),
          { destination: '/proc/cpuinfo', type: 'bind', source: cpuinfo, options: ['bind', 'ro'] },
          { destination: '/proc/sys/kernel/ns_last_pid', type: 'bind', source: cpuinfo, options: ['bind', 'ro'] },
        ];
      },
      shell('cat /proc/cpuinfo'),
    ),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'processor : emulated\n');
});

cliTest('tscontainer run -v onto /proc or /sys, or under them, is refused without --privileged', async (t) => {
  const dir = await cli.hostDir(t);
  for (const volume of ['/proc:/proc', '/proc:/proc/', `${dir}:/proc/sys`, '/sys:/sys', `${dir}:/sys/kernel`, `${dir}:/proc/1`]) {
    const c = await cli.container(t);
    const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-v', volume, 'sh', '-c', PROBE);
    t.is(r.code, 125, `${volume}: ${r.stdout}${r.stderr}`);
    t.notRegex(r.stdout, /HOST-PROCESSES|ran/);
    t.is(r.errorLines.length, 1, r.stderr);
    t.regex(r.stderr, /invalid volume .*: .*(\/proc|\/sys)/);
  }
});

cliTest('tscontainer run --privileged -v /proc:/proc is the host procfs, as runc allows', async (t) => {
  const c = await cli.container(t);
  const r = await c.run('--rm', '--privileged', '--rootfs', fixtureRootfs(), '-v', '/proc:/proc', 'sh', '-c', PROBE);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /HOST-PROCESSES/);
});
