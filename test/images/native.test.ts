// The addon's image bindings (crates/node/src/images.rs) against real registries on
// 127.0.0.1 (test/helpers/registry.ts): pull with progress and cancellation, the store's
// operations, login/logout on the TLS + htpasswd registry, the typed error codes, and the
// runtime's `storage` subcommand answering with the same JSON. Every store is a scratch
// directory of this file, removed after each test.
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import type * as Addon from '../../native/index.cjs';
import { installed, isRoot, requires } from '../helpers/host.js';
import { imageConfig } from '../helpers/images.js';
import { pushImage, startFaultyProxy, startRegistry, type Registry } from '../helpers/registry.js';
import { repoRoot } from '../helpers/paths.js';
import { scratchDirectories } from '../helpers/scratch.js';
import { runtimePath } from '../helpers/runtime-path.js';

const native = createRequire(import.meta.url)(path.join(repoRoot, 'native', 'index.cjs')) as typeof Addon;
const run = promisify(execFile);

// The test images are built as root; under CI a missing tool fails instead of skipping.
const imageTest = requires(
  [isRoot, 'the test images are built as root'],
  ...(process.env.CI ? [] : [installed('docker-registry'), installed('skopeo'), installed('htpasswd')]),
);

let plain: Registry;
let secure: Registry;
const pushed = new Map<string, { ref: string; digest: string }>();

test.before(async () => {
  if (!isRoot) return;
  plain = await startRegistry();
  secure = await startRegistry({ tls: true, auth: true });
  for (const image of ['busybox', 'layers', 'multiarch'] as const) pushed.set(image, await pushImage(plain, image));
  pushed.set('configured', await pushImage(secure, 'busybox:configured'));
});
test.after.always(async () => {
  await plain?.stop();
  await secure?.stop();
});

/** A new empty directory for one test (a store root, an auth file), removed after it. */
const tempDir = scratchDirectories('native-images');

/** Each layer's phases in order (repeats folded), and its byte counts. */
function byLayer(events: Addon.ProgressEvent[]): Map<string, { phases: string[]; done: number[]; total: number }> {
  const layers = new Map<string, { phases: string[]; done: number[]; total: number }>();
  for (const e of events) {
    const l = layers.get(e.layer) ?? { phases: [], done: [], total: e.total };
    if (l.phases.at(-1) !== e.phase) l.phases.push(e.phase);
    l.done.push(e.done);
    layers.set(e.layer, l);
  }
  return layers;
}

/** What a store holds: image records, unpacked layers, temporaries. */
function storeContents(root: string): { images: number; layers: string[]; tmp: string[] } {
  const images = existsSync(path.join(root, 'images.json'))
    ? (JSON.parse(readFileSync(path.join(root, 'images.json'), 'utf8')) as { images: unknown[] }).images.length
    : 0;
  const list = (d: string) => (existsSync(path.join(root, d)) ? readdirSync(path.join(root, d)) : []);
  return { images, layers: list('layers'), tmp: list('tmp') };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    const error = e as Error & { code: string };
    return { code: error.code, message: error.message };
  }
  throw new Error('the promise resolved');
}

