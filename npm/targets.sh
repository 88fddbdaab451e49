# shellcheck shell=bash
# Sourced by npm/build-runtime.sh and npm/build.sh. target_toolchain TARGET: for a Rust target
# tscontainer ships, sets `arch` (its npm platform's architecture: x64, arm64) and `gcc` (the
# target's Debian gcc, which links a cross build and finds the target's libseccomp.a); fails
# for any other target.
target_toolchain() {
  # shellcheck disable=SC2034 # set for the caller
  case $1 in
    x86_64-unknown-linux-gnu) arch=x64 gcc=x86_64-linux-gnu-gcc ;;
    aarch64-unknown-linux-gnu) arch=arm64 gcc=aarch64-linux-gnu-gcc ;;
    *) return 1 ;;
  esac
}
