import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isOwnBundle } from '../../ts/api/bundle.js';
import { InternalError, InvalidOptionError } from '../../ts/api/errors.js';
import { callNative } from '../../ts/api/native.js';
import { execEnvironment, execUser } from '../../ts/api/exec.js';
import { summarizeConfig } from '../../ts/api/inspect.js';

test("only the data directory's containers/<id> is the bundle of ours for container id", (t) => {
  const own = callNative((native) => native.bundlePath('c1'));
  t.is(own, `${callNative((native) => native.dataDir())}/containers/c1`);
  t.true(isOwnBundle(own, 'c1'));
  t.false(isOwnBundle(own, 'c2'), "another container's");
  t.false(isOwnBundle(`${own}/../c2`, 'c2'), 'not by a path that merely leads there');
  t.false(isOwnBundle('/tmp/tscontainer-aB3dEf', 'c1'), 'a bundle of older versions, in TMPDIR: not ours to remove');
  t.false(isOwnBundle('', 'c1'));
});

test("exec's environment: K=V as given, a bare NAME copied from here or left out when unset", (t) => {
  process.env['TSC_UNIT_COPIED'] = 'from here';
  delete process.env['TSC_UNIT_UNSET'];
  t.deepEqual(execEnvironment(['A=1', 'TSC_UNIT_COPIED', 'TSC_UNIT_UNSET', 'B=x=y']), [
    'A=1',
    'TSC_UNIT_COPIED=from here',
    'B=x=y',
  ]);
  t.deepEqual(execEnvironment({ A: '1', EMPTY: '' }), ['A=1', 'EMPTY=']);
  t.deepEqual(execEnvironment(undefined), []);
});

test("exec's user is resolved in the container's rootfs as run's: names, a uid's group, supplementary groups", (t) => {
  const rootfs = mkdtempSync(join(tmpdir(), 'tsc-unit-rootfs-'));
  t.teardown(() => rmSync(rootfs, { recursive: true, force: true }));
  mkdirSync(join(rootfs, 'etc'));
  const passwd = 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n';
  writeFileSync(join(rootfs, 'etc/passwd'), passwd);
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nusers:x:100:tester\ntester:x:1000:\n');
  const at = () => rootfs;
  t.deepEqual(execUser('tester', at), { user: '1000:1000', additionalGids: [100] });
  t.deepEqual(execUser(1000, at), { user: '1000:1000', additionalGids: [100] });
  t.deepEqual(execUser('1000:100', at), { user: '1000:100', additionalGids: [] });
  t.deepEqual(execUser('tester:users', at), { user: '1000:100', additionalGids: [] });
  t.deepEqual(execUser('4242', at), { user: '4242:0', additionalGids: [] }, 'a uid without an entry');
  t.is(execUser(undefined, () => t.fail('no user, no rootfs read') as never), undefined);
  t.throws(() => execUser('mallory', at), {
    instanceOf: InvalidOptionError,
    message: "invalid user `mallory`: no user `mallory` in the container's /etc/passwd",
  });
  for (const bad of ['1000:', ':1', '-1']) t.throws(() => execUser(bad, at), { instanceOf: InvalidOptionError }, bad);
});

test("inspect's config summary: the process, hostname, mounts, namespaces, limits and annotations; -1 and absent limits are null", (t) => {
  const config = {
    root: { path: '/r', readonly: true },
    hostname: 'web',
    process: { args: ['sleep', '1'], env: ['A=1'], cwd: '/srv', terminal: true, user: { uid: 1000, gid: 100, additionalGids: [5] } },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid'] }, { destination: '/x' }],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/proc/1/ns/net' }],
      resources: { memory: { limit: 52428800, swap: -1 }, cpu: { quota: 50000, period: 100000 } },
    },
    annotations: { 'org.opencontainers.image.stopSignal': 'SIGUSR1', odd: 7 },
  };
  t.deepEqual(summarizeConfig(JSON.stringify(config)), {
    args: ['sleep', '1'],
    env: ['A=1'],
    cwd: '/srv',
    terminal: true,
    user: { uid: 1000, gid: 100, additionalGids: [5] },
    hostname: 'web',
    readonlyRootfs: true,
    mounts: [
      { destination: '/proc', source: 'proc', type: 'proc', options: ['nosuid'] },
      { destination: '/x', source: '', type: '', options: [] },
    ],
    namespaces: ['pid', 'network'],
    resources: {
      memory: { limit: 52428800, swap: null },
      cpu: { quota: 50000, period: 100000, shares: null },
      pids: { limit: null },
    },
    annotations: { 'org.opencontainers.image.stopSignal': 'SIGUSR1' },
  });
  t.like(summarizeConfig('{}'), { args: [], cwd: '/', hostname: null, user: { uid: 0, gid: 0 } });
  t.throws(() => summarizeConfig('not json'), { instanceOf: InternalError });
});
