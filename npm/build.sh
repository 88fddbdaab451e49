#!/usr/bin/env bash
# npm/build.sh [TARGET] — builds the release artifacts of one platform package into npm/DIR/:
#
#   tscontainer-runtime          one static executable (+crt-static: glibc and libseccomp linked
#                                in), so it runs on any Linux of that architecture, whatever its
#                                libc; stripped (the release profile strips symbols)
#   tscontainer.PLATFORM.node    the addon, linked with napi-rs's glibc 2.17 toolchain
#                                (npm/cross-toolchain.sh) so it loads on glibc >= 2.17, not only
#                                on glibc as new as the build machine's
#
# TARGET is one of package.json's napi.targets (x86_64-unknown-linux-gnu builds
# npm/linux-x64-gnu); the host's by default (`npm run artifacts [-- TARGET]`). Runs on an x86_64
# Debian or Ubuntu host with libseccomp-dev for TARGET; building for the other architecture also needs that target's Rust standard library
# (`rustup target add`, or Debian's rustc-web with libstd-rust-web-dev:arm64 linked with
# `rustup toolchain link`: README.md, "Install / platforms") and its gcc
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, libseccomp-dev:arm64).
#
# The runtime builds in target/ (for the host, the same build as `npm run build:native`); the
# addon in target/dist/, because a different linker invalidates every crate's build.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
host=$(rustc -vV | sed -n 's/^host: //p')
target=${1:-$host}

# shellcheck source=npm/targets.sh
source npm/targets.sh
target_toolchain "$target" || { echo "npm/build.sh: tscontainer ships no package for $target" >&2; exit 2; }
platform=linux-$arch-gnu
out=npm/$platform

if ! [ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]; then
  echo "npm/build.sh: this Rust toolchain ($(rustc -V)) has no standard library for $target;" \
    "set RUSTUP_TOOLCHAIN to one that has (README.md, \"Install / platforms\")" >&2
  exit 1
fi

step() { printf '\n== npm/build.sh %s: %s\n' "$target" "$*" >&2; }

step "tscontainer-runtime (static)"
bash npm/build-runtime.sh "$target"
install -m 0755 "target/$target/release/tscontainer-runtime" "$out/tscontainer-runtime"

step "tscontainer.$platform.node (glibc 2.17 toolchain)"
toolchain=$(bash npm/cross-toolchain.sh "$target")
# libseccomp-sys links libseccomp even though the addon uses none of it (so none of it ends
# up in the addon), and the static kind needs the .a named when it is compiled. The
# toolchain's sysroot has no libseccomp, and pointing it at the whole multiarch directory
# would also put that directory's newer libc in front of the sysroot's: give it a directory
# holding libseccomp.a alone.
seccomp_dir=target/dist/seccomp/$target
mkdir -p "$seccomp_dir"
seccomp_a=$("$gcc" -print-file-name=libseccomp.a)
[ -f "$seccomp_a" ] || { echo "npm/build.sh: no libseccomp.a for $target (libseccomp-dev:$arch)" >&2; exit 1; }
cp "$seccomp_a" "$seccomp_dir/libseccomp.a"
# The toolchain's GCC 4.8 defines no __ARM_ARCH on aarch64, which ring's assembly (the image
# library's TLS, through rustls) requires; every aarch64 compiler since defines it as 8.
env "CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_LINKER=$toolchain/bin/$target-gcc" \
  CFLAGS_aarch64_unknown_linux_gnu=-D__ARM_ARCH=8 \
  LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH="$repo/$seccomp_dir" \
  cargo build --release --locked -p tscontainer-node --target "$target" --target-dir target/dist
install -m 0755 "target/dist/$target/release/libtscontainer_node.so" "$out/tscontainer.$platform.node"

step "done"
ls -l "$out" >&2
