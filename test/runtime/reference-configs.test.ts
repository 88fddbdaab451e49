// The configs people start from: the unmodified output of `runc spec` and `crun spec` (only
// root.path and the command changed, and no terminal) runs, and the process inside sees what
// runc gives it for the same bundle on this machine — capabilities, no_new_privs, seccomp,
// ignored and blocked signals, user, rlimits, hostname, umask, cwd and environment. runc's
// config asks for ambient capabilities without inheritable ones, which the kernel cannot
// grant: a warning, as the runtime-spec requires, and the container runs. (The rootless variants, as an ordinary user,
// are in test/rootless/run.sh.)
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execute } from '../helpers/exec.js';
import { requires, root } from '../helpers/host.js';
import type { OciConfig } from '../helpers/oci-config.js';
import { crunInstalled, crunPath, privileges, runc, runcInstalled, runcPath } from '../helpers/reference.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { suite } from '../helpers/suite.js';

const s = suite('refconfigs');

const probe = [
  "grep -E '^(Cap|NoNewPrivs|Seccomp|SigIgn|SigBlk)' /proc/self/status",
  'id',
  'ulimit -Sn',
  'ulimit -Hn',
  'hostname',
  'umask',
  'pwd',
  'env | sort',
].join('; ');

for (const [tool, installed] of [
  ['runc', runcInstalled],
  ['crun', crunInstalled],
] as const) {
  requires(root, runcInstalled, installed)(
    `the unmodified \`${tool} spec\` config runs, and its process gets what runc gives it`,
    async (t) => {
      const dir = await s.hostDir(t);
      const generated = await execute((tool === 'runc' ? runcPath : crunPath)!, ['spec', '--bundle', dir], {
        scratch: dir,
      });
      t.is(generated.code, 0, generated.stderr);
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as OciConfig;
      const c = await s.container(t, (bundle) => {
        for (const key of Object.keys(bundle)) delete (bundle as Record<string, unknown>)[key];
        Object.assign(bundle, config);
        bundle.root = { ...config.root, path: fixtureRootfs() };
        bundle.process = { ...config.process!, terminal: false, args: ['sh', '-c', probe] };
      });

      const ours = await c.runtime('run', '--bundle', c.bundle, c.id);
      t.is(ours.code, 0, ours.stderr);
      const theirs = await runc(path.join(dir, 'runc-state'), dir, 'run', '--bundle', c.bundle, `${c.id}-runc`);
      t.is(theirs.code, 0, theirs.stderr);

      const got = privileges(ours.stdout);
      t.deepEqual(Object.keys(got).sort(), ['CapAmb', 'CapBnd', 'CapEff', 'CapInh', 'CapPrm', 'NoNewPrivs', 'Seccomp']);
      t.deepEqual(got, privileges(theirs.stdout), 'the same capabilities, no_new_privs and seccomp as runc');
      t.is(got.CapAmb, '0000000000000000', 'no ambient capability: none is inheritable');
      t.is(ours.stdout, theirs.stdout, 'the process sees what it sees under runc');

      const warnings = (await c.log()).filter((e) => e.level === 'warning').map((e) => e.msg);
      t.true(
        warnings.some((m) => /^cannot raise ambient capabilities .*CAP_KILL.*: an ambient capability must also be permitted and inheritable$/.test(m)),
        `the ambient capabilities it cannot have are a warning in the log: ${JSON.stringify(warnings)}`,
      );
    },
  );
}

requires(root, runcInstalled)(
  'capabilities runc ignores as unknown, and ones the runtime cannot grant, are warnings; the rest is granted',
  async (t) => {
    const dir = await s.hostDir(t);
    const c = await s.container(t, (config) => {
      config.process!.args = ['sh', '-c', "grep -E '^Cap' /proc/self/status"];
      config.process!.capabilities = {
        bounding: ['CAP_KILL', 'CAP_CHOWN', 'CAP_FOO', 'chown'],
        effective: ['CAP_KILL', 'CAP_FOO'],
        permitted: ['CAP_KILL', 'CAP_FOO'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_KILL', 'CAP_CHOWN'],
      };
    });
    const ours = await c.runtime('run', '--bundle', c.bundle, c.id);
    t.is(ours.code, 0, ours.stderr);
    const theirs = await runc(path.join(dir, 'runc-state'), dir, 'run', '--bundle', c.bundle, `${c.id}-runc`);
    t.is(theirs.code, 0, theirs.stderr);
    t.deepEqual(privileges(ours.stdout), privileges(theirs.stdout));
    t.is(privileges(ours.stdout).CapAmb, (1 << 5).toString(16).padStart(16, '0'), 'CAP_KILL is ambient');
    t.is(privileges(ours.stdout).CapBnd, ((1 << 5) | 1).toString(16).padStart(16, '0'), 'CAP_KILL and CAP_CHOWN bound');

    const warnings = (await c.log()).filter((e) => e.level === 'warning').map((e) => e.msg);
    t.true(warnings.includes('ignoring unknown or unavailable capabilities: [CAP_FOO chown]'), JSON.stringify(warnings));
    t.true(
      warnings.includes('cannot raise ambient capabilities CAP_CHOWN: an ambient capability must also be permitted and inheritable'),
      JSON.stringify(warnings),
    );
    t.true(/ignoring unknown or unavailable capabilities: \[CAP_FOO chown\]/.test(theirs.stderr), `runc says the same: ${theirs.stderr}`);
  },
);

requires(root, runcInstalled)(
  "exec into the `runc spec` config, with --cap (a known and an unknown name), gets runc's capabilities",
  async (t) => {
    const dir = await s.hostDir(t);
    const generated = await execute(runcPath!, ['spec', '--bundle', dir], { scratch: dir });
    t.is(generated.code, 0, generated.stderr);
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as OciConfig;
    const c = await s.container(t, (bundle) => {
      Object.assign(bundle, config);
      bundle.root = { ...config.root, path: fixtureRootfs() };
      bundle.process = { ...config.process!, terminal: false, args: ['sleep', '1000'] };
    });
    const runcState = path.join(dir, 'runc-state');
    const runcId = `${c.id}-runc`;
    t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
    t.is((await runc(runcState, dir, 'run', '--detach', '--bundle', c.bundle, runcId)).code, 0);
    try {
      for (const extra of [[], ['--cap', 'CAP_SYS_ADMIN', '--cap', 'CAP_FOO']]) {
        const show = ['grep', '-E', '^(Cap|NoNewPrivs)', '/proc/self/status'];
        const ours = await c.runtime('exec', ...extra, c.id, ...show);
        const theirs = await runc(runcState, dir, 'exec', ...extra, runcId, ...show);
        t.is(ours.code, 0, ours.stderr);
        t.is(theirs.code, 0, theirs.stderr);
        t.deepEqual(privileges(ours.stdout), privileges(theirs.stdout), `exec ${extra.join(' ')}`);
      }
      const warnings = (await c.log()).filter((e) => e.level === 'warning').map((e) => e.msg);
      t.true(warnings.includes('ignoring unknown or unavailable capabilities: [CAP_FOO]'), JSON.stringify(warnings));
    } finally {
      await runc(runcState, dir, 'delete', '--force', runcId);
      t.is((await c.runtime('delete', '--force', c.id)).code, 0);
    }
  },
);
