// Hostile input to `tscontainer-runtime create`: malformed, huge, deeply nested and
// contradictory configs, bad ids, invalid limits and a rootfs that is the host's `/`. Each
// gets one clear error naming what is wrong and a non-zero exit, and leaves nothing behind
// (the suite's teardown fails the test on any state entry, cgroup, mount or process).
import type { ExecutionContext } from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { patches, shell, type ConfigPatch } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import type { OciConfig } from '../helpers/oci-config.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('security-input');

/** Creates the container and expects a refusal whose message matches `reason`. */
async function refused(t: ExecutionContext, c: Container, reason: RegExp, id = c.id): Promise<void> {
  const r = await c.runtime('create', '--bundle', c.bundle, id);
  t.not(r.code, 0, `create succeeded: ${r.stdout}`);
  t.regex(r.stderr, reason);
  // One sentence, not a dump: a few lines at most.
  t.true(r.stderr.trim().split('\n').length <= 3, r.stderr);
  t.deepEqual(c.leftovers(), []);
}

async function rawConfig(c: Container, text: string | Buffer): Promise<void> {
  await writeFile(path.join(c.bundle, 'config.json'), text);
}

containerTest('malformed JSON is refused, naming the file', async (t) => {
  for (const text of ['', '{', '{"ociVersion": "1.0.2",}', 'null', '[]', '\u0000\u0001\u0002', '{"ociVersion": 1}']) {
    const c = await s.container(t);
    await rawConfig(c, text);
    await refused(t, c, /config\.json is not a valid OCI runtime config|invalid config: ociVersion/);
  }
});

containerTest('deeply nested JSON neither crashes the runtime nor gets past the parser', async (t) => {
  const depth = 100_000;
  const nest = `${'['.repeat(depth)}${']'.repeat(depth)}`;
  // As the document: refused by the parser (type or recursion limit), not a stack overflow.
  const whole = await s.container(t);
  await rawConfig(whole, nest);
  await refused(t, whole, /config\.json is not a valid OCI runtime config/);
  const typed = await s.container(t);
  await rawConfig(typed, JSON.stringify({ ...typed.config, process: '@' }).replace('"@"', nest));
  await refused(t, typed, /config\.json is not a valid OCI runtime config/);
  // In an unknown field of a good config: skipped without recursion, and the container runs.
  const unknown = await s.container(t, shell('echo fine'));
  await rawConfig(unknown, JSON.stringify({ ...unknown.config, 'x-nested': '@' }).replace('"@"', nest));
  const r = await unknown.runtime('run', '--bundle', unknown.bundle, unknown.id);
  t.is(r.signal, null, 'the runtime did not crash');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'fine\n');
});

containerTest('a huge config is refused before it is read into memory', async (t) => {
  const c = await s.container(t);
  const config = { ...c.config, annotations: { padding: 'x'.repeat(64 * 1024 * 1024) } };
  await rawConfig(c, JSON.stringify(config));
  await refused(t, c, /config\.json is larger than/);
});

containerTest('wrong types and unknown enum values are refused', async (t) => {
  const patchesToTry: [ConfigPatch, RegExp][] = [
    [(config) => void (config.process!.args = 'sh' as unknown as string[]), /not a valid OCI runtime config/],
    [(config) => void (config.process!.user = { uid: -1, gid: 0 }), /not a valid OCI runtime config/],
    [(config) => void (config.linux!.namespaces = [{ type: 'bogus' as 'pid' }]), /not a valid OCI runtime config/],
    [(config) => void (config.process!['capabilities'] = { bounding: [7] }), /not a valid OCI runtime config/],
  ];
  for (const [patch, reason] of patchesToTry) {
    const c = await s.container(t, patch);
    await refused(t, c, reason);
  }
});

containerTest('an unknown capability name is left out with a warning, as the runtime-spec and runc say, and grants nothing', async (t) => {
  const c = await s.container(
    t,
    patches(shell("grep CapBnd /proc/self/status"), (config) => {
      config.process!['capabilities'] = { bounding: ['CAP_FLY', 'cap_sys_admin', 'CAP_KILL'] };
    }),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'CapBnd:\t0000000000000020\n', 'only CAP_KILL: a name spelled otherwise than the spec does is not CAP_SYS_ADMIN');
  t.true(
    (await c.log()).some((e) => e.level === 'warning' && e.msg === 'ignoring unknown or unavailable capabilities: [CAP_FLY cap_sys_admin]'),
  );
});

