// What the container sees of the machine: it is PID 1, has its own hostname and its own
// namespaces, and a network with nothing but a loopback that is up.
import { readlinkSync } from 'node:fs';
import { patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite } from '../helpers/suite.js';

const s = suite('isolation');
const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;

containerTest('the command is PID 1 in its own pid namespace', async (t) => {
  // A parent pid of 0: the parent is outside the namespace.
  const c = await s.container(t, shell('echo $$ $PPID'));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '1 0\n');
});

containerTest('the hostname comes from the config', async (t) => {
  const c = await s.container(
    t,
    patches((config) => {
      config.hostname = 'box-under-test';
    }, shell('hostname; cat /proc/sys/kernel/hostname')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'box-under-test\nbox-under-test\n');
});

containerTest('every namespace in the config is a new one, different from the host', async (t) => {
  const script = NAMESPACES.map((ns) => `echo ${ns} $(readlink /proc/self/ns/${ns})`).join('; ');
  const c = await s.container(t, shell(script));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  const inside = new Map(r.stdout.trim().split('\n').map((line) => line.split(' ') as [string, string]));
  for (const ns of NAMESPACES) {
    const host = readlinkSync(`/proc/self/ns/${ns}`);
    t.regex(inside.get(ns) ?? '', new RegExp(`^${ns}:\\[\\d+\\]$`), `${ns} inside`);
    t.not(inside.get(ns), host, `${ns} namespace is the host's`);
  }
});

containerTest('the network namespace has only the loopback interface, and it is up', async (t) => {
  const c = await s.container(t, shell('ip -o link; echo ---; cat /proc/net/dev'));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  const [links = '', dev = ''] = r.stdout.split('---\n');
  const linkLines = links.trim().split('\n');
  t.is(linkLines.length, 1, links);
  t.regex(linkLines[0] ?? '', /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  // /proc/net/dev: two header lines, then one line per interface.
  const interfaces = dev
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.trim().split(':')[0]);
  t.deepEqual(interfaces, ['lo']);
});
