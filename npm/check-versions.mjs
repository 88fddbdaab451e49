#!/usr/bin/env node
// node npm/check-versions.mjs vX.Y.Z — the release's first check, before anything is built or
// published: the tag names the version of every package the release publishes (package.json
// and each npm/*/package.json). Prints one line per package; exits 1 naming each file at
// another version.
import { releasePackages } from './packages.mjs';

const tag = process.argv[2] ?? '';
// SemVer 2.0.0's version, with an optional pre-release part (no build metadata: npm drops it).
const match = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)$/.exec(tag);
if (!match) {
  console.error(`check-versions: the tag "${tag}" is not vMAJOR.MINOR.PATCH[-PRERELEASE]`);
  process.exit(1);
}
const version = match[1];
const { root, platforms } = releasePackages();
const wrong = [];
for (const { file, manifest } of [root, ...platforms]) {
  if (manifest.version === version) {
    console.log(`ok ${file}: ${manifest.name}@${manifest.version}`);
  } else {
    wrong.push(`${file} (${manifest.name}) is at ${manifest.version}`);
  }
}
if (wrong.length > 0) {
  console.error(`check-versions: the tag ${tag} is version ${version}, but ${wrong.join('; ')}`);
  process.exit(1);
}
