#!/usr/bin/env bash
# npm/cross-toolchain.sh TARGET — prints the directory of napi-rs's prebuilt gcc toolchain for
# TARGET (one of package.json's napi.targets), fetching it on first use into
# target/cross/TARGET. Its sysroot has glibc 2.17, so an addon linked with it runs on any
# glibc >= 2.17 (Debian 8, Ubuntu 14.04, RHEL 7 and later) instead of the build machine's.
#
# The toolchains are npm packages (@napi-rs/cross-toolchain-x64-target-*), fetched with the
# ordinary `npm pack` and checked against the integrity pinned here. They run on x86_64
# hosts only (napi-rs publishes no arm64-hosted aarch64 toolchain).
set -euo pipefail

target=${1:?usage: npm/cross-toolchain.sh TARGET, one of the napi.targets in package.json}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# shellcheck source=npm/targets.sh
source npm/targets.sh
target_toolchain "$target" || { echo "cross-toolchain.sh: tscontainer ships no package for $target" >&2; exit 2; }
# The toolchain napi-rs publishes for the target's CPU, at the version and integrity pinned here.
cpu=${target%%-*}
case $cpu in
  x86_64)
    version=1.0.0
    integrity=sha512-lecoghCfoTAX9MLFcIx9/nL9M8xdkZ9n8Pki8qjKUNzjiq1zbECdEbzIZAMMHRtrXxifK9dAyYuh8gSxNbr2og== ;;
  aarch64)
    version=1.0.3
    integrity=sha512-EMFcy/ahFsmCY3BI1tMC3wRUYZ+cDuILg7nP1micaKXW1tO1+RvUB1CC6QYe+cv2W4Tuz9wr3qcFExWyjgWf2w== ;;
  *) echo "cross-toolchain.sh: no glibc 2.17 toolchain pinned for $cpu ($target)" >&2; exit 2 ;;
esac
spec=@napi-rs/cross-toolchain-x64-target-$cpu@$version

dir=$repo/target/cross/$target
if [ -x "$dir/bin/$target-gcc" ]; then
  echo "$dir"
  exit 0
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "cross-toolchain.sh: napi-rs's toolchains run on x86_64 hosts, this is $(uname -m)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "cross-toolchain.sh: fetching $spec" >&2
npm pack "$spec" --pack-destination "$work" --json --silent >"$work/pack.json"
got=$(node -p 'require(process.argv[1])[0].integrity' "$work/pack.json")
if [ "$got" != "$integrity" ]; then
  echo "cross-toolchain.sh: $spec has integrity $got, expected $integrity" >&2
  exit 1
fi
tar -xzf "$work"/*.tgz -C "$work" package
# Extract beside the final place and move it in one step: an interrupted fetch leaves no
# half toolchain that the check above would take for a whole one.
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
tar -xJf "$work/package/$target.tar.xz" -C "$dir.partial"
rm -rf "$dir"
mv "$dir.partial" "$dir"
echo "$dir"
