// The platforms tscontainer ships, one per Rust target in package.json's `napi.targets` (the
// one list of them, napi-rs's place for it). Read by the loader only once loading has failed,
// to say why, and by the build scripts (npm/targets.sh) to build and name each package.
'use strict';

// Rust's names for CPUs as Node names them (process.arch); napi-rs names its platforms so.
const NODE_ARCH = { x86_64: 'x64', aarch64: 'arm64' };

/** `{ target, arch, platform }` for each target: `aarch64-unknown-linux-gnu` is arm64, linux-arm64-gnu. */
function platforms() {
  const { napi } = require('../package.json');
  return napi.targets.map((target) => {
    const [cpu, , os, abi] = target.split('-');
    const arch = NODE_ARCH[cpu] ?? cpu;
    return { target, arch, platform: `${os}-${arch}-${abi}` };
  });
}

module.exports = { platforms };
