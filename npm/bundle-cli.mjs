#!/usr/bin/env node
// node npm/bundle-cli.mjs — the last step of `npm run build:ts`: bundles the fast start of
// `tscontainer run` (dist/cli/fast-run.js and everything it imports) into one CommonJS file,
// dist/cli/fast-run.cjs, which bin/run.cjs loads. Every container start pays for loading it:
// one file is read and compiled at once instead of a graph of ES modules resolved one by one,
// and CommonJS spares Node setting up its ES module loader at all.
//
// The bundle sits where fast-run.js does, two levels below the package root, so the paths
// the sources take relative to import.meta.url (the native addon's loader, oclif's manifest,
// package.json) point at the same files.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(repo, 'dist', 'cli', 'fast-run.js')],
  outfile: join(repo, 'dist', 'cli', 'fast-run.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // CommonJS has no import.meta: the bundle's own directory and file URL stand in for it.
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.dirname': '__dirname', 'import.meta.url': 'importMetaUrl' },
  logLevel: 'warning',
});
