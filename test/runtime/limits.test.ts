// Resource limits from linux.resources: visible at the root of the container's own cgroup
// view, and enforced by the kernel. Each limit is paired with the same workload run without
// it, so a pass means the limit stopped it, not that the workload was broken.
// Serial: the workloads fill memory and process tables on purpose.
import { memoryLimit, patches, pidsLimit, shell } from '../helpers/bundle.js';
import { controller, limitFileInContainer, requires, root } from '../helpers/host.js';
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
