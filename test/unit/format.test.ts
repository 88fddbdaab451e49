import test from 'ava';

import { ago, bytesSize, commandText, humanDuration, percent, statusText } from '../../ts/cli/format.js';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

test("durations are worded as Docker words them", (t) => {
  const cases: [number, string][] = [
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * second, '1 second'],
    [59 * second, '59 seconds'],
    [60 * second, 'About a minute'],
    [119 * second, 'About a minute'],
    [2 * minute, '2 minutes'],
    [59 * minute, '59 minutes'],
    [60 * minute, 'About an hour'],
    [89 * minute, 'About an hour'],
    [90 * minute, '2 hours'],
    [47 * hour, '47 hours'],
    [48 * hour, '2 days'],
    [13 * day, '13 days'],
    [14 * day, '2 weeks'],
    [60 * day, '2 months'],
    [2 * 365 * day, '2 years'],
  ];
  for (const [ms, words] of cases) t.is(humanDuration(ms), words, `${ms} ms`);
});

test('times are shown as how long ago; a time in the future is now, a bad one is shown as is', (t) => {
  const now = Date.parse('2026-01-01T00:10:00Z');
  t.is(ago('2026-01-01T00:04:59.123456789Z', now), '5 minutes ago');
  t.is(ago('2026-01-01T00:10:05Z', now), 'Less than a second ago');
  t.is(ago('yesterday-ish', now), 'yesterday-ish');
});

test('STATUS as docker ps shows it', (t) => {
  const now = Date.parse('2026-01-01T00:00:30Z');
  const exit = { exitCode: 137, signal: 'SIGKILL' as const, oomKilled: false, finished: '2026-01-01T00:00:00Z' };
  t.is(statusText({ status: 'creating', exit: null }, now), 'Creating');
  t.is(statusText({ status: 'created', exit: null }, now), 'Created');
  t.is(statusText({ status: 'running', exit: null }, now), 'Up');
  t.is(statusText({ status: 'paused', exit: null }, now), 'Paused');
  t.is(statusText({ status: 'stopped', exit }, now), 'Exited (137) 30 seconds ago');
  t.is(statusText({ status: 'stopped', exit: { ...exit, exitCode: 3, signal: null } }, now), 'Exited (3) 30 seconds ago');
  t.is(statusText({ status: 'stopped', exit: null }, now), 'Stopped', 'nothing recorded how it ended');
});

test('commands are quoted and cut to 20 characters', (t) => {
  t.is(commandText(['sleep', '1000']), '"sleep 1000"');
  t.is(commandText(['sh', '-c', 'echo hello; sleep 1000']), '"sh -c echo hello; s…"');
  t.is(commandText([]), '""');
});

test('sizes have a binary unit and four significant digits, as docker stats shows them', (t) => {
  t.is(bytesSize(0), '0B');
  t.is(bytesSize(1023), '1023B');
  t.is(bytesSize(1024), '1KiB');
  t.is(bytesSize(1536 * 1024), '1.5MiB');
  t.is(bytesSize(64 * 1024 * 1024), '64MiB');
  t.is(bytesSize(25_275_813_888), '23.54GiB');
  t.is(percent(1.234), '1.23%');
  t.is(percent(null), '--');
});
