// Every call containerd's runc shim (containerd-shim-runc-v2) makes, in every state a
// container can be in, answered as runc answers it: the same bundle runs under runc (its own
// state root and id) and under tscontainer-runtime, and each command's exit status, what it
// prints that the shim reads, and the state it leaves are compared. The states: created,
// running, paused, stopped with processes left in its cgroup (no pid namespace of its own,
// as a container sharing a pod's: the init is gone, a child lives on), and stopped with
// everything gone. The shim sends `kill --all` after an init exits: runc signals whatever is
// left in the cgroup, in any state.
import type { ExecutionContext } from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { patches, shell, withoutNamespace } from '../helpers/bundle.js';
import type { Exit } from '../helpers/exec.js';
import { requires, root } from '../helpers/host.js';
import { describeLeftover, findLeftovers, isAlive, removeLeftovers } from '../helpers/leftovers.js';
import { receiveConsole } from '../helpers/recvtty.js';
import { runc, runcInstalled } from '../helpers/reference.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('shimcalls');
const gated = requires(root, runcInstalled);

// Eighty-odd tests of two containers each: a few at a time, not all at once on a small machine.
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(body: () => Promise<T>): Promise<T> {
  while (running >= 4) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await body();
  } finally {
    running--;
    waiting.shift()?.();
  }
}
const shimTest = (title: string, body: (t: ExecutionContext) => Promise<void>) => gated(title, (t) => slot(() => body(t)));

type State = 'created' | 'running' | 'paused' | 'stopped, processes left' | 'stopped, processes gone';
const states: State[] = ['created', 'running', 'paused', 'stopped, processes left', 'stopped, processes gone'];

/** One container under one runtime: `call` runs that runtime on it (ID in args is its id). */
interface Side {
  name: 'runc' | 'tscontainer-runtime';
  id: string;
  call(...args: string[]): Promise<Exit>;
}

interface Pair {
  c: Container;
  sides: [Side, Side];
  /** A file with a runtime-spec process for `exec --process`, as the shim writes one. */
  processFile: string;
  /** A file with linux.resources for `update --resources`. */
  resourcesFile: string;
}

// The init leaves a child behind when it dies; outside a pid namespace of its own, the
// child survives it in the cgroup.
const workload = shell('sleep 1000 & exec sleep 1001');

async function pair(t: ExecutionContext, state: State): Promise<Pair> {
  const left = state === 'stopped, processes left';
  const c = await s.container(t, left ? patches(workload, withoutNamespace('pid')) : workload);
  const dir = await s.hostDir(t);
  const runcRoot = path.join(dir, 'runc-state');
  const runcId = `${c.id}-runc`;
  const ours: Side = { name: 'tscontainer-runtime', id: c.id, call: (...args) => c.runtime(...args) };
  const theirs: Side = { name: 'runc', id: runcId, call: (...args) => runc(runcRoot, dir, ...args) };
  t.teardown(async () => {
    await runc(runcRoot, dir, 'delete', '--force', runcId);
    // runc's container is the test's too: what its delete left (a cgroup below this
    // process's own, where runc puts a container without cgroupsPath) goes as ours does.
    await removeLeftovers(findLeftovers({ ids: [runcId] }));
  });

  const processFile = path.join(dir, 'process.json');
  const process = { ...c.config.process!, args: ['sh', '-c', 'echo exec-ran; id -u'], terminal: false };
  await writeFile(processFile, JSON.stringify(process));
  const resourcesFile = path.join(dir, 'resources.json');
  await writeFile(resourcesFile, JSON.stringify({ pids: { limit: 200 } }));

  for (const side of [ours, theirs]) {
    const created = await side.call('create', '--bundle', c.bundle, side.id);
    t.is(created.code, 0, `${side.name} create: ${created.stderr}`);
    if (state === 'created') continue;
    const started = await side.call('start', side.id);
    t.is(started.code, 0, `${side.name} start: ${started.stderr}`);
    // The child needs a moment to start: before its init goes, and before a pause would
    // freeze the init before it forked.
    await waitFor(async () => (await pids(side)).length === 2, `${side.name}: both processes run`);
    if (state === 'paused') t.is((await side.call('pause', side.id)).code, 0);
    if (state.startsWith('stopped')) {
      const pid = JSON.parse((await side.call('state', side.id)).stdout).pid as number;
      globalThis.process.kill(pid, 'SIGKILL');
      await waitFor(async () => (await status(side)) === 'stopped', `${side.name}: stopped`);
      await waitFor(async () => (await pids(side)).length === (left ? 1 : 0), `${side.name}: ${state}`);
    }
  }
  return { c, sides: [ours, theirs], processFile, resourcesFile };
}

