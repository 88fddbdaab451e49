// A detached container's output is written by its supervising runtime into its bundle, and
// a container that writes without end used to grow that file without bound (and `logs` read
// it whole). It is now rotated as Docker's json-file driver does (max-size, max-file; 10 MiB
// x 3 by default), and `logs` reads it chunk by chunk: the last N lines, or following it,
// across rotated files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { apiSuite } from '../helpers/api.js';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import { containerTest, requires, root } from '../helpers/host.js';
import { bundleDir } from '../helpers/leftovers.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { waitUntil } from '../helpers/user-suite.js';

const s = apiSuite('security-output');
const cli = cliSuite('security-output-cli');
const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);

const MIB = 1024 * 1024;
const sh = (script: string) => ['sh', '-c', script];
/** `n` numbered lines of 100 bytes each (`line 000042` and padding). */
const lines = (n: number, pause = '') =>
  `i=0; while [ $i -lt ${n} ]; do printf "line %06d %088d\\n" $i 0; i=$((i+1)); ${pause} done`;

function outputFiles(id: string): { name: string; size: number }[] {
  return readdirSync(bundleDir(id))
    .filter((f) => f.startsWith('output.log'))
    .sort()
    .map((name) => ({ name, size: statSync(path.join(bundleDir(id), name)).size }));
}

containerTest('a detached container writing 25 MiB keeps at most 3 files of 10 MiB by default', async (t) => {
  const c = await s.container(t);
  const container = await c.create({ command: sh('yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 26214400'), rootfs: fixtureRootfs() });
  await container.start();
  await container.wait();
  const files = outputFiles(c.id);
  t.log(files.map((f) => `${f.name}: ${f.size}`).join(', '));
  t.deepEqual(
    files.map((f) => f.name),
    ['output.log', 'output.log.1', 'output.log.2'],
  );
  for (const f of files) t.true(f.size <= 10 * MIB, `${f.name} holds at most 10 MiB`);
  t.true(files.reduce((sum, f) => sum + f.size, 0) >= 20 * MIB, 'the last 20 MiB at least are kept');
  await container.delete();
});

containerTest('log max-size and max-file: the oldest file goes; logs and its tail read across the files', async (t) => {
  const c = await s.container(t);
  const container = await c.create({
    command: sh(lines(2000)),
    rootfs: fixtureRootfs(),
    log: { maxSize: '64k', maxFiles: 2 },
  });
  await container.start();
  await container.wait();
  const files = outputFiles(c.id);
  t.deepEqual(
    files.map((f) => f.name),
    ['output.log', 'output.log.1'],
  );
  for (const f of files) t.true(f.size <= 64 * 1024, `${f.name}: ${f.size}`);
  const all = (await container.logs()) ?? '';
  const kept = all.split('\n').filter(Boolean);
  t.true(kept.length > 0 && kept.length <= 2 * 655, `${kept.length} lines kept`);
  t.regex(kept.at(-1) ?? '', /^line 001999 /, 'the newest line is there');
  t.regex(kept[0] ?? '', /^line \d{6} 0+$/, 'every kept line is whole: files end at line ends');
  const tail = ((await container.logs({ tail: 700 })) ?? '').split('\n').filter(Boolean);
  t.is(tail.length, 700, 'the tail spans both files');
  t.deepEqual(tail, kept.slice(-700));
  await container.delete();
});

containerTest('streamLogs follows the output across rotations until the container stops', async (t) => {
  const c = await s.container(t);
  // About 5 KB/s into 4 KiB files: a rotation every second or so, each seen by a follower
  // that looks every 100 ms.
  const container = await c.create({
    command: sh(`${lines(150, '[ $((i % 10)) = 0 ] && sleep 0.2;')}`),
    rootfs: fixtureRootfs(),
    log: { maxSize: '4k', maxFiles: 2 },
  });
  await container.start();
  let text = '';
  for await (const chunk of container.streamLogs({ follow: true })) text += chunk;
  const got = text.split('\n').filter(Boolean).map((l) => Number(l.slice(5, 11)));
  t.deepEqual(
    got,
    Array.from({ length: 150 }, (_, i) => i),
    'every line once, in order',
  );
  t.is((await container.state()).status, 'stopped', 'it ended with the container');
  await container.delete();
});

cliTest('tscontainer logs --tail N -f, and run -d --log-opt', async (t) => {
  const c = await cli.container(t);
  const run = await c.run('-d', '--log-opt', 'max-size=8k', '--log-opt', 'max-file=2', '--rootfs', fixtureRootfs(), 'sh', '-c', `${lines(300)}; sleep 1; echo last`);
  t.is(run.code, 0, run.stderr);
  t.true(await waitUntil(() => existsSync(path.join(bundleDir(c.id), 'output.log.1')), 20_000), 'rotated');
  const followed = await c.cli('logs', '--tail', '2', '-f', c.id);
  t.is(followed.code, 0, followed.stderr);
  const out = followed.stdout.split('\n').filter(Boolean);
  t.is(out.at(-1), 'last', 'followed until the container stopped');
  t.true(out.length >= 2, followed.stdout);
  t.true(outputFiles(c.id).every((f) => f.size <= 8 * 1024));
  const bad = await c.run('-d', '--log-opt', 'max-size=lots', '--rootfs', fixtureRootfs(), 'true');
  t.is(bad.code, 125);
  t.deepEqual(bad.errorLines, ['tscontainer: invalid log option max-size `lots`: expected a size such as 512k, 50M or 1g']);
  t.is((await c.cli('rm', '-f', c.id)).code, 0);
});
