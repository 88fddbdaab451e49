// Concurrency and crashes: many containers at once, the same id created twice at once, and
// `kill -9` of the runtime at each step of the lifecycle followed by `delete --force`. The
// state store must stay consistent and nothing may be left behind (the suite's teardown
// checks every container: state entry, cgroup, mount, process).
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { patches, shell, type ConfigPatch } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { isAlive } from '../helpers/leftovers.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite, type Container, type StateReport } from '../helpers/suite.js';
import { waitUntil } from '../helpers/user-suite.js';

const s = suite('security-concurrency');

/** Polls the state gently (many containers poll at once) until `status`, or fails. */
async function settle(c: Container, status: StateReport['status']): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const state = await c.state();
    if (state?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${c.id} did not reach ${status}: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

containerTest('50 containers created, started, killed and deleted in parallel leave nothing behind', async (t) => {
  t.timeout(600_000);
  const containers = await Promise.all(Array.from({ length: 50 }, () => s.container(t, shell('sleep 100'))));
  const created = await Promise.all(containers.map((c) => c.runtime('create', '--bundle', c.bundle, c.id)));
  t.deepEqual(
    created.map((r) => r.code),
    containers.map(() => 0),
    created.map((r) => r.stderr).join(''),
  );
  const list = await containers[0]!.runtime('list', '--format', 'json');
  const listed = JSON.parse(list.stdout) as { id: string; status: string }[];
  // Other tests of this file share the state root: count ours.
  const ours = new Set(containers.map((c) => c.id));
  const statuses = listed.filter((entry) => ours.has(entry.id)).map((entry) => entry.status);
  t.deepEqual(statuses, containers.map(() => 'created'), 'list shows each of the 50, created');

  const started = await Promise.all(containers.map((c) => c.runtime('start', c.id)));
  t.true(
    started.every((r) => r.code === 0),
    started.map((r) => r.stderr).join(''),
  );
  await Promise.all(containers.map((c) => settle(c, 'running')));
  const killed = await Promise.all(containers.map((c) => c.runtime('kill', c.id, 'KILL')));
  t.true(
    killed.every((r) => r.code === 0),
    killed.map((r) => r.stderr).join(''),
  );
  await Promise.all(containers.map((c) => settle(c, 'stopped')));
  const deleted = await Promise.all(containers.map((c) => c.runtime('delete', c.id)));
  t.true(
    deleted.every((r) => r.code === 0),
    deleted.map((r) => r.stderr).join(''),
  );
  for (const c of containers) t.deepEqual(c.leftovers(), [], c.id);
});

containerTest('the same id created twice at once: exactly one wins, the other removes nothing of it', async (t) => {
  t.timeout(300_000);
  for (let round = 0; round < 10; round++) {
    const first = await s.container(t, shell('exit 3'));
    const second = await s.container(t, { id: first.id, patch: shell('exit 4') });
    const results = await Promise.all([
      first.runtime('create', '--bundle', first.bundle, first.id),
      second.runtime('create', '--bundle', second.bundle, second.id),
    ]);
    const winners = results.filter((r) => r.code === 0);
    t.is(winners.length, 1, `round ${round}: ${results.map((r) => `${r.code} ${r.stderr}`).join(' | ')}`);
    const loser = results.find((r) => r.code !== 0)!;
    t.regex(loser.stderr, /already exists/, `round ${round}: ${loser.stderr}`);
    const winner = results[0]!.code === 0 ? first : second;
    const state = await winner.state();
    t.is(state?.status, 'created', `round ${round}: the winner is intact`);
    t.is(state?.bundle, winner.bundle);
    t.is((await winner.runtime('start', winner.id)).code, 0);
    await settle(winner, 'stopped');
    t.is((await winner.runtime('delete', winner.id)).code, 0);
    t.deepEqual(winner.leftovers(), []);
  }
});

/** A hook that blocks the runtime the first time it runs and records who ran it. */
async function blockingHook(dir: string, name: string): Promise<{ path: string; marker: string }> {
  const marker = path.join(dir, `${name}.pids`);
  const file = path.join(dir, `${name}.sh`);
  await writeFile(
    file,
    `#!/bin/sh\n[ -e ${marker} ] && exit 0\necho "$PPID $$" > ${marker}.tmp && mv ${marker}.tmp ${marker}\nexec sleep 300\n`,
  );
  await chmod(file, 0o755);
  return { path: file, marker };
}

/** Waits for the hook to run; returns the runtime that runs it and the hook's own pid. */
async function hookRunning(t: ExecutionContext, marker: string): Promise<{ runtime: number; hook: number }> {
  t.true(await waitUntil(() => existsSync(marker), 60_000), `the hook ran (${marker})`);
  const [runtime, hook] = readFileSync(marker, 'utf8').trim().split(' ').map(Number);
  t.teardown(() => {
    if (hook !== undefined && isAlive(hook)) process.kill(hook, 'SIGKILL');
  });
  return { runtime: runtime!, hook: hook! };
}

function withHook(kind: string, hookPath: string): ConfigPatch {
  return (config) => {
    config['hooks'] = { [kind]: [{ path: hookPath }] };
  };
}

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitUntil(() => !isAlive(pid), 30_000);
}

