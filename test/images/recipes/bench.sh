# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# bench — OUT/oci (tags latest, linux/<host arch>, configs/busybox.json: Cmd ["sh"]): the pull
# benchmark's image, about 210 MiB in 5 gzip layers (about 170 MB compressed), ~14,000 files,
# made by lib/gen-tree.mjs from a fixed seed, so every machine builds the same bytes:
#   1  busybox_tree (runnable: `sh`, the applets) + /bench/blobs-1: 6 x 10 MiB incompressible
#   2  /bench/src-2: 8,000 text files of 512 B - 8 KiB (~35 MiB), 100 to a directory
#   3  /bench/chunks-3: 160 x 256 KiB incompressible (40 MiB) + /bench/etc-3: 2,000 text
#      files of 256 B - 4 KiB
#   4  /bench/big-4: one 50 MiB incompressible file
#   5  /bench/docs-5: 4,000 text files of 256 B - 4 KiB + /bench/tail-5: one 10 MiB
#      incompressible file
# OUT/layers.txt: per layer, the files and bytes gen-tree.mjs wrote.
needs=()
seed=tscontainer-bench-1
inputs() {
  contents_of /bin/busybox "$repo/test/fixtures/build-rootfs.sh" "$images_dir/configs/busybox.json" "$images_dir/lib/gen-tree.mjs"
  echo "$host_arch $seed"
}

build() {
  local out=$1 s=$2 layers=() n
  busybox_tree "$s/l1"
  local -a specs=(
    "random:6:10M:blobs-1"
    "small:8000:512:8K:src-2"
    "random:160:256K:chunks-3 small:2000:256:4K:etc-3"
    "random:1:50M:big-4"
    "small:4000:256:4K:docs-5 random:1:10M:tail-5"
  )
  for n in 1 2 3 4 5; do
    mkdir -p "$s/l$n/bench"
    # shellcheck disable=SC2086 # one layer's specs, split on purpose
    echo "layer $n: $(node "$images_dir/lib/gen-tree.mjs" "$s/l$n/bench" "$seed-$n" ${specs[$((n - 1))]})" >>"$out/layers.txt"
    settle "$s/l$n"
    tar_layer "$s/l$n" "$s/l$n.tar"
    layers+=(--layer "$s/l$n.tar:gzip")
  done
  oci image "$out/oci" --tag latest --platform "$(platform_of "$host_arch")" --config "$images_dir/configs/busybox.json" \
    "${layers[@]}" >/dev/null
}
