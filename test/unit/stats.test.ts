import test from 'ava';

import { ContainerAbortedError, InternalError, InvalidOptionError } from '../../ts/api/errors.js';
import { cpuPercent, memoryInUse, parseStats, statsStream } from '../../ts/api/stats.js';

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

/**
 * A container whose CPU time grows by 10 ms per reading. It stops once it has been read
 * `runsFor` times (never by default); then its cgroup still reads (as it does until delete)
 * unless it is `deleted`. `failing`: reads fail while it runs.
 */
function source(options: { runsFor?: number; deleted?: boolean; failing?: boolean } = {}) {
  let reads = 0;
  const ended = () => options.runsFor !== undefined && reads >= options.runsFor;
  return {
    id: 'c1',
    get reads() {
      return reads;
    },
    read: async () => {
      if (options.failing === true && !ended()) throw new Error('no cgroup');
      if (ended() && options.deleted === true) throw new Error('container `c1` does not exist');
      reads += 1;
      return parseStats(JSON.stringify({ cpu: { usage: { total: reads * 10_000_000 } } }), new Date());
    },
    ended,
  };
}

/** Timers still pending in this process: a stream must leave none behind. */
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

test.serial('a stats stream yields readings an interval apart, each with the CPU use since the one before', async (t) => {
  const before = timers();
  const src = source();
  const readings = [];
  for await (const reading of statsStream(src, { interval: 20 })) {
    readings.push(reading);
    if (readings.length === 3) break;
  }
  t.is(src.reads, 4, 'a first, unreported reading gives the first one its CPU use');
  t.deepEqual(
    readings.map((r) => r.cpu.total),
    [20_000_000, 30_000_000, 40_000_000],
  );
  for (const r of readings) t.true(typeof r.cpuPercent === 'number' && r.cpuPercent > 0, String(r.cpuPercent));
  t.is(timers(), before, 'no timer left once the consumer stops');
});

test('a stats stream ends once the container stops or is deleted; a read that fails while it runs rejects', async (t) => {
  const stopped = [];
  for await (const reading of statsStream(source({ runsFor: 3 }), { interval: 5 })) stopped.push(reading);
  t.is(stopped.length, 1, 'readings 1 and 2 make one; the 3rd finds it stopped');
  const deleted = [];
  for await (const reading of statsStream(source({ runsFor: 4, deleted: true }), { interval: 5 })) deleted.push(reading);
  t.is(deleted.length, 2);
  const never = [];
  for await (const reading of statsStream(source({ runsFor: 1 }), { interval: 5 })) never.push(reading);
  t.is(never.length, 0, 'a container stopped at the first reading yields nothing');
  await t.throwsAsync(statsStream(source({ failing: true }), { interval: 5 }).next(), { message: 'no cgroup' });
});

test.serial('an abort ends a stats stream at once with a ContainerAbortedError, its timer cleared', async (t) => {
  const before = timers();
  const controller = new AbortController();
  const stream = statsStream(source(), { interval: 60_000, signal: controller.signal });
  const pending = stream.next();
  setImmediate(() => controller.abort(new Error('enough')));
  const started = Date.now();
  const error = await t.throwsAsync(pending, { instanceOf: ContainerAbortedError });
  t.true(Date.now() - started < 5_000, 'not after the interval');
  t.is((error?.cause as Error).message, 'enough');
  t.is(timers(), before);
  t.deepEqual(await stream.next(), { done: true, value: undefined }, 'the stream is over');
  const already = statsStream(source(), { signal: AbortSignal.abort() });
  await t.throwsAsync(already.next(), { instanceOf: ContainerAbortedError });
});

test('a stats stream needs an interval above 0', async (t) => {
  for (const interval of [0, -1, Number.NaN, Infinity]) {
    await t.throwsAsync(statsStream(source(), { interval }).next(), { instanceOf: InvalidOptionError }, String(interval));
  }
});
