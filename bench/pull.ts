/**
 * (7) pulling an image from a registry: tscontainer against `podman pull` and containerd's
 * `ctr images pull`, side by side, from the same local registry (Debian's docker-registry on
 * 127.0.0.1, plain HTTP), each into an empty private store every round. Two images from
 * test/images: the Debian image (one layer, ~10,000 files, 70 MB compressed) and the bench
 * image (5 layers, ~210 MiB: incompressible data and many small files).
 *
 * The pullers are data: PULLERS lists them, and each says how to prepare its store, the one
 * command that is timed, how to empty the store after it (not timed, checked), and why it
 * cannot run here. `tscontainer pull` is one entry; it runs once the CLI has the command.
 *
 * Every store is on a journaled ext4 file system the section makes (a sparse file, loop-mounted),
 * as on a typical machine: the root file system of the machines this project runs on is ext4
 * *without* a journal, and there ext4 will not reuse an inode freed in the last 60 seconds (300
 * while its inode table block is unwritten), checking each one it passes for every new file.
 * Each round frees ~10,000 inodes, so on that file system every puller's file creation grows
 * quadratic with the rounds (the same Debian pull: 0.9 s, then 2.7, 4.9, 6.5 s), whichever
 * tool pulls. BENCH_PULL_FS=host keeps the stores on the host's file system (/tmp) to see it.
 *
 * Settings: BENCH_PULL_ROUNDS (default 5), BENCH_PULL_WARMUP (1), BENCH_PULL_IMAGES
 * (default "debian,bench"), BENCH_PULL_FS ("scratch", the default, or "host").
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { privatePodman, pushImage, registryFlags, startRegistry, type PrivatePodman, type Registry } from '../test/helpers/registry.js';
import { CLI, which } from './env.js';
import { interleaved, type Case, type Measurer } from './measure.js';
import type { SectionResult, Target } from './sections.js';
import { summarize, type Row } from './stats.js';

export interface PullSettings {
  rounds: number;
  warmup: number;
  images: PullImage[];
  /** Where the stores are: a journaled ext4 the section makes, or the host's /tmp. */
  fileSystem: 'scratch' | 'host';
}

export type PullImage = 'debian' | 'bench';

const DESCRIPTION: Record<PullImage, string> = {
  debian: 'Debian 12 (1 layer, ~10,000 files)',
  bench: 'bench image (5 layers, ~210 MiB)',
};

/** What a puller needs from the section: its directory, the registry, the machine. */
interface Context {
  dir: string;
  registry: Registry;
}

export interface Puller {
  name: string;
  /** Why it cannot run on this machine, or undefined. */
  unavailable(): string | undefined;
  /** Prepares its private, empty store (not timed). */
  setup(ctx: Context): Promise<void>;
  /** The command that is timed. */
  command(ref: string): { argv: string[]; env?: NodeJS.ProcessEnv };
  /** CPU time a daemon spent on its behalf since the last call, ms (ctr: containerd's). */
  daemonCpuMs?(): number;
  /** Empties its store after a pull (not timed), and throws unless it is empty. */
  empty(ref: string): void;
  teardown(): Promise<void>;
}

export function run(argv: string[], env?: NodeJS.ProcessEnv): string {
  const out = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: env ?? process.env, maxBuffer: 1 << 26 });
  if (out.status !== 0) throw new Error(`${argv.join(' ')}: ${out.status ?? out.signal}: ${out.stderr.trim()}`);
  return out.stdout;
}

/** Unmounts everything at or below `dir` in this mount namespace, deepest first. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}

/** podman with an overlay store of its own (test/images/lib/podman.sh), emptied with rmi -af. */
function podmanPuller(): Puller {
  let p: PrivatePodman | undefined;
  let flags: string[] = [];
  return {
    name: 'podman pull',
    unavailable: () => (which('podman') ? undefined : 'podman is not installed (apt-get install podman)'),
    async setup(ctx) {
      p = await privatePodman('overlay', ctx.dir);
      flags = registryFlags(ctx.registry, 'podman');
    },
    command: (ref) => ({ argv: [p!.podman, 'pull', '-q', ...flags, ref] }),
    empty() {
      run([p!.podman, 'rmi', '-af']);
      const left = run([p!.podman, 'images', '-aq']).trim();
      if (left !== '') throw new Error(`podman's store is not empty after rmi -af: ${left}`);
    },
    async teardown() {
      if (p === undefined) return;
      unmountUnder(p.dir);
      await p.remove();
    },
  };
}

