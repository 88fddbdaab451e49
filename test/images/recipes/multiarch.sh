# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# multiarch — OUT/oci, an OCI layout with busybox_tree (lib/tree.sh, as busybox:latest) for
# two platforms and an index of both. Its tags:
#   amd64    linux/amd64 image, configs/busybox.json (Cmd ["sh"])
#   arm64    linux/arm64 variant v8 image, the same config
#   latest   an OCI image index of the two (each entry with its platform, arm64's with variant v8)
# The host's architecture uses /bin/busybox: its layer is busybox:latest's (same digest). The
# other one's busybox comes from Debian's busybox-static package for that architecture
# (`apt-get download busybox-static:ARCH`: needs `dpkg --add-architecture ARCH` and the
# mirror, as .ci/run sets up for arm64); only its /bin/busybox differs.
inputs() {
  contents_of /bin/busybox "$repo/test/fixtures/build-rootfs.sh" "$images_dir/configs/busybox.json"
  echo "$host_arch"
}

other_arch() {
  case $host_arch in
    amd64) echo arm64 ;;
    arm64) echo amd64 ;;
    *) echo "build.sh: multiarch: no second architecture for a $host_arch host" >&2; return 1 ;;
  esac
}

# foreign_busybox ARCH DIR: Debian's static busybox for ARCH, unpacked in DIR; prints its path.
foreign_busybox() {
  local arch=$1 dir=$2 deb
  mkdir -p "$dir/deb"
  # apt downloads as _apt when it can; the directory must be its to write.
  id _apt >/dev/null 2>&1 && chown _apt "$dir"
  if ! (cd "$dir" && apt-get download -q=2 -o APT::Sandbox::User=root "busybox-static:$arch") >&2; then
    echo "build.sh: multiarch: cannot download busybox-static:$arch (dpkg --add-architecture $arch && apt-get update)" >&2
    return 1
  fi
  deb=$(find "$dir" -maxdepth 1 -name 'busybox-static_*.deb' | head -n 1)
  dpkg-deb -x "$deb" "$dir/deb"
  file -L "$dir/deb/bin/busybox" | grep -q 'statically linked' || {
    echo "build.sh: multiarch: $deb has no static /bin/busybox" >&2
    return 1
  }
  echo "$dir/deb/bin/busybox"
}

build() {
  local out=$1 scratch=$2 other binary
  other=$(other_arch)
  binary=$(foreign_busybox "$other" "$scratch/download")
  busybox_tree "$scratch/$host_arch"
  busybox_tree "$scratch/$other" "$binary"
  for arch in "$host_arch" "$other"; do
    tar_layer "$scratch/$arch" "$scratch/$arch.tar"
    oci image "$out/oci" --tag "$arch" --platform "$(platform_of "$arch")" --config "$images_dir/configs/busybox.json" \
      --layer "$scratch/$arch.tar:gzip" >/dev/null
  done
  oci index "$out/oci" --tag latest --from amd64 --from arm64 >/dev/null
}
