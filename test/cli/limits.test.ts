// `tscontainer run --memory/--pids-limit/--cpus` as a user checks them: the limit is visible
// at the root of the container's own cgroup view, and the kernel enforces it — paired with
// the same workload run without the limit, so a pass means the limit stopped it. An
// out-of-memory kill exits 137 and the CLI says so in one line.
// Serial: the workloads fill memory and process tables on purpose.
import { cliSuite } from '../helpers/cli.js';
import { controller, limitFileInContainer, printCpuQuotaInContainer, requires, root } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { ALLOCATE_200MB, FIFTY_MIB, FORK_20, FORK_REFUSED } from '../helpers/workloads.js';

const s = cliSuite('cli-limits');
const memoryTest = requires(root, controller('memory'));
const pidsTest = requires(root, controller('pids'));
const cpuTest = requires(root, controller('cpu'));

memoryTest.serial('--memory 50M shows as 52428800 at the container cgroup root', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--memory', '50M', 'cat', limitFileInContainer.memory);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${FIFTY_MIB}\n`);
});

memoryTest.serial('allocating 200MB without --memory succeeds', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', ALLOCATE_200MB);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `allocated ${200 * 1024 * 1024}\n`);
});

memoryTest.serial('allocating 200MB under --memory 50M is killed: exit 137 and one line saying out of memory', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--memory', '50M', 'sh', '-c', ALLOCATE_200MB);
  t.is(r.code, 137, r.stdout + r.stderr);
  t.is(r.stdout, '');
  // The workload's own complaint (`tr: write error`) may come first; the CLI's line is last.
  t.is(r.errorLines.at(-1), `tscontainer: container ${c.id} was killed: out of memory (limit 50M)`);
  t.is(r.errorLines.filter((line) => line.startsWith('tscontainer:')).length, 1, r.stderr);
});

pidsTest.serial('--pids-limit 10 shows in pids.max and stops the 11th process', async (t) => {
  const c = await s.container(t);
  const r = await c.run(
    '--rm', '--rootfs', fixtureRootfs(), '--pids-limit', '10',
    'sh', '-c', `cat ${limitFileInContainer.pids}; ${FORK_20}`,
  );
  t.not(r.code, 0);
  t.is(r.stdout, '10\n');
  t.regex(r.stderr, FORK_REFUSED);
});

pidsTest.serial('without --pids-limit the limit is 2048 (podman\'s) and 20 processes start', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', `cat ${limitFileInContainer.pids}; ${FORK_20}`);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '2048\nstarted 20\n');
});

for (const unlimited of ['0', '-1']) {
  pidsTest.serial(`--pids-limit ${unlimited} leaves the container without a pids limit, as Docker and podman do`, async (t) => {
    const c = await s.container(t);
    const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--pids-limit', unlimited, 'cat', limitFileInContainer.pids);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, 'max\n');
  });
}

cpuTest.serial('--cpus 0.5 shows as quota 50000 per period 100000 in the cpu controller', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '--cpus', '0.5', 'sh', '-c', printCpuQuotaInContainer);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '50000 100000\n');
});
