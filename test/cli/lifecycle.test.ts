// Detached containers as a user drives them through the CLI: `run -d` returns while the
// container runs on after the CLI has exited (its supervisor stays), and `ps`, `exec`,
// `pause`/`resume`, `stats`, `kill`, `stop`, `logs`, `inspect` and `rm` act on it by id. The
// exit status the supervisor records shows as `Exited (N)`, and after `rm` (or, with
// `--rm`, after the process ends) nothing of the container remains.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { cliSuite, staleBuild, type CliContainer } from '../helpers/cli.js';
import { cgroupVersion, containerTest, requires, root } from '../helpers/host.js';
import { bundleDir, describeLeftover, findLeftovers, isAlive, supervisorsOf } from '../helpers/leftovers.js';
import { fixtureRootfs } from '../helpers/rootfs.js';

const s = cliSuite('cli-lifecycle');
const terminalTest = requires(root, [
  spawnSync('script', ['--version']).status === 0,
  'no script(1) (util-linux) to give the CLI a terminal',
]);

interface Listed {
  id: string;
  pid: number;
  status: string;
  command: string[];
  exit: { exitCode: number; signal: string | null; oomKilled: boolean; finished: string } | null;
}

/** A shell loop that runs until killed, after printing `ready`; `traps` are set first. */
function looping(traps = ''): string[] {
  return ['sh', '-c', [traps, 'echo ready; while :; do sleep 0.1; done'].filter(Boolean).join(' ')];
}

/** Polls `check` (each look runs the CLI, so slowly) until it holds or 30 s pass. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function listed(c: CliContainer): Promise<Listed | undefined> {
  const ps = await c.cli('ps', '-a', '--json');
  if (ps.code !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  return (JSON.parse(ps.stdout) as Listed[]).find((container) => container.id === c.id);
}

/** What of the container exists: its processes, cgroups, state entry and bundle. */
function traces(c: CliContainer): string[] {
  return findLeftovers({ ids: [c.id], stateRoot: s.stateRoot, dirs: [], tmpDirs: [c.tmpdir] }).map(describeLeftover);
}

/** `run -d` of `command`, checked; resolves once the container's output has `ready` in it. */
async function detached(t: ExecutionContext, c: CliContainer, ...args: string[]): Promise<void> {
  const r = await c.run('-d', '--rootfs', fixtureRootfs(), ...args);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${c.id}\n`);
  t.is(r.stderr, '');
}

async function untilLogged(c: CliContainer, text: string): Promise<boolean> {
  return eventually(async () => (await c.cli('logs', c.id)).stdout.includes(text));
}

test('the built CLI (dist/) is up to date with ts/', (t) => {
  t.is(staleBuild(), undefined);
});

containerTest('run -d prints the id and returns; the container runs on after the CLI has exited, Up in ps', async (t) => {
  const c = await s.container(t);
  await detached(t, c, ...looping());
  // The CLI has exited (the helper waited for it); its supervisor stays as the container's parent.
  const supervisors = supervisorsOf(c.id);
  t.is(supervisors.length, 1, 'one supervisor');
  const container = await listed(c);
  t.like(container, { status: 'running', exit: null, command: looping() });
  t.true(isAlive(container?.pid ?? 0), "the container's process is alive");
  const ppid = readFileSync(`/proc/${container?.pid ?? 0}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
  t.is(Number(ppid), supervisors[0] ?? -1, 'the supervisor is its parent');

  const table = await c.cli('ps');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^CONTAINER ID\s+COMMAND\s+CREATED\s+STATUS\s+PID$/m);
  t.regex(table.stdout, new RegExp(`^${c.id}\\s+"sh -c echo ready; w…"\\s+.+ ago\\s+Up\\s+${container?.pid}$`, 'm'));
  t.true(await untilLogged(c, 'ready\n'), 'logs shows what the container printed');

  const refused = await c.cli('rm', c.id);
  t.is(refused.code, 1);
  t.deepEqual(refused.errorLines, [`tscontainer: container \`${c.id}\` is running: cannot delete it`]);
  const rm = await c.cli('rm', '-f', c.id);
  t.is(rm.code, 0, rm.stderr);
  t.is(rm.stdout, `${c.id}\n`);
  t.deepEqual(traces(c), []);
});

