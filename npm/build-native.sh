#!/usr/bin/env bash
# npm/build-native.sh — the local build (`npm run build:native`, run by `npm ci`): the static
# runtime (npm/build-runtime.sh) and the addon for this machine, both into native/ where the
# loader (native/index.cjs) and the API find them, and the addon's types (native/index.d.cts).
# The addon links against this machine's glibc; npm/build.sh builds the portable one.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
host=$(rustc -vV | sed -n 's/^host: //p')

bash npm/build-runtime.sh "$host"
# The addon builds in the runtime's target directory and links none of libseccomp (seccomp
# filters are compiled by the runtime alone: tscontainer-core's `seccomp` feature).
napi build --release --platform --target "$host" --manifest-path crates/node/Cargo.toml \
  --output-dir native --no-js --dts index.d.cts
install -m 0755 "target/$host/release/tscontainer-runtime" native/tscontainer-runtime
