// The container's process as the config describes it — environment, working directory,
// user — and the foreground `run`'s plumbing: stdin reaches the command, and a signal sent to
// the runtime reaches the container.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite } from '../helpers/suite.js';

const s = suite('process');

containerTest('the environment comes from the config', async (t) => {
  const c = await s.container(
    t,
    patches((config) => {
      config.process!.env = [...(config.process!.env ?? []), 'GREETING=hello from the config'];
    }, shell('echo "$GREETING"; echo "$PATH"')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'hello from the config\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
});

containerTest('the working directory comes from the config', async (t) => {
  const c = await s.container(
    t,
    patches((config) => {
      config.process!.cwd = '/home/tester';
    }, shell('pwd')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '/home/tester\n');
});

containerTest('the command runs as the configured unprivileged user', async (t) => {
  const c = await s.container(
    t,
    patches((config) => {
      config.process!.user = { uid: 1000, gid: 1000 };
    }, shell('id -u; id -g; id -un')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, '1000\n1000\ntester\n');
});

containerTest('stdin piped into run reaches the command', async (t) => {
  const c = await s.container(t, shell('cat; echo "<eof>"'));
  const input = 'first line\nsecond line\n';
  const r = await c.runtimeWithInput(input, 'run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${input}<eof>\n`);
});

containerTest('SIGTERM sent to the foreground run reaches the container', async (t) => {
  const c = await s.container(t, shell('trap "exit 42" TERM; echo ready; while :; do sleep 0.1; done'));
  const child = spawn(runtimePath(), [...c.globalFlags, 'run', '--bundle', c.bundle, c.id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const ready = new Promise<boolean>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.includes('ready\n')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  t.true(await ready, `the container never said ready: ${stdout} ${stderr}`);

  child.kill('SIGTERM');
  const [code, signal] = await exited;
  t.is(signal, null, 'the runtime itself was not killed');
  t.is(code, 42, stderr);
  t.like((await c.log()).find((e) => e.msg === 'container exited'), { exitCode: 42, signal: null });
});
