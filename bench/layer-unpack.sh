#!/usr/bin/env bash
# bench/layer-unpack.sh — how fast one layer unpacks: tscontainer's unpacker (the
# unpack-layer example of crates/image) beside GNU tar and umoci, on a Debian bookworm
# minbase root file system made by mmdebstrap, gzip'ed (-6, as registries serve) and zstd'ed
# (-3), as root. Prints a markdown table; CPU time (user + system) is the number to compare on
# a shared machine, wall time is shown too.
#
#   bash bench/layer-unpack.sh [ROUNDS]       # ROUNDS: 3 by default
#
# Settings: BENCH_LAYER_DIR (where the tarballs are kept between runs: /var/tmp/tscontainer-
# bench-layer), BENCH_LAYER_TARGET (the directory unpacked into, on the file system to measure:
# a scratch directory under BENCH_LAYER_DIR; /dev/shm takes the disk out of it).
# Needs mmdebstrap (once, and Debian's mirror), GNU time, tar, gzip, zstd; umoci and skopeo
# for umoci's row (left out, with a note, when missing).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rounds=${1:-3}
work=${BENCH_LAYER_DIR:-/var/tmp/tscontainer-bench-layer}
target=${BENCH_LAYER_TARGET:-$work/scratch}
mkdir -p "$work" "$target"

if ! [ -s "$work/deb.tar" ]; then
  echo "making a Debian bookworm minbase tree with mmdebstrap (a few minutes)..." >&2
  mmdebstrap --quiet --variant=minbase bookworm "$work/deb.tar.part"
  mv "$work/deb.tar.part" "$work/deb.tar"
fi
[ -s "$work/deb.tar.gz" ] || gzip -6 -c "$work/deb.tar" >"$work/deb.tar.gz"
[ -s "$work/deb.tar.zst" ] || zstd -3 -q -c "$work/deb.tar" >"$work/deb.tar.zst"

(cd "$repo" && cargo build --quiet --release -p tscontainer-image --example unpack-layer)
unpacker=$repo/target/release/examples/unpack-layer

bytes=$(stat -c %s "$work/deb.tar")
entries=$(tar -tf "$work/deb.tar" | wc -l)

# One measured run: prints "cpu wall maxrss_kib" of COMMAND run in a fresh directory $out.
out=$target/out
measure() {
  rm -rf "$out"
  sync
  local line
  line=$(/usr/bin/time -f '%U %S %e %M' "$@" 2>&1 >/dev/null | tail -n 1)
  awk '{ printf "%.3f %.3f %d\n", $1 + $2, $3, $4 }' <<<"$line"
}

umoci_layout=""
if command -v umoci >/dev/null && command -v skopeo >/dev/null; then
  umoci_layout=$work/oci
  if ! [ -d "$umoci_layout" ]; then
    # A one-layer image from the tarball, in an OCI layout (gzip'ed by skopeo).
    rm -rf "$work/oci-src"
    umoci init --layout "$work/oci-src"
    umoci new --image "$work/oci-src:deb"
    umoci raw add-layer --image "$work/oci-src:deb" "$work/deb.tar"
    skopeo copy --quiet --dest-compress-format gzip "oci:$work/oci-src:deb" "oci:$umoci_layout:deb"
    rm -rf "$work/oci-src"
  fi
fi

declare -A cpu wall rss
run_case() { # NAME COMMAND...
  local name=$1
  shift
  local i c w r
  cpu[$name]="" wall[$name]="" rss[$name]=""
  for ((i = 0; i < rounds; i++)); do
    read -r c w r < <(measure "$@")
    cpu[$name]+="$c " wall[$name]+="$w " rss[$name]+="$r "
  done
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

cases=()
add() { cases+=("$1"); run_case "$@"; }
add "tscontainer gzip" "$unpacker" "$work/deb.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip "$out"
add "tscontainer zstd" "$unpacker" "$work/deb.tar.zst" application/vnd.oci.image.layer.v1.tar+zstd "$out"
add "tscontainer plain" "$unpacker" "$work/deb.tar" application/vnd.oci.image.layer.v1.tar "$out"
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
add "GNU tar -xzf" sh -c 'mkdir "$1" && exec tar --xattrs --xattrs-include="*" -xzf "$2" -C "$1"' sh "$out" "$work/deb.tar.gz"
# shellcheck disable=SC2016
add "GNU tar --zstd -xf" sh -c 'mkdir "$1" && exec tar --xattrs --xattrs-include="*" --zstd -xf "$2" -C "$1"' sh "$out" "$work/deb.tar.zst"
if [ -n "$umoci_layout" ]; then
  add "umoci raw unpack (gzip)" umoci raw unpack --image "$umoci_layout:deb" "$out"
else
  echo "note: umoci or skopeo is missing: no umoci row" >&2
fi
rm -rf "$out"

echo
echo "Layer: Debian bookworm minbase, $((bytes / 1000000)) MB uncompressed, $entries entries;" \
  "gzip $(($(stat -c %s "$work/deb.tar.gz") / 1000000)) MB, zstd $(($(stat -c %s "$work/deb.tar.zst") / 1000000)) MB." \
  "Unpacked into $target ($(df --output=fstype "$target" | tail -n 1)); median of $rounds runs."
echo
echo "| unpacker | CPU s | wall s | MB/s (CPU) | files/s (CPU) | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- |"
for name in "${cases[@]}"; do
  c=$(median <<<"${cpu[$name]}")
  w=$(median <<<"${wall[$name]}")
  r=$(median <<<"${rss[$name]}")
  awk -v n="$name" -v c="$c" -v w="$w" -v r="$r" -v b="$bytes" -v e="$entries" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.0f | %.0f | %.1f |\n", n, c, w, b / 1e6 / c, e / c, r / 1024 }'
done
