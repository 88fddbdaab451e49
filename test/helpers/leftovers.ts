// "Nothing left behind" (DESIGN.md, invariant 3), checked from the host after every test:
// no runtime or CLI process for the container and no process in its cgroup, no mount under
// the test's directories, no cgroup directory for it, no state entry, nothing in the
// temporary directories its front end was given. `removeLeftovers` then clears whatever was
// found, so one leaking test does not break the next.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { workRoot } from './paths.js';

const run = promisify(execFile);
const CGROUP_ROOT = '/sys/fs/cgroup';
/** The runtime's names: its own, and `tscontainer`, the argv0 the TS API and CLI start it under. */
const RUNTIME_NAMES = ['tscontainer-runtime', 'tscontainer'];
/** The CLI's entry script, as `node bin/run.cjs` runs it. */
const CLI_ENTRY = path.join('bin', 'run.cjs');
/** The prefix of every test's container ids: their state entries may be removed wherever they are. */
export const TEST_ID_PREFIX = 'tscontainer-test-';
/** Where the CLI and the API make root's bundles (the tests run as root): one per container id. */
export const BUNDLES_DIR = '/var/lib/tscontainer/containers';

/** The bundle the CLI or the API makes for container `id`. */
export function bundleDir(id: string): string {
  return path.join(BUNDLES_DIR, id);
}

export interface Traces {
  /** The container ids the test used. Each names the cgroup `/<id>` (the runtime's default)
   * and `/tscontainer-<id>` (the TS CLI's). */
  ids: readonly string[];
  /** The `--root` the test gave the runtime. */
  stateRoot: string;
  /** Directories under which no mount may remain (the bundle, the state root). */
  dirs: readonly string[];
  /** Temporary directories (TMPDIR) handed to the TS API or CLI, which must stay empty:
   * nothing of theirs goes there. Their containers' bundles (`bundleDir`) must be gone. */
  tmpDirs?: readonly string[] | undefined;
}

export type Leftover =
  | { kind: 'process'; pid: number; what: string }
  | { kind: 'mount'; path: string }
  | { kind: 'cgroup'; path: string }
  | { kind: 'state'; path: string }
  | { kind: 'bundle'; path: string }
  | { kind: 'temporary file'; path: string };

export function describeLeftover(l: Leftover): string {
  return l.kind === 'process' ? `process ${l.pid} (${l.what})` : `${l.kind} ${l.path}`;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The cgroup directory names a container id can give rise to. */
function cgroupNames(id: string): string[] {
  const name = path.basename(id);
  return [name, `tscontainer-${name}`];
}

/** Whether `argv` is the runtime's (under either name) or the CLI's. */
function isOurs(argv: readonly string[]): boolean {
  const [program = '', script = ''] = argv;
  return RUNTIME_NAMES.includes(path.basename(program)) || script === CLI_ENTRY || script.endsWith(path.sep + CLI_ENTRY);
}

/** Live processes (zombies skipped) with their command lines. */
function liveProcesses(): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    // Zombies are skipped: they hold nothing but an exit status for their parent to read.
    if (!Number.isInteger(pid) || pid === process.pid || !isAlive(pid)) continue;
    found.push({ pid, argv: readOr(`/proc/${pid}/cmdline`, '').split('\0').filter(Boolean) });
  }
  return found;
}

/**
 * The supervisors of container `id`: runtime processes (`tscontainer-runtime`, or
 * `tscontainer` as the TS front end starts it) running `create --supervise ... <id>`, which
 * stay as a detached container's parent after the CLI or program that created it is gone.
 */
export function supervisorsOf(id: string): number[] {
  const found = liveProcesses()
    .filter(({ argv }) => isOurs(argv) && argv.at(-1) === id && argv.includes('create') && argv.includes('--supervise'))
    .map(({ pid }) => pid);
  // Until `start`, the container's init is the supervisor's fork, with the same arguments.
  return found.filter((pid) => !found.includes(parentOf(pid)));
}

function parentOf(pid: number): number {
  const stat = readOr(`/proc/${pid}/stat`, '');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function leftoverProcesses(ids: readonly string[]): Leftover[] {
  const names = new Set(ids.flatMap(cgroupNames));
  const found: Leftover[] = [];
  for (const { pid, argv } of liveProcesses()) {
    // The runtime under either name (a detached container's supervisor, `create --supervise`,
    // included) and the CLI, with the container's id in their arguments.
    if (isOurs(argv) && ids.some((id) => argv.includes(id))) {
      found.push({ kind: 'process', pid, what: argv.join(' ') });
      continue;
    }
    // Lines are `hierarchy-id:controllers:path`; the path may contain colons.
    const inContainerCgroup = readOr(`/proc/${pid}/cgroup`, '')
      .split('\n')
      .map((line) => line.split(':').slice(2).join(':'))
      .some((cgroupPath) => cgroupPath.split('/').some((segment) => names.has(segment)));
    if (inContainerCgroup) {
      found.push({ kind: 'process', pid, what: `in the container's cgroup: ${argv.join(' ')}` });
    }
  }
  return found;
}

/** Undoes the kernel's octal escapes (`\040` for a space) in a mountinfo field. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** One line of /proc/self/mountinfo: where it is mounted, its type and its superblock options. */
export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** The filesystem's own options, split at commas (`lowerdir=...`, `upperdir=...`). */
  superOptions: string[];
}

