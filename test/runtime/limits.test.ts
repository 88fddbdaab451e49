// Resource limits from linux.resources: visible at the root of the container's own cgroup
// view, and enforced by the kernel. Each limit is paired with the same workload run without
// it, so a pass means the limit stopped it, not that the workload was broken. And the
// container's processes, init and exec'd alike, are in its cgroup in every hierarchy.
// Serial: the workloads fill memory and process tables on purpose.
import { readFileSync } from 'node:fs';

import { memoryLimit, patches, pidsLimit, shell } from '../helpers/bundle.js';
import { containerTest, controller, limitFileInContainer, requires, root } from '../helpers/host.js';
import { suite } from '../helpers/suite.js';
import { ALLOCATE_200MB, FIFTY_MIB, FORK_20, FORK_REFUSED } from '../helpers/workloads.js';

const s = suite('limits');
const memoryTest = requires(root, controller('memory'));
const pidsTest = requires(root, controller('pids'));

memoryTest.serial('a 50M memory limit shows as 52428800 at the container cgroup root', async (t) => {
  const c = await s.container(t, patches(memoryLimit(FIFTY_MIB), shell(`cat ${limitFileInContainer.memory}`)));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${FIFTY_MIB}\n`);
});

memoryTest.serial('allocating 200MB without a memory limit succeeds', async (t) => {
  const c = await s.container(t, shell(ALLOCATE_200MB));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `allocated ${200 * 1024 * 1024}\n`);
});

memoryTest.serial('allocating 200MB under a 50M limit is OOM-killed: exit 137, oomKilled in the log', async (t) => {
  const c = await s.container(t, patches(memoryLimit(FIFTY_MIB), shell(ALLOCATE_200MB)));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 137, r.stdout + r.stderr);
  t.is(r.stdout, '');
  t.like((await c.log()).find((e) => e.msg === 'container exited'), {
    exitCode: null,
    signal: 'SIGKILL',
    oomKilled: true,
  });
});

pidsTest.serial('a pids limit of 10 shows in pids.max at the container cgroup root', async (t) => {
  const c = await s.container(t, patches(pidsLimit(10), shell(`cat ${limitFileInContainer.pids}`)));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '10\n');
});

pidsTest.serial('starting 20 processes without a pids limit succeeds', async (t) => {
  const c = await s.container(t, shell(FORK_20));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'started 20\n');
});

pidsTest.serial('under a pids limit of 10, fork fails before 20 processes start', async (t) => {
  const c = await s.container(t, patches(pidsLimit(10), shell(FORK_20)));
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.not(r.code, 0);
  t.is(r.stdout, '');
  t.regex(r.stderr, FORK_REFUSED);
});

/** `/proc/PID/cgroup` as the host sees it: each hierarchy's line, and the path in it. */
function cgroupsOf(pid: number | string): Map<string, string> {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  return new Map(lines.map((line) => [line.slice(0, line.lastIndexOf(':')), line.slice(line.lastIndexOf(':') + 1)]));
}

containerTest.serial("the init and an exec'd process are in the container's cgroup in every hierarchy, as the host sees them", async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const init = (await c.state())!.pid;
  const execPidFile = `${c.pidFile}.exec`;
  const e = await c.runtime('exec', '--detach', '--pid-file', execPidFile, c.id, 'sleep', '100');
  t.is(e.code, 0, e.stderr);
  const own = cgroupsOf('self');
  for (const [who, pid] of [['init', init], ['exec', readFileSync(execPidFile, 'utf8').trim()]] as const) {
    const theirs = cgroupsOf(pid);
    t.deepEqual([...theirs.keys()], [...own.keys()], `${who}: a line for every hierarchy`);
    for (const [hierarchy, path] of theirs) {
      t.true(path.endsWith(`/${c.id}`) || path.endsWith(`-${c.id}`), `${who} in ${hierarchy}: ${path}`);
      t.not(path, own.get(hierarchy), `${who} left the runtime's cgroup in ${hierarchy}`);
    }
  }
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});
