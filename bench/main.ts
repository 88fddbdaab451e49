/**
 * `npm run bench`: tscontainer side by side with runc and crun, on the same busybox bundle
 * and machine, in one run, interleaved; prints a markdown table and the targets.
 * Not a test: timings depend on the machine's load, so compare only within one run.
 *
 * Settings (environment): BENCH_ROUNDS (default 40), BENCH_WARMUP (5),
 * BENCH_PODMAN_ROUNDS (20, also section 8's rounds), BENCH_CONCURRENT_RUNS (200), BENCH_SECTIONS (e.g. "1,2,4"),
 * and for section 7 (pull) BENCH_PULL_ROUNDS (5), BENCH_PULL_WARMUP (1), BENCH_PULL_IMAGES
 * ("debian,bench"), BENCH_PULL_FS ("scratch": a journaled ext4 the section makes; or "host").
 */
import { enterPrivateMountNamespace, loadAverage, prerequisites } from './env.js';
import { cleanup, prepare } from './fixtures.js';
import { Measurer } from './measure.js';
import { apiSection, cliSection, lifecycleSection, podmanSection, runSection, runtimes, type SectionResult, type Settings } from './sections.js';
import { pullSection, type PullImage, type PullSettings } from './pull.js';
import { runImageSection } from './run-image.js';
import { markdownTable } from './stats.js';

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not ${process.env[name]}`);
  return value;
}

function pullImages(): PullImage[] {
  const images = (process.env.BENCH_PULL_IMAGES ?? 'debian,bench').split(',').map((x) => x.trim());
  for (const i of images) if (i !== 'debian' && i !== 'bench') throw new Error(`BENCH_PULL_IMAGES: unknown image ${i} (debian, bench)`);
  return images as PullImage[];
}

function pullFileSystem(): PullSettings['fileSystem'] {
  const fs = process.env.BENCH_PULL_FS ?? 'scratch';
  if (fs !== 'scratch' && fs !== 'host') throw new Error(`BENCH_PULL_FS: ${fs} is neither scratch nor host`);
  return fs;
}

async function main(): Promise<number> {
  const only = process.env.BENCH_SECTIONS?.split(',').map((x) => x.trim());
  const wanted = (n: string) => only === undefined || only.includes(n);
  // Sections 1-6 run containers (the runtime, the built API and CLI, a rootfs); 7 pulls
  // images; 8 runs an image's containers (the built CLI, its own store and registry).
  const containers = ['1', '2', '3', '4', '5', '6'].some(wanted);
  const { tools, missing, absent } = prerequisites(containers);
  if (tools === undefined) {
    process.stderr.write(`bench: cannot run; missing:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
    return 1;
  }
  const status = enterPrivateMountNamespace();
  if (status !== undefined) return status;
  for (const a of absent) process.stderr.write(`bench: note: ${a}\n`);

  const settings: Settings = {
    warmup: setting('BENCH_WARMUP', 5),
    rounds: setting('BENCH_ROUNDS', 40),
    podmanRounds: setting('BENCH_PODMAN_ROUNDS', 20),
    concurrentRuns: setting('BENCH_CONCURRENT_RUNS', 200),
    concurrency: 4,
  };
  const pull: PullSettings = {
    rounds: setting('BENCH_PULL_ROUNDS', 5),
    warmup: setting('BENCH_PULL_WARMUP', 1),
    images: pullImages(),
    fileSystem: pullFileSystem(),
  };

  const loadBefore = loadAverage();
  const started = Date.now();
  const fixtures = containers ? await prepare(tools) : undefined;
  const results: SectionResult[] = [];
  try {
    const m = new Measurer(tools.helper);
    const step = (n: string, what: string) => process.stderr.write(`bench: ${n}. ${what}\n`);
    if (fixtures !== undefined) {
      const rts = runtimes(tools, fixtures);
      if (wanted('1')) (step('1', 'run /bin/true'), results.push(runSection(m, rts, fixtures, settings)));
      if (wanted('2') || wanted('5')) (step('2', 'create, start, wait, delete'), results.push(lifecycleSection(m, rts, fixtures, settings)));
      if (wanted('3')) (step('3', 'run() from a warm Node process'), results.push(await apiSection(rts, fixtures, settings)));
      if (wanted('4')) (step('4', 'the CLI'), results.push(cliSection(m, tools, fixtures, settings)));
      if (wanted('6')) (step('6', 'podman'), results.push(podmanSection(m, tools, rts, fixtures, settings)));
    }
    if (wanted('7')) (step('7', 'pull from a local registry'), results.push(await pullSection(m, pull)));
    if (wanted('8')) (step('8', 'run an image that is stored'), results.push(await runImageSection(m, settings)));
  } finally {
    if (fixtures !== undefined) cleanup(tools, fixtures);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const lines = [
    `## tscontainer benchmark`,
    '',
    `${new Date().toISOString()}, ${seconds} s; load average ${loadBefore} before, ${loadAverage()} after; ` +
      `${settings.rounds} rounds after ${settings.warmup} warm-up rounds (podman: ${settings.podmanRounds}; pull: ${pull.rounds} after ${pull.warmup}), cases interleaved in a random order each round; ` +
      'every runtime in one private mount namespace without /sys/fs/cgroup/unified (crun 1.8 refuses the hybrid layout).',
    '',
    markdownTable(results.flatMap((r) => r.rows)),
    '',
    '### Targets',
    '',
    ...results.flatMap((r) => r.targets).map((t) => `- ${t.met ? 'met' : '**missed**'}: ${t.what}: ${t.detail}`),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return 0;
}

process.exitCode = await main();