export function mountTable(): MountEntry[] {
  return readOr('/proc/self/mountinfo', '')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left = '', right = ''] = line.split(' - ');
      const [fsType = '', , superOptions = ''] = right.split(' ');
      return {
        mountPoint: unescapeMountField(left.split(' ')[4] ?? ''),
        fsType,
        superOptions: superOptions.split(',').map(unescapeMountField),
      };
    });
}

/** The directories an overlay mount is made of: its layers, upper and work directories. */
export function overlayDirectories(m: MountEntry): string[] {
  if (m.fsType !== 'overlay') return [];
  return m.superOptions.flatMap((option) => {
    const match = /^(lowerdir\+?|upperdir|workdir|datadir\+)=(.*)$/.exec(option);
    return match ? match[2]!.split(':').filter(Boolean) : [];
  });
}

const within = (p: string, dirs: readonly string[]) => dirs.some((d) => p === d || p.startsWith(d + path.sep));

/** Mounts under the test's directories, and overlays made of directories there (a container
 * root mounted on the host, wherever it went). */
function leftoverMounts(dirs: readonly string[]): Leftover[] {
  return mountTable()
    .filter((m) => within(m.mountPoint, dirs) || overlayDirectories(m).some((d) => within(d, dirs)))
    .map((m) => ({ kind: 'mount', path: m.mountPoint }));
}

function cgroupDirectories(dir: string, depth: number, out: string[]): void {
  if (depth === 0) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const child = path.join(dir, e.name);
    out.push(child);
    cgroupDirectories(child, depth - 1, out);
  }
}

function leftoverCgroups(ids: readonly string[]): Leftover[] {
  const names = new Set(ids.flatMap(cgroupNames));
  const all: string[] = [];
  cgroupDirectories(CGROUP_ROOT, 8, all);
  const found = new Set(all.filter((d) => names.has(path.basename(d))));
  // An id such as `../x` must not have escaped into a parent directory either.
  const hierarchies = [CGROUP_ROOT, ...all.filter((d) => path.dirname(d) === CGROUP_ROOT)];
  for (const h of hierarchies) {
    for (const id of ids) {
      const p = path.resolve(h, id);
      if (p !== h && p !== CGROUP_ROOT && isDirectory(p)) found.add(p);
    }
  }
  return [...found].map((p) => ({ kind: 'cgroup', path: p }));
}

function leftoverState(ids: readonly string[], stateRoot: string): Leftover[] {
  return ids
    .map((id) => path.resolve(stateRoot, id))
    .filter((p) => p !== stateRoot && existsSync(p))
    .map((p) => ({ kind: 'state', path: p }));
}

function leftoverBundles(ids: readonly string[]): Leftover[] {
  return ids
    .map(bundleDir)
    .filter((p) => path.dirname(p) === BUNDLES_DIR && existsSync(p))
    .map((p) => ({ kind: 'bundle', path: p }));
}

function leftoverTemporaryFiles(tmpDirs: readonly string[]): Leftover[] {
  return tmpDirs.flatMap((dir) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return [];
    }
    return entries.map((e) => ({ kind: 'temporary file' as const, path: path.join(dir, e) }));
  });
}

export function findLeftovers(traces: Traces): Leftover[] {
  return [
    ...leftoverProcesses(traces.ids),
    ...leftoverMounts(traces.dirs),
    ...leftoverCgroups(traces.ids),
    ...leftoverState(traces.ids, traces.stateRoot),
    ...(traces.tmpDirs === undefined ? [] : leftoverBundles(traces.ids)),
    ...leftoverTemporaryFiles(traces.tmpDirs ?? []),
  ];
}

/** Whether `pid` is a live process (a zombie has released everything but its exit status). */
export function isAlive(pid: number): boolean {
  const stat = readOr(`/proc/${pid}/stat`, '');
  return stat !== '' && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function removeCgroup(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await run('rmdir', [dir]);
      return;
    } catch {
      if (!existsSync(dir)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Removes a directory tree without crossing into another filesystem (a leaked mount). */
export async function removeTree(dir: string): Promise<void> {
  await run('rm', ['-rf', '--one-file-system', dir]);
}

/** Whether `p` may be removed by the tests: inside their scratch space, or a test container's
 * state entry (the CLI keeps its state in the default root, /run/tscontainer). */
function removable(p: string): boolean {
  return p.startsWith(workRoot + path.sep) || path.basename(p).startsWith(TEST_ID_PREFIX);
}

/** Clears what `findLeftovers` reported: processes first, then mounts, cgroups, state, files. */
export async function removeLeftovers(found: readonly Leftover[]): Promise<void> {
  await killAndWait(found.flatMap((l) => (l.kind === 'process' ? [l.pid] : [])));
  const byDepth = (a: string, b: string) => b.split('/').length - a.split('/').length;
  const paths = (kind: Exclude<Leftover['kind'], 'process'>) =>
    found.flatMap((l) => (l.kind === kind ? [l.path] : [])).sort(byDepth);
  for (const m of paths('mount')) {
    await run('umount', ['-l', m]).catch(() => undefined);
  }
  for (const c of paths('cgroup')) {
    await removeCgroup(c);
  }
  for (const s of [...paths('state'), ...paths('bundle'), ...paths('temporary file')]) {
    if (removable(s)) await removeTree(s);
  }
}