imageTest('pull reports each layer waiting, downloading, extracting, done, every event before it settles', async (t) => {
  const root = tempDir(t);
  const { ref, digest } = pushed.get('layers')!;
  const events: Addon.ProgressEvent[] = [];
  const onProgress = (e: Addon.ProgressEvent) => {
    // A main thread busy at the first event: the rest of them queue up while the pull
    // finishes, beside its settlement.
    if (events.push(e) === 1) {
      const until = Date.now() + 500;
      while (Date.now() < until);
    }
  };
  const pulled = await native.pull(ref, { tlsVerify: false, storageRoot: root, onProgress });
  const seenAtSettlement = events.length;
  await new Promise((r) => setTimeout(r, 200));
  t.is(events.length, seenAtSettlement, 'progress events arrived after the promise settled');

  t.deepEqual(pulled.image.repoTags, [ref]);
  t.is(pulled.digest, digest);
  t.deepEqual(pulled.image.repoDigests, [`${ref.replace(/:latest$/, '')}@${digest}`]);
  t.false(pulled.upToDate);
  t.is(pulled.image.platform.split('/')[0], 'linux');
  t.deepEqual([...new Set(events.map((e) => e.image))], [ref], 'every event names the reference pulled from');
  const layers = byLayer(events);
  t.is(layers.size, 4, 'four layers');
  for (const [layer, l] of layers) {
    t.deepEqual(l.phases, ['waiting', 'downloading', 'extracting', 'done'], layer);
    t.true(l.done.every((d, i) => i === 0 || d >= l.done[i - 1]!), `${layer}: bytes went back: ${l.done}`);
    t.is(l.done.at(-1), l.total, `${layer}: the last event has every byte`);
  }
  // Root unpacks with the owners the image names: data/owned is 1000:50 in layer 2.
  const inspect = await native.inspectImage(ref, { storageRoot: root });
  const data = inspect.GraphDriver.Data;
  const dirs = [data.UpperDir!, ...(data.LowerDir ?? '').split(':')];
  const owned = dirs.map((d) => path.join(d, 'data', 'owned')).find((f) => existsSync(f));
  t.truthy(owned, 'no layer has data/owned');
  const st = statSync(owned!);
  t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 50, 0o640]);

  const again: Addon.ProgressEvent[] = [];
  const second = await native.pull(ref, { tlsVerify: false, storageRoot: root, onProgress: (e) => again.push(e) });
  t.true(second.upToDate);
  t.deepEqual(second.image, pulled.image);
  for (const [layer, l] of byLayer(again)) t.deepEqual(l.phases, ['waiting', 'already-exists'], layer);
});

imageTest('images, inspect in podman shape, tag, rmi, prune, df and a container layer', async (t) => {
  const root = tempDir(t);
  const auth = path.join(tempDir(t), 'auth.json');
  writeFileSync(auth, readFileSync(secure.authFile));
  const { ref, digest } = pushed.get('configured')!;
  const pulled = await native.pull(ref, { certDir: secure.certDir!, authFile: auth, storageRoot: root });
  const expected = imageConfig('busybox-configured');

  const inspect = await native.inspectImage(ref, { storageRoot: root });
  t.is(`sha256:${inspect.Id}`, pulled.image.id);
  t.is(inspect.Digest, digest);
  t.deepEqual(inspect.RepoTags, [ref]);
  t.is(inspect.Created, expected.created);
  t.is(inspect.Os, 'linux');
  t.is(inspect.Architecture, expected.architecture);
  t.is(inspect.User, 'tester');
  t.is(inspect.Config.User, expected.config.User);
  t.is(inspect.Config.WorkingDir, expected.config.WorkingDir);
  t.deepEqual(inspect.Config.Env, expected.config.Env);
  t.deepEqual(inspect.Config.Entrypoint, expected.config.Entrypoint);
  t.deepEqual(inspect.Config.Cmd, expected.config.Cmd);
  t.deepEqual(Object.keys(inspect.Config.ExposedPorts ?? {}).sort(), Object.keys(expected.config.ExposedPorts ?? {}).sort());
  t.deepEqual(inspect.Config.Labels, expected.config.Labels);
  t.is(inspect.Config.StopSignal, 'SIGUSR1');
  t.is(inspect.RootFS.Type, 'layers');
  t.is(inspect.RootFS.Layers.length, 1);
  t.is(inspect.Size, pulled.image.size);
  t.is(inspect.ManifestType, 'application/vnd.oci.image.manifest.v1+json');
  // By id and by id prefix, as docker takes them.
  t.is((await native.inspectImage(inspect.Id.slice(0, 12), { storageRoot: root })).Id, inspect.Id);

  await native.tagImage(ref, 'localhost/mine:v1', { storageRoot: root });
  let listed = await native.images({ storageRoot: root });
  t.is(listed.length, 1);
  t.deepEqual(listed[0]?.repoTags, [ref, 'localhost/mine:v1']);
  t.is((await rejection(native.removeImage(pulled.image.id, { storageRoot: root }))).code, 'in-use');

  const user = await native.resolveImageUser(ref, null, { storageRoot: root });
  t.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [50], home: '/home/tester' });
  t.is((await rejection(native.resolveImageUser(ref, 'nobody-here', { storageRoot: root }))).code, 'invalid-option');

  const layers = await native.createContainerLayers('native-test-c1', ref, { storageRoot: root });
  t.true(statSync(layers.upper).isDirectory() && statSync(layers.work).isDirectory());
  t.is(layers.lowerdirs.length, 1);
  t.is(layers.imageId, pulled.image.id);
  t.deepEqual(layers.config.Cmd, expected.config.Cmd);
  writeFileSync(path.join(layers.upper, 'written'), Buffer.alloc(20_000));
  const df = await native.diskUsage({ storageRoot: root });
  t.deepEqual([df.images.total, df.images.active, df.containers.total, df.layers.total], [1, 1, 1, 1]);
  t.true(df.containerSizes[0]!.size >= 20_000);
  t.true(df.blobs.size > 0 && df.blobs.reclaimable === 0);
  t.is((await native.images({ storageRoot: root }))[0]?.containers, 1);
  t.deepEqual((await native.pruneImages({ all: true, storageRoot: root })).images, [], 'a container keeps its image');
  // One of several names goes; the last one cannot while a container uses the image.
  t.deepEqual(await native.removeImage('localhost/mine:v1', { storageRoot: root }), { untagged: ['localhost/mine:v1'] });
  const inUse = await rejection(native.removeImage(ref, { storageRoot: root }));
  t.deepEqual(inUse, { code: 'in-use', message: `image ${ref} is used by container native-test-c1` });
  await native.removeContainerLayers('native-test-c1', { storageRoot: root });
  t.false(existsSync(layers.upper));
  t.is((await rejection(native.removeContainerLayers('native-test-c1', { storageRoot: root }))).code, 'container-not-known');

  listed = await native.images({ storageRoot: root });
  t.deepEqual(listed[0]?.repoTags, [ref]);
  const removed = await native.removeImage(ref, { storageRoot: root });
  t.deepEqual(removed, { untagged: [ref], deleted: pulled.image.id });
  t.deepEqual(await native.images({ storageRoot: root }), []);
  t.deepEqual(storeContents(root), { images: 0, layers: [], tmp: [] });
  const pruned = await native.pruneImages({ all: true, storageRoot: root });
  t.deepEqual(pruned.images, []);
});

