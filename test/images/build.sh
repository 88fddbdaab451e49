#!/usr/bin/env bash
# build.sh [NAME...] — builds the test images into their cache, test/.work/images/NAME/
# (TS_IMAGE_CACHE overrides the parent directory), and prints each one's directory. Without
# a NAME it builds them all: busybox multiarch layers debian bench archives. What each
# contains is written at the top of its recipe, test/images/recipes/NAME.sh, and in
# test/images/README.md.
#
# A recipe is built once per machine and again only when its recipe changes: its key is the
# sha256 of this script, lib/tree.sh and lib/oci-layout.mjs (what every recipe uses), the
# recipe, the recipe's `inputs` (e.g. the busybox binary, other lib files it runs) and the keys
# of the recipes it `needs`; test/.work/images/NAME/.recipe holds the key of the
# build that is there. Safe to run concurrently: one builder per image at a time (flock on
# test/.work/images/.NAME.lock), each build in a temporary directory beside the cache that is
# renamed into place when complete, so a reader never sees half an image, and removed when
# the build fails or is interrupted (or, after a kill -9, by the next build of that image).
#
# A recipe file defines `inputs` (prints what identifies its inputs besides its own text),
# `build OUT SCRATCH` (writes the image into the empty directory OUT; SCRATCH is removed
# afterwards) and optionally `needs` (a list of recipes built first). Needs root (device
# nodes, file owners, capabilities) and, for some recipes, Debian's mirror.
set -euo pipefail
trap 'exit 130' INT TERM HUP

images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$images_dir/../.." && pwd)
cache=${TS_IMAGE_CACHE:-$repo/test/.work/images}
all_recipes=(busybox multiarch layers debian bench archives)
# shellcheck source=test/images/lib/tree.sh
. "$images_dir/lib/tree.sh"

say() { echo "build.sh: $*" >&2; }

recipe_file() {
  local file=$images_dir/recipes/$1.sh
  [ -f "$file" ] || { say "no recipe '$1' (one of: ${all_recipes[*]})"; return 1; }
  echo "$file"
}

# key NAME: the sha256 that identifies what NAME's build would be.
key() {
  local file
  file=$(recipe_file "$1")
  (
    needs=()
    # shellcheck source=/dev/null
    . "$file"
    cat "${BASH_SOURCE[0]}" "$images_dir/lib/tree.sh" "$images_dir/lib/oci-layout.mjs" "$file"
    inputs
    for dep in "${needs[@]}"; do echo "needs $dep $(key "$dep")"; done
  ) | sha256sum | cut -d' ' -f1
}

# build_one NAME: builds NAME unless the cache holds a build of the same key.
build_one() {
  local name=$1 file k dest lock tmp scratch old started
  file=$(recipe_file "$name")
  dest=$cache/$name
  k=$(key "$name")
  [ "$(cat "$dest/.recipe" 2>/dev/null)" = "$k" ] && return 0
  (
    trap 'exit 130' INT TERM HUP
    needs=()
    # shellcheck source=/dev/null
    . "$file"
    for dep in "${needs[@]}"; do build_one "$dep"; done
    mkdir -p "$cache"
    exec {lock}>"$cache/.$name.lock"
    flock "$lock"
    # Another builder may have finished while this one waited.
    [ "$(cat "$dest/.recipe" 2>/dev/null)" = "$k" ] && exit 0
    # What a builder killed outright left (only a lock holder builds, and we hold it).
    rm -rf "$cache/.$name".tmp.* "$cache/.$name".scratch.* "$cache/.$name".old.*
    tmp=$(mktemp -d "$cache/.$name.tmp.XXXXXX")
    scratch=$(mktemp -d "$cache/.$name.scratch.XXXXXX")
    trap 'rm -rf "$tmp" "$scratch"' EXIT
    chmod 0755 "$tmp"
    started=$SECONDS
    say "building $name (recipe $(basename "$file"))"
    build "$tmp" "$scratch"
    echo "$k" >"$tmp/.recipe"
    if [ -e "$dest" ]; then
      old=$(mktemp -d "$cache/.$name.old.XXXXXX")
      mv -T "$dest" "$old/image"
      mv -T "$tmp" "$dest"
      rm -rf "$old"
    else
      mv -T "$tmp" "$dest"
    fi
    say "built $name in $((SECONDS - started)) s: $dest"
  )
}

[ "$(id -u)" -eq 0 ] || { say "run as root: the images hold files of other owners, device nodes and capabilities"; exit 1; }
[ $# -gt 0 ] || set -- "${all_recipes[@]}"
for name in "$@"; do build_one "$name"; done
for name in "$@"; do echo "$cache/$name"; done