containerTest('contradictory and invalid settings are refused, naming the field', async (t) => {
  const cases: [string, (config: OciConfig) => void, RegExp][] = [
    [
      'hostname without a UTS namespace',
      (config) => {
        config.hostname = 'x';
        config.linux!.namespaces = config.linux!.namespaces!.filter((n) => n.type !== 'uts');
      },
      /hostname: setting a hostname needs a UTS namespace/,
    ],
    [
      'id mappings without a user namespace',
      (config) => void (config.linux!['uidMappings'] = [{ containerID: 0, hostID: 1000, size: 1 }]),
      /id mappings need a user namespace/,
    ],
    [
      'a namespace listed twice',
      (config) => void config.linux!.namespaces!.push({ type: 'pid' }),
      /pid is listed twice/,
    ],
    ['no command', (config) => void (config.process!.args = []), /process\.args: must name the command/],
    ['a relative cwd', (config) => void (config.process!.cwd = 'tmp'), /process\.cwd: `tmp` is not an absolute path/],
    ['a bad env entry', (config) => void (config.process!.env = ['NOEQUALS']), /process\.env: `NOEQUALS`/],
    [
      'soft rlimit above hard',
      (config) => void (config.process!['rlimits'] = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]),
      /soft limit exceeds hard limit/,
    ],
    ['pids limit 0', (config) => void (config.linux!.resources = { pids: { limit: 0 } }), /pids\.limit: 0 is not a valid limit/],
    [
      'swap below memory',
      (config) => void (config.linux!.resources = { memory: { limit: 100 << 20, swap: 50 << 20 } }),
      /swap .* must not be smaller than the memory limit/,
    ],
    [
      'a CFS period of 5 us',
      (config) => void (config.linux!.resources = { cpu: { period: 5, quota: 10_000 } }),
      /cpu\.period: must be between/,
    ],
    [
      'a cgroups path with ..',
      (config) => void (config.linux!.cgroupsPath = '/../../escape'),
      /cgroupsPath: .* must not contain `\.\.`/,
    ],
    ['an unsupported version', (config) => void (config.ociVersion = '9.9.9'), /ociVersion: `9\.9\.9` is not supported/],
    [
      'a relative mount destination',
      (config) => void config.mounts!.push({ destination: 'relative', type: 'tmpfs', source: 'tmpfs' }),
      /destination `relative` is not an absolute path/,
    ],
    ['a missing rootfs', (config) => void (config.root = { path: '/nonexistent/rootfs' }), /rootfs .*does not exist/],
  ];
  for (const [what, patch, reason] of cases) {
    const c = await s.container(t, patch);
    t.log(what);
    await refused(t, c, reason);
  }
});

containerTest('a rootfs that resolves to the host root is refused', async (t) => {
  const link = await s.container(t);
  await symlink('/', path.join(link.bundle, 'hostroot'));
  await rawConfig(link, JSON.stringify({ ...link.config, root: { path: 'hostroot', readonly: false } }));
  await refused(t, link, /resolves to the host's root directory/);

  const dots = await s.container(t, (config) => {
    config.root = { path: '../../../../../../../../../../../..', readonly: true };
  });
  await refused(t, dots, /resolves to the host's root directory/);

  const writable = await s.container(t, (config) => {
    config.root = { path: '/', readonly: false };
  });
  await refused(t, writable, /host's root directory: a container may only run over it read-only/);
});

/** Directories a container id could name: its state entry and a cgroup in each hierarchy. */
function placesFor(stateRoot: string, id: string): string[] {
  const hierarchies = ['/sys/fs/cgroup', ...readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h))];
  return [stateRoot, ...hierarchies].flatMap((dir) => [path.resolve(dir, id), path.resolve(dir, `tscontainer-${id}`)]);
}

containerTest('bad container ids are refused before anything is made', async (t) => {
  // The ids go on the command line only: the suite's own leftover check resolves ids as
  // paths, which `..` would turn into its parents.
  const ids = ['../x', '..', '.', 'a/b', '/abs', 'with space', 'new\nline', 'x'.repeat(1024), ''];
  for (const id of ids) {
    const c = await s.container(t);
    const places = placesFor(s.stateRoot, id).filter((p) => !existsSync(p));
    const r = await c.runtime('create', '--bundle', c.bundle, '--', id);
    t.not(r.code, 0, `id ${JSON.stringify(id)} was accepted`);
    t.regex(r.stderr, /invalid container id/i, r.stderr);
    t.deepEqual(
      places.filter((p) => existsSync(p)),
      [],
      `id ${JSON.stringify(id)} made something`,
    );
  }
});

containerTest('unknown fields are allowed, as the runtime-spec requires', async (t) => {
  const c = await s.container(
    t,
    patches(shell('echo fine'), (config) => {
      config['x-unknown'] = { nested: [1, 2, 3] };
      config.process!['x-extra'] = true;
      config.linux!['x-future'] = 'value';
    }),
  );
  const r = await c.runtime('run', '--bundle', c.bundle, c.id);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'fine\n');
});
