// `import { run } from 'tscontainer'` as a Node program uses it: the promise resolves to how
// the command ended (a non-zero exit is a result, not a throw), the options shape the
// container as the CLI's flags do, `stdio: 'pipe'` gives streams, and `remove: false` keeps
// the stopped container, with its exit status, for list()/get() until it is deleted.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { apiSuite } from '../helpers/api.js';
import { waitUntil } from '../helpers/user-suite.js';
import { containerTest } from '../helpers/host.js';
import { repoRoot } from '../helpers/paths.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { get, list } from '../../ts/index.js';

const s = apiSuite('api-run');
const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'] as const;
const sh = (script: string) => ['sh', '-c', script];
const done = { exitCode: 0, signal: null, oomKilled: false };

containerTest('a command that exits 7 resolves to exactly { exitCode: 7, signal: null, oomKilled: false }', async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: sh('exit 7'), rootfs: fixtureRootfs() }), {
    exitCode: 7,
    signal: null,
    oomKilled: false,
  });
});

containerTest('the command is PID 1 in its own namespaces (cgroup, ipc, mnt, net, pid, uts)', async (t) => {
  const c = await s.container(t);
  const script = ['echo $$', ...NAMESPACES.map((ns) => `readlink /proc/self/ns/${ns}`)].join('; ');
  t.deepEqual(await c.run({ command: sh(script), rootfs: fixtureRootfs() }), done, c.stderr());
  const [pid, ...inside] = c.stdout().trim().split('\n');
  t.is(pid, '1');
  NAMESPACES.forEach((ns, i) => t.not(inside[i], readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace`));
  t.is(inside.length, NAMESPACES.length);
});

containerTest('without a name the id is 12 hex characters, and it is the hostname', async (t) => {
  const c = await s.container(t);
  const running = c.run({ command: ['hostname'], rootfs: fixtureRootfs() }, { generatedId: true });
  t.regex(running.id, /^[0-9a-f]{12}$/);
  t.deepEqual(await running, done, c.stderr());
  t.is(c.stdout(), `${running.id}\n`);
});

containerTest('hostname sets the hostname', async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: ['hostname'], rootfs: fixtureRootfs(), hostname: 'api.example' }), done);
  t.is(c.stdout(), 'api.example\n');
});

containerTest("stdio 'pipe': the command's stdout and stderr are streams, and stdin is written with interactive", async (t) => {
  const c = await s.container(t);
  const running = c.run({
    command: sh('echo started; cat; echo "to stderr" >&2'),
    rootfs: fixtureRootfs(),
    interactive: true,
  });
  t.truthy(running.stdin);
  let stdout = '';
  running.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  // Written only once the command is reading: the stream is live, not a buffer given at start.
  t.true(await waitUntil(() => stdout === 'started\n', 60_000), stdout);
  running.stdin?.end('from node\n');
  t.deepEqual(await running, done, c.stderr());
  t.is(stdout, 'started\nfrom node\n');
  t.is(c.stderr(), 'to stderr\n');
});

containerTest('without interactive the command gets no stdin', async (t) => {
  const c = await s.container(t);
  const running = c.run({ command: ['cat'], rootfs: fixtureRootfs() });
  t.is(running.stdin, null);
  t.deepEqual(await running, done);
  t.is(c.stdout(), '');
});

containerTest('env as an object, and as a list where a bare NAME copies it from this process', async (t) => {
  process.env['TSC_TEST_API_COPIED'] = 'from node';
  t.teardown(() => delete process.env['TSC_TEST_API_COPIED']);
  const script = 'echo "$GREETING|$TSC_TEST_API_COPIED|${TSC_TEST_NEVER_SET-unset}"';
  const asObject = await s.container(t);
  t.deepEqual(await asObject.run({ command: sh(script), rootfs: fixtureRootfs(), env: { GREETING: 'hello world' } }), done);
  t.is(asObject.stdout(), 'hello world||unset\n');
  const asList = await s.container(t);
  const env = ['GREETING=hi', 'TSC_TEST_API_COPIED', 'TSC_TEST_NEVER_SET'];
  t.deepEqual(await asList.run({ command: sh(script), rootfs: fixtureRootfs(), env }), done);
  t.is(asList.stdout(), 'hi|from node|unset\n');
});

containerTest('workdir and user (a uid, or a name from the rootfs)', async (t) => {
  const script = 'pwd; id -u; id -un';
  const byUid = await s.container(t);
  t.deepEqual(await byUid.run({ command: sh(script), rootfs: fixtureRootfs(), workdir: '/home', user: 1000 }), done);
  t.is(byUid.stdout(), '/home\n1000\ntester\n');
  const byName = await s.container(t);
  t.deepEqual(await byName.run({ command: sh(script), rootfs: fixtureRootfs(), user: 'tester' }), done);
  t.is(byName.stdout(), '/\n1000\ntester\n');
});

containerTest("kill(signal) reaches the container's process", async (t) => {
  const c = await s.container(t);
  const running = c.run({
    command: sh('trap "exit 42" HUP; echo ready; while :; do sleep 0.1; done'),
    rootfs: fixtureRootfs(),
  });
  t.true(await waitUntil(() => c.stdout() === 'ready\n', 60_000), c.stdout());
  t.true(running.kill('SIGHUP'));
  t.deepEqual(await running, { exitCode: 42, signal: null, oomKilled: false });
});

containerTest("a container killed with SIGKILL from the host resolves to { exitCode: 137, signal: 'SIGKILL' }", async (t) => {
  const c = await s.container(t);
  const running = c.run({ command: sh('echo ready; exec sleep 1000'), rootfs: fixtureRootfs() });
  t.true(await waitUntil(() => c.stdout() === 'ready\n', 60_000), c.stdout());
  const listed = (await list({ root: s.stateRoot })).find((container) => container.id === c.id);
  t.like(listed, { status: 'running' });
  process.kill(listed?.pid ?? 0, 'SIGKILL');
  t.deepEqual(await running, { exitCode: 137, signal: 'SIGKILL', oomKilled: false });
});

containerTest('volumes bind host directories, read-only ones cannot be written', async (t) => {
  const ro = await s.hostDir(t);
  const rw = await s.hostDir(t);
  await writeFile(path.join(ro, 'from-host'), 'written by the host\n');
  const c = await s.container(t);
  const result = await c.run({
    command: sh(
      [
        'cat /mnt/from-host',
        'echo "written by the container" > /var/from-container',
        'touch /mnt/new 2>&1; echo "ro status $?"',
      ].join('; '),
    ),
    rootfs: fixtureRootfs(),
    volumes: [{ source: ro, target: '/mnt', readOnly: true }, `${rw}:/var`],
  });
  t.deepEqual(result, done, c.stderr());
  t.regex(c.stdout(), /^written by the host\n.*Read-only file system\nro status 1\n$/);
  t.is(readFileSync(path.join(rw, 'from-container'), 'utf8'), 'written by the container\n');
  t.deepEqual(readdirSync(ro), ['from-host']);
});

containerTest("network 'none' has only lo, up; 'host' shares the host's network namespace", async (t) => {
  const none = await s.container(t);
  t.deepEqual(await none.run({ command: ['ip', '-o', 'link'], rootfs: fixtureRootfs(), network: 'none' }), done);
  t.regex(none.stdout(), /^1: lo: <[^>]*\bUP\b[^>]*>[^\n]*\n$/);
  const host = await s.container(t);
  const script = 'readlink /proc/self/ns/net; ls /sys/class/net';
  t.deepEqual(await host.run({ command: sh(script), rootfs: fixtureRootfs(), network: 'host' }), done);
  const [ns, ...interfaces] = host.stdout().trim().split('\n');
  t.is(ns, readlinkSync('/proc/self/ns/net'));
  t.deepEqual(interfaces, readdirSync('/sys/class/net').sort());
});

containerTest('readOnly makes the rootfs read-only', async (t) => {
  const rootfs = await s.privateRootfs(t);
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: sh('touch /probe 2>&1; echo "status $?"'), rootfs, readOnly: true }), done);
  t.regex(c.stdout(), /Read-only file system\nstatus 1\n$/);
  t.false(existsSync(path.join(rootfs, 'probe')));
});

containerTest("without rootfs the host's root is read-only, with the container's own /tmp and /proc", async (t) => {
  const c = await s.container(t);
  const probe = `${c.id}-probe`;
  const script = [
    `touch /etc/${probe} ${repoRoot}/${probe} 2>&1`,
    'echo "tmp: $(ls -A /tmp | wc -l)"',
    'echo $$',
  ].join('; ');
  t.deepEqual(await c.run({ command: sh(script) }), done, c.stderr());
  const lines = c.stdout().trim().split('\n');
  t.regex(lines[0] ?? '', /\/etc\/.*Read-only file system/);
  t.regex(lines[1] ?? '', /Read-only file system/);
  t.deepEqual(lines.slice(2), ['tmp: 0', '1']);
  t.false(existsSync(`/etc/${probe}`));
  t.false(existsSync(path.join(repoRoot, probe)));
});

containerTest('remove: false keeps the stopped container, with its exit status, for list() until delete()', async (t) => {
  const c = await s.container(t);
  t.deepEqual(await c.run({ command: sh('exit 4'), rootfs: fixtureRootfs(), remove: false }), {
    exitCode: 4,
    signal: null,
    oomKilled: false,
  });
  const mine = async (all: boolean) =>
    (await list({ root: s.stateRoot, all })).filter((container) => container.id === c.id);
  t.like(await mine(true), [
    {
      id: c.id,
      status: 'stopped',
      pid: 0,
      rootfs: fixtureRootfs(),
      exit: { exitCode: 4, signal: null, oomKilled: false },
      command: ['sh', '-c', 'exit 4'],
    },
  ]);
  t.deepEqual(await mine(false), []);
  await (await get(c.id, { root: s.stateRoot })).delete();
  t.deepEqual(await mine(true), []);
  t.false(existsSync(path.join(s.stateRoot, c.id)));
});
