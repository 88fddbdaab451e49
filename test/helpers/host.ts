// What this host can do, and tests that are skipped — with the reason in their title — when
// it cannot: containers need root, limits need their cgroup controller.
import test, { type Implementation } from 'ava';
import { existsSync, readFileSync, statfsSync } from 'node:fs';

const CGROUP2_SUPER_MAGIC = 0x63677270;

export const isRoot = process.getuid?.() === 0;

/** Whether a system program is installed, as `requires` takes it (with the reason when not). */
export function installed(tool: string): [boolean, string] {
  const found = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${tool}`));
  return [found, `${tool} is not installed (see .ci/run)`];
}

/** `v2` when /sys/fs/cgroup is one cgroup2 hierarchy, `v1` for legacy and hybrid layouts. */
export const cgroupVersion: 'v1' | 'v2' = statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC ? 'v2' : 'v1';

export function hasController(name: string): boolean {
  if (cgroupVersion === 'v2') {
    return readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes(name);
  }
  return existsSync(`/sys/fs/cgroup/${name}/cgroup.procs`);
}

/** Where a container sees its own limit, at the root of its cgroup view. */
export const limitFileInContainer = {
  memory: cgroupVersion === 'v2' ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes',
  pids: cgroupVersion === 'v2' ? '/sys/fs/cgroup/pids.max' : '/sys/fs/cgroup/pids/pids.max',
};

/** A shell command that prints the container's CFS quota and period (`50000 100000`). */
export const printCpuQuotaInContainer =
  cgroupVersion === 'v2'
    ? 'cat /sys/fs/cgroup/cpu.max'
    : 'echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"';

export interface GatedTest {
  (title: string, implementation: Implementation<[]>): void;
  serial(title: string, implementation: Implementation<[]>): void;
}

/** `test` when every requirement holds; otherwise `test.skip`, naming what is missing. */
export function requires(...requirements: [holds: boolean, missing: string][]): GatedTest {
  const missing = requirements.filter(([holds]) => !holds).map(([, what]) => what);
  if (missing.length === 0) {
    const gated = (title: string, impl: Implementation<[]>) => test(title, impl);
    gated.serial = (title: string, impl: Implementation<[]>) => test.serial(title, impl);
    return gated;
  }
  const why = ` (skipped: ${missing.join('; ')})`;
  const skipped = (title: string, impl: Implementation<[]>) => test.skip(title + why, impl);
  skipped.serial = (title: string, impl: Implementation<[]>) => test.serial.skip(title + why, impl);
  return skipped;
}

export const root: [boolean, string] = [isRoot, 'containers need root; run the suite as root, as CI does'];

export function controller(name: string): [boolean, string] {
  return [hasController(name), `this host has no ${name} cgroup controller`];
}

/** The gate every container test passes through. */
export const containerTest = requires(root);