containerTest('rm removes the state entry, the cgroup, the bundle and the supervisor', async (t) => {
  const c = await s.container(t);
  await detached(t, c, 'sh', '-c', 'sleep 0.3');
  t.true(await eventually(async () => (await listed(c))?.status === 'stopped'));
  const before = traces(c);
  t.true(existsSync(path.join(s.stateRoot, c.id)), 'a state entry');
  t.true(before.some((trace) => trace.startsWith('cgroup ')), `a cgroup: ${before.join('; ')}`);
  t.true(existsSync(bundleDir(c.id)), 'its bundle, in the data directory');
  t.deepEqual(readdirSync(c.tmpdir), [], 'nothing in the TMPDIR');
  const rm = await c.cli('rm', c.id);
  t.is(rm.code, 0, rm.stderr);
  t.deepEqual(traces(c), []);
  t.false(existsSync(bundleDir(c.id)));
  const again = await c.cli('rm', c.id);
  t.is(again.code, 1);
  t.deepEqual(again.errorLines, [`tscontainer: container \`${c.id}\` does not exist`]);
});

containerTest('exec runs a command in the container with -e, -w and -u; its status is the CLI\'s', async (t) => {
  const c = await s.container(t);
  await detached(t, c, 'sleep', '1000');
  const r = await c.cli(
    'exec', '-e', 'GREETING=hello there', '-w', '/dev', '-u', '1000:1000', c.id,
    'sh', '-c', 'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(cat /proc/1/comm)"; exit 4',
  );
  t.is(r.code, 4, r.stderr);
  t.is(r.stdout, 'hello there|/dev|1000:1000|sleep\n', "in the container's PID namespace, as asked");
  t.is(r.stderr, '');

  const flags = await c.cli('exec', c.id, 'ls', '-d', '/etc');
  t.is(flags.code, 0, flags.stderr);
  t.is(flags.stdout, '/etc\n', "the command's own flags are its own");

  const missing = await c.cli('exec', c.id, 'no-such-command');
  t.is(missing.code, 127);
  t.deepEqual(missing.errorLines, [
    'tscontainer: unable to start container process: exec: "no-such-command": executable file not found in $PATH',
  ]);
  const unknown = await c.cli('exec', `${c.id}-nope`, 'true');
  t.is(unknown.code, 125);
  t.deepEqual(unknown.errorLines, [`tscontainer: container \`${c.id}-nope\` does not exist`]);

  const rm = await c.cli('rm', '-f', c.id);
  t.is(rm.code, 0, rm.stderr);
});

containerTest('exec -d starts a command and returns at once', async (t) => {
  const c = await s.container(t);
  await detached(t, c, 'sleep', '1000');
  const r = await c.cli('exec', '-d', c.id, 'sh', '-c', 'echo detached > /dev/shm/mark');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '');
  t.true(await eventually(async () => (await c.cli('exec', c.id, 'cat', '/dev/shm/mark')).stdout === 'detached\n'));
  t.is((await c.cli('rm', '-f', c.id)).code, 0);
});

terminalTest("exec -it gives a shell on a real terminal of the caller's window size", async (t) => {
  const c = await s.container(t);
  await detached(t, c, 'sleep', '1000');
  const r = await c.cliInTerminal({ rows: 33, cols: 101, input: 'stty size; tty; exit 5\n' }, 'exec', '-it', c.id, 'sh');
  t.is(r.code, 5, r.stdout + r.stderr);
  t.regex(r.stdout, /^33 101\r$/m);
  t.regex(r.stdout, /^\/dev\/pts\/\d+\r$/m);
  t.is((await c.cli('rm', '-f', c.id)).code, 0);
});

containerTest('pause freezes the container (ps: Paused) until resume, or unpause', async (t) => {
  const c = await s.container(t);
  await detached(t, c, 'sleep', '1000');
  const frozen = () =>
    cgroupVersion === 'v2'
      ? readFileSync(`/sys/fs/cgroup/tscontainer-${c.id}/cgroup.events`, 'utf8').includes('frozen 1')
      : readFileSync(`/sys/fs/cgroup/freezer/tscontainer-${c.id}/freezer.state`, 'utf8').trim() === 'FROZEN';

  for (const thaw of ['resume', 'unpause']) {
    const pause = await c.cli('pause', c.id);
    t.is(pause.code, 0, pause.stderr);
    t.is(pause.stdout, `${c.id}\n`);
    t.like(await listed(c), { status: 'paused' });
    t.regex((await c.cli('ps')).stdout, new RegExp(`^${c.id}\\s.*\\sPaused\\s+\\d+$`, 'm'));
    t.true(frozen(), 'the cgroup is frozen');
    const resume = await c.cli(thaw, c.id);
    t.is(resume.code, 0, resume.stderr);
    t.is(resume.stdout, `${c.id}\n`);
    t.like(await listed(c), { status: 'running' });
    t.false(frozen(), `${thaw} thaws it`);
  }
  const again = await c.cli('resume', c.id);
  t.is(again.code, 1);
  t.deepEqual(again.errorLines, [`tscontainer: container \`${c.id}\` is running: cannot resume it`]);
  t.is((await c.cli('rm', '-f', c.id)).code, 0);
});

