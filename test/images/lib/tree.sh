# shellcheck shell=bash disable=SC2154 # images_dir and repo are the caller's
# tree.sh — sourced by build.sh for the recipes: the trees images are made of, the layer tars
# made from them, and the OCI layout writer.
#   busybox_tree DEST [BUSYBOX]   the busybox tree every busybox-based image starts from
#   settle DIR                    every mtime in DIR set to $SOURCE_DATE_EPOCH
#   tar_layer DIR TAR             a layer tar of DIR's contents, deterministic
#   oci image|index LAYOUT ...    lib/oci-layout.mjs
#   platform_of ARCH, host_arch   OCI platforms of Debian architectures, the host's
#   contents_of FILE...           one sha256 of their contents, for a recipe's `inputs`
# Needs $images_dir (test/images) and $repo.

# 2024-01-01T00:00:00Z (the configs' `created` too): every mtime, so a rebuild gives the same digests.
export SOURCE_DATE_EPOCH=1704067200

oci() { node "$images_dir/lib/oci-layout.mjs" "$@"; }

settle() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

# tar_layer DIR TAR: entries named without a leading ./, sorted, numeric owners, pax headers
# with every xattr (security.capability included) and no atime/ctime, so the same tree gives
# the same bytes.
tar_layer() {
  local dir=$1 tar=$2
  (cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort) >"$tar.list"
  tar -C "$dir" -cf "$tar" --sort=name --numeric-owner --format=pax --xattrs --xattrs-include='*' \
    --pax-option='exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime' -T "$tar.list"
  rm -f "$tar.list"
}

# busybox_tree DEST [BUSYBOX]: test/fixtures/build-rootfs.sh's tree (static busybox, one
# relative link per applet, users root, nobody and tester (1000), the mount-point
# directories) plus what the image configs refer to:
#   /usr/local/bin/entrypoint  `export TS_ENTRYPOINT=ran; exec "$@"` (busybox:configured's Entrypoint)
#   /srv/app                   a directory owned by 1000:1000 (its WorkingDir)
#   /etc/group                 + staff:x:50:tester (tester's supplementary group)
#   /etc/os-release            ID=tscontainer-busybox
# BUSYBOX replaces /bin/busybox afterwards (another architecture's build of the same Debian
# package: the applet links, listed by the host's busybox, are the same).
busybox_tree() {
  local dest=$1 binary=${2:-}
  bash "$repo/test/fixtures/build-rootfs.sh" "$dest"
  rm -f "$dest/.tscontainer-fixture"
  [ -z "$binary" ] || cp "$binary" "$dest/bin/busybox"
  mkdir -p "$dest/usr/local/bin" "$dest/srv/app"
  cat >"$dest/usr/local/bin/entrypoint" <<'EOF'
#!/bin/sh
# The image's Entrypoint, as images' docker-entrypoint.sh scripts are: it marks that it ran,
# then runs the command it was given (the image's Cmd, or the one on the command line).
export TS_ENTRYPOINT=ran
exec "$@"
EOF
  chmod 0755 "$dest/usr/local/bin/entrypoint"
  chown 1000:1000 "$dest/srv/app"
  echo 'staff:x:50:tester' >>"$dest/etc/group"
  printf '%s\n' 'NAME="tscontainer test busybox"' 'ID=tscontainer-busybox' 'VERSION_ID=1' >"$dest/etc/os-release"
  settle "$dest"
}

# platform_of ARCH: the OCI platform of a Debian architecture (arm64 is v8, as registries list it).
platform_of() {
  case $1 in
    amd64) echo linux/amd64 ;;
    arm64) echo linux/arm64/v8 ;;
    *) echo "linux/$1" ;;
  esac
}
# shellcheck disable=SC2034 # for the recipes
host_arch=$(dpkg --print-architecture)

# contents_of FILE...: one sha256 of the files' contents (not their paths), for `inputs`.
contents_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
