// One harness per test file: a private state root (so files running side by side never see
// each other's containers), a fresh bundle and id per container, and after every test the
// leftover check of leftovers.ts, which fails the test if anything of its containers
// remains and removes it either way.
//
//   const s = suite('lifecycle');
//   test('…', async (t) => {
//     const c = await s.container(t, shell('echo hi'));
//     const r = await c.runtime('run', '--bundle', c.bundle, c.id);
//   });
import test, { type ExecutionContext } from 'ava';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeBundle, type ConfigPatch } from './bundle.js';
import { execute, type Exit } from './exec.js';
import { describeLeftover, findLeftovers, removeLeftovers, removeTree, type Scope } from './leftovers.js';
import type { OciConfig } from './oci-config.js';
import { workRoot } from './paths.js';
import { runtimePath } from './runtime-path.js';

/** One line of the runtime's `--log-format json` log. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warning' | 'error';
  msg: string;
  exitCode?: number | null;
  signal?: string | null;
  oomKilled?: boolean;
  execFailure?: 'not-found' | 'not-executable';
  [field: string]: unknown;
}

/** What `tscontainer-runtime state` prints. */
export interface StateReport {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
}

export interface Container {
  id: string;
  /** The bundle directory, holding config.json. */
  bundle: string;
  /** The config as written to the bundle. */
  config: OciConfig;
  /** A path for `--pid-file`, inside the bundle. */
  pidFile: string;
  /** The runtime's `--log` for this container (JSON lines). */
  logFile: string;
  /** Runs the runtime with this suite's `--root` and this container's JSON log. */
  runtime(...args: string[]): Promise<Exit>;
  /** Like `runtime`, writing `input` to its stdin. */
  runtimeWithInput(input: string, ...args: string[]): Promise<Exit>;
  /** The global flags `runtime` adds, for tests that spawn the runtime themselves. */
  globalFlags: string[];
  /** The entries logged so far. */
  log(): Promise<LogEntry[]>;
  /** The state report, or undefined when the runtime knows no such container. */
  state(): Promise<StateReport | undefined>;
  /** Waits (up to 10 s) until the state reports `status`. */
  waitForStatus(status: StateReport['status']): Promise<StateReport>;
  /** What of this container exists right now (empty once it is fully deleted). */
  leftovers(): string[];
}

export interface ContainerOptions {
  patch?: ConfigPatch;
  /** Use this id instead of a fresh one (for invalid-id tests). */
  id?: string;
}

export interface Suite {
  stateRoot: string;
  container(t: ExecutionContext, patchOrOptions?: ConfigPatch | ContainerOptions): Promise<Container>;
  /** A fresh host directory for the test (mount sources, files), removed after it. */
  hostDir(t: ExecutionContext): Promise<string>;
}

export function suite(name: string): Suite {
  const dir = path.join(workRoot, `${name}-${process.pid}`);
  const stateRoot = path.join(dir, 'state');
  const scratch = path.join(dir, 'scratch');
  let counter = 0;
  const ready = (async () => {
    await mkdir(stateRoot, { recursive: true });
    await mkdir(scratch, { recursive: true });
  })();

  test.after.always('the suite leaves no scratch directory behind', async () => {
    // Every container was checked and cleared by its own test; unmount anything that got
    // past that before removing the tree, and never cross into another filesystem.
    await removeLeftovers(findLeftovers({ mountsUnder: [dir] }));
    await removeTree(dir);
  });

  async function container(
    t: ExecutionContext,
    patchOrOptions: ConfigPatch | ContainerOptions = {},
  ): Promise<Container> {
    await ready;
    const options = typeof patchOrOptions === 'function' ? { patch: patchOrOptions } : patchOrOptions;
    const serial = ++counter;
    const id = options.id ?? `tscontainer-test-${name}-${process.pid}-${serial}`;
    const bundle = path.join(dir, 'bundles', String(serial));
    // Outside the bundle, so a test may break or remove the bundle and still read the log.
    const logFile = path.join(scratch, `${serial}.log`);
    const scope: Scope = { ids: [id], stateRoots: [stateRoot], mountsUnder: [bundle, stateRoot] };
    const globalFlags = ['--root', stateRoot, '--log', logFile, '--log-format', 'json'];

    t.teardown(async () => {
      const found = findLeftovers(scope);
      await execute(runtimePath(), ['--root', stateRoot, 'delete', '--force', id], { scratch }).catch(() => undefined);
      await removeLeftovers(findLeftovers(scope));
      await removeTree(bundle);
      await rm(logFile, { force: true });
      if (found.length > 0) {
        throw new Error(`container ${id} left behind: ${found.map(describeLeftover).join('; ')}`);
      }
    });

    const config = await makeBundle(bundle, options.patch);
    const runtime = (input: string | undefined, args: string[]) =>
      execute(runtimePath(), [...globalFlags, ...args], { scratch, input });
    const state = async () => {
      const r = await runtime(undefined, ['state', id]);
      return r.code === 0 ? (JSON.parse(r.stdout) as StateReport) : undefined;
    };
    return {
      id,
      bundle,
      config,
      pidFile: path.join(bundle, 'container.pid'),
      logFile,
      globalFlags,
      runtime: (...args) => runtime(undefined, args),
      runtimeWithInput: (input, ...args) => runtime(input, args),
      async log() {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        return text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as LogEntry);
      },
      state,
      leftovers: () => findLeftovers(scope).map(describeLeftover),
      async waitForStatus(status) {
        const deadline = Date.now() + 10_000;
        let last = await state();
        while (last?.status !== status && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          last = await state();
        }
        if (last?.status !== status) {
          throw new Error(`container ${id} did not reach ${status}: state is ${JSON.stringify(last)}`);
        }
        return last;
      },
    };
  }

  async function hostDir(t: ExecutionContext): Promise<string> {
    await ready;
    const made = await mkdtemp(path.join(scratch, 'host-'));
    t.teardown(() => removeTree(made));
    return made;
  }

  return { stateRoot, container, hostDir };
}
