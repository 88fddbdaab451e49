// Bad input to `create`, `run` and `spec`: one line on stderr naming what is wrong, a non-zero
// exit, and nothing made — no state entry, no cgroup, no process, no mount (DESIGN.md, invariant 4).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { command, memoryLimit, patches } from '../helpers/bundle.js';
import { execute } from '../helpers/exec.js';
import { containerTest, controller, requires, root } from '../helpers/host.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { suite, type Container, type ContainerOptions } from '../helpers/suite.js';

const s = suite('bad-input');

interface BadInput {
  what: string;
  /** Builds the container; may break its bundle afterwards. */
  setup(t: ExecutionContext): Promise<Container>;
  /** What the one line on stderr must say. */
  message(c: Container): RegExp;
  /** Host features the case needs beyond root. */
  needs?: [holds: boolean, missing: string][];
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function container(t: ExecutionContext, options: ContainerOptions = {}) {
  return s.container(t, { patch: command('true'), ...options });
}

const cases: BadInput[] = [
  {
    what: 'a missing rootfs',
    async setup(t) {
      return container(t, {
        patch: (config) => {
          config.root = { path: 'no-such-rootfs', readonly: true };
        },
      });
    },
    message: (c) => new RegExp(`${escape(path.join(c.bundle, 'no-such-rootfs'))}.*does not exist`),
  },
  {
    what: 'a rootfs that is a file',
    async setup(t) {
      return container(t, {
        patch: (config) => {
          config.root = { path: 'config.json', readonly: true };
        },
      });
    },
    message: (c) => new RegExp(`${escape(path.join(c.bundle, 'config.json'))}.*is not a directory`),
  },
  {
    what: 'a bundle directory that does not exist',
    async setup(t) {
      const c = await container(t);
      await rm(c.bundle, { recursive: true });
      return c;
    },
    message: (c) => new RegExp(`bundle ${escape(c.bundle)}.*(no such file or directory|does not exist)`, 'i'),
  },
  {
    what: 'a malformed config.json',
    async setup(t) {
      const c = await container(t);
      await writeFile(path.join(c.bundle, 'config.json'), '{"ociVersion": "1.2.1", "process": {"args": [');
      return c;
    },
    message: (c) => new RegExp(`${escape(path.join(c.bundle, 'config.json'))}.*not a valid`),
  },
  {
    what: 'a config.json of the wrong shape',
    async setup(t) {
      const c = await container(t);
      await writeFile(path.join(c.bundle, 'config.json'), '{"ociVersion": "1.2.1", "process": {"args": "sh"}}');
      return c;
    },
    message: (c) => new RegExp(`${escape(path.join(c.bundle, 'config.json'))}.*not a valid`),
  },
  {
    what: 'a command that does not exist',
    async setup(t) {
      return container(t, { patch: command('nosuchcmd') });
    },
    message: () => /"nosuchcmd": executable file not found in \$PATH/,
  },
  {
    what: 'a bind mount whose source does not exist',
    async setup(t) {
      return container(t, {
        patch: patches(command('true'), (config) => {
          config.mounts = [
            ...(config.mounts ?? []),
            { destination: '/mnt', type: 'bind', source: '/nonexistent-mount-source', options: ['rbind'] },
          ];
        }),
      });
    },
    message: () => /\/nonexistent-mount-source.*(no such file or directory|does not exist)/i,
  },
  {
    what: 'a memory limit too small for the container to start',
    async setup(t) {
      return container(t, {
        patch: patches(command('true'), memoryLimit(4096)),
      });
    },
    // runc: "container init was OOM-killed (memory limit too low?)"
    message: () => /memory limit|out of memory|OOM/i,
    needs: [controller('memory')],
  },
  {
    what: 'an id that climbs out of the state root (../x)',
    async setup(t) {
      return container(t, { id: `../tscontainer-test-escape-${process.pid}` });
    },
    message: (c) => new RegExp(`invalid container id .${escape(c.id)}`),
  },
];

for (const verb of ['create', 'run'] as const) {
  for (const bad of cases) {
    requires(root, ...(bad.needs ?? []))(`${verb} with ${bad.what} fails with one line and makes nothing`, async (t) => {
      const c = await bad.setup(t);
      const r = await c.runtime(verb, '--bundle', c.bundle, c.id);
      t.not(r.code, 0);
      t.is(r.stdout, '');
      const lines = r.stderr.split('\n').filter(Boolean);
      t.is(lines.length, 1, r.stderr);
      t.regex(lines[0] ?? '', /^tscontainer-runtime: /);
      t.regex(lines[0] ?? '', bad.message(c));
      t.deepEqual(c.leftovers(), []);
    });
  }
}

containerTest('an unknown flag fails naming the flag and makes nothing', async (t) => {
  const c = await container(t);
  const r = await c.runtime('run', '--no-such-flag', '--bundle', c.bundle, c.id);
  t.not(r.code, 0);
  t.is(r.stdout, '');
  t.regex(r.stderr.split('\n')[0] ?? '', /unexpected argument '--no-such-flag'/);
  t.deepEqual(c.leftovers(), []);
});

test('spec over an existing config.json names the file and its cause once, with a code', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tscontainer-test-spec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const spec = (...flags: string[]) => execute(runtimePath(), [...flags, 'spec', '--bundle', dir], { scratch: dir });
  t.is((await spec()).code, 0);
  const config = path.join(dir, 'config.json');
  const before = await readFile(config, 'utf8');
  const again = await spec();
  t.not(again.code, 0);
  t.is(again.stderr, `tscontainer-runtime: cannot write ${config}: File exists (os error 17)\n`);
  t.is(again.stderr.split('File exists').length, 2, 'the cause is printed once');
  // In the JSON format the entry a front end reads comes first, its code beside the message.
  const json = await spec('--log-format', 'json');
  const [entry, line, ...rest] = json.stderr.split('\n').filter(Boolean);
  t.deepEqual(rest, []);
  t.like(JSON.parse(entry ?? '{}'), { level: 'error', code: 'already-exists', msg: `cannot write ${config}: File exists (os error 17)` });
  t.is(line, `tscontainer-runtime: cannot write ${config}: File exists (os error 17)`);
  t.is(await readFile(config, 'utf8'), before, 'nothing changed');
});
