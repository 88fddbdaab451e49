// What `run` in the foreground reports: the container's exit code, 128 + the signal that
// killed it, and — when the command cannot be run at all — the runtime's own failure (exit 1,
// runc's message on stderr, `execFailure` in the JSON log, which front ends map to 126/127).
import { command, patches, shell, withoutNamespace } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('exit-status');

function run(c: Container) {
  return c.runtime('run', '--bundle', c.bundle, c.id);
}

async function exitEntry(c: Container) {
  return (await c.log()).find((e) => e.msg === 'container exited');
}

for (const code of [0, 3]) {
  containerTest(`run exits ${code} when the command exits ${code}`, async (t) => {
    const c = await s.container(t, shell(`exit ${code}`));
    const r = await run(c);
    t.is(r.code, code, r.stderr);
    t.like(await exitEntry(c), { level: 'info', exitCode: code, signal: null, oomKilled: false });
  });
}

containerTest('run exits 137 when the command kills itself with SIGKILL', async (t) => {
  // Inside its own pid namespace the command is PID 1, and the kernel ignores a SIGKILL that
  // PID 1 sends itself; without that namespace the shell really dies of it.
  const c = await s.container(t, patches(withoutNamespace('pid'), shell('kill -9 $$; echo survived')));
  const r = await run(c);
  t.is(r.code, 137, r.stdout + r.stderr);
  t.false(r.stdout.includes('survived'));
  t.like(await exitEntry(c), { exitCode: null, signal: 'SIGKILL', oomKilled: false });
});

containerTest('run exits 137 when the container is killed with SIGKILL from outside', async (t) => {
  const c = await s.container(t, shell('echo started; exec sleep 1000'));
  const running = run(c);
  await c.waitForStatus('running');
  const kill = await c.runtime('kill', c.id, 'KILL');
  t.is(kill.code, 0, kill.stderr);
  const r = await running;
  t.is(r.code, 137, r.stderr);
  t.is(r.stdout, 'started\n');
  t.like(await exitEntry(c), { exitCode: null, signal: 'SIGKILL' });
});

containerTest('a command that is not executable fails the runtime with "permission denied" (126 for front ends)', async (t) => {
  const c = await s.container(t, command('/etc'));
  const r = await run(c);
  t.is(r.code, 1);
  t.regex(r.stderr, /^tscontainer-runtime: .*"\/etc".*permission denied\n$/);
  const error = (await c.log()).find((e) => e.level === 'error');
  t.is(error?.execFailure, 'not-executable');
  t.regex(error?.msg ?? '', /permission denied/);
  t.is(await exitEntry(c), undefined, 'nothing ran, so nothing exited');
});

containerTest('a command missing from $PATH fails the runtime with "executable file not found" (127 for front ends)', async (t) => {
  const c = await s.container(t, command('nosuchcmd'));
  const r = await run(c);
  t.is(r.code, 1);
  t.regex(r.stderr, /^tscontainer-runtime: .*"nosuchcmd": executable file not found in \$PATH\n$/);
  const error = (await c.log()).find((e) => e.level === 'error');
  t.is(error?.execFailure, 'not-found');
  t.is(await exitEntry(c), undefined);
});

containerTest('a missing command given by path is reported as "no such file or directory"', async (t) => {
  const c = await s.container(t, command('/bin/nosuchcmd'));
  const r = await run(c);
  t.is(r.code, 1);
  t.regex(r.stderr, /"\/bin\/nosuchcmd".*no such file or directory\n$/);
  t.is((await c.log()).find((e) => e.level === 'error')?.execFailure, 'not-found');
});