containerTest('stats --json reports memory in use, the limit and the process count; stats shows a table', async (t) => {
  const c = await s.container(t);
  await detached(t, c, '--memory', '64M', 'sh', '-c', 'sleep 1000 & sleep 1000 & echo ready; wait');
  t.true(await untilLogged(c, 'ready\n'));
  const r = await c.cli('stats', '--no-stream', '--json', c.id);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 1, r.stdout);
  const stats = JSON.parse(lines[0] ?? '{}') as {
    id: string;
    cpuPercent: number | null;
    memory: { usage: number; limit: number | null };
    pids: { current: number; limit: number | null };
  };
  t.is(stats.id, c.id);
  t.true(stats.memory.usage > 0, `memory usage ${stats.memory.usage}`);
  t.is(stats.memory.limit, 64 * 1024 * 1024);
  t.is(stats.pids.current, 3, 'sh and two sleeps');
  t.is(stats.pids.limit, 2048, "podman's default pids limit");
  t.is(typeof stats.cpuPercent, 'number');

  const table = await c.cli('stats', '--no-stream', c.id);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^CONTAINER ID\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS$/m);
  t.regex(table.stdout, new RegExp(`^${c.id}\\s+\\d+\\.\\d\\d%\\s+[\\d.]+[KMG]?i?B / 64MiB\\s+\\d+\\.\\d\\d%\\s+3$`, 'm'));
  t.is((await c.cli('rm', '-f', c.id)).code, 0);
});

containerTest('stop sends SIGTERM, then SIGKILL after -t seconds to a process that ignores it: Exited (137)', async (t) => {
  const c = await s.container(t);
  await detached(t, c, ...looping('trap "" TERM;'));
  t.true(await untilLogged(c, 'ready\n'), 'the trap is set');
  const started = Date.now();
  const stop = await c.cli('stop', '-t', '1', c.id);
  const took = Date.now() - started;
  t.is(stop.code, 0, stop.stderr);
  t.is(stop.stdout, `${c.id}\n`);
  t.true(took >= 1000, `stop returned after ${took} ms, before the timeout`);
  t.like(await listed(c), { status: 'stopped', pid: 0, exit: { exitCode: 137, signal: 'SIGKILL', oomKilled: false } });
  t.regex((await c.cli('ps', '-a')).stdout, new RegExp(`^${c.id}\\s.*\\sExited \\(137\\) .+ ago\\s+-$`, 'm'));
  t.deepEqual(supervisorsOf(c.id), [], 'the supervisor has finished');
  t.is((await c.cli('rm', c.id)).code, 0);
});

containerTest('stop of a process that handles SIGTERM returns as soon as it has exited', async (t) => {
  const c = await s.container(t);
  await detached(t, c, ...looping('trap "exit 0" TERM;'));
  t.true(await untilLogged(c, 'ready\n'));
  // A grace period far beyond the test's own timeout: a stop that waited it out fails the
  // test; exit 0 (not 137) shows the process ended on SIGTERM, not on the later SIGKILL.
  const stop = await c.cli('stop', '-t', '3600', c.id);
  t.is(stop.code, 0, stop.stderr);
  t.like(await listed(c), { status: 'stopped', exit: { exitCode: 0, signal: null } });
  t.is((await c.cli('rm', c.id)).code, 0);
});

