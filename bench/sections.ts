/**
 * The six measurements of the benchmark. Each returns its table rows and the targets it
 * checks; every reference runtime runs the same bundle as tscontainer-runtime.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { CLI, cliNodeEnvironment, type Tools } from './env.js';
import type { Fixtures } from './fixtures.js';
import { interleaved, type Case, type Measurement, type Measurer } from './measure.js';
import { summarize, shuffled, type Row } from './stats.js';

export interface Target {
  what: string;
  met: boolean;
  detail: string;
}

export interface SectionResult {
  rows: Row[];
  targets: Target[];
}

export interface Settings {
  warmup: number;
  rounds: number;
  podmanRounds: number;
  concurrentRuns: number;
  concurrency: number;
}

interface Runtime {
  name: string;
  bin: string;
  root: string;
}

/** tscontainer-runtime first, then the reference runtimes that are installed. */
export function runtimes(tools: Tools, fixtures: Fixtures): Runtime[] {
  const list: Runtime[] = [{ name: 'tscontainer-runtime', bin: tools.runtime, root: join(fixtures.work, 'state', 'tscontainer') }];
  if (tools.runc) list.push({ name: 'runc', bin: tools.runc, root: join(fixtures.work, 'state', 'runc') });
  if (tools.crun) list.push({ name: 'crun', bin: tools.crun, root: join(fixtures.work, 'state', 'crun') });
  return list;
}

let serial = 0;
function freshId(prefix: string): string {
  serial += 1;
  return `tscbench-${prefix}-${process.pid}-${serial}`;
}

const SHORT: Record<string, string> = { 'tscontainer-runtime': 'tsc', runc: 'runc', crun: 'crun' };

export function meanOf(results: Map<string, number[]>, name: string): number | undefined {
  const values = results.get(name);
  return values === undefined || values.length === 0 ? undefined : summarize(values).mean;
}

export function rowsFor(section: string, unit: string, results: Map<string, number[]>, reference: string | undefined, notes: Record<string, string> = {}): Row[] {
  const ref = reference === undefined ? undefined : meanOf(results, reference);
  return [...results].map(([name, values]) => ({ section, name, unit, summary: summarize(values), reference: ref, note: notes[name] }));
}

export function compare(what: string, ours: number | undefined, theirs: number | undefined, factor: number, unit: string, higherIsBetter = false): Target {
  if (ours === undefined || theirs === undefined) return { what, met: false, detail: 'not measured (a runtime is missing)' };
  const bound = theirs * factor;
  const met = higherIsBetter ? ours >= bound : ours <= bound;
  const gap = higherIsBetter ? bound - ours : ours - bound;
  return {
    what,
    met,
    detail: `${ours.toFixed(2)} ${unit} vs bound ${bound.toFixed(2)} ${unit}${met ? '' : ` (gap ${gap.toFixed(2)} ${unit})`}`,
  };
}

/** (1) `X run` of /bin/true. */
export function runSection(m: Measurer, rts: Runtime[], f: Fixtures, s: Settings): SectionResult {
  const cases: Case<number>[] = rts.map((rt) => ({
    name: rt.name,
    run: () => m.run([[rt.bin, '--root', rt.root, 'run', '--bundle', f.specBundle, freshId(SHORT[rt.name]!)]]).totalMs,
  }));
  const results = interleaved(cases, s.warmup, s.rounds);
  const rows = rowsFor('1 run /bin/true', 'ms', results, 'crun');
  return {
    rows,
    targets: [compare('(1) run: mean ≤ crun', meanOf(results, 'tscontainer-runtime'), meanOf(results, 'crun'), 1, 'ms')],
  };
}

