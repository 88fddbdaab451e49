// @ts-check
// leftovers.mjs — the one definition of what of ours a test can leave behind (DESIGN.md,
// invariant 3): processes of the runtime, the CLI and our supervisors, state entries, bundles,
// cgroup directories in every hierarchy, mounts (overlay roots included), the test registries
// and proxies, scratch directories. Each caller names its own scope — a container's id and
// state root after an ava test, a tier's work directory and cgroup parent, the whole machine
// for run-all.sh — and gets one `Leftover` per thing of that scope that exists.
//
// Plain JavaScript, checked by tsc through its JSDoc: the ava helpers import it (every
// container's teardown, in-process), and the shell tiers, on the host and inside the VM tiers'
// guests (where tsx would take seconds to start), run it with node:
//
//   node test/lib/leftovers.mjs [SCOPE...]
//     --id ID                 a container: the runtime's or the CLI's processes naming it, or in a
//                             cgroup named after it; cgroups named ID or tscontainer-ID in any
//                             hierarchy; ID in each --state-root; its bundle in each --data-root
//                             (`*` in ID matches any run of characters)
//     --state-root DIR        a state root: with --id or --bundles-under, those entries; else all
//     --bundles-under DIR     the state entries whose bundle is under DIR
//     --data-root DIR         a data directory (DIR/containers, DIR/exec): with --id, the ids'
//                             bundles; else all
//     --mounts-under DIR      mounts at or under DIR, and overlays made of directories there
//     --mounts-matching REGEX ... only those whose mount point matches REGEX (a manager's
//                             container mounts among its own)
//     --processes-under DIR   processes naming DIR in their arguments, or whose root, working
//                             directory or TMPDIR is under it
//     --empty DIR             a directory that must be empty (a TMPDIR handed to the front end)
//     --keep-file NAME        ... but for entries named NAME
//     --cgroup PATH           a cgroup (a path in each hierarchy) that must be gone, with no process
//     --cgroups-below PATH    no cgroup below PATH in any hierarchy ...
//     --keep-cgroup REGEX     ... but those whose name matches (podman's conmon)
//     --user UID              no process of this user
//     --descendants-of PID    no live process below PID (a subreaper's)
//     --containers            every container on this machine: every process of the runtime or
//                             the CLI, every entry of the default state root, every bundle in
//                             root's data directory, every cgroup of the runtime's naming
//     --everything            all of ours on this machine: --containers, and every test registry
//                             and proxy, every entry of the users' state roots, every cgroup of
//                             the tiers' naming, every mount made of our directories, every
//                             scratch directory
// It prints one `KIND WHAT` line per leftover and exits 1 when there is any, 0 when none, 2 on a
// usage error. The checker itself and its ancestors never count.
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CGROUP_ROOT = '/sys/fs/cgroup';
/** The runtime's state root for root. */
export const DEFAULT_STATE_ROOT = '/run/tscontainer';
/** Root's data directory: bundles in `containers/<id>`, exec scratch in `exec/<random>`. */
export const ROOT_DATA_DIR = '/var/lib/tscontainer';
/** The prefix of the ava tests' container ids. */
export const TEST_ID_PREFIX = 'tscontainer-test-';
/** The tests' scratch space (gitignored). */
export const workRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '.work');
/** What test/.work keeps between runs: the fixture rootfs, the built conformance suite, the test
 * images, critest, the console-socket receiver, the security tests' attackers (compiled on first
 * use by test/helpers/race.ts, again when their source changes). */
export const WORK_CACHES = ['rootfs', 'runtime-tools', 'images', 'cri-tools', 'recvtty', 'tools'];
/** Where the tiers' scratch directories in /tmp begin (mktemp templates). */
export const TMP_SCRATCH_PREFIXES = [
  'tscontainer-conformance.', 'tscontainer-rootless.', 'tscontainer-dist.', 'tscontainer-test-marker-',
  'tsregistry.', 'tsimages.', 'tsisolate.', 'tspodman.', 'tspull.', 'tsproxy.', 'tspush-', 'tsskopeo.', 'tscri.',
  'tsmanagers.', 'tssd-', 'tsc-output-', 'tsc-unit-rootfs-', 'tsc-oclif-probe-', 'tstier-',
];
/** The runtime's names: its own, and `tscontainer`, the argv0 the TS API and CLI start it under. */
const RUNTIME_NAMES = ['tscontainer-runtime', 'tscontainer'];
/** The CLI's scripts: this checkout's entry, and the bin an installed package links. */
const CLI_SCRIPTS = ['run.cjs', 'tscontainer'];
/** Cgroups named by the runtime (`tscontainer-<id>`, the CLI's) ... */
const CONTAINER_CGROUP_NAMES = /tscontainer/;
/** ... or by a tier (its cgroup parents). */
const TIER_CGROUP_NAMES = /^ts(managers|images)-[0-9]/;

