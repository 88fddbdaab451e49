// `tscontainer run` as a user drives the container's process: its exit status comes back as
// the CLI's, -e/-w/-u shape it, stdin reaches it with -i, signals sent to the CLI reach it,
// -it gives it a real terminal, and without --rm the stopped container is kept for
// `tscontainer ps -a` until `tscontainer rm`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { CLI, cliSuite, staleBuild } from '../helpers/cli.js';
import { execute } from '../helpers/exec.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';

const s = cliSuite('cli-process');
const terminalTest = requires(root, [
  spawnSync('script', ['--version']).status === 0,
  'no script(1) (util-linux) to give the CLI a terminal',
]);

/** Waits for "ready", then loops until a signal ends it: `exit 42` when `signal` arrives. */
function trapping(signal: string): string[] {
  return ['sh', '-c', `trap "exit 42" ${signal}; echo ready; while :; do sleep 0.1; done`];
}

interface Listed {
  id: string;
  pid: number;
  status: string;
}

test('the built CLI (dist/) is up to date with ts/', (t) => {
  t.is(staleBuild(), undefined);
});

for (const code of [0, 3]) {
  containerTest(`the CLI exits ${code} when the command exits ${code}`, async (t) => {
    const c = await s.container(t);
    const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', `exit ${code}`);
    t.is(r.code, code, r.stderr);
    t.is(r.stderr, '');
  });
}

containerTest("the CLI exits 137 when the container's process is killed with SIGKILL from the host", async (t) => {
  const c = await s.container(t);
  const running = c.start('--rm', '--rootfs', fixtureRootfs(), 'sh', '-c', 'echo ready; exec sleep 1000');
  await running.waitForStdout(/^ready\n/);
  const ps = await c.cli('ps', '--json');
  t.is(ps.code, 0, ps.stderr);
  const listed = (JSON.parse(ps.stdout) as Listed[]).find((container) => container.id === c.id);
  t.like(listed, { status: 'running' });
  t.true((listed?.pid ?? 0) > 1);
  process.kill(listed?.pid ?? 0, 'SIGKILL');
  const r = await running.exited;
  t.is(r.code, 137, r.stderr);
  t.is(r.stderr, '', 'a kill is not reported as anything else (no out-of-memory line)');
});

containerTest('-e sets variables, and -e NAME copies NAME from the caller (an unset one stays unset)', async (t) => {
  const c = await s.container(t);
  const r = await c.runWith(
    { env: { TSC_TEST_COPIED: 'from the caller' } },
    '--rm', '--rootfs', fixtureRootfs(),
    '-e', 'GREETING=hello world', '-e', 'TSC_TEST_COPIED', '-e', 'TSC_TEST_NEVER_SET',
    'sh', '-c', 'echo "$GREETING|$TSC_TEST_COPIED|${TSC_TEST_NEVER_SET-unset}"',
  );
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'hello world|from the caller|unset\n');
});

containerTest('-w sets the working directory', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-w', '/etc', 'sh', '-c', 'pwd; ls passwd');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '/etc\npasswd\n');
});

containerTest('-u 1000 runs the command as uid 1000', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-u', '1000', 'id', '-u');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '1000\n');
});

containerTest("-u NAME looks the user up in the rootfs's /etc/passwd", async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), '-u', 'tester', 'sh', '-c', 'id -u; id -un; echo $HOME');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '1000\ntester\n/home/tester\n');
});

containerTest('stdin piped into the CLI reaches the command with -i', async (t) => {
  const c = await s.container(t);
  const r = await c.runWith({ input: 'hello from stdin\nsecond line\n' }, '--rm', '-i', '--rootfs', fixtureRootfs(), 'cat');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'hello from stdin\nsecond line\n');
});

containerTest('without -i the command gets no stdin', async (t) => {
  const c = await s.container(t);
  const r = await c.runWith({ input: 'not for the container\n' }, '--rm', '--rootfs', fixtureRootfs(), 'cat');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
});

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  containerTest(`${signal} sent to the tscontainer process reaches the container`, async (t) => {
    const c = await s.container(t);
    const running = c.start('--rm', '--rootfs', fixtureRootfs(), ...trapping(signal.slice(3)));
    await running.waitForStdout(/^ready\n/);
    running.signal(signal);
    const r = await running.exited;
    t.is(r.code, 42, r.stderr);
    t.is(r.signal, null);
    t.is(r.stdout, 'ready\n');
  });
}

terminalTest('-it gives an interactive shell on a real terminal of the caller\'s window size', async (t) => {
  const c = await s.container(t);
  const r = await c.runInTerminal(
    { rows: 33, cols: 101, input: 'stty size; tty; echo "TERM=$TERM"; exit 3\n' },
    '--rm', '--rootfs', fixtureRootfs(), '-it', 'sh',
  );
  t.is(r.code, 3, r.stdout + r.stderr);
  t.regex(r.stdout, /^33 101\r$/m);
  t.regex(r.stdout, /^\/dev\/pts\/\d+\r$/m);
  t.regex(r.stdout, /^TERM=xterm\r$/m);
});