/** (2) create, start, wait, delete as separate invocations (as a shim does); (5) create's peak RSS. */
export function lifecycleSection(m: Measurer, rts: Runtime[], f: Fixtures, s: Settings): SectionResult {
  const cases: Case<Measurement>[] = rts.map((rt) => ({
    name: rt.name,
    run: () => {
      const id = freshId(SHORT[rt.name]!);
      const pidFile = join(f.work, `${id}.pid`);
      const base = [rt.bin, '--root', rt.root];
      return m.run([
        [...base, 'create', '--bundle', f.specBundle, '--pid-file', pidFile, id],
        [...base, 'start', id],
        [`@wait=${pidFile}`],
        [...base, 'delete', id],
      ]);
    },
  }));
  const measured = interleaved(cases, s.warmup, s.rounds);
  const total = new Map([...measured].map(([k, v]) => [k, v.map((x) => x.totalMs)]));
  const create = new Map([...measured].map(([k, v]) => [`${k} create`, v.map((x) => x.steps[0]!.ms)]));
  const start = new Map([...measured].map(([k, v]) => [`${k} start+wait`, v.map((x) => x.steps[1]!.ms + x.steps[2]!.ms)]));
  const del = new Map([...measured].map(([k, v]) => [`${k} delete`, v.map((x) => x.steps[3]!.ms)]));
  const rss = new Map([...measured].map(([k, v]) => [k, v.map((x) => x.steps[0]!.maxRssKb / 1024)]));
  const rows = [
    ...rowsFor('2 create+start+wait+delete', 'ms', total, 'crun'),
    ...rowsFor('2 (steps)', 'ms', create, 'crun create'),
    ...rowsFor('2 (steps)', 'ms', start, 'crun start+wait'),
    ...rowsFor('2 (steps)', 'ms', del, 'crun delete'),
    ...rowsFor('5 peak RSS of create', 'MiB', rss, 'crun', { 'tscontainer-runtime': 'wait4 ru_maxrss' }),
  ];
  return {
    rows,
    targets: [
      compare('(2) create+start+wait+delete: mean ≤ crun', meanOf(total, 'tscontainer-runtime'), meanOf(total, 'crun'), 1, 'ms'),
      compare('(5) peak RSS of create: mean ≤ crun', meanOf(rss, 'tscontainer-runtime'), meanOf(rss, 'crun'), 1, 'MiB'),
    ],
  };
}