imageTest('login and logout against the TLS registry with htpasswd', async (t) => {
  const root = tempDir(t);
  const auth = path.join(tempDir(t), 'auth.json');
  const { ref } = pushed.get('configured')!;
  const access = { certDir: secure.certDir!, authFile: auth };

  t.is((await rejection(native.pull(ref, { ...access, storageRoot: root }))).code, 'unauthorized');
  const bad = await rejection(native.login(secure.host, { ...access, username: secure.username!, password: 'wrong' }));
  t.is(bad.code, 'unauthorized');
  t.regex(bad.message, new RegExp(`registry ${secure.host.replace(/\./g, '\\.')} refused the credentials`));
  t.false(existsSync(auth), 'refused credentials were recorded');
  const untrusted = await rejection(native.login(secure.host, { authFile: auth, username: secure.username!, password: secure.password! }));
  t.is(untrusted.code, 'tls', untrusted.message);

  await native.login(secure.host, { ...access, username: secure.username!, password: secure.password! });
  const recorded = JSON.parse(readFileSync(auth, 'utf8')) as { auths: Record<string, { auth: string }> };
  t.is(Buffer.from(recorded.auths[secure.host]!.auth, 'base64').toString(), `${secure.username}:${secure.password}`);
  t.is(statSync(auth).mode & 0o777, 0o600);
  const pulled = await native.pull(ref, { ...access, storageRoot: root });
  t.deepEqual(pulled.image.repoTags, [ref]);

  await native.logout(secure.host, { authFile: auth });
  t.deepEqual((JSON.parse(readFileSync(auth, 'utf8')) as { auths: object }).auths, {});
  t.is((await rejection(native.logout(secure.host, { authFile: auth }))).code, 'not-logged-in');
});

