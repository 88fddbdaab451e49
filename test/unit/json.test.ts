import test from 'ava';

import { limit } from '../../ts/api/json.js';

test('a limit is null where its source says "none": -1 or absent in a config, 2^62 and up from the kernel', (t) => {
  // The runtime spec's "unlimited", and a config that sets nothing.
  t.is(limit(-1), null);
  t.is(limit(undefined), null);
  t.is(limit('64'), null, 'not a number');
  // cgroup v1: LONG_MAX rounded down to a 4 KiB page; v2 `max` as the core reads it.
  t.is(limit(9223372036854771712), null);
  t.is(limit(18446744073709551615), null);
  t.is(limit(2 ** 62), null);
  // Real limits, from either source.
  t.is(limit(52428800), 52428800);
  t.is(limit(2 ** 62 - 2 ** 40), 2 ** 62 - 2 ** 40);
  t.is(limit(0), 0, 'zero is a value unless the source says otherwise');
  t.is(limit(0, { zeroIsUnlimited: true }), null, "a pids controller's reading without a limit");
  t.is(limit(64, { zeroIsUnlimited: true }), 64);
});
