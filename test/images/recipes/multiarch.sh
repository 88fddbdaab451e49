# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# multiarch — OUT/oci, an OCI layout with busybox_tree (lib/tree.sh, as busybox:latest) for
# two platforms and an index of both. Its tags:
#   amd64    linux/amd64 image, configs/busybox.json (Cmd ["sh"])
#   arm64    linux/arm64 variant v8 image, the same config
#   latest   an OCI image index of the two (each entry with its platform, arm64's with variant v8)
# The host's architecture uses /bin/busybox: its layer is busybox:latest's (same digest). The
# other one's busybox comes from Debian's busybox-static package for that architecture:
# `apt-get download busybox-static:ARCH` (with `dpkg --add-architecture ARCH`, as .ci/run sets
# up for arm64), else straight from Debian bookworm's mirror, signature and checksums
# verified; only its /bin/busybox differs.
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

# from_debian PACKAGE ARCH DIR: PACKAGE's .deb for ARCH from Debian bookworm's mirror, into DIR,
# each step verified: InRelease's signature (gpgv, debian-archive-keyring), Packages.xz's
# sha256 from it, the .deb's sha256 from Packages. For a host whose apt has no sources for ARCH
# (an Ubuntu arm64 machine has no amd64 archive).
from_debian() {
  local package=$1 arch=$2 dir=$3 mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian} want file sha
  curl -fsS -o "$dir/InRelease" "$mirror/dists/bookworm/InRelease" &&
    gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$dir/InRelease" 2>/dev/null || return 1
  want=$(awk -v f="main/binary-$arch/Packages.xz" '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == f { print $1 }' "$dir/InRelease")
  curl -fsS -o "$dir/Packages.xz" "$mirror/dists/bookworm/main/binary-$arch/Packages.xz" || return 1
  [ -n "$want" ] && [ "$(sha256sum <"$dir/Packages.xz" | cut -d' ' -f1)" = "$want" ] || return 1
  read -r file sha < <(xz -dc "$dir/Packages.xz" | awk -v p="$package" '
    /^Package: / { hit = ($2 == p) } hit && /^Filename: / { f = $2 } hit && /^SHA256: / { h = $2 }
    /^$/ && hit && f != "" { print f, h; exit }')
  [ -n "${file:-}" ] && curl -fsS -o "$dir/${file##*/}" "$mirror/$file" || return 1
  [ "$(sha256sum <"$dir/${file##*/}" | cut -d' ' -f1)" = "$sha" ]
}

# foreign_busybox ARCH DIR: Debian's static busybox for ARCH, unpacked in DIR; prints its path.
foreign_busybox() {
  local arch=$1 dir=$2 deb
  mkdir -p "$dir/deb"
  if ! (cd "$dir" && apt-get download -q=2 -o APT::Sandbox::User=root "busybox-static:$arch") >/dev/null 2>&1 &&
    ! from_debian busybox-static "$arch" "$dir"; then
    echo "build.sh: multiarch: cannot download busybox-static:$arch (apt-get download, or from Debian's mirror)" >&2
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
