# shellcheck shell=bash
# Sourced by npm/build-runtime.sh, npm/build.sh and npm/cross-toolchain.sh, from the repository's
# root. target_toolchain TARGET: for a Rust target tscontainer ships (package.json's
# napi.targets, the one list of them, as native/targets.cjs reads it), sets `arch` (its npm
# platform's architecture: x64, arm64) and `gcc` (Debian's gcc for the target, which links a
# cross build and finds the target's libseccomp.a); fails for any other target.
target_toolchain() {
  # shellcheck disable=SC2034 # set for the caller
  arch=$(node -e '
    const p = require("./native/targets.cjs").platforms().find((p) => p.target === process.argv[1]);
    if (p === undefined) process.exit(1);
    console.log(p.arch);' "$1") || return 1
  # shellcheck disable=SC2034
  gcc=${1%%-*}-linux-gnu-gcc
}
