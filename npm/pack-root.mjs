#!/usr/bin/env node
// node npm/pack-root.mjs [--with-platforms] [OUTDIR] — packs the root package the way it is
// published and prints the tarball's path; with --with-platforms, also packs every platform
// package (npm/*/, which must hold their built artifacts) and prints their paths after it.
// The checkout's package.json cannot list the platform packages as optionalDependencies (`npm
// ci` here would look for versions not published yet), so this stages the files `npm pack`
// would take, adds them there, and drops what only the checkout uses (scripts,
// devDependencies, test config). test/dist/run.sh and the packages workflow pack this way; the
// release workflow publishes the tarballs the packages workflow packed and tested.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { releasePackages, repo } from './packages.mjs';

const args = process.argv.slice(2);
const withPlatforms = args[0] === '--with-platforms';
const out = resolve((withPlatforms ? args[1] : args[0]) ?? '.');
const npm = (npmArgs, cwd) => JSON.parse(execFileSync('npm', [...npmArgs, '--json', '--ignore-scripts'], { cwd, encoding: 'utf8' }));

const { root: { manifest: root }, platforms } = releasePackages();
for (const { file, manifest } of platforms) {
  if (manifest.version !== root.version) {
    throw new Error(`${manifest.name} (${file}) is at version ${manifest.version}, the root package at ${root.version}: release them together`);
  }
}

mkdirSync(out, { recursive: true });
const stage = mkdtempSync(join(tmpdir(), 'tscontainer-pack-'));
try {
  const [listing] = npm(['pack', '--dry-run'], repo);
  for (const { path } of listing.files) {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    cpSync(join(repo, path), join(stage, path));
  }
  const { scripts, devDependencies, ava, ...published } = root;
  published.optionalDependencies = Object.fromEntries(platforms.map(({ manifest }) => [manifest.name, manifest.version]));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  const [packed] = npm(['pack', '--pack-destination', out], stage);
  console.log(join(out, packed.filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
if (withPlatforms) {
  for (const { dir } of platforms) {
    const [packed] = npm(['pack', dir, '--pack-destination', out], out);
    console.log(join(out, packed.filename));
  }
}
