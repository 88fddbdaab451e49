// Bad input to `tscontainer run`: exactly one line on stderr, naming the thing at fault,
// Docker's exit status (125 when the container cannot be made, 127 for a command that does
// not exist, 126 for one that cannot be executed), nothing on stdout — and nothing left
// behind: no state entry, cgroup directory, bundle in TMPDIR or process (the suite's
// teardown checks every test; DESIGN.md, invariants 3 and 4).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cliSuite } from '../helpers/cli.js';
import { containerTest } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';

const s = cliSuite('cli-bad-input');

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface BadInput {
  what: string;
  /** The arguments after `run --name ID`; `dir` is a fresh host directory. */
  args(dir: string): Promise<string[]> | string[];
  status: 125 | 126 | 127;
  /** What the one line must say, after `tscontainer: `. */
  message(dir: string): RegExp;
}

const cases: BadInput[] = [
  {
    what: 'a missing rootfs',
    args: (dir) => ['--rm', '--rootfs', path.join(dir, 'no-such-rootfs'), 'true'],
    status: 125,
    message: (dir) => new RegExp(`rootfs ${escape(path.join(dir, 'no-such-rootfs'))}: does not exist`),
  },
  {
    what: 'a rootfs that is a file',
    async args(dir) {
      await writeFile(path.join(dir, 'a-file'), 'not a directory\n');
      return ['--rm', '--rootfs', path.join(dir, 'a-file'), 'true'];
    },
    status: 125,
    message: (dir) => new RegExp(`rootfs ${escape(path.join(dir, 'a-file'))}: is not a directory`),
  },
  {
    what: '--memory 10Q',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '--memory', '10Q', 'true'],
    status: 125,
    message: () => /invalid memory limit `10Q`/,
  },
  {
    what: '--pids-limit abc',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '--pids-limit', 'abc', 'true'],
    status: 125,
    message: () => /--pids-limit.*abc/,
  },
  {
    what: '--cpus lots',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '--cpus', 'lots', 'true'],
    status: 125,
    message: () => /invalid cpus `lots`/,
  },
  {
    what: 'an unknown flag',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '--no-such-flag', 'true'],
    status: 125,
    message: () => /unknown flag --no-such-flag/,
  },
  {
    what: 'no command',
    args: () => ['--rm', '--rootfs', fixtureRootfs()],
    status: 125,
    message: () => /missing the command to run/,
  },
  {
    what: '--net bogus',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '--net', 'bogus', 'true'],
    status: 125,
    message: () => /invalid network `bogus`/,
  },
  {
    what: 'a volume whose host path does not exist',
    args: (dir) => ['--rm', '--rootfs', fixtureRootfs(), '-v', `${path.join(dir, 'no-such-dir')}:/mnt`, 'true'],
    status: 125,
    message: (dir) =>
      new RegExp(`invalid volume .*${escape(path.join(dir, 'no-such-dir'))}.*(No such file or directory|does not exist)`),
  },
  {
    what: "a user missing from the rootfs's /etc/passwd",
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '-u', 'nosuchuser', 'true'],
    status: 125,
    message: () => /invalid user `nosuchuser`/,
  },
  {
    what: 'a command not found in $PATH',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), 'nosuchcmd'],
    status: 127,
    message: () => /"nosuchcmd": executable file not found in \$PATH/,
  },
  {
    what: 'a command path that does not exist',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '/bin/nosuchcmd'],
    status: 127,
    message: () => /"\/bin\/nosuchcmd".*no such file or directory/,
  },
  {
    what: 'a command that is not executable',
    args: () => ['--rm', '--rootfs', fixtureRootfs(), '/etc/passwd'],
    status: 126,
    message: () => /"\/etc\/passwd".*permission denied/,
  },
];

containerTest('an unknown flag is one line even with NODE_ENV=development (no oclif warning)', async (t) => {
  const c = await s.container(t);
  const r = await c.runWith({ env: { NODE_ENV: 'development' } }, '--rm', '--no-such-flag', 'true');
  t.is(r.code, 125, r.stderr);
  t.deepEqual(r.errorLines, ['tscontainer: unknown flag --no-such-flag']);
});

for (const bad of cases) {
  containerTest(`${bad.what}: one line naming it, exit ${bad.status}, nothing left behind`, async (t) => {
    const dir = await s.hostDir(t);
    const c = await s.container(t);
    const r = await c.run(...(await bad.args(dir)));
    t.is(r.code, bad.status, r.stderr);
    t.is(r.stdout, '');
    t.is(r.errorLines.length, 1, r.stderr);
    t.regex(r.errorLines[0] ?? '', /^tscontainer: /);
    t.regex(r.errorLines[0] ?? '', bad.message(dir));
  });
}