/**
 * @typedef {{ kind: 'process', pid: number, what: string }
 *   | { kind: 'mount' | 'cgroup' | 'state' | 'bundle' | 'temporary file' | 'scratch', path: string }} Leftover
 */

/**
 * What a caller made, and so what must be gone. Every field is optional; see the command line
 * above for what each one covers.
 * @typedef {object} Scope
 * @property {readonly string[]} [ids]
 * @property {readonly string[]} [stateRoots]
 * @property {readonly string[]} [bundlesUnder]
 * @property {readonly string[]} [dataRoots]
 * @property {readonly string[]} [mountsUnder]
 * @property {RegExp} [mountsMatching]
 * @property {readonly string[]} [processesUnder]
 * @property {readonly string[]} [emptyDirs]
 * @property {readonly string[]} [keepFiles]
 * @property {readonly string[]} [cgroups]
 * @property {readonly string[]} [cgroupsBelow]
 * @property {RegExp} [keepCgroups]
 * @property {readonly number[]} [users]
 * @property {readonly number[]} [descendantsOf]
 * @property {boolean} [containers]
 * @property {boolean} [everything]
 */

/** @param {Leftover} l */
export function describeLeftover(l) {
  return l.kind === 'process' ? `process ${l.pid} (${l.what})` : `${l.kind} ${l.path}`;
}

