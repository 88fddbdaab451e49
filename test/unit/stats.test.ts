import test from 'ava';

import { InternalError } from '../../ts/api/errors.js';
import { cpuPercent, memoryInUse, parseStats } from '../../ts/api/stats.js';

// What the core prints on a cgroup v1 host (runc's events shape), trimmed.
const v1 = `{"cpu":{"usage":{"total":65954761,"percpu":[32225436,33729325],"kernel":40000000,"user":20000000},
"throttling":{"periods":0,"throttledPeriods":0,"throttledTime":0}},
"memory":{"cache":1409024,"usage":{"limit":9223372036854771712,"usage":2088960,"max":2215936,"failcnt":0},
"swap":{"limit":9223372036854771712,"usage":2088960,"max":2215936,"failcnt":0},
"raw":{"total_inactive_file":208896,"inactive_file":208896,"rss":114688}},"pids":{"current":2,"limit":0}}`;

const read = new Date('2026-01-01T00:00:00Z');

test('stats are typed from the core JSON; the kernel\'s "no limit" (v1: LONG_MAX less a page) is null', (t) => {
  t.deepEqual(parseStats(v1, read), {
    read: '2026-01-01T00:00:00.000Z',
    cpu: {
      total: 65954761,
      perCpu: [32225436, 33729325],
      user: 20000000,
      kernel: 40000000,
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: {
      usage: 2088960,
      maxUsage: 2215936,
      limit: null,
      failcnt: 0,
      cache: 1409024,
      swap: { usage: 2088960, limit: null },
      raw: { total_inactive_file: 208896, inactive_file: 208896, rss: 114688 },
    },
    pids: { current: 2, limit: null },
  });
});

test('v2 "max" (2^64 - 1) is null too; real limits are kept; missing fields read as 0', (t) => {
  const stats = parseStats(
    '{"memory":{"usage":{"limit":18446744073709551615,"usage":5},"swap":{"limit":52428800}},"pids":{"current":3,"limit":64}}',
    read,
  );
  t.is(stats.memory.limit, null);
  t.is(stats.memory.swap.limit, 52428800);
  t.deepEqual(stats.pids, { current: 3, limit: 64 });
  t.is(stats.cpu.total, 0);
  t.deepEqual(stats.cpu.perCpu, []);
  t.deepEqual(stats.memory.raw, {});
});

test('stats that are not JSON are an internal error', (t) => {
  t.throws(() => parseStats('{', read), { instanceOf: InternalError });
});

test('CPU use is the CPU time between two readings over the time between them (100 = one CPU)', (t) => {
  const at = (ms: number, total: number) =>
    parseStats(JSON.stringify({ cpu: { usage: { total } } }), new Date(read.getTime() + ms));
  t.is(cpuPercent(at(0, 0), at(1000, 500_000_000)), 50);
  t.is(cpuPercent(at(0, 0), at(500, 1_000_000_000)), 200);
  t.is(cpuPercent(at(0, 5), at(0, 10)), null, 'no time between them');
  t.is(cpuPercent(at(0, 10), at(1000, 5)), 0, 'a counter reset is no negative use');
});

test('memory in use leaves out inactive file pages (v1 total_ counters, v2 plain ones)', (t) => {
  t.is(memoryInUse(parseStats(v1, read).memory), 2088960 - 208896);
  t.is(memoryInUse({ ...parseStats(v1, read).memory, raw: { inactive_file: 1000 } }), 2088960 - 1000);
  t.is(memoryInUse({ ...parseStats(v1, read).memory, usage: 10, raw: { inactive_file: 1000 } }), 0);
});
