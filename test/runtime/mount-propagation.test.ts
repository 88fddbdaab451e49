// Mount propagation between the host and a container, as Kubernetes volumes use it
// (critest's "Container Mount Propagation" specs): with rootfsPropagation and the volume's
// option `rshared`, a mount the container makes in the volume appears on the host; with
// `rslave`, a mount the host makes after the start appears in the container and the
// container's own stay inside.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { command, patches, type ConfigPatch } from '../helpers/bundle.js';
import { containerTest } from '../helpers/host.js';
import type { OciConfig } from '../helpers/oci-config.js';
import { suite, type Container } from '../helpers/suite.js';

const s = suite('propagation');

/** Privileged enough to mount (CAP_SYS_ADMIN, no seccomp filter), with the volume. */
function volume(source: string, propagation: 'rshared' | 'rslave'): ConfigPatch {
  return (config: OciConfig) => {
    const caps = config.process!.capabilities as Record<string, string[]>;
    for (const set of ['bounding', 'effective', 'permitted']) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
    const linux = config.linux as Record<string, unknown>;
    delete linux.seccomp;
    linux.rootfsPropagation = propagation;
    config.mounts = [...(config.mounts ?? []), { destination: source, type: 'bind', source, options: ['rbind', propagation] }];
  };
}

/** A host directory that is a shared mount of its own (as critest prepares one), unmounted after. */
async function sharedMount(t: ExecutionContext): Promise<string> {
  const dir = path.join(await s.hostDir(t), 'volume');
  mkdirSync(dir);
  execFileSync('mount', ['--bind', dir, dir]);
  t.teardown(() => execFileSync('umount', ['-R', '-l', dir]));
  execFileSync('mount', ['--make-rshared', dir]);
  return dir;
}

const mountedAt = (dir: string) =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === dir);

async function exec(c: Container, script: string): Promise<string> {
  const r = await c.runtime('exec', c.id, 'sh', '-c', script);
  if (r.code !== 0) throw new Error(`exec ${script}: ${r.code} ${r.stderr}`);
  return r.stdout;
}

containerTest('rshared: a mount the container makes in the volume appears on the host', async (t) => {
  const dir = await sharedMount(t);
  const inner = path.join(dir, 'from-container');
  const c = await s.container(t, patches(command('sleep', '1000'), volume(dir, 'rshared')));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  try {
    await exec(c, `mkdir -p ${inner} && mount -t tmpfs -o size=64k from-container ${inner} && touch ${inner}/made-inside`);
    t.true(mountedAt(inner), 'the host sees the container mount');
    t.deepEqual(readdirSync(inner), ['made-inside']);
  } finally {
    t.is((await c.runtime('delete', '--force', c.id)).code, 0);
  }
});

containerTest('rslave: a host mount made after the start appears in the container, the container\'s stay inside', async (t) => {
  const dir = await sharedMount(t);
  const c = await s.container(t, patches(command('sleep', '1000'), volume(dir, 'rslave')));
  t.is((await c.runtime('run', '--detach', '--bundle', c.bundle, c.id)).code, 0);
  try {
    const fromHost = path.join(dir, 'from-host');
    mkdirSync(fromHost);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'from-host', fromHost]);
    execFileSync('touch', [path.join(fromHost, 'made-outside')]);
    t.is(await exec(c, `ls ${fromHost}`), 'made-outside\n');

    const inner = path.join(dir, 'from-container');
    await exec(c, `mkdir -p ${inner} && mount -t tmpfs -o size=64k from-container ${inner}`);
    t.false(mountedAt(inner), 'the host does not see the container mount');
  } finally {
    t.is((await c.runtime('delete', '--force', c.id)).code, 0);
  }
});
