# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# debian — OUT/oci: Debian 12 (bookworm) from mmdebstrap, --variant=minbase plus ca-certificates,
# procps, less, libcap2-bin and iproute2, as one gzip layer (about 10,000 entries, 190 MB
# uncompressed), linux/<host arch>, tags latest and bookworm; config configs/debian.json
# (Cmd ["bash"], Env PATH). bash, apt, dpkg, coreutils, login/passwd with Debian's system
# users in /etc/passwd (root, daemon, bin, sys, ..., nobody) and getcap/setcap (libcap2-bin).
# /dev is empty (the runtime provides it); apt's lists and caches are cleaned (mmdebstrap's
# default). OUT/packages.txt lists every installed package and version ("name version");
# OUT/files.txt the count of entries in the layer.
#
# Downloads from deb.debian.org (DEBIAN_MIRROR overrides): about a minute. mmdebstrap runs as
# root in a private mount namespace, so the /proc, /sys and /dev it mounts in the tree during
# the build go with it, even if it is killed.
needs=()
inputs() {
  contents_of "$images_dir/configs/debian.json"
  echo "$host_arch ${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
}

build() {
  local out=$1 s=$2 platform
  platform=$(platform_of "$host_arch")
  unshare --mount --propagation private \
    mmdebstrap --quiet --variant=minbase --mode=root --format=directory --skip=check/empty \
    --include=ca-certificates,procps,less,libcap2-bin,iproute2 \
    bookworm "$s/rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  if [ -n "$(awk -v r="$s/rootfs" 'index($5, r) == 1' /proc/self/mountinfo)" ]; then
    echo "build.sh: debian: mmdebstrap left mounts in $s/rootfs" >&2
    return 1
  fi
  find "$s/rootfs/dev" -mindepth 1 -delete
  dpkg-query --admindir="$s/rootfs/var/lib/dpkg" -W -f '${Package} ${Version}\n' | LC_ALL=C sort >"$out/packages.txt"
  settle "$s/rootfs"
  tar_layer "$s/rootfs" "$s/debian.tar"
  tar -tf "$s/debian.tar" | wc -l >"$out/files.txt"
  oci image "$out/oci" --tag latest --platform "$platform" --config "$images_dir/configs/debian.json" \
    --layer "$s/debian.tar:gzip" >/dev/null
  oci image "$out/oci" --tag bookworm --platform "$platform" --config "$images_dir/configs/debian.json" \
    --layer "$s/debian.tar:gzip" >/dev/null
}
