#!/usr/bin/env node
// node npm/bundle-cli.mjs — the last step of `npm run build:ts`: bundles the fast start of
// `tscontainer run` and `pull` (dist/cli/fast-start.js and everything it imports) into one CommonJS file,
// dist/cli/fast-start.cjs, which bin/run.cjs loads. Every container start pays for loading it:
// one file is read and compiled at once instead of a graph of ES modules resolved one by one,
// and CommonJS spares Node setting up its ES module loader at all.
//
// The bundle sits where fast-start.js does, two levels below the package root, so the paths
// the sources take relative to their own module (the native addon's loader, oclif's
// manifest, package.json) point at the same files.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(repo, 'dist', 'cli', 'fast-start.cjs');

await build({
  entryPoints: [join(repo, 'dist', 'cli', 'fast-start.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // CommonJS has no import.meta. Its directory is __dirname. Its URL is wanted only by
  // createRequire() (api/native.ts), which takes the file's path as well: the path spares
  // every `run` making a file URL that createRequire() would turn back into a path.
  define: { 'import.meta.dirname': '__dirname', 'import.meta.url': '__filename' },
  logLevel: 'warning',
});

// So a new use of import.meta.url in the bundled sources, where a path would not do,
// fails the build instead of a `run`.
const uses = readFileSync(outfile, 'utf8').match(/.{0,30}\b__filename\b/g) ?? [];
const unexpected = uses.filter((use) => !use.endsWith('createRequire)(__filename'));
if (unexpected.length > 0) {
  throw new Error(`import.meta.url is used in the fast start other than by createRequire(): ${unexpected.join(' | ')}`);
}
