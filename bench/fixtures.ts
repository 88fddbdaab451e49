/**
 * The benchmark's inputs, all under one work directory: the busybox rootfs, the bundles
 * (one per configuration, shared by every runtime) and podman's private storage.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { REPO, type Tools } from './env.js';

export interface Fixtures {
  work: string;
  rootfs: string;
  /** `tscontainer-runtime spec` running /bin/true in the busybox rootfs (sections 1, 2, 5). */
  specBundle: string;
  /** The config `run({ command: ['/bin/true'], rootfs })` builds (section 3). */
  apiBundle: string;
  /** The config `tscontainer run --rm -- true` builds: the host's root, read-only (section 4). */
  hostBundle: string;
  /** The cgroup parent podman's containers go under. */
  cgroupParent: string;
  podman?: { env: NodeJS.ProcessEnv; image: string } | undefined;
}

/** The typed API's own spec builder, so the reference runtimes run exactly what run() runs. */
async function apiConfig(options: { command: string[]; rootfs?: string }): Promise<Record<string, unknown>> {
  const native = await import('../dist/api/native.js');
  const { toSpecOptions } = await import('../dist/api/options.js');
  const text = native.callNative((n) => n.buildRunSpec(toSpecOptions(options, 'tscontainer-bench')));
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Writes `config` as `dir/config.json`. Its ociVersion becomes 1.0.2: crun 1.8 refuses
 * any version but 1.0.x ("unknown version specified"), and nothing in these configs needs
 * a later one.
 */
function writeBundle(dir: string, config: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ociVersion: '1.0.2' }, null, 2));
  return dir;
}

function withoutCgroupsPath(linux: unknown): Record<string, unknown> {
  const copy = { ...(linux as Record<string, unknown>) };
  delete copy.cgroupsPath;
  return copy;
}

export async function prepare(tools: Tools): Promise<Fixtures> {
  const work = join(REPO, 'bench', '.work', `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  // The runtimes' state roots, on a tmpfs as /run is on most hosts (here /run is not).
  const state = join(work, 'state');
  mkdirSync(state, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0711', 'tscontainer-bench', state]);
  const rootfs = join(work, 'rootfs');
  execFileSync('bash', [join(REPO, 'test', 'fixtures', 'build-rootfs.sh'), rootfs], { stdio: 'inherit' });

  const specBundle = join(work, 'spec-bundle');
  mkdirSync(specBundle, { recursive: true });
  execFileSync(tools.runtime, ['spec', '--bundle', specBundle]);
  const spec = JSON.parse(readFileSync(join(specBundle, 'config.json'), 'utf8')) as Record<string, unknown> & {
    process: { args: string[]; terminal?: boolean };
    root: { path: string };
  };
  spec.process.args = ['/bin/true'];
  spec.process.terminal = false;
  spec.root.path = rootfs;
  writeBundle(specBundle, spec);

  // Its cgroupsPath names the one container run() would make; the reference runtimes run
  // many containers from this bundle at once, each in a cgroup of its own (/ID, their default).
  const apiRaw = await apiConfig({ command: ['/bin/true'], rootfs });
  const apiBundle = writeBundle(join(work, 'api-bundle'), { ...apiRaw, linux: withoutCgroupsPath(apiRaw.linux) });
  const hostBundle = writeBundle(join(work, 'host-bundle'), await apiConfig({ command: ['true'] }));
  const cgroupParent = `/tscontainer-bench-${process.pid}`;
  return { work, rootfs, specBundle, apiBundle, hostBundle, cgroupParent, podman: tools.podman ? preparePodman(tools.podman, work, rootfs) : undefined };
}

/** podman with its storage, run root and config under the work directory, and the rootfs as an image. */
function preparePodman(podman: string, work: string, rootfs: string): { env: NodeJS.ProcessEnv; image: string } {
  const dir = join(work, 'podman');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  writeFileSync(
    join(dir, 'containers.conf'),
    [
      '[containers]',
      '# This host may not let containers raise RLIMIT_NOFILE to podman\'s default.',
      'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `tmp_dir = "${dir}/tmp"`,
      `volume_path = "${dir}/volumes"`,
      `image_copy_tmp_dir = "${dir}/tmp"`,
      '[network]',
      `network_config_dir = "${dir}/networks"`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    ['[storage]', 'driver = "overlay"', `graphroot = "${dir}/graph"`, `runroot = "${dir}/run"`, ''].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  const tar = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  const image = 'localhost/tscontainer-bench:latest';
  execFileSync(podman, ['import', '--quiet', tar, image], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return { env, image };
}

/** Deletes whatever the runs left (containers, podman's storage, cgroups) and the work directory. */
export function cleanup(tools: Tools, fixtures: Fixtures): void {
  const roots: [string | undefined, string][] = [
    [tools.runtime, join(fixtures.work, 'state', 'tscontainer')],
    [tools.runc, join(fixtures.work, 'state', 'runc')],
    [tools.crun, join(fixtures.work, 'state', 'crun')],
  ];
  for (const [runtime, root] of roots) {
    if (runtime === undefined || !existsSync(root)) continue;
    for (const id of readdirSync(root)) {
      if (id.startsWith('.')) continue;
      spawnSync(runtime, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
    }
  }
  if (fixtures.podman && tools.podman) {
    spawnSync(tools.podman, ['system', 'reset', '--force'], { env: fixtures.podman.env, stdio: 'ignore' });
  }
  removeCgroupTree(fixtures.cgroupParent);
  spawnSync('umount', [join(fixtures.work, 'state')], { stdio: 'ignore' });
  rmSync(fixtures.work, { recursive: true, force: true });
}

/** Removes `parent` (and what is below it) in every mounted cgroup hierarchy. */
function removeCgroupTree(parent: string): void {
  const base = '/sys/fs/cgroup';
  const hierarchies = existsSync(join(base, 'cgroup.controllers')) ? [base] : readdirSync(base).map((d) => join(base, d));
  for (const h of hierarchies) removeDirTree(join(h, parent));
}

function removeDirTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeDirTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // Busy (a process still in it) or already gone: the final check reports leftovers.
  }
}