containerTest('a detached container that exits 3 by itself shows Exited (3); inspect has its exit and config', async (t) => {
  const c = await s.container(t);
  // Not at once: a process that ends while `start` is still saving the state loses its exit
  // record to a runtime race (test/api/container.test.ts shows it).
  await detached(t, c, '-e', 'MARK=1', '--memory', '32M', 'sh', '-c', 'sleep 0.5; exit 3');
  t.true(await eventually(async () => (await listed(c))?.exit != null), `the exit is recorded: ${JSON.stringify(await listed(c))}`);
  t.like(await listed(c), { status: 'stopped', exit: { exitCode: 3, signal: null, oomKilled: false } });
  t.regex((await c.cli('ps', '-a')).stdout, new RegExp(`^${c.id}\\s+"sh -c sleep 0.5; ex…"\\s.*\\sExited \\(3\\) .+ ago\\s+-$`, 'm'));
  const inspect = await c.cli('inspect', c.id);
  t.is(inspect.code, 0, inspect.stderr);
  const [details] = JSON.parse(inspect.stdout) as Record<string, unknown>[];
  t.like(details, {
    id: c.id,
    status: 'stopped',
    pid: 0,
    rootfs: fixtureRootfs(),
    exit: { exitCode: 3, signal: null, oomKilled: false },
    config: {
      args: ['sh', '-c', 'sleep 0.5; exit 3'],
      hostname: c.id,
      cwd: '/',
      user: { uid: 0, gid: 0 },
      resources: { memory: { limit: 32 * 1024 * 1024 } },
    },
  });
  const config = (details?.['config'] ?? {}) as { env: string[]; mounts: { destination: string }[] };
  t.true(config.env.includes('MARK=1'));
  t.true(config.mounts.some((m) => m.destination === '/proc'));
  const unknown = await c.cli('inspect', c.id, `${c.id}-nope`);
  t.is(unknown.code, 1);
  t.is((JSON.parse(unknown.stdout) as unknown[]).length, 1, 'the known one is still shown');
  t.deepEqual(unknown.errorLines, [`tscontainer: container \`${c.id}-nope\` does not exist`]);
  t.is((await c.cli('rm', c.id)).code, 0);
});

containerTest("kill -s USR1 reaches the container's trap; kill without -s sends SIGKILL", async (t) => {
  const c = await s.container(t);
  await detached(t, c, ...looping('trap "echo got USR1" USR1;'));
  t.true(await untilLogged(c, 'ready\n'));
  const kill = await c.cli('kill', '-s', 'USR1', c.id);
  t.is(kill.code, 0, kill.stderr);
  t.is(kill.stdout, `${c.id}\n`);
  t.true(await untilLogged(c, 'got USR1\n'), 'the trap ran');
  t.like(await listed(c), { status: 'running' });

  const bad = await c.cli('kill', '-s', 'NOPE', c.id);
  t.is(bad.code, 125, 'bad input');
  t.deepEqual(bad.errorLines, [
    'tscontainer: invalid signal `NOPE`: expected a name such as SIGTERM or TERM, or a number from 1 to 64',
  ]);
  t.is((await c.cli('kill', c.id)).code, 0);
  t.true(await eventually(async () => (await listed(c))?.exit?.exitCode === 137));
  t.is((await c.cli('rm', c.id)).code, 0);
});

containerTest('run -d --rm: the bundle goes after start, the rest once the process ends', async (t) => {
  const c = await s.container(t);
  await detached(t, c, '--rm', ...looping('trap "exit 2" USR1;'));
  t.false(existsSync(bundleDir(c.id)), 'no bundle once started');
  t.like(await listed(c), { status: 'running' });
  t.is((await c.cli('kill', '-s', 'USR1', c.id)).code, 0);
  t.true(await eventually(async () => (await listed(c)) === undefined), 'it deletes itself');
  t.true(await eventually(async () => traces(c).length === 0), `left behind: ${traces(c).join('; ')}`);
});

containerTest('run -d of a missing command fails with 127 and leaves nothing; -d with -t is a usage error', async (t) => {
  const c = await s.container(t);
  const r = await c.run('-d', '--rootfs', fixtureRootfs(), 'no-such-command');
  t.is(r.code, 127);
  t.is(r.stdout, '');
  t.deepEqual(r.errorLines, [
    'tscontainer: unable to start container process: exec: "no-such-command": executable file not found in $PATH',
  ]);
  t.deepEqual(traces(c), []);
  const tty = await c.run('-d', '-t', '--rootfs', fixtureRootfs(), 'sh');
  t.is(tty.code, 125);
  t.is(tty.errorLines.length, 1, tty.stderr);
  t.deepEqual(traces(c), []);
});
