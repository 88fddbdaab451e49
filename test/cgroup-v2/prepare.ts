// prepare.ts OUTDIR — runs on the host before the cgroup v2 VM boots. Node starts slowly
// under emulation, so everything that needs it happens here: the fixture rootfs, one bundle
// per runtime-level check, and env.sh with the paths and workloads checks.sh uses.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeBundle, memoryLimit, patches, pidsLimit, shell, type ConfigPatch } from '../helpers/bundle.js';
import { fixtureRootfs } from '../helpers/rootfs.js';
import { runtimePath } from '../helpers/runtime-path.js';
import { ALLOCATE_200MB, FIFTY_MIB, FORK_20 } from '../helpers/workloads.js';

/**
 * Makes a node for /dev/kmsg (c 1:11; mknod is allowed, as with Docker), which root could
 * write without any capability, and writes to it: the device allowlist must refuse (EPERM).
 * Then uses /dev/null and /dev/zero, which it allows. Needs a directory that allows nodes.
 */
const DEVICE_PROBE = [
  'mknod /tmp/kmsg c 1 11; echo "mknod $?"',
  'echo device-probe > /tmp/kmsg; echo "kmsg $?"',
  'echo x > /dev/null && head -c 3 /dev/zero | wc -c',
].join('; ');

const bundles: Record<string, ConfigPatch> = {
  'memory-max': patches(memoryLimit(FIFTY_MIB), shell('cat /sys/fs/cgroup/memory.max')),
  oom: patches(memoryLimit(FIFTY_MIB), shell(ALLOCATE_200MB)),
  'pids-max': patches(pidsLimit(10), shell('cat /sys/fs/cgroup/pids.max')),
  'fork-limit': patches(pidsLimit(10), shell(FORK_20)),
  // The device allowlist, which cgroup v2 enforces with an eBPF program (DEVICE_PROBE).
  devices: patches(shell(DEVICE_PROBE), (config) => {
    config.mounts = [...(config.mounts ?? []), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['dev'] }];
  }),
};

/** Single-quotes a value for bash. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const out = path.resolve(process.argv[2] ?? '');
if (!process.argv[2]) {
  console.error('usage: prepare.ts OUTDIR');
  process.exit(2);
}
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
for (const [name, patch] of Object.entries(bundles)) {
  await makeBundle(path.join(out, name), patch);
}
const env = {
  RUNTIME: runtimePath(),
  ROOTFS: fixtureRootfs(),
  FIFTY_MIB: String(FIFTY_MIB),
  ALLOCATE_200MB,
  FORK_20,
  DEVICE_PROBE,
};
await writeFile(
  path.join(out, 'env.sh'),
  Object.entries(env)
    .map(([k, v]) => `${k}=${quote(v)}\n`)
    .join(''),
);