imageTest('typed errors: an unknown image, a registry that is down, an unknown tag, a corrupt blob', async (t) => {
  const root = tempDir(t);
  const unknown = await rejection(native.inspectImage('no-such-image', { storageRoot: root }));
  t.deepEqual(unknown, { code: 'image-not-known', message: 'image no-such-image is not in the store' });
  t.is((await rejection(native.removeImage('no-such-image', { storageRoot: root }))).code, 'image-not-known');
  t.is((await rejection(native.pull('Not A Reference', { storageRoot: root }))).code, 'invalid-reference');
  t.is((await rejection(native.pull(pushed.get('busybox')!.ref, { storageRoot: root, platform: 'linux' }))).code, 'invalid-platform');

  // A port nothing listens on: a registry that was stopped.
  const down = await startRegistry();
  await down.stop();
  const unreachable = await rejection(native.pull(`${down.host}/tests/busybox`, { tlsVerify: false, storageRoot: root }));
  t.is(unreachable.code, 'registry-unreachable');
  t.regex(unreachable.message, /^cannot reach registry 127\.0\.0\.1:\d+: .*[Cc]onnection refused/);

  const tag = await rejection(native.pull(`${plain.host}/tests/busybox:no-such-tag`, { tlsVerify: false, storageRoot: root }));
  t.is(tag.code, 'manifest-unknown');

  const proxy = await startFaultyProxy(plain, 'corrupt@GET /v2/.*/blobs/');
  t.teardown(() => proxy.stop());
  const corrupt = await rejection(native.pull(`${proxy.host}/tests/busybox:latest`, { tlsVerify: false, storageRoot: root }));
  t.is(corrupt.code, 'digest-mismatch', corrupt.message);
  t.regex(corrupt.message, /sha256:[0-9a-f]{64}/);
  t.deepEqual(storeContents(root), { images: 0, layers: [], tmp: [] });
});

imageTest('aborting the signal stops a pull and keeps nothing of it', async (t) => {
  const root = tempDir(t);
  const proxy = await startFaultyProxy(plain, 'slow=100000@GET /v2/.*/blobs/');
  t.teardown(() => proxy.stop());
  const ref = `${proxy.host}/tests/busybox:latest`;

  const controller = new AbortController();
  let fired = 0;
  controller.signal.addEventListener('abort', () => fired++);
  const events: Addon.ProgressEvent[] = [];
  const pulling = native.pull(ref, {
    tlsVerify: false,
    storageRoot: root,
    signal: controller.signal,
    onProgress: (e) => {
      events.push(e);
      if (e.phase === 'downloading' && e.done > 0) controller.abort();
    },
  });
  const canceled = await rejection(pulling);
  t.deepEqual(canceled, { code: 'canceled', message: 'the pull was canceled' });
  t.is(fired, 1, "the signal's own listener still ran");
  t.false(events.some((e) => e.phase === 'done'), 'a layer finished');
  t.deepEqual(storeContents(root), { images: 0, layers: [], tmp: [] });
  t.deepEqual(await native.images({ storageRoot: root }), []);

  // Already aborted: nothing is fetched.
  const before = proxy.requests().length;
  const aborted = AbortSignal.abort();
  t.is((await rejection(native.pull(ref, { tlsVerify: false, storageRoot: root, signal: aborted }))).code, 'canceled');
  t.false(proxy.requests().slice(before).some((r) => r.includes('/blobs/')), proxy.requests().slice(before).join('\n'));
});

imageTest('a platform is chosen from a multi-platform image', async (t) => {
  const root = tempDir(t);
  const { ref, digest } = pushed.get('multiarch')!;
  const arm = await native.pull(ref, { tlsVerify: false, storageRoot: root, platform: 'linux/arm64' });
  t.is(arm.image.platform, 'linux/arm64/v8');
  t.is(arm.digest, digest, 'the digest of the index, as docker prints it');
  t.not(arm.image.digest, digest, "the image's own manifest is the platform's");
  const wanted = await rejection(native.pull(ref, { tlsVerify: false, storageRoot: root, platform: 'linux/s390x' }));
  t.is(wanted.code, 'no-matching-platform');
  t.regex(wanted.message, /has no image for linux\/s390x \(it has linux\/amd64, linux\/arm64\/v8\)/);
});

imageTest('imageHost: root is hosted by the addon, with the owners the layers name', (t) => {
  t.deepEqual(native.imageHost(), {
    host: 'addon',
    ownership: 'as-in-tar',
    reason: 'root unpacks images with the owners their layers name',
  });
  const old = process.env.TSCONTAINER_STORAGE;
  process.env.TSCONTAINER_STORAGE = '/srv/tsc-images';
  try {
    t.is(native.defaultStorageRoot(), '/srv/tsc-images');
  } finally {
    if (old === undefined) delete process.env.TSCONTAINER_STORAGE;
    else process.env.TSCONTAINER_STORAGE = old;
  }
});

/** `tscontainer-runtime storage ...`: its JSON lines and exit status. */
async function runtimeStorage(...args: string[]): Promise<{ lines: Record<string, unknown>[]; code: number | null }> {
  const child = spawn(runtimePath(), ['storage', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), code };
}

