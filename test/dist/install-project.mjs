#!/usr/bin/env node
// node test/dist/install-project.mjs DIR ROOT.tgz PLATFORM.tgz... — writes DIR/package.json
// and DIR/package-lock.json for a project that depends on the root package alone, as a user's
// does, so that `npm ci --offline` installs it with no registry at all: the root package and
// its optional platform packages come from the tarballs in DIR (file: entries with their
// integrity; npm installs the one whose os/cpu/libc match), and every third-party package it needs is
// pinned to the exact version and integrity this checkout's package-lock.json has, which the
// `npm ci` that built the checkout left in npm's cache.
//
// Those entries are the lock's production packages (not dev): the root package's dependency
// tree, as npm laid it out, which stays valid without the dev packages (no production package
// resolves to a dev one).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, ...tarballs] = process.argv.slice(2).map((p) => resolve(p));
if (!dir || tarballs.length === 0) throw new Error('usage: install-project.mjs DIR ROOT.tgz PLATFORM.tgz...');
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const projectLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));

const packages = {};
const dependencies = {};
for (const [index, tarball] of tarballs.entries()) {
  const manifest = JSON.parse(execFileSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  const file = `file:${basename(tarball)}`;
  if (index === 0) dependencies[manifest.name] = file;
  const entry = {
    version: manifest.version,
    resolved: file,
    integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
  };
  // Reached only through the root package's optionalDependencies.
  if (index > 0) entry.optional = true;
  for (const key of ['license', 'dependencies', 'optionalDependencies', 'bin', 'engines', 'os', 'cpu', 'libc']) {
    if (manifest[key] !== undefined) entry[key] = manifest[key];
  }
  packages[`node_modules/${manifest.name}`] = entry;
}
for (const [path, entry] of Object.entries(projectLock.packages)) {
  if (path !== '' && !entry.dev && !entry.devOptional && !entry.link) packages[path] = entry;
}

const manifest = { name: 'tscontainer-install-check', version: '1.0.0', private: true, type: 'module', dependencies };
writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
const lock = { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, version: manifest.version, dependencies }, ...packages } };
writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