/** A containerd of its own (root, state, socket; as test/managers/run.sh starts one) and ctr. */
function ctrPuller(): Puller {
  let daemon: ChildProcess | undefined;
  let dir = '';
  let socket = '';
  let flags: string[] = [];
  let lastCpu = 0;
  const namespace = 'tsbench';
  const ctr = (...args: string[]) => ['ctr', '-a', socket, '-n', namespace, ...args];
  const cpuTicks = () => {
    const fields = readFileSync(`/proc/${daemon!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return {
    name: 'ctr images pull',
    unavailable: () => (which('containerd') && which('ctr') ? undefined : 'containerd and ctr are not installed (apt-get install containerd)'),
    async setup(ctx) {
      dir = join(ctx.dir, 'containerd');
      socket = join(dir, 'containerd.sock');
      flags = registryFlags(ctx.registry, 'ctr');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'config.toml'),
        [
          'version = 2',
          `root = "${dir}/root"`,
          `state = "${dir}/state"`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          '[grpc]',
          `  address = "${socket}"`,
          '[ttrpc]',
          `  address = "${socket}.ttrpc"`,
          '[plugins."io.containerd.internal.v1.opt"]',
          `  path = "${dir}/opt"`,
          '',
        ].join('\n'),
      );
      const log = openSync(join(dir, 'containerd.log'), 'w');
      daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
      closeSync(log);
      for (let i = 0; i < 200; i++) {
        if (spawnSync('ctr', ['-a', socket, 'version'], { stdio: 'ignore' }).status === 0) {
          lastCpu = cpuTicks();
          return;
        }
        if (daemon.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the private containerd did not start within 20 s: ${readFileSync(join(dir, 'containerd.log'), 'utf8').slice(-2000)}`);
    },
    command: (ref) => ({ argv: [...ctr('images', 'pull', ...flags, ref)] }),
    daemonCpuMs() {
      const now = cpuTicks();
      const ms = ((now - lastCpu) * 1000) / ticksPerSecond;
      lastCpu = now;
      return ms;
    },
    empty(ref) {
      run(ctr('images', 'rm', '--sync', ref));
      const content = run(ctr('content', 'ls', '-q')).trim();
      const snapshots = run(ctr('snapshots', 'ls')).trim().split('\n').slice(1).join('\n');
      if (content !== '' || snapshots !== '') throw new Error(`containerd kept after images rm --sync:\n${content}\n${snapshots}`);
      lastCpu = cpuTicks();
    },
    async teardown() {
      if (daemon !== undefined && daemon.exitCode === null) {
        const exited = new Promise((r) => daemon!.once('exit', r));
        daemon.kill('SIGTERM');
        await exited;
      }
      if (dir !== '') unmountUnder(dir);
    },
  };
}

/** tscontainer's own pull, into a store of its own (TSCONTAINER_STORAGE), emptied by removing it. */
function tscontainerPuller(): Puller {
  let store = '';
  let flags: string[] = [];
  return {
    name: 'tscontainer pull',
    unavailable() {
      const help = spawnSync(CLI, ['pull', '--help'], { stdio: 'ignore' });
      return help.status === 0 ? undefined : 'the CLI has no `pull` command yet (bin/run.cjs pull --help fails)';
    },
    async setup(ctx) {
      store = join(ctx.dir, 'tscontainer');
      flags = ctx.registry.tls ? [`--cert-dir=${ctx.registry.certDir}`] : ['--tls-verify=false'];
    },
    command: (ref) => ({ argv: [CLI, 'pull', '-q', ...flags, ref], env: { ...process.env, TSCONTAINER_STORAGE: store } }),
    empty() {
      rmSync(store, { recursive: true, force: true });
    },
    async teardown() {},
  };
}

/** Every puller the section knows; one without its tool shows as a note, not a row. */
export const PULLERS: (() => Puller)[] = [podmanPuller, ctrPuller, tscontainerPuller];

/**
 * In this process's mount namespace (bench/env.ts runs the benchmark in a private one):
 * /var/lib and /run become overlays of themselves over a tmpfs, as test/images/isolate.sh
 * does per command, so what podman and containerd write there (blob-info cache, netavark's
 * run directory) goes when the section ends; TS_ISOLATED tells the wrappers it is done.
 */
