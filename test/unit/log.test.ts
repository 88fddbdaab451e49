import test from 'ava';

import {
  CommandNotExecutableError,
  CommandNotFoundError,
  ContainerCreateError,
  OperationFailedError,
} from '../../ts/api/errors.js';
import { outcomeOf, parseLog, signalExitCode } from '../../ts/api/log.js';

const line = (entry: object) => JSON.stringify({ time: '2026-01-01T00:00:00Z', ...entry });

test('parseLog keeps entries and skips blank, torn and foreign lines', (t) => {
  const text = [
    line({ level: 'info', msg: 'container exited', exitCode: 0 }),
    '',
    'not json',
    JSON.stringify({ level: 3, msg: 'wrong types' }),
    '{"level":"info","msg":"tor',
  ].join('\n');
  t.deepEqual(
    parseLog(text).map((e) => e.msg),
    ['container exited'],
  );
});

test('an exit code becomes the result', (t) => {
  const entries = parseLog(line({ level: 'info', msg: 'container exited', id: 'a', exitCode: 7, signal: null, oomKilled: false }));
  t.deepEqual(outcomeOf(entries, true), { kind: 'exited', result: { exitCode: 7, signal: null, oomKilled: false } });
});

test('a signal becomes 128 + its number, with its name', (t) => {
  const entries = parseLog(
    line({ level: 'info', msg: 'container exited', id: 'a', exitCode: null, signal: 'SIGKILL', oomKilled: true }),
  );
  t.deepEqual(outcomeOf(entries, true), { kind: 'exited', result: { exitCode: 137, signal: 'SIGKILL', oomKilled: true } });
  t.is(signalExitCode('SIGTERM'), 143);
});

test('an error entry means the runtime failed, whatever else was logged', (t) => {
  const entries = parseLog(
    [
      line({ level: 'warning', msg: 'cannot delete container a: busy' }),
      line({ level: 'error', msg: 'cannot create cgroup: permission denied' }),
    ].join('\n'),
  );
  const outcome = outcomeOf(entries, true);
  if (outcome.kind !== 'failed') return t.fail(outcome.kind);
  t.true(outcome.error instanceof ContainerCreateError);
  t.is(outcome.error.exitCode, 125);
  t.is(outcome.error.message, 'cannot create cgroup: permission denied');
  t.true(outcome.error.reported);
});

test('the code tells a missing command (127) from one that cannot run (126)', (t) => {
  const failed = (code: string) => {
    const outcome = outcomeOf(parseLog(line({ level: 'error', msg: 'exec failed', code })), false);
    if (outcome.kind !== 'failed') throw new Error(outcome.kind);
    return outcome.error;
  };
  const missing = failed('command-not-found');
  t.true(missing instanceof CommandNotFoundError);
  t.is(missing.exitCode, 127);
  t.false(missing.reported);
  const denied = failed('not-executable');
  t.true(denied instanceof CommandNotExecutableError);
  t.is(denied.exitCode, 126);
});

test('without an exit or error entry the outcome is unknown', (t) => {
  t.deepEqual(outcomeOf([], true), { kind: 'unknown' });
  t.deepEqual(outcomeOf(parseLog(line({ level: 'info', msg: 'container exited', exitCode: null, signal: 'SIGNOPE' })), true), {
    kind: 'unknown',
  });
});

test("exec's log: `process exited` carries the result, and a failure that is no exec failure is the caller's error", (t) => {
  const exited = parseLog(line({ level: 'info', msg: 'process exited', id: 'a', exitCode: 4, signal: null }));
  t.deepEqual(outcomeOf(exited, false, { exitMessage: 'process exited' }), {
    kind: 'exited',
    result: { exitCode: 4, signal: null, oomKilled: false },
  });
  t.deepEqual(outcomeOf(exited, false), { kind: 'unknown' }, 'not a container exit');
  const refused = parseLog(line({ level: 'error', msg: 'container `a` is stopped: cannot exec in it' }));
  const outcome = outcomeOf(refused, false, {
    exitMessage: 'process exited',
    failure: (message, options) => new OperationFailedError(message, { ...options, exitCode: 126 }),
  });
  if (outcome.kind !== 'failed') return t.fail(outcome.kind);
  t.true(outcome.error instanceof OperationFailedError);
  t.is(outcome.error.exitCode, 126);
  t.is(outcome.error.message, 'container `a` is stopped: cannot exec in it');
});
