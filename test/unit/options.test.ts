import test from 'ava';

import { InvalidOptionError } from '../../ts/api/errors.js';
import { DEFAULT_KILL_TIMEOUT, processOptions, randomId, toSpecOptions } from '../../ts/api/options.js';

test('only the given options reach the spec, with the id', (t) => {
  t.deepEqual(toSpecOptions({ command: ['sh', '-c', 'true'] }, 'abc'), { id: 'abc', command: ['sh', '-c', 'true'] });
});

test('numbers become the text the core parses', (t) => {
  const spec = toSpecOptions({ command: ['true'], memory: 52_428_800, cpus: 0.5, user: 1000, pidsLimit: 64 }, 'a');
  t.is(spec.memory, '52428800');
  t.is(spec.cpus, '0.5');
  t.is(spec.user, '1000');
  t.is(spec.pidsLimit, 64);
});

test('an env object becomes K=V entries; a list passes through', (t) => {
  t.deepEqual(toSpecOptions({ command: ['true'], env: { A: '1', B: 'x=y', C: '' } }, 'a').env, ['A=1', 'B=x=y', 'C=']);
  t.deepEqual(toSpecOptions({ command: ['true'], env: ['A=1', 'HOME'] }, 'a').env, ['A=1', 'HOME']);
});

test('volume objects become host:container[:ro] strings', (t) => {
  const spec = toSpecOptions(
    {
      command: ['true'],
      volumes: ['/a:/b', { source: '/data', target: '/mnt' }, { source: '/etc', target: '/host-etc', readOnly: true }],
    },
    'a',
  );
  t.deepEqual(spec.volumes, ['/a:/b', '/data:/mnt', '/etc:/host-etc:ro']);
});

test('flags pass through unchanged', (t) => {
  const spec = toSpecOptions(
    { command: ['true'], rootfs: '/r', hostname: 'h', workdir: '/w', network: 'host', readOnly: true, tty: false },
    'a',
  );
  t.like(spec, { rootfs: '/r', hostname: 'h', workdir: '/w', network: 'host', readOnly: true, tty: false });
});

test('process options default as documented', (t) => {
  t.deepEqual(processOptions({ command: ['true'] }), {
    stdio: 'inherit',
    interactive: false,
    tty: false,
    remove: true,
    killTimeout: DEFAULT_KILL_TIMEOUT,
  });
  t.is(processOptions({ command: ['true'], remove: false }).remove, false);
});

test('a tty needs inherited stdio', (t) => {
  const error = t.throws(() => processOptions({ command: ['sh'], tty: true, stdio: 'pipe' }), {
    instanceOf: InvalidOptionError,
  });
  t.is(error?.exitCode, 125);
  t.notThrows(() => processOptions({ command: ['sh'], tty: true }));
});

test('a bad kill timeout or stdio is an invalid option', (t) => {
  t.throws(() => processOptions({ command: ['sh'], killTimeout: -1 }), { instanceOf: InvalidOptionError });
  t.throws(() => processOptions({ command: ['sh'], killTimeout: Number.NaN }), { instanceOf: InvalidOptionError });
  t.throws(() => processOptions({ command: ['sh'], stdio: 'tty' as 'pipe' }), { instanceOf: InvalidOptionError });
});

test('random ids are 12 lowercase hex characters', (t) => {
  t.regex(randomId(), /^[0-9a-f]{12}$/);
  t.not(randomId(), randomId());
});
