// A config's linux.cgroupsPath may name a cgroup that is not the container's: one holding
// other processes, `/`, or (relative) the runtime's own. Its limits, freezing and
// `delete` would then reach those processes: create must refuse such a cgroup (in every
// hierarchy), and delete must kill only what the container made.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { isAlive } from '../helpers/leftovers.js';
import { suite } from '../helpers/suite.js';

const s = suite('security-cgroups');

/** The mount point of every cgroup hierarchy (v1 controllers, the cgroup2 mount). */
function hierarchies(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => {
      const type = f[f.indexOf('-') + 1];
      return (type === 'cgroup' || type === 'cgroup2') && (f[4] ?? '').startsWith('/sys/fs/cgroup');
    })
    .map((f) => f[4]!);
}

/** Creates cgroup `name` in every hierarchy; removed (once empty) after the test. */
function makeCgroup(t: ExecutionContext, name: string): string[] {
  const dirs = hierarchies().map((h) => path.join(h, name));
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    // A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (existsSync(path.join(dir, file))) writeFileSync(path.join(dir, file), readFileSync(path.join(dir, '..', file)));
    }
  }
  t.teardown(() => {
    for (const dir of [...dirs].reverse()) if (existsSync(dir)) rmdirSync(dir);
  });
  return dirs;
}

/** A `sleep` of the test's own, killed after it. */
function sleeper(t: ExecutionContext): ChildProcess {
  const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    }
  });
  return child;
}

function moveInto(dir: string, pid: number): void {
  writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
}

/** Moves `pid` back to the root cgroup of `dir`'s hierarchy, so `dir` can be removed. */
function moveOut(dir: string, pid: number): void {
  const hierarchy = hierarchies().find((h) => dir.startsWith(`${h}/`));
  if (hierarchy !== undefined) writeFileSync(path.join(hierarchy, 'cgroup.procs'), String(pid));
}

containerTest.serial('a cgroupsPath that holds processes, in any one hierarchy, is refused at create and they live on', async (t) => {
  const name = `tscontainer-test-occupied-${process.pid}`;
  const dirs = makeCgroup(t, name);
  const sleep = sleeper(t);
  for (const dir of dirs) {
    moveInto(dir, sleep.pid!);
    const c = await s.container(
      t,
      patches(shell('sleep 100'), (config) => {
        config.linux!.cgroupsPath = `/${name}`;
      }),
    );
    const r = await c.runtime('run', '--bundle', c.bundle, c.id);
    t.not(r.code, 0, `${dir}: refused`);
    t.regex(
      r.stderr,
      new RegExp(`container's cgroup /${name} is not empty: 1 process\\(es\\) found in ${dir}; a container needs a cgroup of its own`),
      dir,
    );
    t.true(isAlive(sleep.pid!), `${dir}: the process in it lives on`);
    t.true(dirs.every((d) => existsSync(d)), `${dir}: no directory of that cgroup was removed`);
    moveOut(dir, sleep.pid!);
  }
});

containerTest.serial("the root cgroup and the runtime's own (`/`, `.`) are refused at create", async (t) => {
  // (`..` and the like never get this far: the config's validation refuses them.)
  for (const cgroupsPath of ['/', '.']) {
    const c = await s.container(
      t,
      patches(shell('true'), (config) => {
        config.linux!.cgroupsPath = cgroupsPath;
      }),
    );
    const r = await c.runtime('run', '--bundle', c.bundle, c.id);
    t.not(r.code, 0, cgroupsPath);
    t.regex(r.stderr, /container's cgroup .* is not empty: \d+ process\(es\) found in /, cgroupsPath);
  }
});

containerTest.serial('delete kills only the container: a process in a sibling cgroup lives on', async (t) => {
  const parent = `tscontainer-test-parent-${process.pid}`;
  makeCgroup(t, parent);
  const siblings = makeCgroup(t, `${parent}/sibling`);
  const sleep = sleeper(t);
  for (const dir of siblings) moveInto(dir, sleep.pid!);
  t.teardown(() => {
    for (const dir of siblings) if (isAlive(sleep.pid!)) moveOut(dir, sleep.pid!);
  });
  for (const sharedPidNamespace of [false, true]) {
    const c = await s.container(
      t,
      patches(shell('sleep 100 & sleep 100'), (config) => {
        config.linux!.cgroupsPath = `/${parent}/ctr`;
        if (sharedPidNamespace) config.linux!.namespaces = config.linux!.namespaces!.filter((n) => n.type !== 'pid');
      }),
    );
    t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
    t.is((await c.runtime('delete', '--force', c.id)).code, 0);
    t.true(isAlive(sleep.pid!), `the sibling's process lives on (${sharedPidNamespace ? 'host' : 'own'} pid namespace)`);
    t.deepEqual(c.leftovers(), [], 'the container itself is gone');
  }
});