/** Runs `argv` and resolves when it exits 0. */
function spawned(argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: ${code ?? signal}: ${stderr.trim()}`)),
    );
  });
}

/** (3) from this warm Node process: run() against spawning runc run / crun run, sequentially and 4 at a time. */
export async function apiSection(rts: Runtime[], f: Fixtures, s: Settings): Promise<SectionResult> {
  const { run } = await import('../dist/index.js');
  const apiRoot = join(f.work, 'state', 'api');
  type Job = { name: string; once: () => Promise<void> };
  const jobs: Job[] = [
    {
      name: 'run() (typed API)',
      once: async () => {
        const r = await run({ command: ['/bin/true'], rootfs: f.rootfs, stdio: 'ignore', root: apiRoot, name: freshId('api') });
        if (r.exitCode !== 0) throw new Error(`run() of /bin/true exited ${r.exitCode}`);
      },
    },
    ...rts
      .filter((rt) => rt.name !== 'tscontainer-runtime')
      .map((rt) => ({
        name: `child_process: ${rt.name} run`,
        once: () => spawned([rt.bin, '--root', rt.root, 'run', '--bundle', f.apiBundle, freshId(SHORT[rt.name]!)]),
      })),
  ];
  const timed = async (job: Job) => {
    const t0 = process.hrtime.bigint();
    await job.once();
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };

  const sequential = new Map<string, number[]>(jobs.map((j) => [j.name, []]));
  for (let round = 0; round < s.warmup + s.rounds; round++) {
    for (const job of shuffled(jobs)) {
      const ms = await timed(job);
      if (round >= s.warmup) sequential.get(job.name)!.push(ms);
    }
  }

  const latency = new Map<string, number[]>(jobs.map((j) => [`${j.name} ×${s.concurrency}`, []]));
  const throughput = new Map<string, number[]>(jobs.map((j) => [`${j.name} ×${s.concurrency}`, []]));
  for (let round = 0; round < 2; round++) {
    for (const job of shuffled(jobs)) {
      const key = `${job.name} ×${s.concurrency}`;
      let next = 0;
      const t0 = process.hrtime.bigint();
      const worker = async () => {
        while (next < s.concurrentRuns) {
          next += 1;
          latency.get(key)!.push(await timed(job));
        }
      };
      await Promise.all(Array.from({ length: s.concurrency }, worker));
      throughput.get(key)!.push(s.concurrentRuns / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
  }
  const crunName = 'child_process: crun run';
  const runcName = 'child_process: runc run';
  const rows = [
    ...rowsFor('3 sequential latency', 'ms', sequential, crunName),
    ...rowsFor(`3 latency, ${s.concurrentRuns} runs at concurrency ${s.concurrency}`, 'ms', latency, `${crunName} ×${s.concurrency}`),
    ...rowsFor(`3 throughput, ${s.concurrentRuns} runs at concurrency ${s.concurrency} (2 batches)`, 'containers/s', throughput, `${runcName} ×${s.concurrency}`, {
      [`${jobs[0]!.name} ×${s.concurrency}`]: 'ratio to runc',
    }),
  ];
  return {
    rows,
    targets: [
      compare('(3) run() sequential latency: mean ≤ 1.2× crun', meanOf(sequential, jobs[0]!.name), meanOf(sequential, crunName), 1.2, 'ms'),
      compare(
        `(3) run() throughput at concurrency ${s.concurrency}: ≥ 2× runc`,
        meanOf(throughput, `${jobs[0]!.name} ×${s.concurrency}`),
        meanOf(throughput, `${runcName} ×${s.concurrency}`),
        2,
        'containers/s',
        true,
      ),
    ],
  };
}

/**
 * (4) the CLI against `node -e 0`, and the runtime's own `run` of the same config; wall
 * time and, less disturbed by the machine's load, CPU time (user + system, the process
 * tree's).
 */
export function cliSection(m: Measurer, tools: Tools, f: Fixtures, s: Settings): SectionResult {
  // Node as the CLI's first line starts it (without NODE_EXTRA_CA_CERTS), so that the
  // difference is the CLI's own.
  const NODE = 'node -e 0';
  const CLI_RUN = 'tscontainer run --rm -- true';
  const RUNTIME = 'tscontainer-runtime run (same config)';
  // The runtime's own run uses the CLI's state root (the default), so the difference is the CLI's alone.
  const cases: Case<Measurement>[] = [
    { name: NODE, run: () => m.run([[tools.node, '-e', '0']], cliNodeEnvironment()) },
    { name: CLI_RUN, run: () => m.run([[CLI, 'run', '--rm', '--', 'true']]) },
    { name: RUNTIME, run: () => m.run([[tools.runtime, 'run', '--bundle', f.hostBundle, freshId('host')]]) },
    { name: 'tscontainer --version', run: () => m.run([[CLI, '--version']]) },
  ];
  const measured = interleaved(cases, s.warmup, s.rounds);
  const wall = new Map([...measured].map(([k, v]) => [k, v.map((x) => x.totalMs)]));
  const cpu = new Map([...measured].map(([k, v]) => [`${k} (CPU)`, v.map((x) => x.steps[0]!.cpuMs)]));
  const rows = [
    ...rowsFor('4 CLI', 'ms', wall, NODE, { [NODE]: 'ratios to node -e 0' }),
    ...rowsFor('4 CLI, CPU time', 'ms', cpu, `${NODE} (CPU)`),
  ];
  const overhead = (values: Map<string, number[]>, suffix: string) => {
    const node = meanOf(values, NODE + suffix);
    const cli = meanOf(values, CLI_RUN + suffix);
    const runtime = meanOf(values, RUNTIME + suffix);
    const over = cli !== undefined && node !== undefined ? cli - node : undefined;
    return { over, own: over !== undefined && runtime !== undefined ? over - runtime : undefined };
  };
  const w = overhead(wall, '');
  const c = overhead(cpu, ' (CPU)');
  return {
    rows,
    targets: [
      compare('(4) CLI run, wall time over node -e 0 (container included): ≤ 40 ms', w.over, 40, 1, 'ms'),
      compare("(4) CLI run, wall time over node -e 0 and the runtime's own run: ≤ 40 ms", w.own, 40, 1, 'ms'),
      compare('(4) CLI run, CPU time over node -e 0 (container included): ≤ 40 ms', c.over, 40, 1, 'ms'),
    ],
  };
}

/** (6) podman run --rm with each runtime. */
export function podmanSection(m: Measurer, tools: Tools, rts: Runtime[], f: Fixtures, s: Settings): SectionResult {
  const podman = f.podman;
  if (podman === undefined || tools.podman === undefined) return { rows: [], targets: [{ what: '(6) podman', met: false, detail: 'podman not installed' }] };
  const cases: Case<number>[] = rts.map((rt) => ({
    name: `podman --runtime ${rt.name}`,
    run: () =>
      m.run(
        [[tools.podman!, '--runtime', rt.bin, 'run', '--rm', '--network', 'none', '--cgroup-parent', f.cgroupParent, podman.image, 'true']],
        podman.env,
      ).totalMs,
  }));
  const results = interleaved(cases, Math.min(s.warmup, 2), s.podmanRounds);
  return {
    rows: rowsFor('6 podman run --rm --network none IMAGE true', 'ms', results, 'podman --runtime crun'),
    targets: [
      compare('(6) podman with tscontainer-runtime: mean ≤ podman with crun', meanOf(results, 'podman --runtime tscontainer-runtime'), meanOf(results, 'podman --runtime crun'), 1, 'ms'),
    ],
  };
}