/** `delete --force` under both runtimes: what the shim does last; nothing may remain. */
async function removeBoth(t: ExecutionContext, p: Pair): Promise<void> {
  for (const side of p.sides) {
    const r = await side.call('delete', '--force', side.id);
    t.is(r.code, 0, `${side.name} delete --force: ${r.stderr}`);
  }
  t.deepEqual(p.c.leftovers(), []);
  const [, runcSide] = p.sides;
  t.deepEqual(findLeftovers({ ids: [runcSide!.id] }).map(describeLeftover), [], 'runc left nothing either');
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function status(side: Side): Promise<string> {
  const r = await side.call('state', side.id);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string }).status : 'gone';
}

/** `ps --format json`, as the shim reads it (runc prints `null` for none). */
async function pids(side: Side): Promise<number[]> {
  const r = await side.call('ps', '--format', 'json', side.id);
  return r.code === 0 ? ((JSON.parse(r.stdout) as number[] | null) ?? []) : [];
}

interface Call {
  name: string;
  args(p: Pair, side: Side): string[];
  /** What besides the exit status must be equal: derived from the output. */
  output?(r: Exit): unknown;
}

const calls: Call[] = [
  { name: 'state', args: (_, s) => ['state', s.id], output: (r) => r.code === 0 && stateShape(r.stdout) },
  { name: 'start', args: (_, s) => ['start', s.id] },
  { name: 'kill SIGTERM', args: (_, s) => ['kill', s.id, '15'] },
  { name: 'kill SIGKILL', args: (_, s) => ['kill', s.id, 'KILL'] },
  { name: 'kill --all SIGKILL', args: (_, s) => ['kill', '--all', s.id, '9'] },
  { name: 'kill --all 0', args: (_, s) => ['kill', '--all', s.id, '0'] },
  { name: 'delete', args: (_, s) => ['delete', s.id] },
  { name: 'delete --force', args: (_, s) => ['delete', '--force', s.id] },
  { name: 'exec --process --detach', args: (p, s) => ['exec', '--process', p.processFile, '--detach', s.id] },
  { name: 'exec (foreground)', args: (_, s) => ['exec', s.id, 'sh', '-c', 'echo exec-ran'], output: (r) => r.stdout },
  { name: 'ps --format json', args: (_, s) => ['ps', '--format', 'json', s.id], output: (r) => r.code === 0 && (JSON.parse(r.stdout) ?? []).length },
  { name: 'update --resources', args: (p, s) => ['update', '--resources', p.resourcesFile, s.id] },
  { name: 'update --pids-limit', args: (_, s) => ['update', '--pids-limit', '300', s.id] },
  { name: 'pause', args: (_, s) => ['pause', s.id] },
  { name: 'resume', args: (_, s) => ['resume', s.id] },
  { name: 'events --stats', args: (_, s) => ['events', '--stats', s.id], output: (r) => r.code === 0 && (JSON.parse(r.stdout) as { type: string }).type },
];

/** The state's fields that do not depend on the runtime: status, and whether pid is 0. */
function stateShape(text: string): unknown {
  const st = JSON.parse(text) as { status: string; pid: number };
  return { status: st.status, pid: st.pid > 0 ? 'a pid' : 0 };
}

/**
 * Where tscontainer-runtime answers otherwise, on purpose, and what it does instead:
 * - the runtime-spec says deleting a container that is not stopped MUST fail and change
 *   nothing; runc kills and deletes a created one (the shim deletes a task that never
 *   started with --force, which both do);
 * - a signal other than SIGKILL to every process of a paused container leaves it paused;
 *   runc thaws the cgroup after signalling, whatever the state was before.
 */
