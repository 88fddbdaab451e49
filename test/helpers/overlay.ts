// Containers whose root is an overlay, with layers made by hand: the fixture rootfs as the
// bottom layer (never written), a layer above it that hides, replaces and adds files, and
// a fresh upper and work directory per container. The config names them in its first
// mount, `{"destination": "/", "type": "overlay", ...}`, over an empty root.path.
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ConfigPatch } from './bundle.js';
import { mountTable, overlayDirectories } from './leftovers.js';
import type { OciConfig } from './oci-config.js';
import { fixtureRootfs } from './rootfs.js';

const run = promisify(execFile);

export interface OverlayDirs {
  /** The layers, uppermost first. */
  lowers: string[];
  upper: string;
  work: string;
  /** The empty directory root.path names. */
  rootPath: string;
}

/** The fixture's users, and one more that only the top layer's /etc/passwd has. */
export const REPLACED_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nlayer:x:2000:2000:layer:/:/bin/sh\n';

/**
 * The layer above the fixture rootfs: /etc/group whited out (a 0:0 character device),
 * /home opaque (only `newcomer` in it, the fixture's `tester` hidden; `trusted.overlay.opaque`,
 * as for overlays mounted outside a user namespace), /etc/passwd replaced and /layer-marker
 * added.
 */
async function makeTopLayer(dir: string): Promise<string> {
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await mkdir(path.join(dir, 'home', 'newcomer'), { recursive: true });
  await run('mknod', [path.join(dir, 'etc', 'group'), 'c', '0', '0']);
  await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(dir, 'home')]);
  await writeFile(path.join(dir, 'etc', 'passwd'), REPLACED_PASSWD);
  await writeFile(path.join(dir, 'layer-marker'), 'from the top layer\n');
  return dir;
}

/** A top layer, the fixture below it, and an empty upper, work and root.path under `dir`. */
async function makeOverlayDirs(dir: string): Promise<OverlayDirs> {
  const [upper, work, rootPath] = ['upper', 'work', 'rootfs'].map((n) => path.join(dir, n)) as [string, string, string];
  for (const d of [upper, work, rootPath]) await mkdir(d, { recursive: true });
  const top = await makeTopLayer(path.join(dir, 'top'));
  return { lowers: [top, fixtureRootfs()], upper, work, rootPath };
}

/** The root overlay's mount entry. */
export function overlayMount(dirs: OverlayDirs, extraOptions: string[] = []) {
  return {
    destination: '/',
    type: 'overlay',
    source: 'overlay',
    options: [`lowerdir=${dirs.lowers.join(':')}`, `upperdir=${dirs.upper}`, `workdir=${dirs.work}`, ...extraOptions],
  };
}

/** Makes the container's root the overlay of `dirs` (read-write unless `readonly`). */
export function overlayRoot(dirs: OverlayDirs, options: { readonly?: boolean; extra?: string[] } = {}): ConfigPatch {
  return (config) => {
    config.root = { path: dirs.rootPath, readonly: options.readonly ?? false };
    config.mounts = [overlayMount(dirs, options.extra), ...(config.mounts ?? [])];
  };
}

/**
 * Gives a test container an overlay root made in its bundle (so the leftover check covers
 * every directory of it): rewrites the bundle's config.json with `overlayRoot`.
 */
export async function useOverlayRoot(
  c: { bundle: string; config: OciConfig },
  options: { readonly?: boolean; extra?: string[] } = {},
): Promise<OverlayDirs> {
  const dirs = await makeOverlayDirs(path.join(c.bundle, 'overlay'));
  overlayRoot(dirs, options)(c.config);
  await writeFile(path.join(c.bundle, 'config.json'), JSON.stringify(c.config, null, 2));
  return dirs;
}

/** Mount points of the overlays in this process's mount table made of any of `dirs`. */
export function hostOverlaysOf(dirs: readonly string[]): string[] {
  const inside = (p: string) => dirs.some((d) => p === d || p.startsWith(d + path.sep));
  return mountTable()
    .filter((m) => overlayDirectories(m).some(inside))
    .map((m) => m.mountPoint);
}

/**
 * Every entry of a tree with what would show a change to it: type, mode, owner, size,
 * modification time and device number. Equal snapshots mean nothing was written there.
 */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const st = lstatSync(path.join(dir, rel));
    out.push(`${rel || '.'} ${st.mode} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.rdev}`);
    if (st.isDirectory()) for (const name of readdirSync(path.join(dir, rel)).sort()) walk(path.join(rel, name));
  };
  walk('');
  return out;
}
