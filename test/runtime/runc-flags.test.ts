// runc's command-line flags that the runtime takes as runc does: systemd socket activation
// (LISTEN_FDS) before --preserve-fds, exec --ignore-paused, run --no-subreaper, list's owner,
// and the flags runc itself refuses on this host (Intel RDT) refused the same way. Each is
// run under runc too where the outcome is compared.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { command, shell } from '../helpers/bundle.js';
import { execute } from '../helpers/exec.js';
import { requires, root } from '../helpers/host.js';
import { runc, runcInstalled, runcPath } from '../helpers/reference.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';

const s = suite('runcflags');
const withRunc = requires(root, runcInstalled);

withRunc('socket activation: the descriptors systemd passed (LISTEN_FDS) reach the process, as with runc', async (t) => {
  const dir = await s.hostDir(t);
  const passed = path.join(dir, 'passed');
  await writeFile(passed, 'the passed descriptor\n');
  const c = await s.container(t, shell('echo "$LISTEN_FDS $LISTEN_PID"; cat <&3; cat <&4 2>/dev/null || echo "no 4"'));
  // As systemd does: LISTEN_PID is the pid of the process it execs, fd 3 is the socket.
  const activated = (program: string, ...args: string[]) =>
    execute(
      '/bin/sh',
      ['-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" 3<"$PASSED"', program, ...args],
      { scratch: dir, env: { ...process.env, PASSED: passed } },
    );
  const ours = await activated(runtimePath(), ...c.globalFlags, 'run', '--bundle', c.bundle, c.id);
  t.is(ours.code, 0, ours.stderr);
  t.is(ours.stdout, '1 1\nthe passed descriptor\nno 4\n');
  const theirs = await activated(runcPath!, '--root', path.join(dir, 'runc'), 'run', '--bundle', c.bundle, `${c.id}-runc`);
  t.is(theirs.stdout, ours.stdout, theirs.stderr);

  // Meant for another process (LISTEN_PID is not ours): nothing is passed.
  const other = await execute(
    '/bin/sh',
    ['-c', 'LISTEN_PID=1 LISTEN_FDS=1 exec "$0" "$@" 3<"$PASSED"', runtimePath(), ...c.globalFlags, 'run', '--bundle', c.bundle, c.id],
    { scratch: dir, env: { ...process.env, PASSED: passed } },
  );
  t.regex(other.stdout, /^ \n/, 'no LISTEN_FDS for the container');
  t.regex(other.stdout, /no 4\n$/);
  t.notRegex(other.stdout, /the passed descriptor/, 'descriptor 3 is not passed');
});

withRunc('exec --ignore-paused runs in a paused container once it is resumed; without it, exec refuses as runc does', async (t) => {
  const c = await s.container(t, command('sleep', '1000'));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  t.is((await c.runtime('pause', c.id)).code, 0);
  const refused = await c.runtime('exec', c.id, 'true');
  t.is(refused.code, 255, 'exec fails with runc\'s status');
  t.regex(refused.stderr, /paused/);

  const exec = spawn(runtimePath(), [...c.globalFlags, 'exec', '--ignore-paused', c.id, 'echo', 'ran'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  exec.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number | null>((resolve) => exec.on('exit', resolve));
  await new Promise((r) => setTimeout(r, 300));
  t.is(out, '', 'nothing runs while the container is frozen');
  t.is((await c.runtime('resume', c.id)).code, 0);
  t.is(await done, 0);
  t.is(out, 'ran\n');
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

withRunc('run --no-subreaper is accepted; update --l3-cache-schema and --mem-bw-schema are refused, as runc refuses them without resctrl', async (t) => {
  const dir = await s.hostDir(t);
  const c = await s.container(t, command('sleep', '1000'));
  const r = await c.runtime('run', '--no-subreaper', '--detach', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is((await runc(path.join(dir, 'runc'), dir, 'run', '--no-subreaper', '--detach', '--bundle', c.bundle, `${c.id}-runc`)).code, 0);
  for (const flag of ['--l3-cache-schema', '--mem-bw-schema']) {
    const ours = await c.runtime('update', flag, 'L3:0=f', c.id);
    const theirs = await runc(path.join(dir, 'runc'), dir, 'update', flag, 'L3:0=f', `${c.id}-runc`);
    t.is(ours.code, 1);
    t.is(theirs.code, 1, theirs.stderr);
    t.regex(ours.stderr, /Intel RDT/);
  }
  await runc(path.join(dir, 'runc'), dir, 'delete', '--force', `${c.id}-runc`);
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});

withRunc('list names the owner of each container, as runc does', async (t) => {
  const c = await s.container(t, command('sleep', '1000'));
  t.is((await c.runtime('create', '--bundle', c.bundle, c.id)).code, 0);
  const json = JSON.parse((await c.runtime('list', '--format', 'json')).stdout) as { id: string; owner: string }[];
  t.is(json.find((e) => e.id === c.id)?.owner, 'root');
  t.regex((await c.runtime('list')).stdout, new RegExp(`^${c.id}\\s.*\\sroot$`, 'm'));
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});