containerTest('without --rm the stopped container is kept: ps -a lists it until rm removes it', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rootfs', fixtureRootfs(), 'sh', '-c', 'exit 4');
  t.is(r.code, 4, r.stderr);
  t.true(existsSync(path.join(s.stateRoot, c.id)), 'the state entry is kept');

  const listed = async (...flags: string[]) => {
    const ps = await c.cli('ps', ...flags, '--json');
    t.is(ps.code, 0, ps.stderr);
    return (JSON.parse(ps.stdout) as Listed[]).filter((container) => container.id === c.id);
  };
  t.like(await listed('-a'), [{ id: c.id, status: 'stopped', pid: 0 }]);
  t.deepEqual(await listed(), [], 'ps without -a shows no stopped container');
  const table = await c.cli('ps', '-a');
  t.regex(table.stdout, new RegExp(`^${c.id}\\s+"sh -c exit 4"\\s+.+ ago\\s+Exited \\(4\\) .+ ago\\s+-$`, 'm'));

  const rm = await c.cli('rm', c.id);
  t.is(rm.code, 0, rm.stderr);
  t.is(rm.stdout, `${c.id}\n`);
  t.deepEqual(await listed('-a'), []);
  t.false(existsSync(path.join(s.stateRoot, c.id)));

  const again = await c.cli('rm', c.id);
  t.is(again.code, 1);
  t.deepEqual(again.errorLines, [`tscontainer: container \`${c.id}\` does not exist`]);
});

containerTest('with --rm the stopped container is gone at once', async (t) => {
  const c = await s.container(t);
  const r = await c.run('--rm', '--rootfs', fixtureRootfs(), 'true');
  t.is(r.code, 0, r.stderr);
  t.false(existsSync(path.join(s.stateRoot, c.id)));
  const ps = await c.cli('ps', '-a', '--json');
  t.false((JSON.parse(ps.stdout) as Listed[]).some((container) => container.id === c.id));
});

containerTest('run starts a container without loading oclif, whatever form its flags take; a line left to oclif loads it', async (t) => {
  const c = await s.container(t);
  // Preloaded into the CLI: says on stderr, as it exits, whether any oclif module was loaded.
  const dir = mkdtempSync(path.join(tmpdir(), 'tsc-oclif-probe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probe = path.join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    "process.on('exit', () => { if (Object.keys(require.cache).some((m) => m.includes('/@oclif/'))) process.stderr.write('oclif loaded\\n'); });",
  );
  const env = { NODE_OPTIONS: `--require ${probe}` };
  const fast = await c.runWith({ env }, '--rm', '--rootfs', fixtureRootfs(), '-eA=1', '--env', 'B=2', '-w=/tmp', '--pids-limit', '-1', '-i', 'sh', '-c', 'echo $A$B; pwd');
  t.is(fast.code, 0, fast.stderr);
  t.is(fast.stdout, '12\n/tmp\n');
  t.is(fast.stderr, '', 'no oclif module');
  // A mixed short group is left to oclif, which runs it the same way.
  const slow = await c.runWith({ env }, '--rm', '--rootfs', fixtureRootfs(), '-ie', 'A=1', 'sh', '-c', 'echo $A');
  t.is(slow.code, 0, slow.stderr);
  t.is(slow.stdout, '1\n');
  t.is(slow.stderr, 'oclif loaded\n', 'the probe sees oclif when it is loaded');
});

containerTest('Node starts without reading NODE_EXTRA_CA_CERTS, and -e NODE_EXTRA_CA_CERTS still copies the caller\'s value', async (t) => {
  const c = await s.container(t);
  // Node reads the file at start-up, and warns when it cannot: a missing file shows whether it did.
  const missing = path.join(c.tmpdir, 'no-such-bundle.pem');
  const env = { NODE_EXTRA_CA_CERTS: missing };
  const quiet = await c.runWith({ env }, '--rm', '--rootfs', fixtureRootfs(), '-e', 'NODE_EXTRA_CA_CERTS', 'sh', '-c', 'echo "$NODE_EXTRA_CA_CERTS"; env | grep -c TSCONTAINER_ || true');
  t.is(quiet.code, 0, quiet.stderr);
  t.is(quiet.stdout, `${missing}\n0\n`, 'the caller\'s value, and nothing of the hand-over');
  t.is(quiet.stderr, '', 'no warning from Node about the bundle');
  const empty = await c.runWith({ env: { NODE_EXTRA_CA_CERTS: '' } }, '--rm', '--rootfs', fixtureRootfs(), '-e', 'NODE_EXTRA_CA_CERTS', 'sh', '-c', 'env | grep ^NODE_EXTRA_CA_CERTS');
  t.is(empty.stdout, 'NODE_EXTRA_CA_CERTS=\n', 'set but empty stays set but empty');
  // Run by `node bin/run.cjs`, the first line is skipped: Node reads the variable itself.
  const direct = await execute(process.execPath, [CLI, '--version'], { scratch: c.tmpdir, env: { ...process.env, ...env } });
  t.is(direct.code, 0, direct.stderr);
  t.regex(direct.stderr, /extra certs/, 'Node warns when it is started directly');
});