/** `delete --force` after a crash: it must succeed and leave nothing. */
async function forceDeleteLeavesNothing(t: ExecutionContext, c: Container): Promise<void> {
  const r = await c.runtime('delete', '--force', c.id);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(c.leftovers(), []);
  t.is(await c.state(), undefined);
}

containerTest('kill -9 of the runtime during create (in a createRuntime hook), then delete --force', async (t) => {
  const hook = await blockingHook(await s.hostDir(t), 'create');
  const c = await s.container(t, patches(shell('sleep 100'), withHook('createRuntime', hook.path)));
  const creating = spawn(runtimePath(), [...c.globalFlags, 'create', '--bundle', c.bundle, c.id], { stdio: 'ignore' });
  const { runtime } = await hookRunning(t, hook.marker);
  t.is<number | undefined, number | undefined>(runtime, creating.pid, 'the create runtime runs the hook');
  t.is((await c.state())?.status, 'creating');
  await killAndWait(runtime);
  await forceDeleteLeavesNothing(t, c);
});

containerTest('kill -9 of the supervising runtime after create, then delete --force', async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  const supervisor = spawn(runtimePath(), [...c.globalFlags, 'create', '--supervise', '--bundle', c.bundle, c.id], {
    stdio: 'ignore',
    detached: true,
  });
  await settle(c, 'created');
  await killAndWait(supervisor.pid!);
  await forceDeleteLeavesNothing(t, c);
});

containerTest('kill -9 of the foreground runtime while its container runs, then delete --force', async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  const running = spawn(runtimePath(), [...c.globalFlags, 'run', '--bundle', c.bundle, c.id], { stdio: 'ignore' });
  await settle(c, 'running');
  await killAndWait(running.pid!);
  await forceDeleteLeavesNothing(t, c);
});

containerTest('kill -9 of the runtime during start (in a poststart hook), then delete --force', async (t) => {
  const hook = await blockingHook(await s.hostDir(t), 'start');
  const c = await s.container(t, patches(shell('sleep 100'), withHook('poststart', hook.path)));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  const starting = spawn(runtimePath(), [...c.globalFlags, 'start', c.id], { stdio: 'ignore' });
  const { runtime } = await hookRunning(t, hook.marker);
  t.is<number | undefined, number | undefined>(runtime, starting.pid);
  await killAndWait(runtime);
  await forceDeleteLeavesNothing(t, c);
});

containerTest('kill -9 of the runtime during delete (in a poststop hook), then delete --force', async (t) => {
  const hook = await blockingHook(await s.hostDir(t), 'delete');
  const c = await s.container(t, patches(shell('sleep 100'), withHook('poststop', hook.path)));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await c.runtime('start', c.id)).code, 0);
  const deleting = spawn(runtimePath(), [...c.globalFlags, 'delete', '--force', c.id], { stdio: 'ignore' });
  const { runtime } = await hookRunning(t, hook.marker);
  t.is<number | undefined, number | undefined>(runtime, deleting.pid);
  await killAndWait(runtime);
  await forceDeleteLeavesNothing(t, c);
});
