// The container's filesystem: a read-only root stays unwritten, and bind mounts from the
// host are writable or read-only as their options say, both ways seen from the host.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bindMount, patches, shell } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import { suite } from '../helpers/suite.js';

const s = suite('filesystem');

containerTest('a read-only rootfs cannot be written', async (t) => {
  const c = await s.container(t, shell('echo x > /written-by-container; echo "status $?"'));
  t.true(c.config.root?.readonly);
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'status 1\n');
  t.regex(r.stderr, /Read-only file system/);
  t.false(existsSync(path.join(c.config.root!.path, 'written-by-container')));
});


containerTest('a read-write bind mount shows host files and keeps what the container writes', async (t) => {
  const shared = await s.hostDir(t);
  await writeFile(path.join(shared, 'from-host'), 'written by the host\n');
  const c = await s.container(
    t,
    patches(bindMount(shared, '/mnt', 'rw'), shell('cat /mnt/from-host; echo "written by the container" > /mnt/from-container')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'written by the host\n');
  t.is(await readFile(path.join(shared, 'from-container'), 'utf8'), 'written by the container\n');
});

containerTest('a read-only bind mount can be read but not written', async (t) => {
  const shared = await s.hostDir(t);
  await writeFile(path.join(shared, 'from-host'), 'written by the host\n');
  const c = await s.container(
    t,
    patches(bindMount(shared, '/mnt', 'ro'), shell('cat /mnt/from-host; echo x > /mnt/from-container; echo "status $?"')),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'written by the host\nstatus 1\n');
  t.regex(r.stderr, /Read-only file system/);
  t.deepEqual(await readdir(shared), ['from-host']);
});
