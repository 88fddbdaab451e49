// A container that is created but not started: its init waits for `start` with the runtime's
// privileges, and `exec` (as with runc) or a startContainer hook can already run a process
// next to it. Neither may reach the host through the init: no descriptor of it that leads
// out (its state directory, the runtime's log), no ptrace, no reading its memory, no
// copying its descriptors (the init is non-dumpable until its execve).
//
// With TSCONTAINER_RUNTIME_PATH=/usr/sbin/runc the same attacks run against runc: its init
// holds nothing that leads out either, but it is dumpable, so the ptrace, memory and
// pidfd_getfd attempts succeed there (the last test fails with runc, by design).
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { bindMount, patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite } from '../helpers/suite.js';
import { buildProbe } from '../helpers/users.js';

const s = suite('security-created');

/**
 * The attack, as a shell script run inside the container: every way through pid 1's /proc
 * entries to a marker file that exists only on the host (beside the state root, and at
 * `hostPath` from the host's `/`), then the probe against pid 1. Writes `reached ...` for
 * every way that got there, and the probe's lines, to `/sync/NAME`.
 */
function attack(name: string, marker: string, hostPath: string): string {
  const out = `/sync/${name}`;
  return [
    `: > ${out}`,
    'for fd in $(ls /proc/1/fd 2>/dev/null); do',
    `  for up in .. ../.. ../../.. ../../../.. ../../../../.. ../../../../../..; do`,
    `    [ -e /proc/1/fd/$fd/$up/${marker} ] && echo "reached ${marker} through /proc/1/fd/$fd/$up" >> ${out}`,
    '  done',
    'done',
    `for link in root cwd; do [ -e /proc/1/$link${hostPath} ] && echo "reached ${hostPath} through /proc/1/$link" >> ${out}; done`,
    `[ -e /proc/1/root/proc/1/root${hostPath} ] && echo "reached ${hostPath} through /proc/1/root twice" >> ${out}`,
    `/sync/peek 1 >> ${out}`,
    // The attacker's own table: what it was handed.
    `ls /proc/self/fd | tr "\\n" " " | sed "s/^/own-fds /" >> ${out}; echo >> ${out}`,
    'true',
  ].join('\n');
}

interface Findings {
  reached: string[];
  probe: Map<string, string>;
  ownFds: number[];
}

async function findings(file: string): Promise<Findings> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
  const probe = new Map<string, string>();
  for (const line of lines) {
    const m = /^(ptrace-attach|process_vm_readv|proc-mem|pidfd_getfd) (.*)$/.exec(line);
    if (m) probe.set(m[1]!, m[2]!);
  }
  const own = lines.find((l) => l.startsWith('own-fds ')) ?? 'own-fds';
  return {
    reached: lines.filter((l) => l.startsWith('reached ')),
    probe,
    ownFds: own
      .slice('own-fds '.length)
      .split(' ')
      .filter(Boolean)
      .map(Number),
  };
}

/**
 * A marker file on the host where the init's state directory leads (beside the state root
 * and one level up) and in `dir`, removed after the test.
 */
async function plantMarkers(t: ExecutionContext, dir: string): Promise<{ marker: string; hostPath: string }> {
  const marker = `marker-${randomBytes(6).toString('hex')}`;
  const places = [path.dirname(s.stateRoot), path.dirname(path.dirname(s.stateRoot)), dir].map((d) => path.join(d, marker));
  t.teardown(() => Promise.all(places.map((p) => rm(p, { force: true }))).then(() => undefined));
  for (const place of places) await writeFile(place, 'host\n');
  return { marker, hostPath: places[2]! };
}

containerTest('exec into a created container reaches nothing of the host through its waiting init', async (t) => {
  const sync = await s.hostDir(t);
  buildProbe('peek', sync);
  const { marker, hostPath } = await plantMarkers(t, sync);
  const c = await s.container(t, patches(bindMount(sync, '/sync', 'rw'), shell('sleep 100')));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  const r = await c.runtime('exec', c.id, 'sh', '-c', attack('exec', marker, hostPath));
  t.is(r.code, 0, r.stderr);
  const found = await findings(path.join(sync, 'exec'));
  t.log([...found.probe].map(([k, v]) => `${k}: ${v}`).join('; '));
  t.deepEqual(found.reached, [], 'no /proc/1 path leads to the host');
  t.deepEqual(
    found.ownFds.filter((fd) => fd > 2),
    [3],
    'the exec\'d process has its stdio and the directory its ls reads, nothing else',
  );
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('a startContainer hook reaches nothing of the host through the init it runs beside', async (t) => {
  const sync = await s.hostDir(t);
  buildProbe('peek', sync);
  const { marker, hostPath } = await plantMarkers(t, sync);
  const c = await s.container(
    t,
    patches(bindMount(sync, '/sync', 'rw'), shell('true'), (config) => {
      config.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', attack('hook', marker, hostPath)] }] };
    }),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  const found = await findings(path.join(sync, 'hook'));
  t.log([...found.probe].map(([k, v]) => `${k}: ${v}`).join('; '));
  t.deepEqual(found.reached, [], 'no /proc/1 path leads to the host');
  for (const attempt of ['ptrace-attach', 'process_vm_readv', 'proc-mem', 'pidfd_getfd']) {
    t.regex(found.probe.get(attempt) ?? 'missing', /^denied /, `${attempt} on the init from its startContainer hook`);
  }
});

containerTest('the waiting init cannot be ptraced, read or have its descriptors copied by an exec', async (t) => {
  const sync = await s.hostDir(t);
  buildProbe('peek', sync);
  const c = await s.container(t, patches(bindMount(sync, '/sync', 'rw'), shell('sleep 100')));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  // Ten attempts each: the init's state does not change while it waits, but an attempt
  // that raced its setup would show as a mix of results.
  for (let i = 0; i < 10; i++) {
    const r = await c.runtime('exec', c.id, '/sync/peek', '1');
    t.is(r.code, 0, r.stderr);
    for (const line of r.stdout.trim().split('\n')) t.regex(line, / denied /, `attempt ${i + 1}: ${line}`);
  }
  // Once started, the command is an ordinary process again (dumpable, as with runc).
  t.is((await c.runtime('start', c.id)).code, 0);
  const after = await c.runtime('exec', c.id, '/sync/peek', '1');
  t.regex(after.stdout, /^proc-mem ok$/m, after.stdout);
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});
