// The OCI lifecycle through the runtime's verbs: create → start → kill → delete, and what
// `state`, `list`, `--pid-file` and `delete [--force]` report and leave behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMount, command, patches, shell, withoutNamespace } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { isAlive } from '../helpers/leftovers.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';

const s = suite('lifecycle');
const sleeper = command('sleep', '1000');

containerTest('create, start, kill and delete move the container through created, running and stopped, then remove it', async (t) => {
  const c = await s.container(t, sleeper);

  const created = await c.runtime('create', '--bundle', c.bundle, '--pid-file', c.pidFile, c.id);
  t.is(created.code, 0, created.stderr);
  const afterCreate = await c.state();
  t.is(afterCreate?.status, 'created');
  t.is(afterCreate?.id, c.id);
  t.is(afterCreate?.bundle, c.bundle);
  t.is(afterCreate?.rootfs, c.config.root?.path);
  const pid = afterCreate?.pid ?? 0;
  t.true(pid > 0, `pid ${pid}`);
  t.true(isAlive(pid), 'the container process exists');
  t.is((await readFile(c.pidFile, 'utf8')).trim(), String(pid), 'the pid file holds the container pid');
  t.true(
    c.leftovers().some((l) => l.startsWith('cgroup ')),
    `a created container has a cgroup directory (seen: ${c.leftovers().join('; ')})`,
  );

  const started = await c.runtime('start', c.id);
  t.is(started.code, 0, started.stderr);
  const afterStart = await c.state();
  t.is(afterStart?.status, 'running');
  t.is(afterStart?.pid, pid);

  const killed = await c.runtime('kill', c.id, 'KILL');
  t.is(killed.code, 0, killed.stderr);
  const stopped = await c.waitForStatus('stopped');
  t.is(stopped.pid, 0);

  const deleted = await c.runtime('delete', c.id);
  t.is(deleted.code, 0, deleted.stderr);
  t.is(await c.state(), undefined, 'the state is gone');
  t.deepEqual(c.leftovers(), []);
});

