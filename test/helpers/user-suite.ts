// What the CLI and API harnesses (cli.ts, api.ts) share: one scratch directory per test file
// under test/.work, and one "scope" per container a test runs. A scope has a fresh id, a
// private TMPDIR (the TS front end writes its bundle `tscontainer-*` there) and a directory
// for the test's own files. After the test, failures included, its teardown stops whatever
// of the container is still running, fails the test if any process, mount, cgroup
// directory, state entry or temporary file of it remains (leftovers.ts), and removes it
// either way.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { execute } from './exec.js';
import { describeLeftover, findLeftovers, removeLeftovers, removeTree, ROOT_DATA_DIR, TEST_ID_PREFIX } from './leftovers.js';
import { workRoot } from './paths.js';
import { fixtureRootfs } from './rootfs.js';
import { runtimePath } from './runtime-path.js';

export interface Scope {
  /** The container id (`tscontainer-test-<suite>-<pid>-<n>`, unless renamed). */
  readonly id: string;
  /** Checks `id` instead: the container got an id the front end chose. */
  rename(id: string): void;
  /** A directory for this container's files: output files, the TMPDIR below. */
  dir: string;
  /** The TMPDIR handed to the front end; it must be empty again after the container. */
  tmpdir: string;
  /** Runs before the leftover check, to end what the test left running (a spawned CLI, an
   * unsettled `run()`); it returns what it had to stop, which counts as left behind. */
  onTeardown(stop: () => Promise<string[]>): void;
}

export interface UserSuite {
  /** The state root the containers are kept in. */
  stateRoot: string;
  /** A container scope with a fresh id. */
  scope(t: ExecutionContext): Promise<Scope>;
  /** A fresh host directory for the test (mount sources, files), removed after it. */
  hostDir(t: ExecutionContext): Promise<string>;
  /** A writable copy of the fixture rootfs, private to the test. */
  privateRootfs(t: ExecutionContext): Promise<string>;
}

/**
 * `stateRoot` is where the front end keeps state: the CLI has no `--root`, so its tests use
 * the default root with ids of their own; API tests pass a private `root`.
 */
export function userSuite(name: string, stateRoot: (dir: string) => string): UserSuite {
  const dir = path.join(workRoot, `${name}-${process.pid}`);
  const root = stateRoot(dir);
  let counter = 0;
  const ready = mkdir(dir, { recursive: true });

  test.after.always('the suite leaves no scratch directory behind', async () => {
    await removeLeftovers(findLeftovers({ mountsUnder: [dir] }));
    await removeTree(dir);
  });

  async function scope(t: ExecutionContext): Promise<Scope> {
    await ready;
    const serial = ++counter;
    let id = `${TEST_ID_PREFIX}${name}-${process.pid}-${serial}`;
    const scopeDir = path.join(dir, `c${serial}`);
    const tmpdir = path.join(scopeDir, 'tmp');
    await mkdir(tmpdir, { recursive: true });
    const stops: (() => Promise<string[]>)[] = [];
    t.teardown(async () => {
      const scope = {
        ids: [id],
        stateRoots: [root],
        dataRoots: [ROOT_DATA_DIR],
        mountsUnder: [scopeDir, path.join(root, id)],
        emptyDirs: [tmpdir],
      };
      const stopped = (await Promise.all(stops.map((stop) => stop()))).flat();
      const found = [...stopped, ...findLeftovers(scope).map(describeLeftover)];
      await execute(runtimePath(), ['--root', root, 'delete', '--force', id], { scratch: scopeDir }).catch(
        () => undefined,
      );
      await removeLeftovers(findLeftovers(scope));
      await removeTree(scopeDir);
      if (found.length > 0) throw new Error(`container ${id} left behind: ${found.join('; ')}`);
    });

    return {
      get id() {
        return id;
      },
      rename(newId) {
        id = newId;
      },
      dir: scopeDir,
      tmpdir,
      onTeardown: (stop) => stops.push(stop),
    };
  }

  async function hostDir(t: ExecutionContext): Promise<string> {
    await ready;
    const made = await mkdtemp(path.join(dir, 'host-'));
    t.teardown(() => removeTree(made));
    return made;
  }

  async function privateRootfs(t: ExecutionContext): Promise<string> {
    const rootfs = path.join(await hostDir(t), 'rootfs');
    await promisify(execFile)('cp', ['-a', fixtureRootfs(), rootfs]);
    return rootfs;
  }

  return { stateRoot: root, scope, hostDir, privateRootfs };
}

/** Waits until `ready()` holds or `ms` pass; true when it held. */
export async function waitUntil(ready: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
