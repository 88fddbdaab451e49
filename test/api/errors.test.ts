// How `run()` fails, as a program sees it: every rejection is a TscontainerError subclass
// with a stable `code` and the CLI's exit status; an AbortSignal stops the container and
// rejects with ContainerAbortedError carrying the reason. Each case leaves nothing behind:
// no state entry, cgroup, bundle in TMPDIR or process (the suite's teardown checks it).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { apiSuite } from '../helpers/api.js';
import { containerTest } from '../helpers/host.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { waitUntil } from '../helpers/user-suite.js';
import {
  CommandNotExecutableError,
  CommandNotFoundError,
  ContainerAbortedError,
  InvalidOptionError,
  TscontainerError,
  type RunOptions,
} from '../../ts/index.js';

const s = apiSuite('api-errors');

interface Failure {
  what: string;
  options(dir: string): Promise<RunOptions> | RunOptions;
  type: new (...args: never[]) => TscontainerError;
  code: string;
  exitCode: number;
  message(dir: string): RegExp;
}

const failures: Failure[] = [
  {
    what: "memory '10Q'",
    options: () => ({ command: ['true'], rootfs: fixtureRootfs(), memory: '10Q' }),
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_OPTION',
    exitCode: 125,
    message: () => /^invalid memory limit `10Q`/,
  },
  {
    what: 'a missing rootfs',
    options: (dir) => ({ command: ['true'], rootfs: path.join(dir, 'no-such-rootfs') }),
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_ROOTFS',
    exitCode: 125,
    message: (dir) => new RegExp(`${path.join(dir, 'no-such-rootfs')}: does not exist`),
  },
  {
    what: 'a rootfs that is a file',
    async options(dir) {
      await writeFile(path.join(dir, 'a-file'), 'not a directory\n');
      return { command: ['true'], rootfs: path.join(dir, 'a-file') };
    },
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_ROOTFS',
    exitCode: 125,
    message: (dir) => new RegExp(`${path.join(dir, 'a-file')}: is not a directory`),
  },
  {
    what: "network 'bogus'",
    options: () => ({ command: ['true'], rootfs: fixtureRootfs(), network: 'bogus' as 'none' }),
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_OPTION',
    exitCode: 125,
    message: () => /invalid network `bogus`/,
  },
  {
    what: 'a volume whose host path does not exist',
    options: (dir) => ({ command: ['true'], rootfs: fixtureRootfs(), volumes: [`${path.join(dir, 'nothing')}:/mnt`] }),
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_OPTION',
    exitCode: 125,
    message: (dir) => new RegExp(`invalid volume .*${path.join(dir, 'nothing')}`),
  },
  {
    what: 'an empty command',
    options: () => ({ command: [], rootfs: fixtureRootfs() }),
    type: InvalidOptionError,
    code: 'ERR_TSC_INVALID_OPTION',
    exitCode: 125,
    message: () => /command/,
  },
  {
    what: 'a command not found in $PATH',
    options: () => ({ command: ['nosuchcmd'], rootfs: fixtureRootfs() }),
    type: CommandNotFoundError,
    code: 'ERR_TSC_COMMAND_NOT_FOUND',
    exitCode: 127,
    message: () => /"nosuchcmd": executable file not found in \$PATH/,
  },
  {
    what: 'a command that is not executable',
    options: () => ({ command: ['/etc/passwd'], rootfs: fixtureRootfs() }),
    type: CommandNotExecutableError,
    code: 'ERR_TSC_COMMAND_NOT_EXECUTABLE',
    exitCode: 126,
    message: () => /"\/etc\/passwd".*permission denied/,
  },
];

for (const f of failures) {
  containerTest(`${f.what} rejects with ${f.type.name} (${f.code}, exitCode ${f.exitCode}), a TscontainerError`, async (t) => {
    const dir = await s.hostDir(t);
    const c = await s.container(t);
    const error = await t.throwsAsync(c.run(await f.options(dir)), { instanceOf: f.type });
    t.true(error instanceof TscontainerError);
    t.is(error?.code, f.code);
    t.is(error?.exitCode, f.exitCode);
    t.regex(error?.message ?? '', f.message(dir));
    t.is(c.stdout(), '');
  });
}

containerTest('an AbortSignal stops the container: ContainerAbortedError (ABORT_ERR) with the reason as cause', async (t) => {
  const c = await s.container(t);
  const controller = new AbortController();
  const running = c.run({
    command: ['sh', '-c', 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'],
    rootfs: fixtureRootfs(),
    signal: controller.signal,
  });
  t.true(await waitUntil(() => c.stdout() === 'ready\n', 60_000), c.stdout());
  const reason = new Error('no longer needed');
  controller.abort(reason);
  const error = await t.throwsAsync(running, { instanceOf: ContainerAbortedError });
  t.true(error instanceof TscontainerError);
  t.is(error?.code, 'ABORT_ERR');
  t.is(error?.cause, reason);
  t.regex(error?.message ?? '', new RegExp(c.id));
});

containerTest('an abort the command ignores ends in SIGKILL after killTimeout, and still rejects', async (t) => {
  const c = await s.container(t);
  const controller = new AbortController();
  // PID 1 without a handler ignores SIGTERM.
  const running = c.run({
    command: ['sh', '-c', 'echo ready; while :; do sleep 0.1; done'],
    rootfs: fixtureRootfs(),
    signal: controller.signal,
    killTimeout: 100,
  });
  t.true(await waitUntil(() => c.stdout() === 'ready\n', 60_000), c.stdout());
  controller.abort('stop');
  const error = await t.throwsAsync(running, { instanceOf: ContainerAbortedError });
  t.is(error?.code, 'ABORT_ERR');
  t.is(error?.cause, 'stop');
});

containerTest('an AbortSignal already aborted rejects at once and creates nothing', async (t) => {
  const c = await s.container(t);
  const reason = new Error('too late');
  const running = c.run({ command: ['true'], rootfs: fixtureRootfs(), signal: AbortSignal.abort(reason) });
  const error = await t.throwsAsync(running, { instanceOf: ContainerAbortedError });
  t.is(error?.code, 'ABORT_ERR');
  t.is(error?.cause, reason);
});