imageTest('the runtime host answers with the addon values: progress, result and errors', async (t) => {
  const viaAddon = tempDir(t);
  const viaRuntime = tempDir(t);
  const { ref } = pushed.get('layers')!;
  const events: Addon.ProgressEvent[] = [];
  const fromAddon = await native.pull(ref, { tlsVerify: false, storageRoot: viaAddon, onProgress: (e) => events.push(e) });
  const { lines, code } = await runtimeStorage('--storage-root', viaRuntime, 'pull', '--tls-verify=false', ref);
  t.is(code, 0);
  const progress = lines.slice(0, -1).map((l) => l.progress as Addon.ProgressEvent);
  t.true(progress.every((p) => p !== undefined), 'every line but the last is progress');
  t.deepEqual(byLayer(progress).size, byLayer(events).size);
  for (const [layer, l] of byLayer(progress)) t.deepEqual(l.phases, byLayer(events).get(layer)!.phases);
  t.deepEqual(Object.keys(progress[0]!).sort(), Object.keys(events[0]!).sort());
  const result = lines.at(-1)!.result as Addon.PulledImage;
  // Deep-equal but for when each was stored.
  t.deepEqual({ ...result, image: { ...result.image, stored: '' } }, { ...fromAddon, image: { ...fromAddon.image, stored: '' } });
  t.deepEqual(await native.images({ storageRoot: viaRuntime }), [result.image]);

  const gone = await runtimeStorage('--storage-root', viaRuntime, 'remove-image', 'no-such-image');
  t.is(gone.code, 1);
  t.deepEqual(gone.lines, [{ error: await rejection(native.removeImage('no-such-image', { storageRoot: viaAddon })) }]);

  const removed = await runtimeStorage('--storage-root', viaRuntime, 'remove-image', ref);
  t.deepEqual(removed.lines, [{ result: await native.removeImage(ref, { storageRoot: viaAddon }) }]);
  const pruned = await runtimeStorage('--storage-root', viaRuntime, 'prune', '--all');
  t.deepEqual(pruned.lines, [{ result: await native.pruneImages({ all: true, storageRoot: viaAddon }) }]);
  t.deepEqual(storeContents(viaRuntime), { images: 0, layers: [], tmp: [] });

  await native.pull(ref, { tlsVerify: false, storageRoot: viaRuntime });
  await native.createContainerLayers('native-test-rt', ref, { storageRoot: viaRuntime });
  const container = await runtimeStorage('--storage-root', viaRuntime, 'remove-container', 'native-test-rt');
  t.deepEqual(container, { lines: [{ result: null }], code: 0 });
  t.deepEqual(readdirSync(path.join(viaRuntime, 'containers')), []);
  const { stdout } = await run(runtimePath(), ['--help']);
  t.notRegex(stdout, /storage/, 'the subcommand is hidden');
});

imageTest('SIGTERM cancels the runtime host pull: no image, no layer, only what the next open removes', async (t) => {
  const root = tempDir(t);
  const proxy = await startFaultyProxy(plain, 'slow=100000@GET /v2/.*/blobs/');
  t.teardown(() => proxy.stop());
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const child = spawn(runtimePath(), ['storage', '--storage-root', root, 'pull', '--tls-verify=false', `${proxy.host}/tests/busybox`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const downloading = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"phase":"downloading","done":[1-9]/.test(out)) resolve();
      }),
    );
    const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    await downloading;
    child.kill(signal);
    const [code, killedBy] = await closed;
    if (signal === 'SIGTERM') {
      t.is(code, 128 + 15);
      t.deepEqual(JSON.parse(out.trim().split('\n').at(-1)!), { error: { code: 'canceled', message: 'the pull was canceled' } });
      t.deepEqual(storeContents(root), { images: 0, layers: [], tmp: [] });
    } else {
      t.is(killedBy, 'SIGKILL');
      const left = storeContents(root);
      t.deepEqual([left.images, left.layers], [0, []], 'a killed pull left an image or a layer');
    }
  }
  // The next open removes the killed pull's temporaries; a pull then completes.
  t.deepEqual(await native.images({ storageRoot: root }), []);
  t.deepEqual(storeContents(root).tmp, []);
  const { lines, code } = await runtimeStorage('--storage-root', root, 'pull', '--tls-verify=false', pushed.get('busybox')!.ref);
  t.is(code, 0, JSON.stringify(lines.at(-1)));
});
