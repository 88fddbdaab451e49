// The typed image API (`import { pull, ... } from 'tscontainer'`, ts/api/images.ts) as root,
// against a local registry: progress and the result of pull, the error classes and their
// codes, load and save through the API, an aborted pull. The runtime-hosted path (users with
// subordinate ids) is checked by the rootless tier (test/rootless/run.sh).
import test from 'ava';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  ImageError,
  ImageInUseError,
  ImageNotKnownError,
  RegistryError,
  TscontainerError,
  diskUsage,
  imageHost,
  images,
  inspectImage,
  loadImage,
  pruneImages,
  pull,
  removeImage,
  saveImage,
  tagImage,
  type ProgressEvent,
} from '../../ts/index.js';
import { createContainerLayers, removeContainerLayers, resolveImageUser } from '../../ts/api/images.js';
import { installed, isRoot, requires } from '../helpers/host.js';
import { scratchDirectories } from '../helpers/scratch.js';
import { pushImage, startFaultyProxy, startRegistry, type Registry } from '../helpers/registry.js';

const imageTest = requires(
  [isRoot, 'the test images are built as root'],
  ...(process.env.CI ? [] : [installed('docker-registry'), installed('skopeo')]),
);

let registry: Registry;
const pushed = new Map<string, string>();
test.before(async () => {
  if (!isRoot) return;
  registry = await startRegistry();
  pushed.set('busybox', (await pushImage(registry, 'busybox')).ref);
  pushed.set('layers', (await pushImage(registry, 'layers')).ref);
});
test.after.always(() => registry?.stop());

/** A new empty directory for one test (a store root, an auth file), removed after it. */
const tempDir = scratchDirectories('api-images');

imageTest('pull reports progress and resolves with the stored image; the store operations answer', async (t) => {
  t.is(imageHost().host, 'addon');
  const storageRoot = tempDir(t);
  const ref = pushed.get('layers')!;
  const events: ProgressEvent[] = [];
  const pulled = await pull(ref, { tlsVerify: false, storageRoot, onProgress: (e) => events.push(e) });
  t.deepEqual(pulled.image.repoTags, [ref]);
  t.is(pulled.reference, ref);
  t.false(pulled.upToDate);
  t.is(new Set(events.map((e) => e.layer)).size, 4);
  t.true(events.filter((e) => e.phase === 'done').length === 4);

  await tagImage(ref, 'localhost/api:v1', { storageRoot });
  t.deepEqual((await images({ storageRoot }))[0]?.repoTags, [ref, 'localhost/api:v1']);
  t.is((await inspectImage('localhost/api:v1', { storageRoot })).Id, pulled.image.id.replace('sha256:', ''));
  t.is((await diskUsage({ storageRoot })).images.total, 1);

  const byId = await removeImage(pulled.image.id, { storageRoot }).catch((e: unknown) => e);
  t.true(byId instanceof ImageInUseError, String(byId));
  t.is((byId as ImageInUseError).code, 'ERR_TSC_IN_USE');
  t.is((byId as ImageInUseError).exitCode, 2);

  const file = path.join(tempDir(t), 'saved.tar');
  await saveImage([ref], file, { storageRoot, format: 'oci-archive' });
  const other = tempDir(t);
  t.deepEqual(await loadImage(file, { storageRoot: other }), [{ id: pulled.image.id, names: [ref] }]);
  t.deepEqual((await images({ storageRoot: other })).map((i) => i.id), [pulled.image.id]);

  t.deepEqual(await removeImage('localhost/api:v1', { storageRoot }), { untagged: ['localhost/api:v1'] });
  t.is((await removeImage(ref, { storageRoot })).deleted, pulled.image.id);
  t.deepEqual((await pruneImages({ all: true, storageRoot: other })).images, [pulled.image.id]);
  t.deepEqual(readdirSync(path.join(storageRoot, 'tmp')), []);
});

imageTest('failures are typed: image not known, registry errors with their codes, bad input, an aborted pull', async (t) => {
  const storageRoot = tempDir(t);
  const unknown = await inspectImage('no-such-image', { storageRoot }).catch((e: unknown) => e);
  t.true(unknown instanceof ImageNotKnownError);
  t.true(unknown instanceof TscontainerError);
  t.is((unknown as ImageNotKnownError).exitCode, 125);
  t.is((unknown as Error).message, 'image no-such-image is not in the store');

  const tag = await pull(`${registry.host}/tests/busybox:no-such-tag`, { tlsVerify: false, storageRoot }).catch((e: unknown) => e);
  t.true(tag instanceof RegistryError, String(tag));
  t.is((tag as RegistryError).code, 'ERR_TSC_MANIFEST_UNKNOWN');

  const down = await startRegistry();
  await down.stop();
  const unreachable = await pull(`${down.host}/tests/busybox`, { tlsVerify: false, storageRoot }).catch((e: unknown) => e);
  t.true(unreachable instanceof RegistryError);
  t.is((unreachable as RegistryError).code, 'ERR_TSC_REGISTRY_UNREACHABLE');

  const bad = await pull('Not A Reference', { storageRoot }).catch((e: unknown) => e);
  t.true(bad instanceof ImageError);
  t.is((bad as ImageError).code, 'ERR_TSC_INVALID_REFERENCE');

  const proxy = await startFaultyProxy(registry, 'slow=100000@GET /v2/.*/blobs/');
  t.teardown(() => proxy.stop());
  const controller = new AbortController();
  const aborted = await pull(`${proxy.host}/tests/busybox`, {
    tlsVerify: false,
    storageRoot,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.phase === 'downloading' && e.done > 0) controller.abort();
    },
  }).catch((e: unknown) => e);
  t.true(aborted instanceof ImageError);
  t.is((aborted as ImageError).code, 'ERR_TSC_CANCELED');
  t.deepEqual(await images({ storageRoot }), []);
  t.deepEqual(readdirSync(path.join(storageRoot, 'tmp')), []);
});

imageTest("a container's layers: made over an image, keeping it, removed", async (t) => {
  const storageRoot = tempDir(t);
  const ref = pushed.get('busybox')!;
  const pulled = await pull(ref, { tlsVerify: false, storageRoot });
  const layers = await createContainerLayers('api-test-c1', ref, { storageRoot });
  t.true(statSync(layers.upper).isDirectory());
  t.is(layers.imageId, pulled.image.id);
  t.deepEqual(layers.config.Cmd, ['sh']);
  t.deepEqual(await resolveImageUser(ref, 'tester', { storageRoot }), { uid: 1000, gid: 1000, additionalGids: [50], home: '/home/tester' });
  const inUse = await removeImage(ref, { storageRoot }).catch((e: unknown) => e);
  t.true(inUse instanceof ImageInUseError);
  await removeContainerLayers('api-test-c1', { storageRoot });
  t.false(existsSync(layers.upper));
  t.is((await removeImage(ref, { storageRoot })).deleted, pulled.image.id);
});
