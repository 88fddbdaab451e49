// The CLI and the API read the rootfs's /etc/passwd and /etc/group on the host to resolve
// `--user` (issue 11, item 10). An untrusted rootfs shapes those files to attack the reader:
// a symlink to /dev/zero (memory grows without bound), a FIFO (the read never returns), a
// device node (the host's device is opened), a symlink to a host file such as /etc/shadow
// (its fields leak through the uid and HOME), or a huge file. Every file of a rootfs is
// resolved inside the rootfs, must be a regular file and is read up to a bound: each shape
// ends in one sentence naming the file (or, for a link that leads out, in the rootfs's own
// file at that path), quickly, and nothing leaks.
//
// The CLI and the API run in processes of their own, under a 512 MiB data limit and a 60 s
// timeout, so the attack on the old code fails the test instead of the machine.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiSuite } from '../helpers/api.js';
import { cliSuite, staleBuild } from '../helpers/cli.js';
import { execute } from '../helpers/exec.js';
import { requires, root } from '../helpers/host.js';
import { repoRoot } from '../helpers/paths.js';

const s = cliSuite('security-rootfs-files');
const api = apiSuite('security-rootfs-files-api');
const stale = staleBuild();
const cliTest = requires(root, [stale === undefined, stale ?? '']);
const apiTest = requires(root);

const LIMITS = ['prlimit', `--data=${512 * 1024 ** 2}`, 'timeout', '-s', 'KILL', '60'];
/**
 * What the container prints: its uid and HOME. Read from /proc, not with `id`: inside, the
 * container's own /etc/passwd is the container's business (a link to its /dev/zero keeps
 * `id` reading forever there).
 */
const PROBE = ['sh', '-c', 'awk \'/^Uid:/ { print $2 }\' /proc/self/status; echo "$HOME"'];
/** A passwd line only the host has: its uid and home must never reach a container. */
const SECRET_UID = '4242';
const SECRET_LINE = `victim:x:${SECRET_UID}:${SECRET_UID}::/secret-home:/bin/sh\n`;

interface Shape {
  what: string;
  /** Replaces `file` (etc/passwd or etc/group of `rootfs`) with the hostile shape. */
  make(file: string, dir: string): void;
  user: string;
  file?: 'passwd' | 'group';
  /** The one line the user reads instead, or what the container prints when it runs. */
  refusal?: RegExp;
  runs?: string;
}

const notRegular = (file: string) => new RegExp(`rootfs .*: /etc/${file} is a [a-zA-Z ]+, not a regular file`);

const shapes: Shape[] = [
  {
    what: 'etc/passwd -> /dev/zero',
    make(file) {
      // Resolved inside the rootfs, the link reaches the rootfs's own dev/zero: here a
      // regular file naming the user. The host's /dev/zero would grow the reader's memory
      // until it fails.
      writeFileSync(path.join(path.dirname(file), '..', 'dev', 'zero'), 'tester:x:1000:1000::/home/tester:/bin/sh\n');
      symlinkSync('/dev/zero', file);
    },
    user: 'tester',
    runs: '1000\n/home/tester\n',
  },
  {
    what: 'etc/passwd a device node (the host /dev/zero)',
    make: (file) => execFileSync('mknod', [file, 'c', '1', '5']),
    user: 'tester',
    refusal: notRegular('passwd'),
  },
  {
    what: 'etc/passwd a FIFO',
    make: (file) => execFileSync('mkfifo', [file]),
    user: 'tester',
    refusal: notRegular('passwd'),
  },
  {
    what: 'etc/group a FIFO',
    make: (file) => execFileSync('mkfifo', [file]),
    file: 'group',
    user: 'tester:tester',
    refusal: notRegular('group'),
  },
  {
    what: 'etc/passwd -> a host file, absolute',
    make(file, dir) {
      writeFileSync(path.join(dir, 'secret'), SECRET_LINE);
      symlinkSync(path.join(dir, 'secret'), file);
    },
    user: 'victim',
    refusal: /no user `victim` in the container's \/etc\/passwd/,
  },
  {
    what: 'etc/passwd -> a host file, relative',
    make(file, dir) {
      writeFileSync(path.join(dir, 'secret'), SECRET_LINE);
      symlinkSync(`../../../../../../../../../../..${path.join(dir, 'secret')}`, file);
    },
    user: 'victim',
    refusal: /no user `victim` in the container's \/etc\/passwd/,
  },
  {
    what: 'etc/passwd -> /etc/shadow',
    make: (file) => symlinkSync('/etc/shadow', file),
    user: 'root',
    refusal: /no user `root` in the container's \/etc\/passwd/,
  },
  {
    what: 'etc/passwd of 64 MiB',
    make: (file) => writeFileSync(file, `${'#'.repeat(1023)}\n`.repeat(64 * 1024)),
    user: 'tester',
    refusal: /rootfs .*: \/etc\/passwd is larger than \d+ MiB/,
  },
];

async function hostileRootfs(t: ExecutionContext, shape: Shape): Promise<string> {
  const rootfs = await s.privateRootfs(t);
  const file = path.join(rootfs, 'etc', shape.file ?? 'passwd');
  rmSync(file);
  shape.make(file, path.dirname(rootfs));
  return rootfs;
}

for (const shape of shapes) {
  cliTest(`tscontainer run --rootfs DIR -u ${shape.user}, ${shape.what}: one sentence, nothing read outside DIR`, async (t) => {
    const rootfs = await hostileRootfs(t, shape);
    const c = await s.container(t);
    const r = await c.runWith({ wrapper: LIMITS }, '--rm', '--rootfs', rootfs, '-u', shape.user, ...PROBE);
    t.is(r.signal, null, `the CLI was killed (${r.signal}): it hung or exhausted its memory`);
    t.notRegex(r.stdout, new RegExp(`${SECRET_UID}|secret-home`));
    if (shape.runs !== undefined) {
      t.is(r.code, 0, r.stderr);
      t.is(r.stdout, shape.runs);
      return;
    }
    t.is(r.code, 125, r.stdout + r.stderr);
    t.deepEqual(r.errorLines.length, 1, r.stderr);
    t.regex(r.stderr, shape.refusal!);
  });

  apiTest(`run({ rootfs, user: '${shape.user}' }), ${shape.what}: one sentence, nothing read outside the rootfs`, async (t) => {
    const rootfs = await hostileRootfs(t, shape);
    // The API's own harness: its teardown finds and removes whatever the run left.
    const c = await api.container(t);
    const options = { command: PROBE, rootfs, user: shape.user, root: api.stateRoot, name: c.id };
    const script = path.join(repoRoot, 'test/security/tools/api-run.ts');
    const r = await execute(
      LIMITS[0]!,
      [...LIMITS.slice(1), process.execPath, '--import', 'tsx', script, JSON.stringify(options), c.tmpdir],
      { scratch: path.dirname(rootfs) },
    );
    t.is(r.signal, null, `the API's process was killed (${r.signal}): it hung or exhausted its memory`);
    t.is(r.code, 0, r.stderr);
    const outcome = JSON.parse(r.stdout) as { error?: { name: string; code: string; exitCode: number; message: string }; stdout?: string };
    t.notRegex(outcome.stdout ?? '', new RegExp(`${SECRET_UID}|secret-home`));
    if (shape.runs !== undefined) {
      t.is(outcome.error, undefined);
      t.is(outcome.stdout, shape.runs);
      return;
    }
    t.like(outcome.error, { name: 'InvalidOptionError', exitCode: 125 });
    t.regex(outcome.error?.message ?? '', shape.refusal!);
  });
}
