// `run({ memory, pidsLimit, cpus })`: the limits are visible at the root of the container's
// cgroup view and enforced; an out-of-memory kill resolves with `oomKilled: true`.
// Serial: the workloads fill memory and process tables on purpose. (The CLI tests pair each
// limit with the workload run without it.)
import { apiSuite } from '../helpers/api.js';
import { controller, limitFileInContainer, printCpuQuotaInContainer, requires, root } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { ALLOCATE_200MB, FIFTY_MIB, FORK_20, FORK_REFUSED } from '../helpers/workloads.js';

const s = apiSuite('api-limits');
const memoryTest = requires(root, controller('memory'));
const pidsTest = requires(root, controller('pids'));
const cpuTest = requires(root, controller('cpu'));
const done = { exitCode: 0, signal: null, oomKilled: false };

memoryTest.serial("memory '50M' shows as 52428800 at the container cgroup root", async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: ['cat', limitFileInContainer.memory], rootfs: fixtureRootfs(), memory: '50M' }), done);
  t.is(c.stdout(), `${FIFTY_MIB}\n`);
});

memoryTest.serial("allocating 200MB under memory '50M' resolves to { exitCode: 137, signal: 'SIGKILL', oomKilled: true }", async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: ['sh', '-c', ALLOCATE_200MB], rootfs: fixtureRootfs(), memory: '50M' }), {
    exitCode: 137,
    signal: 'SIGKILL',
    oomKilled: true,
  });
  t.is(c.stdout(), '');
});

pidsTest.serial('pidsLimit 10 shows in pids.max and stops the 11th process', async (t) => {
  const c = await s.container(t);
  const result = await c.run({
    command: ['sh', '-c', `cat ${limitFileInContainer.pids}; ${FORK_20}`],
    rootfs: fixtureRootfs(),
    pidsLimit: 10,
  });
  t.not(result.exitCode, 0);
  t.is(c.stdout(), '10\n');
  t.regex(c.stderr(), FORK_REFUSED);
});

cpuTest.serial("cpus 0.5 shows as quota 50000 per period 100000", async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: ['sh', '-c', printCpuQuotaInContainer], rootfs: fixtureRootfs(), cpus: 0.5 }), done);
  t.is(c.stdout(), '50000 100000\n');
});