containerTest('list shows a created container in its table, quiet and JSON forms', async (t) => {
  const c = await s.container(t, sleeper);
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);

  const quiet = await c.runtime('list', '--quiet');
  t.true(quiet.stdout.split('\n').includes(c.id), quiet.stdout);
  const json = await c.runtime('list', '--format', 'json');
  const entry = (JSON.parse(json.stdout) as { id: string; status: string; pid: number }[]).find((e) => e.id === c.id);
  t.is(entry?.status, 'created');
  t.true((entry?.pid ?? 0) > 0);
  const table = await c.runtime('list');
  t.regex(table.stdout, new RegExp(`^${c.id}\\s+\\d+\\s+created\\s`, 'm'));

  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('delete of a running container without --force fails and changes nothing', async (t) => {
  const c = await s.container(t, sleeper);
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const before = await c.state();
  t.is(before?.status, 'running');
  const footprint = c.leftovers();

  const refused = await c.runtime('delete', c.id);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /running/);
  t.regex(refused.stderr, /force|cannot delete/);

  const after = await c.state();
  t.is(after?.status, 'running');
  t.is(after?.pid, before?.pid);
  t.true(isAlive(before?.pid ?? 0), 'the container process still runs');
  t.deepEqual(c.leftovers(), footprint, 'the same cgroups, state and processes exist');

  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('delete --force of a running container kills it and removes everything', async (t) => {
  const c = await s.container(t, sleeper);
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const pid = (await c.state())?.pid ?? 0;
  t.true(pid > 0);

  const forced = await c.runtime('delete', '--force', c.id);
  t.is(forced.code, 0, forced.stderr);
  t.is(await c.state(), undefined);
  t.false(isAlive(pid), 'the container process is gone');
  t.deepEqual(c.leftovers(), []);
});

containerTest('delete --force of an unknown id succeeds and deletes nothing', async (t) => {
  const c = await s.container(t);
  const r = await c.runtime('delete', '--force', c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
});

containerTest('delete of an unknown id without --force fails naming the id', async (t) => {
  const c = await s.container(t);
  const r = await c.runtime('delete', c.id);
  t.not(r.code, 0);
  t.regex(r.stderr, new RegExp(`${c.id}.*does not exist`));
});

containerTest('creating an id that exists fails and leaves the first container as it was', async (t) => {
  const c = await s.container(t, sleeper);
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  const first = await c.state();
  const footprint = c.leftovers();

  const again = await c.runtime('create', '--bundle', c.bundle, c.id);
  t.not(again.code, 0);
  t.regex(again.stderr, new RegExp(`${c.id}.*already exists`));
  t.deepEqual(await c.state(), first);
  t.true(isAlive(first?.pid ?? 0));
  t.deepEqual(c.leftovers(), footprint);

  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

containerTest('start and kill refuse a container in the wrong status', async (t) => {
  const c = await s.container(t, sleeper);
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const startRunning = await c.runtime('start', c.id);
  t.not(startRunning.code, 0);
  t.regex(startRunning.stderr, /is running: cannot start/);

  t.is((await c.runtime('kill', c.id, 'KILL')).code, 0);
  await c.waitForStatus('stopped');
  const killStopped = await c.runtime('kill', c.id, 'KILL');
  t.not(killStopped.code, 0);
  t.regex(killStopped.stderr, /is stopped: cannot kill/);
  const startStopped = await c.runtime('start', c.id);
  t.not(startStopped.code, 0);
  t.regex(startStopped.stderr, /is stopped: cannot start/);

  t.is((await c.runtime('delete', c.id)).code, 0);
});

containerTest('run --keep leaves the stopped container for delete', async (t) => {
  const c = await s.container(t, shell('exit 5'));
  const r = await c.runtime('run', '--keep', '--bundle', c.bundle, c.id);
  t.is(r.code, 5, r.stderr);
  t.is((await c.state())?.status, 'stopped');
  t.is((await c.runtime('delete', c.id)).code, 0);
  t.deepEqual(c.leftovers(), []);
});

containerTest('a foreground run killed with SIGKILL takes its container down, and delete removes the rest', async (t) => {
  const c = await s.container(t, sleeper);
  const child = spawn(runtimePath(), [...c.globalFlags, 'run', '--bundle', c.bundle, c.id], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const running = await c.waitForStatus('running');

  child.kill('SIGKILL');
  await exited;
  const stopped = await c.waitForStatus('stopped');
  t.is(stopped.pid, 0);
  t.false(isAlive(running.pid), 'the container process died with its runtime');

  const deleted = await c.runtime('delete', c.id);
  t.is(deleted.code, 0, deleted.stderr);
  t.deepEqual(c.leftovers(), []);
});

containerTest('without a pid namespace, processes the command leaves running end with the container', async (t) => {
  const c = await s.container(
    t,
    patches(withoutNamespace('pid'), shell('sleep 1000 & echo $!')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  const orphan = Number(r.stdout.trim());
  t.true(orphan > 1, r.stdout);
  t.false(isAlive(orphan), `the background sleep ${orphan} still runs`);
  t.deepEqual(c.leftovers(), []);
});

containerTest('kill sends SIGTERM by default, and a signal named or numbered otherwise', async (t) => {
  const shared = await s.hostDir(t);
  const c = await s.container(
    t,
    patches(
      bindMount(shared, '/mnt', 'rw'),
      shell(
        'trap "echo HUP >> /mnt/signals" HUP; trap "echo USR1 >> /mnt/signals" USR1; ' +
          'trap "echo TERM >> /mnt/signals; exit 0" TERM; touch /mnt/ready; while :; do sleep 0.1; done',
      ),
    ),
  );
  const signals = path.join(shared, 'signals');
  const waitForFile = async (file: string, content: string) => {
    const deadline = Date.now() + 10_000;
    while ((await readFile(file, 'utf8').catch(() => '')) !== content && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return readFile(file, 'utf8').catch(() => '');
  };
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  // PID 1 of a pid namespace ignores signals it has no handler for: wait for the traps.
  await waitForFile(path.join(shared, 'ready'), '');

  t.is((await c.runtime('kill', c.id, 'HUP')).code, 0);
  t.is(await waitForFile(signals, 'HUP\n'), 'HUP\n');
  t.is((await c.runtime('kill', c.id, '10')).code, 0);
  t.is(await waitForFile(signals, 'HUP\nUSR1\n'), 'HUP\nUSR1\n');
  t.is((await c.runtime('kill', c.id)).code, 0);
  t.is(await waitForFile(signals, 'HUP\nUSR1\nTERM\n'), 'HUP\nUSR1\nTERM\n');
  await c.waitForStatus('stopped');
  t.is((await c.runtime('delete', c.id)).code, 0);
});
