// Bundles for the tests: the runtime's own `spec` template, pointed at the fixture rootfs,
// without a terminal (a test's stdio is not a tty), then changed by a typed patch.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execute } from './exec.js';
import type { OciConfig, OciNamespaceType } from './oci-config.js';
import { fixtureRootfs } from './rootfs.js';
import { runtimePath } from './runtime-path.js';

export type ConfigPatch = (config: OciConfig) => void;

export async function makeBundle(dir: string, patch?: ConfigPatch): Promise<OciConfig> {
  await mkdir(dir, { recursive: true });
  const spec = await execute(runtimePath(), ['spec', '--bundle', dir], { scratch: dir });
  if (spec.code !== 0) {
    throw new Error(`tscontainer-runtime spec --bundle ${dir} failed (${spec.code}): ${spec.stderr}`);
  }
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as OciConfig;
  if (!config.process) throw new Error(`${file}: the default spec has no process`);
  config.process.terminal = false;
  config.root = { path: fixtureRootfs(), readonly: true };
  patch?.(config);
  await writeFile(file, JSON.stringify(config, null, 2));
  return config;
}

/** Replaces the container's command. */
export function command(...args: string[]): ConfigPatch {
  return (config) => {
    config.process!.args = args;
  };
}

/** A shell script as the container's command. */
export function shell(script: string): ConfigPatch {
  return command('sh', '-c', script);
}

/** Applies several patches in order. */
export function patches(...list: ConfigPatch[]): ConfigPatch {
  return (config) => list.forEach((p) => p(config));
}

/** Adds a bind mount of a host directory, read-write or read-only. */
export function bindMount(source: string, destination: string, mode: 'rw' | 'ro'): ConfigPatch {
  return (config) => {
    config.mounts = [...(config.mounts ?? []), { destination, type: 'bind', source, options: ['rbind', mode] }];
  };
}

/** Drops a namespace from the config: the container shares the host's. */
export function withoutNamespace(type: OciNamespaceType): ConfigPatch {
  return (config) => {
    config.linux!.namespaces = (config.linux!.namespaces ?? []).filter((ns) => ns.type !== type);
  };
}

/** Sets linux.resources.memory.limit, in bytes. */
export function memoryLimit(bytes: number): ConfigPatch {
  return (config) => {
    config.linux!.resources = { ...config.linux!.resources, memory: { limit: bytes } };
  };
}

/** Sets linux.resources.pids.limit. */
export function pidsLimit(limit: number): ConfigPatch {
  return (config) => {
    config.linux!.resources = { ...config.linux!.resources, pids: { limit } };
  };
}
