import test from 'ava';

import { attachment, runArgs, runtimeMessage } from '../../ts/api/runtime.js';
import { signalsToRelay } from '../../ts/api/signals.js';

const invocation = { root: '/run/t', bundle: '/tmp/b', logPath: '/tmp/b/runtime.log', id: 'c1' };

test('run arguments name the root, the JSON log and the bundle; --keep keeps state', (t) => {
  t.deepEqual(runArgs({ ...invocation, keep: false }), [
    '--root', '/run/t', '--log', '/tmp/b/runtime.log', '--log-format', 'json', 'run', '--bundle', '/tmp/b', 'c1',
  ]);
  t.deepEqual(runArgs({ ...invocation, keep: true }).slice(-2), ['--keep', 'c1']);
});

test('without interactive, stdin is /dev/null and the runtime gets its own group', (t) => {
  t.deepEqual(attachment({ stdio: 'inherit', interactive: false, tty: false }, true), {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  t.deepEqual(attachment({ stdio: 'pipe', interactive: false, tty: false }, false), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
});

test('a runtime that reads the terminal shares our process group', (t) => {
  t.deepEqual(attachment({ stdio: 'inherit', interactive: true, tty: false }, true), {
    stdio: ['inherit', 'inherit', 'inherit'],
    detached: false,
  });
  t.true(attachment({ stdio: 'inherit', interactive: true, tty: false }, false).detached);
  t.true(attachment({ stdio: 'pipe', interactive: true, tty: false }, true).detached);
  t.deepEqual(attachment({ stdio: 'inherit', interactive: false, tty: true }, true), {
    stdio: ['inherit', 'inherit', 'inherit'],
    detached: false,
  });
});

test("the runtime's message loses its program-name prefix", (t) => {
  t.is(runtimeMessage('tscontainer: container `x` does not exist\n'), 'container `x` does not exist');
  t.is(runtimeMessage('warning first\ntscontainer: the error\n\n'), 'the error');
  t.is(runtimeMessage(''), '');
});

test('SIGINT and SIGQUIT are not relayed when the terminal already sent them', (t) => {
  t.deepEqual(signalsToRelay(false), ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']);
  t.deepEqual(signalsToRelay(true), ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2']);
});
