#!/usr/bin/env node
// node npm/publish.mjs DIR vX.Y.Z [--dry-run] — publishes the tarballs in DIR: the ones the
// packages workflow packed once and then installed and used on every runner (nothing is built
// or packed here). Platform packages first, then the root package that lists them as
// optionalDependencies, so the root package never appears before what it needs.
//
// Before publishing anything it checks that DIR holds exactly the packages this checkout
// releases (package.json, npm/*/package.json), each at the tag's version, the root package
// listing the others at that version; then it asks the registry about each. A version already
// there with the same tarball (integrity) is skipped, so a re-run after a partial failure
// publishes only the rest; one there with another tarball stops the release before anything
// is published.
//
// Authentication is npm's trusted publishing (OIDC from the release workflow, no token), which
// needs npm >= 11.5.1 and Node >= 22.14.0: checked first. --dry-run asks the registry the same
// questions and runs `npm publish --dry-run`, which needs no authentication.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { releasePackages } from './packages.mjs';

const [dirArg, tag, ...flags] = process.argv.slice(2);
const dryRun = flags.includes('--dry-run');
const fail = (message) => {
  console.error(`publish: ${message}`);
  process.exit(1);
};
if (!dirArg || !tag?.startsWith('v')) fail('usage: node npm/publish.mjs DIR vX.Y.Z [--dry-run]');
const dir = resolve(dirArg);
const version = tag.slice(1);

// at_least('11.5.1', '11.4.2') is false; pre-release suffixes are ignored.
const atLeast = (have, need) => {
  const [a, b] = [have, need].map((v) => v.split('-')[0].split('.').map(Number));
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
};
const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
for (const [what, have, need] of [['npm', npmVersion, '11.5.1'], ['Node', process.versions.node, '22.14.0']]) {
  if (atLeast(have, need)) continue;
  const why = `npm's trusted publishing needs ${what} ${need} or later; this is ${what} ${have}`;
  if (!dryRun) fail(why);
  console.log(`note: ${why} (a dry run goes on)`);
}

// --- what DIR holds -------------------------------------------------------------------------
const { root, platforms } = releasePackages();
const expected = [...platforms, root].map(({ manifest }) => manifest.name);
const tarballs = new Map();
for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
  const path = join(dir, file);
  const manifest = JSON.parse(execFileSync('tar', ['-xOzf', path, 'package/package.json'], { encoding: 'utf8' }));
  if (!expected.includes(manifest.name)) fail(`${file} is ${manifest.name}, which this checkout does not release`);
  if (tarballs.has(manifest.name)) fail(`${dir} holds ${manifest.name} twice`);
  if (manifest.version !== version) fail(`${file} is ${manifest.name}@${manifest.version}, the tag ${tag} is ${version}`);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
  tarballs.set(manifest.name, { path, manifest, integrity });
}
const missing = expected.filter((name) => !tarballs.has(name));
if (missing.length > 0) fail(`${dir} has no tarball of ${missing.join(', ')}`);
const listed = tarballs.get(root.manifest.name).manifest.optionalDependencies ?? {};
for (const { manifest } of platforms) {
  if (listed[manifest.name] !== version) {
    fail(`the root package lists ${manifest.name}@${listed[manifest.name] ?? '(nothing)'}, not ${version}`);
  }
}

// --- what the registry holds ----------------------------------------------------------------
// The integrity of NAME@VERSION on the registry, or null when it has no such version.
function published(name) {
  const r = spawnSync('npm', ['view', `${name}@${version}`, 'dist.integrity', '--json'], { encoding: 'utf8' });
  if (r.status === 0) return r.stdout.trim() === '' ? null : JSON.parse(r.stdout);
  let code;
  try {
    code = JSON.parse(r.stdout).error?.code;
  } catch {
    code = undefined;
  }
  if (code === 'E404') return null; // no such package yet
  fail(`cannot ask the registry about ${name}@${version}: ${r.stderr.trim() || r.stdout.trim()}`);
}
const order = expected.map((name) => tarballs.get(name));
const toPublish = [];
const conflicts = [];
for (const tarball of order) {
  const { name } = tarball.manifest;
  const there = published(name);
  if (there === null) toPublish.push(tarball);
  else if (there === tarball.integrity) console.log(`skip ${name}@${version}: already on the registry, the same tarball`);
  else conflicts.push(`${name}@${version} is on the registry with another tarball (${there}, this one is ${tarball.integrity})`);
}
if (conflicts.length > 0) fail(`nothing published: ${conflicts.join('; ')}. Release a new version.`);

// --- publish ----------------------------------------------------------------------------------
// A pre-release must not become what `npm install tscontainer` gets.
const distTag = version.includes('-') ? 'next' : 'latest';
for (const { path, manifest } of toPublish) {
  const args = ['publish', path, '--access', 'public', '--provenance', '--tag', distTag, ...(dryRun ? ['--dry-run'] : [])];
  console.log(`${dryRun ? 'would publish' : 'publish'} ${manifest.name}@${version}: npm ${args.join(' ')}`);
  const r = spawnSync('npm', args, { stdio: 'inherit' });
  if (r.status !== 0) fail(`npm publish of ${manifest.name}@${version} exited ${r.status}; a re-run skips what is already published`);
}
