// A config's sysctls never reach the host (issue 11, item 5). Only sysctls that belong to a
// namespace of the container's own are accepted, as runc's validator decides: kernel.msg*,
// kernel.sem, kernel.shm* and fs.mqueue.* with an IPC namespace, net.* with a network
// namespace that is not the host's, kernel.domainname with a UTS namespace, user.* with a user
// namespace. Everything else (fs.file-max, kernel.core_pattern, ...) is refused with one
// sentence naming the key, before anything is created, and the host keeps its value. Keys are
// written through a descriptor confined to the container's /proc/sys, so no `..` or symlink
// in a key leads elsewhere.
import type { ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { patches, shell, withoutNamespace, type ConfigPatch } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('security-sysctls');

function sysctls(values: Record<string, string>): ConfigPatch {
  return (config) => {
    config.linux!['sysctl'] = values;
  };
}

function hostValue(key: string): string {
  return readFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, 'utf8').trim();
}

/**
 * The host's value of `key` now, restored after the test should it change (it does on code
 * that writes the host's sysctls: the test must not leave the machine changed).
 */
function guard(t: ExecutionContext, key: string): string {
  const before = hostValue(key);
  t.teardown(() => {
    if (hostValue(key) !== before) writeFileSync(`/proc/sys/${key.replaceAll('.', '/')}`, before);
  });
  return before;
}

async function refused(t: ExecutionContext, c: Container, key: string): Promise<void> {
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.not(r.code, 0, `the container ran: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, r.stderr);
  t.true(lines[0]!.includes(`\`${key}\``), `the error names ${key}: ${r.stderr}`);
  t.deepEqual(c.leftovers(), []);
}

containerTest('sysctls that are not namespaced (fs.file-max, kernel.core_pattern) are refused and the host keeps its values', async (t) => {
  const fileMax = guard(t, 'fs.file-max');
  const corePattern = guard(t, 'kernel.core_pattern');
  const cases: [string, string][] = [
    ['fs.file-max', String(BigInt(fileMax) - 1n)],
    ['kernel.core_pattern', 'core.tscontainer-test'],
    ['kernel/core_pattern', 'core.tscontainer-test'],
    ['vm.swappiness', hostValue('vm.swappiness')],
    ['kernel.hostname', 'from-a-sysctl'],
  ];
  for (const [key, value] of cases) {
    const c = await s.container(t, patches(sysctls({ [key]: value }), shell('true')));
    await refused(t, c, key);
  }
  t.is(hostValue('fs.file-max'), fileMax);
  t.is(hostValue('kernel.core_pattern'), corePattern);
});

containerTest('net.* sysctls are refused for a container on the host network, new or joined by path', async (t) => {
  const forward = guard(t, 'net.ipv4.ip_forward');
  // The host's own value: refused all the same, and harmless on code that writes it.
  const shared = await s.container(t, patches(withoutNamespace('network'), sysctls({ 'net.ipv4.ip_forward': forward }), shell('true')));
  await refused(t, shared, 'net.ipv4.ip_forward');
  const joined = await s.container(
    t,
    patches(
      (config) => {
        const namespaces = config.linux!.namespaces!.filter((ns) => ns.type !== 'network');
        config.linux!.namespaces = [...namespaces, { type: 'network', path: `/proc/${process.pid}/ns/net` }];
      },
      sysctls({ 'net.ipv4.ip_forward': forward }),
      shell('true'),
    ),
  );
  await refused(t, joined, 'net.ipv4.ip_forward');
  const ipc = await s.container(t, patches(withoutNamespace('ipc'), sysctls({ 'kernel.shmmax': hostValue('kernel.shmmax') }), shell('true')));
  await refused(t, ipc, 'kernel.shmmax');
  t.is(hostValue('net.ipv4.ip_forward'), forward);
});

containerTest('sysctl keys that climb out of /proc/sys are refused', async (t) => {
  // `/` in a dotted key stands for a `.` (sysctl.d(5)): these spell `..` components that
  // would lead from /proc/sys to /proc/sysrq-trigger ("h" only prints help there).
  for (const key of ['../../..', 'net.//.//.sysrq-trigger', 'net/../../sysrq-trigger', 'net.ipv4..ip_forward', 'net.']) {
    const c = await s.container(t, patches(sysctls({ [key]: 'h' }), shell('true')));
    await refused(t, c, key);
  }
});

containerTest('namespaced sysctls are written, in dotted and slashed form', async (t) => {
  const c = await s.container(
    t,
    patches(
      sysctls({
        'net.ipv4.ip_unprivileged_port_start': '80',
        'net/ipv4/ping_group_range': '0 0',
        'kernel.shm_rmid_forced': '1',
        'fs.mqueue.msg_max': '20',
      }),
      shell(
        'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range /proc/sys/kernel/shm_rmid_forced /proc/sys/fs/mqueue/msg_max',
      ),
    ),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.replaceAll('\t', ' '), '80\n0 0\n1\n20\n');
});
