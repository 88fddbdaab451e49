/**
 * (8) starting a container of an image that is already stored: `tscontainer run --rm IMAGE
 * true` beside `podman run --rm IMAGE true` (overlay driver, runc, no network) and beside
 * `tscontainer run --rm --rootfs DIR true` over a plain copy of the same tree, interleaved.
 * The image is the test busybox (test/images), pushed to a local registry and pulled by each
 * tool into a store of its own before timing. Goals (issue 13): ≤ 0.5× podman, ≤ 1.5× the
 * plain directory. What podman leaves running after it returns is waited for before the next
 * case, untimed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { privatePodman, pushImage, startRegistry, type PrivatePodman, type Registry } from '../test/helpers/registry.js';
import { CLI, which } from './env.js';
import { interleaved, type Case, type Measurer } from './measure.js';
import { isolateHostPaths, run, unmountUnder } from './pull.js';
import { compare, meanOf, rowsFor, type SectionResult, type Settings } from './sections.js';

/**
 * Waits (untimed) until no process names `dir` any more: podman's conmon and the `podman
 * container cleanup` it starts go on after `podman run` has returned, and would otherwise take
 * the CPU from whichever case runs next (on two cores, 10-20 ms of the next run).
 */
const pause = new Int32Array(new SharedArrayBuffer(4));

function waitUntilQuiet(dir: string): void {
  for (let i = 0; i < 500; i++) {
    if (spawnSync('pgrep', ['-f', dir], { stdio: 'ignore' }).status !== 0) return;
    Atomics.wait(pause, 0, 0, 10);
  }
  throw new Error(`processes of ${dir} still run 5 s after podman run returned`);
}

const IMAGE = 'tscontainer run --rm IMAGE true';
const PODMAN = 'podman run --rm IMAGE true';
const ROOTFS = 'tscontainer run --rm --rootfs DIR true';

export async function runImageSection(m: Measurer, s: Settings): Promise<SectionResult> {
  for (const tool of ['docker-registry', 'skopeo', 'podman', 'runc']) {
    if (which(tool) === undefined) return { rows: [], targets: [{ what: '(8) run an image', met: false, detail: `${tool} is not installed` }] };
  }
  // Short: podman refuses a run root path over 50 characters.
  const dir = mkdtempSync('/tmp/tsrunimg.');
  const restore = isolateHostPaths(dir);
  let registry: Registry | undefined;
  let podman: PrivatePodman | undefined;
  try {
    registry = await startRegistry();
    const { ref } = await pushImage(registry, 'busybox');
    const cli = [CLI];
    const env = { ...process.env, TSCONTAINER_STORAGE: join(dir, 'store') };
    run([...cli, 'pull', '-q', '--tls-verify=false', ref], env);
    podman = await privatePodman('overlay');
    run([podman.podman, 'pull', '-q', '--tls-verify=false', ref]);
    // The same tree as a plain directory: a copy of the image's one unpacked layer.
    const layers = join(dir, 'store', 'layers');
    const [layer] = readdirSync(layers);
    if (layer === undefined) throw new Error(`no layer under ${layers} after the pull`);
    cpSync(join(layers, layer, 'diff'), join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });

    const p = podman.podman;
    const cases: Case<number>[] = [
      { name: IMAGE, run: () => m.run([[...cli, 'run', '--rm', ref, 'true']], env).totalMs },
      {
        name: PODMAN,
        run: () => {
          const ms = m.run([[p, 'run', '--rm', '--network', 'none', '--runtime', 'runc', ref, 'true']]).totalMs;
          waitUntilQuiet(podman!.dir);
          return ms;
        },
      },
      { name: ROOTFS, run: () => m.run([[...cli, 'run', '--rm', '--rootfs', join(dir, 'rootfs'), 'true']], env).totalMs },
    ];
    const results = interleaved(cases, Math.min(s.warmup, 3), s.podmanRounds);
    const image = meanOf(results, IMAGE);
    return {
      rows: rowsFor('8 run --rm IMAGE true (image stored)', 'ms', results, PODMAN),
      targets: [
        compare(`(8) ${IMAGE}: mean ≤ 0.5× ${PODMAN}`, image, meanOf(results, PODMAN), 0.5, 'ms'),
        compare(`(8) ${IMAGE}: mean ≤ 1.5× ${ROOTFS}`, image, meanOf(results, ROOTFS), 1.5, 'ms'),
      ],
    };
  } finally {
    if (podman !== undefined) {
      unmountUnder(podman.dir);
      await podman.remove();
    }
    await registry?.stop();
    restore();
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
