// oci-layout.mjs — writes images into an OCI image layout directory, byte for byte as the
// recipes say: no tool's idea of a creation time, a history or a compression level gets in,
// so a recipe that did not change builds the same digests again.
//
//   node oci-layout.mjs image LAYOUT --tag TAG --config CONFIG.json [--platform OS/ARCH[/VARIANT]]
//       [--layer TAR[:gzip|zstd|none]]... [--annotation KEY=VALUE]...
//     Adds one image: each layer tar is compressed as named (gzip by default) into a blob;
//     CONFIG.json (an image config without `rootfs`) gets `rootfs.diff_ids` from the tars, the
//     platform (default: the config's own os and architecture) and, unless it has one, a
//     history entry per layer; the manifest is tagged TAG in index.json
//     (org.opencontainers.image.ref.name), its descriptor carrying the platform. Prints the
//     manifest's digest.
//   node oci-layout.mjs index LAYOUT --tag TAG --from TAG...
//     Adds an image index of the manifests already tagged with each --from TAG, each with its
//     platform, tagged TAG. Prints the index's digest.
//
// LAYOUT is created when missing. A blob already present is not written again, so images
// that share a layer share its blob. Runs with plain Node (no tsx): shell recipes call it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';

const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
};
const REF_NAME = 'org.opencontainers.image.ref.name';

function fail(message) {
  process.stderr.write(`oci-layout: ${message}\n`);
  process.exit(2);
}

function init(layout) {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const marker = join(layout, 'oci-layout');
  if (!existsSync(marker)) writeFileSync(marker, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = join(layout, 'index.json');
  if (!existsSync(index)) writeFileSync(index, JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: [] }));
}

function blobPath(layout, digest) {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Stores `bytes` as a blob and returns its descriptor. */
function putBytes(layout, mediaType, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const path = blobPath(layout, digest);
  if (!existsSync(path)) {
    writeFileSync(`${path}.tmp`, bytes);
    renameSync(`${path}.tmp`, path);
  }
  return { mediaType, digest, size: bytes.length };
}

function putJson(layout, mediaType, value) {
  return putBytes(layout, mediaType, Buffer.from(JSON.stringify(value)));
}

/** A stream that hashes what passes through it; `.digest()` once it has ended. */
function hashing() {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  stream.result = () => ({ digest: `sha256:${hash.digest('hex')}`, size });
  return stream;
}

/** zstd at its default level, as `skopeo copy --dest-compress-format zstd` writes layers. */
function zstdStream() {
  const child = spawn('zstd', ['-q', '-c', '-T0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot run zstd (apt-get install zstd): ${e.message}`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`zstd exited ${code}`))));
  });
  return { input: child.stdin, output: child.stdout, exited };
}

/** Compresses the layer tar into a blob; returns the blob's descriptor and the tar's digest. */
async function putLayer(layout, tar, compression) {
  const mediaType = OCI.layer[compression];
  if (mediaType === undefined) fail(`unknown compression '${compression}' for ${tar} (gzip, zstd or none)`);
  const tmp = join(layout, 'blobs', 'sha256', `.layer-${process.pid}.tmp`);
  const diff = hashing();
  const stored = hashing();
  try {
    if (compression === 'none') {
      await pipeline(createReadStream(tar), diff, stored, createWriteStream(tmp));
    } else if (compression === 'gzip') {
      // zlib's gzip header carries no name and mtime 0: the same tar gives the same blob.
      await pipeline(createReadStream(tar), diff, createGzip({ level: 6 }), stored, createWriteStream(tmp));
    } else {
      const z = zstdStream();
      await Promise.all([pipeline(createReadStream(tar), diff, z.input), pipeline(z.output, stored, createWriteStream(tmp)), z.exited]);
    }
    const blob = stored.result();
    renameSync(tmp, blobPath(layout, blob.digest));
    return { descriptor: { mediaType, ...blob }, diffId: diff.result().digest };
  } finally {
    rmSync(tmp, { force: true });
  }
}

function readIndex(layout) {
  return JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
}

/** Points TAG at `descriptor` in index.json (a tag names one thing: an older entry goes). */
function tag(layout, tagName, descriptor) {
  const index = readIndex(layout);
  index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tagName);
  index.manifests.push({ ...descriptor, annotations: { [REF_NAME]: tagName } });
  const path = join(layout, 'index.json');
  writeFileSync(`${path}.tmp`, JSON.stringify(index));
  renameSync(`${path}.tmp`, path);
}

function platformOf(config) {
  const platform = { architecture: config.architecture, os: config.os };
  if (config.variant !== undefined) platform.variant = config.variant;
  return platform;
}

function options(args, repeatable) {
  const out = Object.fromEntries(repeatable.map((k) => [k, []]));
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]?.replace(/^--/, '');
    const value = args[i + 1];
    if (key === undefined || value === undefined || !args[i].startsWith('--')) fail(`bad arguments: ${args.join(' ')}`);
    if (repeatable.includes(key)) out[key].push(value);
    else out[key] = value;
  }
  return out;
}

async function image(layout, args) {
  const o = options(args, ['layer', 'annotation']);
  if (o.tag === undefined || o.config === undefined) fail('image needs --tag and --config');
  init(layout);
  const config = JSON.parse(readFileSync(o.config, 'utf8'));
  const layers = [];
  const diffIds = [];
  for (const spec of o.layer) {
    const [tar, compression = 'gzip'] = spec.split(':');
    const { descriptor, diffId } = await putLayer(layout, tar, compression);
    layers.push(descriptor);
    diffIds.push(diffId);
  }
  if (o.platform !== undefined) {
    const [os, architecture, variant] = o.platform.split('/');
    if (os === undefined || architecture === undefined) fail(`bad --platform ${o.platform} (OS/ARCH[/VARIANT])`);
    Object.assign(config, { os, architecture });
    if (variant === undefined) delete config.variant;
    else config.variant = variant;
  }
  config.rootfs = { type: 'layers', diff_ids: diffIds };
  config.history ??= o.layer.map(() => ({ created: config.created, created_by: 'test/images/build.sh' }));
  const manifest = { schemaVersion: 2, mediaType: OCI.manifest, config: putJson(layout, OCI.config, config), layers };
  if (o.annotation.length > 0) manifest.annotations = Object.fromEntries(o.annotation.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  const descriptor = putJson(layout, OCI.manifest, manifest);
  tag(layout, o.tag, { ...descriptor, platform: platformOf(config) });
  process.stdout.write(`${descriptor.digest}\n`);
}

function index(layout, args) {
  const o = options(args, ['from']);
  if (o.tag === undefined || o.from.length === 0) fail('index needs --tag and at least one --from');
  const entries = readIndex(layout).manifests;
  const manifests = o.from.map((t) => {
    const entry = entries.find((m) => m.annotations?.[REF_NAME] === t);
    if (entry === undefined) fail(`no image tagged ${t} in ${layout}`);
    return { mediaType: entry.mediaType, digest: entry.digest, size: entry.size, platform: entry.platform };
  });
  const descriptor = putJson(layout, OCI.index, { schemaVersion: 2, mediaType: OCI.index, manifests });
  tag(layout, o.tag, descriptor);
  process.stdout.write(`${descriptor.digest}\n`);
}

const [command, layout, ...rest] = process.argv.slice(2);
if (layout === undefined) fail('usage: oci-layout.mjs image|index LAYOUT ...');
if (command === 'image') await image(layout, rest);
else if (command === 'index') index(layout, rest);
else fail(`unknown command '${command}' (image, index)`);
