#!/usr/bin/env bash
# bench/run-image.sh — starting a container of an image that is already stored, side by side
# in one run (hyperfine: each command's rounds in turn, on the same machine; compare only
# within one run, and rerun when the load changed during it):
#
#   tscontainer run --rm IMAGE true           the CLI: overlay of the image's layers, mounted
#                                             by the runtime inside the container
#   podman run --rm IMAGE true                podman (overlay driver, runc, --network none),
#                                             its store private to this run
#   tscontainer run --rm --rootfs DIR true    the CLI over a plain directory: the same tree
#                                             (a copy of the image's one layer)
#
# The image is the test busybox (test/images, built if need be), pushed to a local registry
# and pulled by each tool before timing. Goals (issue 13): the first ≤ 0.5× the second and
# ≤ 1.5× the third. Run as root: `bash bench/run-image.sh` (BENCH_RUNS, default 30;
# BENCH_WARMUP, default 3). Everything runs in test/images/isolate.sh's private mount
# namespace (what podman writes under /var/lib and /run goes with it), and every directory
# it makes is removed on exit. Prints hyperfine's table (markdown) and the two ratios.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
images_dir=$repo/test/images
runs=${BENCH_RUNS:-30}
warmup=${BENCH_WARMUP:-3}

[ "$(id -u)" = 0 ] || { echo "bench/run-image.sh: run as root (podman's and tscontainer's stores, cgroups)" >&2; exit 2; }
for tool in hyperfine podman skopeo docker-registry node; do
  command -v "$tool" >/dev/null || { echo "bench/run-image.sh: $tool is not installed" >&2; exit 2; }
done
[ -f "$repo/bin/run.cjs" ] && [ -x "$repo/native/tscontainer-runtime" ] ||
  { echo "bench/run-image.sh: build first (npm run build)" >&2; exit 2; }
# Once, for everything below: podman_private's wrapper then adds no namespace per call.
[ -n "${TS_ISOLATED:-}" ] || exec "$images_dir/isolate.sh" bash "${BASH_SOURCE[0]}" "$@"

work=$(mktemp -d /tmp/tsbench.XXXXXX)
registry_dir=""
cleanup() {
  [ -z "$registry_dir" ] || bash "$images_dir/registry.sh" stop "$registry_dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash "$images_dir/build.sh" busybox >/dev/null
registry_env=$(bash "$images_dir/registry.sh" start --owner $$)
registry_dir=$(sed -n 's/^REGISTRY_DIR=//p' <<<"$registry_env")
host=$(sed -n 's/^REGISTRY_HOST=//p' <<<"$registry_env")
ref=$host/bench/busybox:latest

# shellcheck source=../test/images/lib/podman.sh
. "$images_dir/lib/podman.sh"
skopeo_isolated copy -q --dest-tls-verify=false "oci:$repo/test/.work/images/busybox/oci:latest" "docker://$ref"

cli=(node "$repo/bin/run.cjs")
export TSCONTAINER_STORAGE=$work/store
"${cli[@]}" pull -q --tls-verify=false "$ref" >/dev/null
podman_private "$work/p" overlay
podman=$work/p/podman
"$podman" pull -q --tls-verify=false "$ref" >/dev/null
# The same tree as a plain directory: a copy of the image's one unpacked layer.
layer=$(find "$work/store/layers" -mindepth 2 -maxdepth 2 -name diff | head -n 1)
cp -a "$layer" "$work/rootfs"

table=$work/table.md
json=$work/times.json
hyperfine --shell=none --warmup "$warmup" --runs "$runs" --export-markdown "$table" --export-json "$json" \
  -n 'tscontainer run --rm IMAGE true' "${cli[*]} run --rm $ref true" \
  -n 'podman run --rm IMAGE true' "$podman run --rm --network none --runtime runc $ref true" \
  -n 'tscontainer run --rm --rootfs DIR true' "${cli[*]} run --rm --rootfs $work/rootfs true" >&2

echo
cat "$table"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results.map((x) => x.mean * 1000);
  const [image, podman, rootfs] = r;
  const line = (what, ratio, goal) => console.log(`- ${what}: ${ratio.toFixed(2)}x (goal ≤ ${goal}x: ${ratio <= goal ? "met" : "not met"})`);
  console.log("");
  line("tscontainer run IMAGE / podman run IMAGE", image / podman, 0.5);
  line("tscontainer run IMAGE / tscontainer run --rootfs DIR", image / rootfs, 1.5);
' "$json"
