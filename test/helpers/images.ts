// The test images, built once per machine by test/images/build.sh into test/.work/images/
// (cached; rebuilt when a recipe changes; safe from several test files at once). What each
// holds is written in test/images/README.md and at the top of its recipe.
//
//   const source = imageSource('busybox:configured');   // 'oci:/…/test/.work/images/busybox/oci:configured'
//   const expected = readFileSync(layersExpected(), 'utf8');
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, workRoot } from './paths.js';

export const imagesDir = path.join(repoRoot, 'test', 'images');
export const imageCache = process.env.TS_IMAGE_CACHE ?? path.join(workRoot, 'images');

/** A recipe of test/images/recipes/, and the cache directory it builds. */
export type Recipe = 'busybox' | 'multiarch' | 'layers' | 'debian' | 'bench' | 'archives';

/** Every image an OCI layout of the cache holds, as NAME:TAG (NAME alone is NAME:latest). */
export type Image =
  | 'busybox'
  | 'busybox:configured'
  | 'busybox:zstd'
  | 'busybox:uncompressed'
  | 'multiarch'
  | 'multiarch:amd64'
  | 'multiarch:arm64'
  | 'layers'
  | 'debian'
  | 'debian:bookworm'
  | 'bench';

/** The files of the archives recipe. */
export type Archive =
  | 'busybox.docker-archive.tar'
  | 'busybox.oci-archive.tar'
  | 'podman-save.docker-archive.tar'
  | 'podman-save.oci-archive.tar'
  | 'podman-save.oci-dir';

const built = new Set<Recipe>();

/** Builds the recipes that this process has not checked yet (a cached build costs ~30 ms). */
export function buildImages(...recipes: Recipe[]): void {
  const wanted = recipes.filter((r) => !built.has(r));
  if (wanted.length === 0) return;
  execFileSync('bash', [path.join(imagesDir, 'build.sh'), ...wanted], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const r of wanted) built.add(r);
}

function split(image: Image): { recipe: Recipe; tag: string } {
  const [recipe, tag = 'latest'] = image.split(':') as [Recipe, string?];
  return { recipe, tag };
}

/** The OCI image layout directory of a recipe, built when needed. */
export function imageLayout(recipe: Exclude<Recipe, 'archives'>): string {
  buildImages(recipe);
  return path.join(imageCache, recipe, 'oci');
}

/** The image as skopeo and podman name it: `oci:LAYOUT:TAG`. */
export function imageSource(image: Image): string {
  const { recipe, tag } = split(image);
  return `oci:${imageLayout(recipe as Exclude<Recipe, 'archives'>)}:${tag}`;
}

/** Whether the image's tag names an image index (multiarch:latest) rather than a manifest. */
export function isIndex(image: Image): boolean {
  const { recipe, tag } = split(image);
  const index = JSON.parse(readFileSync(path.join(imageLayout(recipe as Exclude<Recipe, 'archives'>), 'index.json'), 'utf8')) as {
    manifests: { mediaType: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (entry === undefined) throw new Error(`no image ${image} in the cache (a tag of test/images/recipes/${recipe}.sh?)`);
  return entry.mediaType === 'application/vnd.oci.image.index.v1+json';
}

/** A file of the archives recipe (docker-archive, oci-archive, podman save's output). */
export function imageArchive(file: Archive): string {
  buildImages('archives');
  return path.join(imageCache, 'archives', file);
}

/** The listing (test/images/lib/listing.mjs's format) of the tree the layers image unpacks to. */
export function layersExpected(): string {
  buildImages('layers');
  return path.join(imageCache, 'layers', 'expected.txt');
}

/** lib/listing.mjs's listing of a directory, to compare with layersExpected(). */
export function listing(dir: string): string {
  return execFileSync('node', [path.join(imagesDir, 'lib', 'listing.mjs'), dir], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** An image config as the recipes write it (test/images/configs/*.json). */
export interface ImageConfigFile {
  created: string;
  os: string;
  architecture: string;
  config: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
}

/**
 * The config a recipe gives its image (the recipe sets `architecture` to the host's), e.g.
 * imageConfig('busybox-configured') for busybox:configured, imageConfig('busybox') for the
 * other busybox images, multiarch, layers and bench, imageConfig('debian').
 */
export function imageConfig(name: 'busybox' | 'busybox-configured' | 'debian'): ImageConfigFile {
  return JSON.parse(readFileSync(path.join(imagesDir, 'configs', `${name}.json`), 'utf8')) as ImageConfigFile;
}

/** What busybox:configured's default command prints (its Entrypoint, Cmd, User, WorkingDir, Env). */
export const busyboxConfiguredOutput = 'ran tester 1000 50 /srv/app hello from the image';