/** @param {string} file @param {string} fallback */
function readOr(file, fallback) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** @param {string} dir @returns {string[]} */
function entries(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** @param {string} p */
function isDirectory(p) {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** @param {string} link */
function linkOr(link) {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

/** @param {string} p @param {readonly string[]} dirs */
const within = (p, dirs) => dirs.some((d) => p === d || p.startsWith(d + path.sep));

/** A matcher for an id, where `*` matches any run of characters. @param {string} id */
function idMatcher(id) {
  if (!id.includes('*')) return (/** @type {string} */ s) => s === id;
  const re = new RegExp(`^${id.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (/** @type {string} */ s) => re.test(s);
}

/** The names a container's cgroup can have: its id (the runtime's default), `tscontainer-<id>` (the CLI's). */
function cgroupNameMatchers(/** @type {readonly string[]} */ ids) {
  return ids.flatMap((id) => [idMatcher(path.basename(id)), idMatcher(`tscontainer-${path.basename(id)}`)]);
}

// --- processes ------------------------------------------------------------------------------

/** Whether `pid` is a live process (a zombie holds nothing but an exit status for its parent). */
export function isAlive(/** @type {number} */ pid) {
  const stat = readOr(`/proc/${pid}/stat`, '');
  return stat !== '' && !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

function parentOf(/** @type {number} */ pid) {
  const stat = readOr(`/proc/${pid}/stat`, '');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** This process and its ancestors: the checker is never a leftover of the caller. */
function selfAndAncestors() {
  const chain = new Set();
  for (let pid = process.pid; pid > 1 && !chain.has(pid); pid = parentOf(pid)) chain.add(pid);
  return chain;
}

/** @typedef {{ pid: number, argv: string[] }} Proc */

/** Live processes (zombies and this checker's own line skipped) with their command lines. @returns {Proc[]} */
function liveProcesses() {
  const mine = selfAndAncestors();
  /** @type {Proc[]} */
  const found = [];
  for (const entry of entries('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || mine.has(pid) || !isAlive(pid)) continue;
    found.push({ pid, argv: readOr(`/proc/${pid}/cmdline`, '').split('\0').filter(Boolean) });
  }
  return found;
}

/** Whether `argv` is the runtime's (under either name) or the CLI's. @param {readonly string[]} argv */
function isOurs(argv) {
  const [program = '', script = ''] = argv;
  return RUNTIME_NAMES.includes(path.basename(program)) || CLI_SCRIPTS.includes(path.basename(script));
}

/** A test registry or proxy: test/images' faulty proxy, or docker-registry serving from a scratch directory. */
function isTestService(/** @type {readonly string[]} */ argv) {
  if (argv.some((a) => path.basename(a) === 'faulty-proxy.mjs')) return true;
  return path.basename(argv[0] ?? '') === 'docker-registry' && argv.slice(1).some(isScratchPath);
}

/** The cgroup paths of a process, one per hierarchy (`hierarchy-id:controllers:path`; the path may hold colons). */
function cgroupPathsOf(/** @type {number} */ pid) {
  return readOr(`/proc/${pid}/cgroup`, '')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(':').slice(2).join(':'));
}

/** The TMPDIR in a process's environment, or ''. */
function tmpdirOf(/** @type {number} */ pid) {
  const env = readOr(`/proc/${pid}/environ`, '').split('\0');
  return env.find((v) => v.startsWith('TMPDIR='))?.slice('TMPDIR='.length) ?? '';
}

/** The effective uid of a process, or -1. */
function uidOf(/** @type {number} */ pid) {
  const line = readOr(`/proc/${pid}/status`, '').split('\n').find((l) => l.startsWith('Uid:'));
  return line ? Number(line.split(/\s+/)[2]) : -1;
}

/**
 * The supervisors of container `id`: runtime processes (under either name) running
 * `create --supervise ... <id>`, which stay as a detached container's parent after the CLI or
 * program that created it is gone.
 */
export function supervisorsOf(/** @type {string} */ id) {
  const found = liveProcesses()
    .filter(({ argv }) => isOurs(argv) && argv.at(-1) === id && argv.includes('create') && argv.includes('--supervise'))
    .map(({ pid }) => pid);
  // Until `start`, the container's init is the supervisor's fork, with the same arguments.
  return found.filter((pid) => !found.includes(parentOf(pid)));
}

/** @param {Scope} scope @returns {Leftover[]} */
function leftoverProcesses(scope) {
  const ids = scope.ids ?? [];
  const byId = ids.map(idMatcher);
  const cgroupNames = cgroupNameMatchers(ids);
  const cgroups = scope.cgroups ?? [];
  const under = scope.processesUnder ?? [];
  const users = scope.users ?? [];
  const roots = scope.descendantsOf ?? [];
  const all = liveProcesses();
  const parents = new Map(all.map(({ pid }) => [pid, parentOf(pid)]));
  /** Whether `pid` is below one of `roots`. @param {number} pid */
  const below = (pid) => {
    const seen = new Set();
    for (let p = parents.get(pid) ?? 0; p > 1 && !seen.has(p); p = parents.get(p) ?? parentOf(p)) {
      if (roots.includes(p)) return true;
      seen.add(p);
    }
    return false;
  };
  /** @type {Leftover[]} */
  const found = [];
  for (const { pid, argv } of all) {
    const what = argv.join(' ');
    /** @param {string} why */
    const add = (why) => found.push({ kind: 'process', pid, what: why ? `${why}: ${what}` : what });
    // The runtime under either name (a supervisor included) and the CLI, naming a container.
    if (ids.length > 0 && isOurs(argv) && argv.some((a) => byId.some((m) => m(a)))) {
      add('');
      continue;
    }
    if ((scope.containers && isOurs(argv)) || (scope.everything && isTestService(argv))) {
      add('');
      continue;
    }
    if (cgroupNames.length > 0 || cgroups.length > 0) {
      const paths = cgroupPathsOf(pid);
      if (paths.some((p) => p.split('/').some((segment) => cgroupNames.some((m) => m(segment))))) {
        add("in a container's cgroup");
        continue;
      }
      const inCgroup = cgroups.find((c) => paths.some((p) => within(p, [path.join('/', c)])));
      if (inCgroup !== undefined) {
        add(`in the cgroup ${inCgroup}`);
        continue;
      }
    }
    if (users.length > 0 && users.includes(uidOf(pid))) {
      add(`of user ${uidOf(pid)}`);
      continue;
    }
    if (roots.length > 0 && below(pid)) {
      add('');
      continue;
    }
    if (under.length > 0) {
      const dir = under.find(
        (d) =>
          argv.some((a) => a.includes(d)) ||
          within(linkOr(`/proc/${pid}/root`), [d]) ||
          within(linkOr(`/proc/${pid}/cwd`), [d]) ||
          within(tmpdirOf(pid), [d]),
      );
      if (dir !== undefined) add(`of ${dir}`);
    }
  }
  return found;
}

// --- mounts ---------------------------------------------------------------------------------

/** Undoes the kernel's octal escapes (`\040` for a space) in a mountinfo field. */
function unescapeMountField(/** @type {string} */ field) {
  return field.replace(/\\([0-7]{3})/g, (_, /** @type {string} */ o) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * One line of /proc/self/mountinfo: where it is mounted, its type and its superblock options
 * (`lowerdir=...`, `upperdir=...`, split at commas).
 * @typedef {{ mountPoint: string, fsType: string, superOptions: string[] }} MountEntry
 */

/** @returns {MountEntry[]} */
export function mountTable() {
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

/** The directories an overlay mount is made of: its layers, upper and work directories. @param {MountEntry} m */
export function overlayDirectories(m) {
  if (m.fsType !== 'overlay') return [];
  return m.superOptions.flatMap((option) => {
    const match = /^(lowerdir\+?|upperdir|workdir|datadir\+)=(.*)$/.exec(option);
    return match?.[2] ? match[2].split(':').filter(Boolean) : [];
  });
}

/** Mounts at or under `dirs`, and overlays made of directories there (a container root mounted
 * on the host, wherever it went). @param {(p: string) => boolean} ours @returns {Leftover[]} */
function leftoverMounts(ours) {
  return mountTable()
    .filter((m) => ours(m.mountPoint) || overlayDirectories(m).some(ours))
    .map((m) => ({ kind: 'mount', path: m.mountPoint }));
}

// --- cgroups --------------------------------------------------------------------------------

/** The roots of the cgroup hierarchies: /sys/fs/cgroup on v2, each mounted hierarchy on v1. */
function hierarchies() {
  if (existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  return entries(CGROUP_ROOT)
    .map((e) => path.join(CGROUP_ROOT, e))
    .filter(isDirectory);
}

/** Every cgroup directory under `dir`, to `depth` levels. @param {string} dir @param {number} depth @param {string[]} out */
function cgroupDirectories(dir, depth, out) {
  if (depth === 0) return out;
  let list;
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of list) {
    if (!e.isDirectory()) continue;
    const child = path.join(dir, e.name);
    out.push(child);
    cgroupDirectories(child, depth - 1, out);
  }
  return out;
}

/** @param {Scope} scope @returns {Leftover[]} */
function leftoverCgroups(scope) {
  const ids = scope.ids ?? [];
  const names = cgroupNameMatchers(ids);
  const roots = hierarchies();
  /** @type {Set<string>} */
  const found = new Set();
  if (names.length > 0 || scope.containers) {
    for (const d of cgroupDirectories(CGROUP_ROOT, 8, [])) {
      const name = path.basename(d);
      if (
        names.some((m) => m(name)) ||
        (scope.containers && CONTAINER_CGROUP_NAMES.test(name)) ||
        (scope.everything && TIER_CGROUP_NAMES.test(name))
      ) {
        found.add(d);
      }
    }
  }
  // An id such as `../x` must not have escaped into a parent directory either.
  for (const id of ids.filter((i) => !i.includes('*'))) {
    for (const h of new Set([CGROUP_ROOT, ...roots])) {
      const p = path.resolve(h, id);
      if (p !== h && p !== CGROUP_ROOT && isDirectory(p)) found.add(p);
    }
  }
  for (const h of roots) {
    for (const c of scope.cgroups ?? []) {
      const p = path.join(h, c);
      if (p !== h && isDirectory(p)) found.add(p);
    }
    for (const parent of scope.cgroupsBelow ?? []) {
      for (const d of cgroupDirectories(path.join(h, parent), 16, [])) {
        if (!scope.keepCgroups?.test(path.basename(d))) found.add(d);
      }
    }
  }
  return [...found].map((p) => ({ kind: 'cgroup', path: p }));
}

// --- state, bundles, files ------------------------------------------------------------------

/** The bundle a state entry records, or ''. */
function bundleOf(/** @type {string} */ entry) {
  try {
    const state = JSON.parse(readFileSync(path.join(entry, 'state.json'), 'utf8'));
    return typeof state?.bundle === 'string' ? state.bundle : '';
  } catch {
    return '';
  }
}

/** The users' state roots: `$XDG_RUNTIME_DIR/tscontainer`, else `/tmp/tscontainer-<uid>`. */
function userStateRoots() {
  return [
    ...entries('/run/user').map((uid) => path.join('/run/user', uid, 'tscontainer')),
    ...entries('/tmp')
      .filter((e) => /^tscontainer-[0-9]+$/.test(e))
      .map((e) => path.join('/tmp', e)),
  ];
}

/** @param {Scope} scope @returns {Leftover[]} */
function leftoverState(scope) {
  const byId = (scope.ids ?? []).map(idMatcher);
  const bundles = scope.bundlesUnder ?? [];
  const selective = byId.length > 0 || bundles.length > 0;
  /** @type {Leftover[]} */
  const found = [];
  for (const root of scope.stateRoots ?? []) {
    for (const e of entries(root)) {
      const p = path.join(root, e);
      if (!selective || byId.some((m) => m(e)) || (bundles.length > 0 && within(bundleOf(p), bundles))) {
        found.push({ kind: 'state', path: p });
      }
    }
    // An id such as `../x` must not have escaped the root either.
    for (const id of (scope.ids ?? []).filter((i) => !i.includes('*'))) {
      const p = path.resolve(root, id);
      if (p !== root && path.dirname(p) !== root && existsSync(p)) found.push({ kind: 'state', path: p });
    }
  }
  if (scope.containers) {
    for (const root of [DEFAULT_STATE_ROOT, ...(scope.everything ? userStateRoots() : [])]) {
      for (const e of entries(root)) found.push({ kind: 'state', path: path.join(root, e) });
    }
  }
  return found;
}

/** The bundle the CLI or the API makes for container `id`, as root. */
export function bundleDir(/** @type {string} */ id) {
  return path.join(ROOT_DATA_DIR, 'containers', id);
}

/** @param {Scope} scope @returns {Leftover[]} */
function leftoverBundles(scope) {
  const byId = (scope.ids ?? []).map(idMatcher);
  const whole = !!scope.containers;
  const roots = [...(scope.dataRoots ?? []), ...(whole ? [ROOT_DATA_DIR] : [])];
  /** @type {Leftover[]} */
  const found = [];
  for (const root of new Set(roots)) {
    const everything = byId.length === 0 || (whole && root === ROOT_DATA_DIR);
    for (const kind of ['containers', 'exec']) {
      // exec directories have random names: only a whole data root's are listed.
      if (!everything && kind === 'exec') continue;
      for (const e of entries(path.join(root, kind))) {
        if (everything || byId.some((m) => m(e))) found.push({ kind: 'bundle', path: path.join(root, kind, e) });
      }
    }
  }
  return found;
}

/** @param {readonly string[]} dirs @param {readonly string[]} keep @returns {Leftover[]} */
function leftoverFiles(dirs, keep) {
  return dirs.flatMap((dir) =>
    entries(dir)
      .filter((e) => !keep.includes(e))
      .map((e) => /** @type {Leftover} */ ({ kind: 'temporary file', path: path.join(dir, e) })),
  );
}

/** Whether `p` is in one of our scratch directories: test/.work (less its caches) or a tier's in /tmp. */
function isScratchPath(/** @type {string} */ p) {
  if (within(p, [workRoot])) {
    const [first = ''] = path.relative(workRoot, p).split(path.sep);
    return first !== '' && !WORK_CACHES.includes(first);
  }
  const [, top = '', name = ''] = p.split(path.sep);
  return top === 'tmp' && TMP_SCRATCH_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** @returns {Leftover[]} */
function leftoverScratch() {
  const work = entries(workRoot).filter((e) => !WORK_CACHES.includes(e)).map((e) => path.join(workRoot, e));
  const tmp = entries('/tmp').filter((e) => TMP_SCRATCH_PREFIXES.some((p) => e.startsWith(p))).map((e) => path.join('/tmp', e));
  return [...work, ...tmp].map((p) => ({ kind: 'scratch', path: p }));
}

/** Everything of `scope` that exists now. @param {Scope} given @returns {Leftover[]} */
export function findLeftovers(given) {
  const scope = given.everything ? { ...given, containers: true } : given;
  const under = scope.mountsUnder ?? [];
  /** @param {string} p */
  const ourMount = (p) =>
    within(p, under) || (!!scope.everything && (isScratchPath(p) || within(p, [DEFAULT_STATE_ROOT, ROOT_DATA_DIR])));
  const matching = scope.mountsMatching;
  const mounts = under.length > 0 || scope.everything ? leftoverMounts(ourMount) : [];
  return [
    ...leftoverProcesses(scope),
    ...(matching ? mounts.filter((m) => m.kind === 'mount' && matching.test(m.path)) : mounts),
    ...leftoverCgroups(scope),
    ...leftoverState(scope),
    ...leftoverBundles(scope),
    ...leftoverFiles(scope.emptyDirs ?? [], scope.keepFiles ?? []),
    ...(scope.everything ? leftoverScratch() : []),
  ];
}

// --- the command line -----------------------------------------------------------------------

/** The options that name directories (made absolute), cgroups and ids (kept as given), numbers. */
const DIR_OPTIONS = /** @type {const} */ ({
  '--state-root': 'stateRoots', '--bundles-under': 'bundlesUnder', '--data-root': 'dataRoots',
  '--mounts-under': 'mountsUnder', '--processes-under': 'processesUnder', '--empty': 'emptyDirs',
});
const NAME_OPTIONS = /** @type {const} */ ({
  '--id': 'ids', '--cgroup': 'cgroups', '--cgroups-below': 'cgroupsBelow', '--keep-file': 'keepFiles',
});
/** The options that take a regular expression. */
const REGEX_OPTIONS = /** @type {const} */ ({ '--keep-cgroup': 'keepCgroups', '--mounts-matching': 'mountsMatching' });
const NUMBER_OPTIONS = /** @type {const} */ ({ '--user': 'users', '--descendants-of': 'descendantsOf' });

/** The scope a command line names. @param {readonly string[]} args @returns {Scope} */
export function parseScope(args) {
  /** @type {Record<string, string[]>} */
  const lists = {};
  /** @type {Record<string, number[]>} */
  const numbers = {};
  /** @type {Scope} */
  const scope = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (flag === '--everything' || flag === '--containers') {
      scope[flag === '--everything' ? 'everything' : 'containers'] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value === '') throw new Error(`${flag} needs a value`);
    if (flag in DIR_OPTIONS) {
      (lists[DIR_OPTIONS[/** @type {keyof typeof DIR_OPTIONS} */ (flag)]] ??= []).push(path.resolve(value));
    } else if (flag in NAME_OPTIONS) {
      (lists[NAME_OPTIONS[/** @type {keyof typeof NAME_OPTIONS} */ (flag)]] ??= []).push(value);
    } else if (flag in NUMBER_OPTIONS) {
      if (!/^[0-9]+$/.test(value)) throw new Error(`${flag} needs a number, not ${value}`);
      (numbers[NUMBER_OPTIONS[/** @type {keyof typeof NUMBER_OPTIONS} */ (flag)]] ??= []).push(Number(value));
    } else if (flag in REGEX_OPTIONS) {
      scope[REGEX_OPTIONS[/** @type {keyof typeof REGEX_OPTIONS} */ (flag)]] = new RegExp(value);
    } else {
      throw new Error(`unknown option ${flag}`);
    }
  }
  return { ...scope, ...lists, ...numbers };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const found = findLeftovers(parseScope(process.argv.slice(2)));
    for (const l of found) console.log(describeLeftover(l));
    process.exitCode = found.length > 0 ? 1 : 0;
  } catch (e) {
    console.error(`leftovers.mjs: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 2;
  }
}
