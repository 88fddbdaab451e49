# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# layers — OUT/oci (tag latest, linux/<host arch>, configs/busybox.json: Cmd ["sh"]): four gzip
# layers for the unpacker's end-to-end checks, and OUT/expected.txt, the tree a correct
# unpacker makes of them (lib/listing.mjs's format: path, type, mode, uid:gid, mtime,
# size/links/sha256 or link target or device, xattrs). The smoke tier checks that podman
# unpacks exactly that tree.
#
# 1  busybox_tree (busybox:latest's layer, the same digest)
# 2  /data, with every kind of entry (stable_entries below, which no later layer touches):
#      owned         "owned\n", 1000:50, 0640, mtime 2001-09-09T01:46:40Z (1000000000)
#      hardlink-a/b  one file, two names (the tar's second entry is a hard link), "linked\n"
#      symlink-rel -> file.txt, symlink-abs -> /data/file.txt, symlink-dangling ->
#                    /nonexistent/target, symlink-dir -> ../etc
#      fifo          a named pipe, 0600
#      null          character device 1,3, 0666
#      setuid        0:0 4755 script; setgid-dir 0:50 2775; sticky-dir 1777
#      cap-file      a script with security.capability = cap_net_bind_service+ep
#      xattr-file    user.tscontainer.test=hello and user.tscontainer.binary=0x00ff0a (bytes a
#                    string cannot hold; an empty value cannot be in a layer: a pax record
#                    without a value deletes the key)
#      xattr-dir     a directory with user.tscontainer.dir=yes
#      private-dir   1000:1000 0700, empty
#      empty         a 0-byte file; "with space.txt"; "ünïcödé-名前.txt"
#      long/         a 100-character directory name holding a 150-character file name
#                    (the path is longer than a ustar header holds: a pax path record)
#    and what layers 3 and 4 change: file.txt "layer 2\n", remove-me, file-then-dir (a
#    file), dir-then-file/inner, hidden-dir/{a,sub/b}, opaque/{old-1,old-2}
# 3  whiteouts and replacements:
#      data/.wh.remove-me, data/.wh.hidden-dir (a whole directory), bin/.wh.vi (an entry
#      of layer 1), data/opaque/.wh..wh..opq with a new file opaque/new "new in layer 3\n";
#      data/file-then-dir becomes a directory (file-then-dir/inside "now a dir\n"),
#      data/dir-then-file a file "now a file\n"; data/file.txt "layer 3\n"; hardlink-c/d,
#      two names of "linked in 3\n"
# 4  what was deleted comes back: data/remove-me "back in layer 4\n", data/hidden-dir/c
#    "c\n" (alone: a and sub/b stay deleted); data/file.txt's mode becomes 0600
# Everything is 0:0, mode 0755 (directories) or 0644 (files), mtime 2024-01-01T00:00:00Z
# unless said otherwise.
needs=()
inputs() {
  contents_of /bin/busybox "$repo/test/fixtures/build-rootfs.sh" "$images_dir/configs/busybox.json" "$images_dir/lib/listing.mjs"
  echo "$host_arch"
}

# stable_entries DATA: layer 2's entries that no later layer touches.
stable_entries() {
  local d=$1 long
  mkdir -p "$d"
  printf 'owned\n' >"$d/owned"
  chown 1000:50 "$d/owned"
  chmod 0640 "$d/owned"
  printf 'linked\n' >"$d/hardlink-a"
  ln "$d/hardlink-a" "$d/hardlink-b"
  ln -s file.txt "$d/symlink-rel"
  ln -s /data/file.txt "$d/symlink-abs"
  ln -s /nonexistent/target "$d/symlink-dangling"
  ln -s ../etc "$d/symlink-dir"
  mkfifo -m 0600 "$d/fifo"
  mknod -m 0666 "$d/null" c 1 3
  printf '#!/bin/sh\nid -u\n' >"$d/setuid"
  chmod 4755 "$d/setuid"
  mkdir "$d/setgid-dir"
  chgrp 50 "$d/setgid-dir"
  chmod 2775 "$d/setgid-dir"
  mkdir "$d/sticky-dir"
  chmod 1777 "$d/sticky-dir"
  printf '#!/bin/sh\n' >"$d/cap-file"
  chmod 0755 "$d/cap-file"
  setcap cap_net_bind_service=+ep "$d/cap-file"
  printf 'xattrs\n' >"$d/xattr-file"
  setfattr -n user.tscontainer.test -v hello "$d/xattr-file"
  setfattr -n user.tscontainer.binary -v 0x00ff0a "$d/xattr-file"
  mkdir "$d/xattr-dir"
  setfattr -n user.tscontainer.dir -v yes "$d/xattr-dir"
  mkdir -m 0700 "$d/private-dir"
  chown 1000:1000 "$d/private-dir"
  : >"$d/empty"
  printf 'space\n' >"$d/with space.txt"
  printf 'unicode\n' >"$d/ünïcödé-名前.txt"
  long=$d/long/$(printf 'd%.0s' {1..100})
  mkdir -p "$long"
  printf 'long\n' >"$long/$(printf 'f%.0s' {1..146}).txt"
}

