/**
 * What the benchmark needs from the machine, checked up front with one line per missing
 * thing, and the private mount namespace every runtime is measured in.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = dirname(dirname(fileURLToPath(import.meta.url)));

/** The `tscontainer` command as a user runs it: the package's bin, through its own first line. */
export const CLI = join(REPO, 'bin', 'run.cjs');

/** The environment Node gets from that first line (bin/run.cjs): no NODE_EXTRA_CA_CERTS. */
export function cliNodeEnvironment(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = process.env;
  return rest;
}

/** Absolute path of `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  const out = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { encoding: 'utf8' });
  const path = out.stdout.trim();
  return out.status === 0 && path.startsWith('/') ? path : undefined;
}

export interface Tools {
  runtime: string;
  node: string;
  helper: string;
  runc?: string | undefined;
  crun?: string | undefined;
  podman?: string | undefined;
}

/**
 * Checks the prerequisites and builds the timing helper. Returns the tools, or the list of
 * what is missing (the reference runtimes are optional: their rows are left out). Without
 * `containers` (only the pull section), the runtime, the built TypeScript and busybox are
 * not needed.
 */
export function prerequisites(containers = true): { tools?: Tools; missing: string[]; absent: string[] } {
  const missing: string[] = [];
  const absent: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root: containers are created as root (run `sudo npm run bench`)');
  const runtime = join(REPO, 'native', 'tscontainer-runtime');
  if (containers && !existsSync(runtime)) missing.push(`${runtime}: build it first (npm ci, or npm run build)`);
  if (containers && !existsSync(join(REPO, 'dist', 'index.js'))) missing.push('dist/: build the TypeScript first (npm run build:ts)');
  const cc = which('cc');
  if (cc === undefined) missing.push('cc, to build bench/tools/measure.c (apt-get install build-essential)');
  for (const tool of ['unshare', 'umount', 'tar']) if (which(tool) === undefined) missing.push(`${tool} (util-linux)`);
  if (containers && !existsSync(process.env.BUSYBOX ?? '/bin/busybox')) missing.push('a static busybox for the rootfs (apt-get install busybox-static)');
  const runc = which('runc');
  const crun = which('crun');
  const podman = which('podman');
  if (runc === undefined) absent.push('runc (apt-get install runc): its rows are left out');
  if (crun === undefined) absent.push('crun (apt-get install crun): its rows are left out, and with it the ratios');
  if (podman === undefined || which('conmon') === undefined)
    absent.push('podman and conmon (apt-get install podman): section 6 is left out');
  if (missing.length > 0 || cc === undefined) return { missing, absent };
  const helper = buildHelper(cc);
  return { tools: { runtime, node: process.execPath, helper, runc, crun, podman: which('conmon') ? podman : undefined }, missing, absent };
}

/** Compiles bench/tools/measure.c into bench/.work when the source is newer. */
function buildHelper(cc: string): string {
  const source = join(REPO, 'bench', 'tools', 'measure.c');
  const out = join(REPO, 'bench', '.work', 'measure');
  mkdirSync(dirname(out), { recursive: true });
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(source).mtimeMs) {
    execFileSync(cc, ['-O2', '-Wall', '-o', out, source], { stdio: 'inherit' });
  }
  return out;
}

const NAMESPACE_MARK = 'TSCONTAINER_BENCH_NAMESPACE';

/**
 * crun 1.8 refuses a hybrid cgroup host (cgroup2 mounted at /sys/fs/cgroup/unified beside
 * the v1 controllers). The whole benchmark therefore runs in a private mount namespace
 * where that mount is gone, so every runtime and manager sees the same cgroup setup and
 * pays no per-invocation wrapper. Re-executes this process there and returns its exit
 * status, or undefined when already inside (or when the host is not hybrid).
 */
export function enterPrivateMountNamespace(): number | undefined {
  if (process.env[NAMESPACE_MARK] === '1') return undefined;
  const script = [
    'if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && mountpoint -q /sys/fs/cgroup/unified; then',
    '  umount /sys/fs/cgroup/unified || exit 1',
    'fi',
    'exec "$@"',
  ].join('\n');
  const child = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, [NAMESPACE_MARK]: '1' } },
  );
  return child.status ?? 1;
}

export function loadAverage(): string {
  return execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
}
