import test from 'ava';

import { ContainerNotFoundError, InvalidOptionError, OperationFailedError } from '../../ts/api/errors.js';
import {
  attachment,
  commandError,
  execArgs,
  runArgs,
  runtimeMessage,
  supervisedCreateArgs,
} from '../../ts/api/runtime.js';
import type { ContainerProcess } from '../../ts/api/attached.js';
import { isSignalName, parseSignal, relaySignals, signalsToRelay } from '../../ts/api/signals.js';
import { supervises } from '../../ts/api/supervisor.js';

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

test.serial('a signal that arrives before the container is known is held, then relayed to it; none ends the process', async (t) => {
  const relay = relaySignals();
  const killed: (NodeJS.Signals | number)[] = [];
  const container = { receivesTerminalSignals: true, kill: (signal: NodeJS.Signals | number) => killed.push(signal) > 0 };
  const delivered = () => new Promise((resolve) => setTimeout(resolve, 100));
  try {
    // Unhandled, either would end this process (SIGUSR2's and SIGINT's default).
    process.kill(process.pid, 'SIGUSR2');
    process.kill(process.pid, 'SIGINT');
    await delivered();
    t.deepEqual(killed, []);
    relay.attach(container as unknown as ContainerProcess);
    t.deepEqual(killed, ['SIGUSR2'], 'held until attached; SIGINT is the terminal\'s to deliver here');
    process.kill(process.pid, 'SIGTERM');
    await delivered();
    t.deepEqual(killed, ['SIGUSR2', 'SIGTERM']);
  } finally {
    relay.stop();
  }
  t.is(process.listenerCount('SIGTERM'), 0, 'stop() removes the handlers');
});


test('a supervised create names the root, the JSON log, the output and its limits, the bundle; --rm deletes at the end', (t) => {
  const output = { path: '/b/output.log', maxSize: 10485760, maxFiles: 3 };
  const create = { root: '/run/t', bundle: '/b', logPath: '/b/runtime.log', id: 'c1', output };
  t.deepEqual(supervisedCreateArgs({ ...create, remove: false }), [
    '--root', '/run/t', '--log', '/b/runtime.log', '--log-format', 'json',
    'create', '--supervise', '--output', '/b/output.log', '--output-max-size', '10485760', '--output-max-files', '3',
    '--bundle', '/b', 'c1',
  ]);
  t.deepEqual(supervisedCreateArgs({ ...create, remove: true }).slice(6, 9), ['create', '--supervise', '--rm']);
});

test("exec arguments: the flags given, then -- so the command's own flags stay its own", (t) => {
  const base = { root: '/run/t', logPath: '/tmp/e/runtime.log', id: 'c1', command: ['ls', '-l'], env: [] };
  t.deepEqual(execArgs({ ...base, tty: false, detach: false }), [
    '--root', '/run/t', '--log', '/tmp/e/runtime.log', '--log-format', 'json', 'exec', '--', 'c1', 'ls', '-l',
  ]);
  t.deepEqual(
    execArgs({ ...base, env: ['A=1', 'B=2'], cwd: '/tmp', user: '1000:1000', tty: true, detach: true, pidFile: '/tmp/e/pid' }).slice(6),
    ['exec', '--detach', '--tty', '--env', 'A=1', '--env', 'B=2', '--cwd', '/tmp', '--user', '1000:1000',
      '--pid-file', '/tmp/e/pid', '--', 'c1', 'ls', '-l'],
  );
});

test("a failed runtime command is the runtime's message; a missing container is a ContainerNotFoundError", (t) => {
  const failed = (msg: string, code: string) => ({ code: 1, signal: null, message: msg, error: { level: 'error', msg, code } });
  const missing = commandError(failed('container `x` does not exist', 'not-found'), 'x', 'start');
  t.true(missing instanceof ContainerNotFoundError);
  t.is(missing.message, 'container `x` does not exist');
  const refused = commandError(failed('container `x` is running: cannot delete it', 'invalid-status'), 'x', 'delete');
  t.true(refused instanceof OperationFailedError);
  t.is(refused.exitCode, undefined, 'the command decides the status');
  t.is(commandError({ code: 2, signal: null, message: '' }, 'x', 'pause').message, 'tscontainer-runtime could not pause container x (status 2)');
  const killed = commandError({ code: null, signal: 'SIGKILL', message: '' }, 'x', 'kill');
  t.is(killed.message, 'tscontainer-runtime was killed by SIGKILL while trying to kill container x');
  t.is(killed.signal, 'SIGKILL');
});

test('signals: names with or without SIG, any case, and numbers up to 64; anything else is bad input', (t) => {
  t.is(parseSignal('SIGUSR1'), 'SIGUSR1');
  t.is(parseSignal('usr1'), 'SIGUSR1');
  t.is(parseSignal(' TERM '), 'SIGTERM');
  t.is(parseSignal(9), '9');
  t.is(parseSignal('64'), '64');
  for (const bad of ['NOPE', 'SIG', '0', '65', '-1', '1.5', '']) {
    t.throws(() => parseSignal(bad), { instanceOf: InvalidOptionError }, bad);
  }
  t.true(isSignalName('SIGKILL'));
  t.false(isSignalName('KILL'));
  t.false(isSignalName(undefined));
});

test("signals are read by the core's rule, the runtime's own: realtime ones by name too (glibc's SIGRTMIN is 34)", (t) => {
  t.is(parseSignal('RTMIN+1'), '35');
  t.is(parseSignal('sigrtmax-1'), '63');
  t.is(parseSignal('abrt'), 'SIGABRT');
  // Node knows SIGIOT; the runtime (as runc) does not, and refused it after this layer let it by.
  for (const bad of ['RTMIN+99', 'IOT']) t.throws(() => parseSignal(bad), { instanceOf: InvalidOptionError }, bad);
});

test('exec arguments: a resolved user brings its supplementary groups', (t) => {
  const base = { root: '/r', logPath: '/l', id: 'c1', command: ['id'], env: [], tty: false, detach: false };
  t.deepEqual(execArgs({ ...base, user: '1000:1000', additionalGids: [100, 27] }).slice(6, 13), [
    'exec', '--user', '1000:1000', '--additional-gids', '100', '--additional-gids', '27',
  ]);
});

test("a container's supervisor is found by its command line: create --supervise, or a foreground run", (t) => {
  const create = ['tscontainer', '--root', '/run/t', '--log', '/b/runtime.log', '--log-format', 'json', 'create', '--supervise', '--bundle', '/b', 'c1'];
  t.true(supervises(create, 'c1', '/run/t'));
  t.false(supervises(create, 'c2', '/run/t'), 'another container');
  t.false(supervises(create, 'c1', '/run/other'), 'another root');
  t.false(supervises(create.filter((a) => a !== '--supervise'), 'c1', '/run/t'), 'a plain create has no supervisor');
  t.true(supervises(['tscontainer-runtime', '--root', '/run/t', 'run', '--bundle', '/b', '--keep', 'c1'], 'c1', '/run/t'));
  t.false(supervises(['tscontainer-runtime', '--root', '/run/t', 'exec', '--', 'c1', 'run'], 'run', '/run/t'));
});
