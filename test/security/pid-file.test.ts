// `--pid-file` is written by root into a directory the caller names, which someone else may
// be able to write to: a symlink planted where the runtime writes (its temporary `.NAME.tmp`,
// or the pid file's own name) must never make it write through the link (runc creates its
// temporary with O_EXCL as well).
import { lstat, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('security-pid-file');

/** A file only root should change, and the links planted at `name` and `.name.tmp` beside the pid file. */
async function plant(t: ExecutionContext, pidFile: string, at: 'temporary' | 'pid file'): Promise<string> {
  const victim = path.join(await s.hostDir(t), 'precious');
  await writeFile(victim, 'precious\n');
  const link = at === 'temporary' ? path.join(path.dirname(pidFile), `.${path.basename(pidFile)}.tmp`) : pidFile;
  await symlink(victim, link);
  return victim;
}

async function initPid(c: Container): Promise<number> {
  return (await c.state())?.pid ?? -1;
}

for (const at of ['temporary', 'pid file'] as const) {
  containerTest(`create --pid-file never writes through a symlink planted at the ${at}`, async (t) => {
    const c = await s.container(t, shell('sleep 100'));
    const victim = await plant(t, c.pidFile, at);
    const r = await c.runtime('create', '--bundle', c.bundle, '--pid-file', c.pidFile, c.id);
    t.is(r.code, 0, r.stderr);
    t.is(await readFile(victim, 'utf8'), 'precious\n', 'the link target is unchanged');
    t.true((await lstat(c.pidFile)).isFile(), 'the pid file is a file of its own');
    t.is(Number(await readFile(c.pidFile, 'utf8')), await initPid(c));
    if (at === 'temporary') t.is(await readlink(`${path.dirname(c.pidFile)}/.${path.basename(c.pidFile)}.tmp`), victim);
    t.is((await c.runtime('delete', '--force', c.id)).code, 0);
  });
}

containerTest('exec --pid-file never writes through a symlink planted at its temporary', async (t) => {
  const c = await s.container(t, shell('sleep 100'));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  const pidFile = path.join(c.bundle, 'exec.pid');
  const victim = await plant(t, pidFile, 'temporary');
  const r = await c.runtime('exec', '--detach', '--pid-file', pidFile, c.id, 'sleep', '100');
  t.is(r.code, 0, r.stderr);
  t.is(await readFile(victim, 'utf8'), 'precious\n', 'the link target is unchanged');
  t.regex(await readFile(pidFile, 'utf8'), /^\d+$/);
  t.is((await c.runtime('delete', '--force', c.id)).code, 0);
});