const deliberate: Record<string, (t: ExecutionContext, p: Pair, ours: Exit, theirs: Exit) => Promise<void>> = {
  'created/delete': async (t, p, ours, theirs) => {
    t.is(theirs.code, 0, `runc: ${theirs.stderr}`);
    t.is(ours.code, 1, 'the runtime-spec requires an error for a container that is not stopped');
    t.is(await status(p.sides[0]), 'created', 'and nothing changed');
  },
  'paused/kill --all 0': async (t, p, ours, theirs) => {
    t.is(ours.code, theirs.code);
    t.is(await status(p.sides[1]), 'running', 'runc thaws it');
    t.is(await status(p.sides[0]), 'paused', 'a signal does not resume a paused container');
  },
};

for (const state of states) {
  for (const call of calls) {
    shimTest(`${call.name} on a container that is ${state} answers as runc`, async (t) => {
      const p = await pair(t, state);
      const [ours, theirs] = await Promise.all(p.sides.map((side) => side.call(...call.args(p, side))));
      const otherwise = deliberate[`${state}/${call.name}`];
      if (otherwise) {
        await otherwise(t, p, ours!, theirs!);
        await removeBoth(t, p);
        return;
      }
      t.is(ours!.code, theirs!.code, `exit status (runc: ${theirs!.stderr.trim()} | ours: ${ours!.stderr.trim()})`);
      if (call.output) t.deepEqual(call.output(ours!), call.output(theirs!), `output: ${ours!.stdout} | runc: ${theirs!.stdout}`);
      // What the command left: the same state, and as many processes (a signal or a
      // detached exec takes effect after the command returns: given a moment to agree).
      const after = async () => {
        const [ourStatus, theirStatus] = await Promise.all(p.sides.map(status));
        const [ourPids, theirPids] = await Promise.all(p.sides.map(pids));
        return { ours: [ourStatus, ourPids!.length], runc: [theirStatus, theirPids!.length] };
      };
      let seen = await after();
      for (let i = 0; i < 40 && JSON.stringify(seen.ours) !== JSON.stringify(seen.runc); i++) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await after();
      }
      t.deepEqual(seen.ours, seen.runc, 'the state after, and the processes left in the cgroup');
      await removeBoth(t, p);
    });
  }
}

// containerd's exec with a terminal: the process from a file, the pty master to a console
// socket, the runtime gone once the process runs.
for (const state of states) {
  shimTest(`exec with a console (--console-socket --detach) on a container that is ${state} answers as runc`, async (t) => {
    const p = await pair(t, state);
    const dir = await s.hostDir(t);
    const ttyProcess = path.join(dir, 'tty-process.json');
    const script = 'tty >/dev/null && echo on-a-terminal; echo exec-ran';
    await writeFile(ttyProcess, JSON.stringify({ ...p.c.config.process!, args: ['sh', '-c', script], terminal: true }));
    const [ours, theirs] = await Promise.all(
      p.sides.map(async (side) => {
        const console = await receiveConsole(path.join(dir, `${side.name}.sock`));
        const pidFile = path.join(dir, `${side.name}.pid`);
        const r = await side.call('exec', '--process', ttyProcess, '--console-socket', console.socket, '--detach', '--pid-file', pidFile, side.id);
        if (r.code !== 0) {
          console.stop();
          return { code: r.code, output: '' };
        }
        return { code: r.code, output: await console.output() };
      }),
    );
    t.deepEqual(ours, theirs);
    if (ours!.code === 0) t.is(ours!.output, 'on-a-terminal\nexec-ran\n', 'the process ran on the terminal');
    await removeBoth(t, p);
  });
}

shimTest('kill --all after the init has died kills what it left in the cgroup, then delete removes everything', async (t) => {
  const p = await pair(t, 'stopped, processes left');
  const [ours] = p.sides;
  const left = await pids(ours);
  t.is(left.length, 1);
  const killed = await ours.call('kill', '--all', ours.id, 'KILL');
  t.is(killed.code, 0, killed.stderr);
  await waitFor(async () => !isAlive(left[0]!), 'the child is gone');
  t.is((await ours.call('delete', ours.id)).code, 0);
  t.deepEqual(p.c.leftovers(), []);
  await removeBoth(t, p);
});

shimTest('kill of a stopped container fails in the words containerd reads as "already finished"', async (t) => {
  const p = await pair(t, 'stopped, processes gone');
  const r = await p.sides[0].call('kill', p.sides[0].id, 'TERM');
  t.is(r.code, 1);
  t.regex(r.stderr, /container not running/);
  const log = await readFile(p.c.logFile, 'utf8');
  t.regex(log, /container not running/, 'in the log the shim reads too');
  await removeBoth(t, p);
});
