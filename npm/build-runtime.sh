#!/usr/bin/env bash
# npm/build-runtime.sh [TARGET] — builds tscontainer-runtime for TARGET (the host's by default)
# as one static executable: glibc and libseccomp linked in (+crt-static), so it needs no
# shared library on the machine it runs on, whatever that machine's libc. Output:
# target/TARGET/release/tscontainer-runtime, stripped by the release profile.
# npm/build-native.sh (`npm run build:native`) and npm/build.sh both build it here, so they
# share one build.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
host=$(rustc -vV | sed -n 's/^host: //p')
target=${1:-$host}
# shellcheck source=npm/targets.sh
source npm/targets.sh
target_toolchain "$target" || { echo "npm/build-runtime.sh: tscontainer ships no runtime for $target" >&2; exit 2; }
if [ "$target" = "$host" ]; then
  gcc=cc
else
  # A cross build links with the target's gcc (Debian's gcc-aarch64-linux-gnu).
  linker_var=CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$target")_LINKER
  export "$linker_var=${!linker_var:-$gcc}"
fi

# shellcheck source=npm/seccomp.sh
source npm/seccomp.sh
seccomp_static "$gcc"

# `cargo rustc` puts +crt-static on the executable alone; the addon's cdylib (built by the
# same cargo in the same target directory) cannot be static.
cargo rustc --release -p tscontainer-runtime --bin tscontainer-runtime --target "$target" \
  -- -C target-feature=+crt-static