# mtimes: all 2024-01-01, data/owned 2001-09-09 (a stable entry, so layer 2's time is final).
settle_layer() {
  settle "$1"
  [ ! -e "$1/data/owned" ] || touch -h -d @1000000000 "$1/data/owned"
}

build() {
  local out=$1 s=$2 platform
  platform=$(platform_of "$host_arch")
  busybox_tree "$s/l1"

  stable_entries "$s/l2/data"
  printf 'layer 2\n' >"$s/l2/data/file.txt"
  printf 'to be removed\n' >"$s/l2/data/remove-me"
  printf 'a file\n' >"$s/l2/data/file-then-dir"
  mkdir -p "$s/l2/data/dir-then-file" "$s/l2/data/hidden-dir/sub" "$s/l2/data/opaque"
  printf 'inner\n' >"$s/l2/data/dir-then-file/inner"
  printf 'a\n' >"$s/l2/data/hidden-dir/a"
  printf 'b\n' >"$s/l2/data/hidden-dir/sub/b"
  printf 'old 1\n' >"$s/l2/data/opaque/old-1"
  printf 'old 2\n' >"$s/l2/data/opaque/old-2"

  mkdir -p "$s/l3/data/opaque" "$s/l3/data/file-then-dir" "$s/l3/bin"
  : >"$s/l3/data/.wh.remove-me"
  : >"$s/l3/data/.wh.hidden-dir"
  : >"$s/l3/bin/.wh.vi"
  : >"$s/l3/data/opaque/.wh..wh..opq"
  printf 'new in layer 3\n' >"$s/l3/data/opaque/new"
  printf 'now a dir\n' >"$s/l3/data/file-then-dir/inside"
  printf 'now a file\n' >"$s/l3/data/dir-then-file"
  printf 'layer 3\n' >"$s/l3/data/file.txt"
  printf 'linked in 3\n' >"$s/l3/data/hardlink-c"
  ln "$s/l3/data/hardlink-c" "$s/l3/data/hardlink-d"

  mkdir -p "$s/l4/data/hidden-dir"
  printf 'back in layer 4\n' >"$s/l4/data/remove-me"
  printf 'c\n' >"$s/l4/data/hidden-dir/c"
  printf 'layer 3\n' >"$s/l4/data/file.txt"
  chmod 0600 "$s/l4/data/file.txt"

  # The tree the four layers make, written out directly (not by replaying them): the oracle.
  cp -a "$s/l1" "$s/merged"
  rm "$s/merged/bin/vi"
  stable_entries "$s/merged/data"
  mkdir -p "$s/merged/data/file-then-dir" "$s/merged/data/hidden-dir" "$s/merged/data/opaque"
  printf 'layer 3\n' >"$s/merged/data/file.txt"
  chmod 0600 "$s/merged/data/file.txt"
  printf 'back in layer 4\n' >"$s/merged/data/remove-me"
  printf 'now a dir\n' >"$s/merged/data/file-then-dir/inside"
  printf 'now a file\n' >"$s/merged/data/dir-then-file"
  printf 'c\n' >"$s/merged/data/hidden-dir/c"
  printf 'new in layer 3\n' >"$s/merged/data/opaque/new"
  printf 'linked in 3\n' >"$s/merged/data/hardlink-c"
  ln "$s/merged/data/hardlink-c" "$s/merged/data/hardlink-d"

  local layers=()
  for l in l1 l2 l3 l4; do
    settle_layer "$s/$l"
    tar_layer "$s/$l" "$s/$l.tar"
    layers+=(--layer "$s/$l.tar:gzip")
  done
  settle_layer "$s/merged"
  oci image "$out/oci" --tag latest --platform "$platform" --config "$images_dir/configs/busybox.json" "${layers[@]}" >/dev/null
  node "$images_dir/lib/listing.mjs" "$s/merged" >"$out/expected.txt"
}
