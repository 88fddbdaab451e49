// package.json's napi.targets is the one list of the Rust targets tscontainer ships: the loader
// (native/index.cjs), the build scripts (npm/targets.sh, npm/cross-toolchain.sh) and the
// platform packages (npm/PLATFORM) all follow from it through native/targets.cjs.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { parseTriple } from '@napi-rs/cli';
import test from 'ava';

const require = createRequire(import.meta.url);
const { platforms } = require('../../native/targets.cjs') as {
  platforms(): { target: string; arch: string; platform: string }[];
};
const repo = new URL('../..', import.meta.url).pathname;
const targets = (JSON.parse(readFileSync(`${repo}package.json`, 'utf8')) as { napi: { targets: string[] } }).napi.targets;

test('each target of napi.targets is the platform napi-rs names it', (t) => {
  t.deepEqual(
    platforms().map((p) => p.target),
    targets,
  );
  for (const { target, arch, platform } of platforms()) {
    const napi = parseTriple(target);
    t.is(platform, napi.platformArchABI, target);
    t.is(arch, napi.arch, target);
  }
});

test('each target has its platform package, for its os, cpu and libc', (t) => {
  for (const { arch, platform } of platforms()) {
    const manifest = JSON.parse(readFileSync(`${repo}npm/${platform}/package.json`, 'utf8')) as Record<string, unknown>;
    t.like(manifest, { name: `tscontainer-${platform}`, os: ['linux'], cpu: [arch], libc: ['glibc'] }, platform);
  }
});

test('the build scripts take napi.targets and refuse the others', (t) => {
  const toolchain = (target: string) =>
    spawnSync('bash', ['-c', 'source npm/targets.sh && target_toolchain "$1" && echo "$arch $gcc"', 'bash', target], {
      cwd: repo,
      encoding: 'utf8',
    });
  for (const { target, arch } of platforms()) {
    t.is(toolchain(target).stdout, `${arch} ${target.split('-')[0]}-linux-gnu-gcc\n`, target);
  }
  t.not(toolchain('riscv64gc-unknown-linux-gnu').status, 0);
  t.not(toolchain('x86_64-unknown-linux-musl').status, 0);
});

test("the loader's sentence for another platform or CPU names the targets' CPUs", (t) => {
  const arches = platforms().map((p) => p.arch);
  const list = `${arches.slice(0, -1).join(', ')} or ${arches.at(-1)}`;
  const load = (property: string, value: string) =>
    spawnSync(
      process.execPath,
      ['-e', `Object.defineProperty(process, '${property}', { value: '${value}' }); require('./native/index.cjs')`],
      { cwd: repo, encoding: 'utf8', env: { ...process.env, TSCONTAINER_ADDON_PATH: '' } },
    ).stderr;
  t.regex(load('platform', 'darwin'), new RegExp(`runs on Linux with glibc on ${list}, not on darwin on ${process.arch}`));
  t.regex(load('arch', 'riscv64'), new RegExp(`runs on Linux with glibc on ${list}, not on linux on riscv64`));
  // And where it is shipped, it loads without reading the list.
  const loaded = "require('./native/index.cjs'); console.log(Object.keys(require.cache).filter((m) => m.endsWith('targets.cjs')))";
  t.is(execFileSync(process.execPath, ['-e', loaded], { cwd: repo, encoding: 'utf8' }), '[]\n');
});
