// The packages one release publishes, read from the checkout: the root package (package.json)
// and every platform package (npm/*/package.json). They move together: one version for all.
// Used by pack-root.mjs and check-versions.mjs.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** { root, platforms }: each { file (relative to the repository), dir, manifest }. */
export function releasePackages() {
  const root = { file: 'package.json', dir: repo, manifest: readJson(join(repo, 'package.json')) };
  const platforms = readdirSync(join(repo, 'npm'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({
      file: `npm/${entry.name}/package.json`,
      dir: join(repo, 'npm', entry.name),
      manifest: readJson(join(repo, 'npm', entry.name, 'package.json')),
    }));
  return { root, platforms };
}