export function isolateHostPaths(dir: string): () => void {
  const upper = join(dir, 'isolate');
  mkdirSync(upper, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700', 'tsbench-isolate', upper]);
  for (const d of ['var-upper', 'var-work', 'run-upper', 'run-work']) mkdirSync(join(upper, d));
  execFileSync('mount', ['-t', 'overlay', 'tsbench-isolate', '-o', `lowerdir=/var/lib,upperdir=${upper}/var-upper,workdir=${upper}/var-work`, '/var/lib']);
  execFileSync('mount', ['-t', 'overlay', 'tsbench-isolate', '-o', `lowerdir=/run,upperdir=${upper}/run-upper,workdir=${upper}/run-work`, '/run']);
  process.env.TS_ISOLATED = '1';
  return () => {
    delete process.env.TS_ISOLATED;
    for (const m of ['/run', '/var/lib', upper]) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  };
}

interface PullResult {
  ms: number;
  rssMiB: number;
  cpuMs: number;
}

export async function pullSection(m: Measurer, s: PullSettings): Promise<SectionResult> {
  const notes: string[] = [];
  const pullers: Puller[] = [];
  for (const make of PULLERS) {
    const p = make();
    const why = p.unavailable();
    if (why === undefined) pullers.push(p);
    else notes.push(`${p.name}: not measured: ${why}`);
  }
  for (const tool of ['docker-registry', 'skopeo']) {
    if (which(tool) === undefined) return { rows: [], targets: [{ what: '(7) pull', met: false, detail: `${tool} is not installed` }] };
  }
  // Short: podman refuses a run root path over 50 characters.
  const dir = mkdtempSync('/tmp/tspull.');
  const scratch = s.fileSystem === 'scratch' ? mountScratchFileSystem(dir) : undefined;
  if (scratch === undefined) notes.push('stores on the host file system (BENCH_PULL_FS=host)');
  const restore = isolateHostPaths(dir);
  let registry: Registry | undefined;
  const started: Puller[] = [];
  try {
    registry = await startRegistry();
    const refs = new Map<PullImage, string>();
    for (const image of s.images) {
      process.stderr.write(`bench: 7. pushing ${image} to ${registry.host} (built first when not cached)\n`);
      refs.set(image, (await pushImage(registry, image)).ref);
    }
    for (const p of pullers) {
      await p.setup({ dir, registry });
      started.push(p);
    }
    const cases: Case<PullResult>[] = [];
    for (const [image, ref] of refs) {
      for (const p of pullers) {
        cases.push({
          name: `${image}\0${p.name}`,
          run: () => {
            const { argv, env } = p.command(ref);
            const step = m.run([argv], env).steps[0]!;
            const daemon = p.daemonCpuMs?.() ?? 0;
            p.empty(ref);
            return { ms: step.ms, rssMiB: step.maxRssKb / 1024, cpuMs: step.cpuMs + daemon };
          },
        });
      }
    }
    const measured = interleaved(cases, s.warmup, s.rounds);
    return report(measured, pullers, s, notes);
  } finally {
    for (const p of started.reverse()) await p.teardown().catch((e: Error) => process.stderr.write(`bench: 7. ${p.name}: ${e.message}\n`));
    await registry?.stop();
    restore();
    unmountUnder(dir);
    scratch?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Mounts a new journaled ext4 (mkfs.ext4's defaults, on a sparse file beside `dir`) on `dir`;
 * returns what removes the file once `dir` is unmounted.
 */
function mountScratchFileSystem(dir: string): () => void {
  const image = `${dir}.ext4`;
  writeFileSync(image, '');
  truncateSync(image, 16 * 2 ** 30);
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    execFileSync('mount', ['-o', 'loop', image, dir]);
  } catch (e) {
    rmSync(image, { force: true });
    throw e;
  }
  return () => rmSync(image, { force: true });
}

function report(measured: Map<string, PullResult[]>, pullers: Puller[], s: PullSettings, notes: string[]): SectionResult {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const mean = (image: PullImage, name: string) => {
    const v = measured.get(`${image}\0${name}`);
    return v === undefined || v.length === 0 ? undefined : summarize(v.map((r) => r.ms / 1000)).mean;
  };
  for (const image of s.images) {
    const section = `7 pull ${DESCRIPTION[image]}`;
    const reference = mean(image, 'podman pull');
    for (const p of pullers) {
      const values = measured.get(`${image}\0${p.name}`) ?? [];
      const note = p.name === 'ctr images pull' ? 'CPU includes containerd; RSS is ctr alone' : undefined;
      rows.push({ section, name: p.name, unit: 's', summary: summarize(values.map((r) => r.ms / 1000)), reference, note });
      rows.push({ section: `${section}, peak RSS`, name: p.name, unit: 'MiB', summary: summarize(values.map((r) => r.rssMiB)), note });
      rows.push({ section: `${section}, CPU`, name: p.name, unit: 's', summary: summarize(values.map((r) => r.cpuMs / 1000)), note });
    }
    const ours = mean(image, 'tscontainer pull');
    const rss = measured.get(`${image}\0tscontainer pull`);
    if (rss !== undefined && rss.length > 0) {
      const peak = Math.max(...rss.map((r) => r.rssMiB));
      targets.push({ what: `(7) tscontainer pull of the ${DESCRIPTION[image]}: peak RSS ≤ 64 MiB`, met: peak <= 64, detail: `${peak.toFixed(1)} MiB` });
    }
    for (const theirs of ['podman pull', 'ctr images pull']) {
      const other = mean(image, theirs);
      const what = `(7) tscontainer pull of the ${DESCRIPTION[image]}: mean ≤ 0.5× ${theirs}`;
      if (ours === undefined || other === undefined) {
        targets.push({ what, met: false, detail: `not measured (${ours === undefined ? 'tscontainer pull' : theirs} did not run)` });
      } else {
        const bound = other * 0.5;
        targets.push({ what, met: ours <= bound, detail: `${ours.toFixed(2)} s vs bound ${bound.toFixed(2)} s` });
      }
    }
  }
  for (const note of notes) targets.push({ what: '(7) pull', met: false, detail: note });
  return { rows, targets };
}
