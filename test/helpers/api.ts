// The Node API as a program uses it: `run()` and `create()`/`get()` from the package's entry
// (ts/index.ts, which the built dist/index.js is compiled from), with a private state root per
// test file (`root`), a fresh id (`name`) and a private TMPDIR per container.
//
//   const s = apiSuite('api-run');
//   test('…', async (t) => {
//     const c = await s.container(t);
//     const result = await c.run({ command: ['true'], rootfs: fixtureRootfs() });
//   });
import type { ExecutionContext } from 'ava';
import path from 'node:path';
import {
  create,
  get,
  run,
  type Container,
  type ContainerProcess,
  type CreateOptions,
  type RunOptions,
} from '../../ts/index.js';
import { execute } from './exec.js';
import { runtimePath } from './runtime-path.js';
import { userSuite, waitUntil, type Scope, type UserSuite } from './user-suite.js';

export interface ApiContainer {
  /** The id the scope checks: the one `run` passes as `name`, or the one `run()` chose. */
  readonly id: string;
  /**
   * `run(options)` with this suite's `root`, this container's id as `name` (unless
   * `options.name` is given or `generatedId` is set) and `stdio: 'pipe'` unless given.
   */
  run(options: RunOptions, how?: { generatedId?: boolean }): ContainerProcess;
  /** What the container wrote to its stdout and stderr pipes so far. */
  stdout(): string;
  stderr(): string;
  /**
   * `create(options)` with this suite's `root`, this container's id as `name` and this
   * container's TMPDIR (its bundle lands there). The container runs on its own: the test
   * deletes it, or the teardown reports it as left behind.
   */
  create(options: CreateOptions): Promise<Container>;
  /** `get(id)` with this suite's root and this container's TMPDIR (a delete finds its bundle there). */
  get(id?: string): Promise<Container>;
  /** The TMPDIR given to the API for this container. */
  readonly tmpdir: string;
}

export interface ApiSuite extends Omit<UserSuite, 'scope'> {
  container(t: ExecutionContext): Promise<ApiContainer>;
}

/**
 * Calls `make` with TMPDIR set to `tmpdir`: `run()` writes its bundle synchronously, before
 * it returns, so the bundle lands in `tmpdir` and the leftover check sees it. (A bundle
 * written later would land in the worker's own TMPDIR, the suite's scratch directory, which
 * the suite removes at the end.)
 */
function withTmpdir<T>(tmpdir: string, make: () => T): T {
  const saved = process.env['TMPDIR'];
  process.env['TMPDIR'] = tmpdir;
  try {
    return make();
  } finally {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  }
}

function apiContainer(scope: Scope, stateRoot: string): ApiContainer {
  let id = scope.id;
  let stdout = '';
  let stderr = '';
  let started = false;
  return {
    get id() {
      return id;
    },
    stdout: () => stdout,
    stderr: () => stderr,
    tmpdir: scope.tmpdir,
    create(options) {
      return withTmpdir(scope.tmpdir, () => create({ root: stateRoot, name: scope.id, ...options }));
    },
    get(other = id) {
      return withTmpdir(scope.tmpdir, () => get(other, { root: stateRoot }));
    },
    run(options, how = {}) {
      if (started) throw new Error('one run() per container scope');
      started = true;
      const name = how.generatedId === true ? undefined : (options.name ?? scope.id);
      const container = withTmpdir(scope.tmpdir, () =>
        run({ root: stateRoot, stdio: 'pipe', ...options, ...(name === undefined ? {} : { name }) }),
      );
      if (container.id !== scope.id) {
        id = container.id;
        scope.rename(container.id);
      }
      container.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      container.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      let settled = false;
      container.then(
        () => (settled = true),
        () => (settled = true),
      );
      scope.onTeardown(async () => {
        if (settled) return [];
        await execute(runtimePath(), ['--root', stateRoot, 'kill', id, 'KILL'], { scratch: scope.dir });
        if (!(await waitUntil(() => settled))) container.kill('SIGKILL');
        await waitUntil(() => settled);
        return [`run() of container ${id} had not settled`];
      });
      return container;
    },
  };
}

export function apiSuite(name: string): ApiSuite {
  const suite = userSuite(name, (dir) => path.join(dir, 'state'));
  return {
    stateRoot: suite.stateRoot,
    hostDir: suite.hostDir,
    privateRootfs: suite.privateRootfs,
    container: async (t) => apiContainer(await suite.scope(t), suite.stateRoot),
  };
}
