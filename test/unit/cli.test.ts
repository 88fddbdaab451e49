import { CLIError } from '@oclif/core/errors';
import * as Flags from '@oclif/core/flags';
import { parse } from '@oclif/core/parser';
import test from 'ava';

import { CommandNotFoundError, InvalidOptionError } from '../../ts/api/errors.js';
import { runPositionals, splitCommand } from '../../ts/cli/argv.js';
import { FlagValueError, failure, usageSentence } from '../../ts/cli/errors.js';
import { integer } from '../../ts/cli/flags.js';
import { table } from '../../ts/cli/table.js';

const flags = {
  memory: Flags.string(),
  env: Flags.string({ char: 'e', multiple: true }),
  tty: Flags.boolean({ char: 't' }),
  interactive: Flags.boolean({ char: 'i' }),
  rm: Flags.boolean(),
};

test('flags end at the first word that is neither a flag nor a value', (t) => {
  t.deepEqual(splitCommand(['--rm', '-e', 'A=1', '--memory', '50M', 'sh', '-c', 'echo $A', '--rm'], flags), {
    options: ['--rm', '-e', 'A=1', '--memory', '50M'],
    command: ['sh', '-c', 'echo $A', '--rm'],
    dashed: false,
  });
});

test('-- ends the flags and is dropped', (t) => {
  t.deepEqual(splitCommand(['--rm', '--', '-x', 'y'], flags), { options: ['--rm'], command: ['-x', 'y'], dashed: true });
});

test('inline values and short groups are understood', (t) => {
  t.deepEqual(splitCommand(['--memory=1g', '-eA=1', '-it', 'sh'], flags), {
    options: ['--memory=1g', '-eA=1', '-it'],
    command: ['sh'],
    dashed: false,
  });
  t.deepEqual(splitCommand(['-ite', 'A=1', 'sh'], flags), { options: ['-ite', 'A=1'], command: ['sh'], dashed: false });
});

test('unknown flags and a missing command are left for the parser', (t) => {
  t.deepEqual(splitCommand(['--bogus', 'sh'], flags), { options: ['--bogus'], command: ['sh'], dashed: false });
  t.deepEqual(splitCommand(['--memory'], flags), { options: ['--memory'], command: [], dashed: false });
  t.deepEqual(splitCommand([], flags), { options: [], command: [], dashed: false });
});

test("run's positional words: the first before a -- is the image, unless --rootfs", (t) => {
  const words = (argv: string[], rootfs = false) => runPositionals(splitCommand(argv, flags), rootfs);
  t.deepEqual(words(['--rm', 'alpine', 'echo', 'hi']), { image: 'alpine', command: ['echo', 'hi'] });
  t.deepEqual(words(['--rm', 'debian:12']), { image: 'debian:12', command: [] });
  t.deepEqual(words(['--rm', 'alpine', '--', 'ls', '-l']), { image: 'alpine', command: ['ls', '-l'] });
  t.deepEqual(words(['--rm', 'alpine', 'sh', '--', 'x']), { image: 'alpine', command: ['sh', '--', 'x'] });
  t.deepEqual(words(['--rm', '--', 'sh', '-c', 'echo $$']), { image: undefined, command: ['sh', '-c', 'echo $$'] });
  t.deepEqual(words(['--rm', 'sh', '-c', 'x'], true), { image: undefined, command: ['sh', '-c', 'x'] });
  t.deepEqual(words(['--rm']), { image: undefined, command: [] });
});

test("oclif's parse errors become one sentence", (t) => {
  const nonexistent = Object.assign(new CLIError('Nonexistent flag: --bogus\nSee more help with --help'), {
    flags: ['--bogus'],
  });
  t.is(usageSentence(nonexistent), 'unknown flag --bogus');
  const missing = Object.assign(new CLIError('Missing 1 required arg:\nids  container ids'), {
    args: [{ name: 'ids' }],
  });
  t.is(usageSentence(missing), 'missing argument ids');
  // What oclif throws when a flag's parse refused the value: that error, its text rewritten.
  const parsing = new FlagValueError('pids-limit', 'abc', 'expected an integer');
  parsing.message = `Parsing --pids-limit \n\t${parsing.message}\nSee more help with --help`;
  t.is(usageSentence(parsing), 'invalid --pids-limit `abc`: expected an integer');
  t.is(usageSentence(new CLIError('Flag --memory expects a value')), 'flag --memory expects a value');
});

test("oclif's real parse errors are read by their fields", async (t) => {
  const input = {
    flags: {
      detach: Flags.boolean({ char: 'd', exclusive: ['tty'] }),
      tty: Flags.boolean({ char: 't' }),
      'pids-limit': integer({ min: 1 }),
    },
    strict: true,
  };
  const sentence = async (argv: string[]) => {
    const error = await parse(argv, input).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (!(error instanceof CLIError)) return t.fail(`no CLIError for ${argv.join(' ')}`);
    return usageSentence(error);
  };
  t.is(await sentence(['-d', '-t']), '--detach cannot be used with --tty');
  t.is(await sentence(['--pids-limit', 'abc']), 'invalid --pids-limit `abc`: expected an integer');
  t.is(await sentence(['--pids-limit', '0']), 'invalid --pids-limit `0`: expected an integer of at least 1');
});

test('failures carry their Docker-style status', (t) => {
  t.deepEqual(failure(new InvalidOptionError('invalid memory limit `10Q`'), 1), {
    message: 'invalid memory limit `10Q`',
    exitCode: 125,
  });
  t.deepEqual(failure(new CommandNotFoundError('not found', { reported: true }), 125), {
    message: undefined,
    exitCode: 127,
  });
  t.is(failure(new CLIError('Flag --x expects a value'), 1).exitCode, 125);
  t.deepEqual(failure(new Error('boom'), 125), { message: 'boom', exitCode: 125 });
});

test('tables pad every column but the last', (t) => {
  t.is(
    table(['ID', 'STATUS', 'ROOTFS'], [['abc', 'running', '/'], ['a', 'stopped', '/r']]),
    ['ID    STATUS    ROOTFS', 'abc   running   /', 'a     stopped   /r'].join('\n'),
  );
});
