#!/usr/bin/env node
// node npm/pack-root.mjs [OUTDIR] — packs the root package the way it is published and prints
// the tarball's path. The checkout's package.json cannot list the platform packages as
// optionalDependencies (`npm ci` here would look for versions not published yet), so this
// stages the files `npm pack` would take, adds them there, and drops what only the checkout
// uses (scripts, devDependencies, test config). The release workflow publishes this tarball;
// test/dist/run.sh installs it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? '.');
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const npm = (args, cwd) => JSON.parse(execFileSync('npm', [...args, '--json', '--ignore-scripts'], { cwd, encoding: 'utf8' }));

const root = readJson(join(repo, 'package.json'));
const platforms = readdirSync(join(repo, 'npm'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => readJson(join(repo, 'npm', entry.name, 'package.json')));
for (const platform of platforms) {
  if (platform.version !== root.version) {
    throw new Error(`${platform.name} is at version ${platform.version}, the root package at ${root.version}: release them together`);
  }
}

const stage = mkdtempSync(join(tmpdir(), 'tscontainer-pack-'));
try {
  const [listing] = npm(['pack', '--dry-run'], repo);
  for (const { path } of listing.files) {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    cpSync(join(repo, path), join(stage, path));
  }
  const { scripts, devDependencies, ava, ...published } = root;
  published.optionalDependencies = Object.fromEntries(platforms.map((p) => [p.name, p.version]));
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  mkdirSync(out, { recursive: true });
  const [packed] = npm(['pack', '--pack-destination', out], stage);
  console.log(join(out, packed.filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
