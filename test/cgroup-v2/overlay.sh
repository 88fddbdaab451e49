# shellcheck shell=bash disable=SC2154,SC2034,SC2016
# (variables come from checks.sh and env.sh, and the check conditions are eval'd later)
# overlay.sh — sourced by checks.sh inside the VM, whose kernel is Debian 12's stock one (6.1):
# container roots that are overlays where the kernel has no `lowerdir+` (Linux 6.8), so the
# runtime mounts them with mount(2) — the options as given when they fit in a page, else the
# layers relative to their common parent. The host (6.8+) tests the mount API's path in
# test/runtime/overlay-root.test.ts. Defines overlay_checks; uses checks.sh's capture,
# expect_clean and leftovers, and env.sh's RUNTIME and ROOTFS.
#
# Everything lives on a tmpfs (the VM's own root is an overlay, which cannot hold an upper
# directory): a copy of the fixture as the bottom layer, a top layer with a whiteout, an
# opaque directory and a replaced file, and an upper and work directory per container.

# overlay_bundle DIR LOWERS SCRIPT: a bundle in DIR whose first mount is the overlay of LOWERS
# (colon-separated, uppermost first) with DIR/upper and DIR/work, over an empty DIR/rootfs.
overlay_bundle() {
  local dir=$1 lowers=$2 script=$3
  mkdir -p "$dir/upper" "$dir/work" "$dir/rootfs"
  "$RUNTIME" spec --bundle "$dir" &&
    jq --arg lowers "$lowers" --arg dir "$dir" --arg script "$script" '
      .process.terminal = false | .process.args = ["sh", "-c", $script]
      | .root = {path: "\($dir)/rootfs", readonly: false}
      | .mounts = [{destination: "/", type: "overlay", source: "overlay",
          options: ["lowerdir=\($lowers)", "upperdir=\($dir)/upper", "workdir=\($dir)/work"]}] + .mounts' \
      "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# Prints the overlays in this mount table made of directories under $1, and what of
# container $2 remains.
overlay_left() {
  grep -F " - overlay " /proc/self/mountinfo | grep -F "$1" | sed 's/^/overlay mount /'
  leftovers "$2" "$2"
}

overlay_checks() {
  local base=/tmp/v2-overlay kernel
  kernel=$(uname -r)
  if [ "$(printf '%s\n' "$kernel" 6.8 | sort -V | head -n 1)" = 6.8 ]; then
    skip "overlay roots through mount(2)" "Linux $kernel takes lowerdir+ (the mount API); the host tier tests that path"
    return
  fi
  mkdir -p "$base"
  if ! mount -t tmpfs -o size=64m tmpfs "$base"; then
    not_ok "overlay: a tmpfs for the layers" "cannot mount a tmpfs at $base"
    return
  fi
  cp -a "$ROOTFS" "$base/fixture"
  mkdir -p "$base/top/etc" "$base/top/home/newcomer"
  mknod "$base/top/etc/group" c 0 0
  setfattr -n trusted.overlay.opaque -v y "$base/top/home"
  printf 'root:x:0:0:root:/root:/bin/sh\nlayer:x:2000:2000::/:/bin/sh\n' >"$base/top/etc/passwd"
  echo 'from the top layer' >"$base/top/layer-marker"
  local union='echo "group: $(test -e /etc/group && echo present || echo gone)"; echo "home: $(ls /home)"
    echo "users: $(cut -d: -f1 /etc/passwd | tr "\n" " ")"; cat /layer-marker; grep " / / " /proc/self/mountinfo | grep -c lowerdir='
  local seen=$'group: gone\nhome: newcomer\nusers: root layer \nfrom the top layer\n1'

  overlay_bundle "$base/short" "$base/top:$base/fixture" "$union; echo written >/new-file; rm /bin/vi"
  id=v2-overlay-short-$$
  capture "$RUNTIME" --root "$state" run --bundle "$base/short" "$id"
  expect_clean "overlay on Linux $kernel: through mount(2), the container sees the union (whiteout, opaque directory, replaced file)" \
    '[ $code = 0 ] && [ "$out" = "$seen" ]' overlay_left "$base" "$id"
  expect_clean "overlay on Linux $kernel: writes and whiteouts land in the upper directory, the layers stay unchanged" \
    '[ "$(cat "$base/short/upper/new-file")" = written ] && [ "$(stat -c "%F %t:%T" "$base/short/upper/bin/vi")" = "character special file 0:0" ] &&
     [ -e "$base/fixture/bin/vi" ] && [ ! -e "$base/top/new-file" ] && [ -z "$(ls -A "$base/short/rootfs")" ]' overlay_left "$base" "$id"

  # 120 layers under one long parent (the top layer and the fixture copied there too): the
  # options as given pass a page, relative to the parent they fit. Then 60 of them each under
  # a long directory of its own: only descriptors fit.
  local long i
  long=$(printf 'x%.0s' $(seq 1 100))
  local parent=$base/layers-$long lowers='' scattered=''
  mkdir -p "$parent" && cp -a "$base/top" "$base/fixture" "$parent/"
  for i in $(seq 0 119); do
    mkdir -p "$parent/$i/layers"
    echo "layer $i" >"$parent/$i/layers/$i"
    echo "layer $i is on top" >"$parent/$i/stack-top"
    lowers+="$parent/$i:"
    if [ "$i" -lt 60 ]; then
      mkdir -p "$base/$i-$long" && cp -a "$parent/$i" "$base/$i-$long/layer"
      scattered+="$base/$i-$long/layer:"
    fi
  done
  # What the container sees, and the first layer's name in its mount table.
  local show='cat /stack-top; ls /layers | wc -l; tail -n 1 /etc/passwd
    grep " / / " /proc/self/mountinfo | sed "s/.*lowerdir=\([^:,]*\).*/\1/"'
  local form count named length
  for form in relative descriptors; do
    if [ $form = relative ]; then
      count=120 named=0
      overlay_bundle "$base/$form" "$lowers$parent/top:$parent/fixture" "$show"
    else
      count=60 named=/proc/self/fd/
      overlay_bundle "$base/$form" "$scattered$base/top:$base/fixture" "$show"
    fi
    length=$(jq -r '.mounts[0].options | join(",") | length' "$base/$form/config.json")
    id=v2-overlay-$form-$$
    capture "$RUNTIME" --root "$state" run --bundle "$base/$form" "$id"
    expect_clean "overlay on Linux $kernel: $((count + 2)) layers in $length bytes of options, the layers named $form" \
      '[ $code = 0 ] && [ "$length" -gt 4096 ] && [[ $(sed -n 4p <<<"$out") == "$named"* ]] &&
       [ "$(head -n 3 <<<"$out")" = "$(printf "layer 0 is on top\n%s\nlayer:x:2000:2000::/:/bin/sh" $count)" ]' \
      overlay_left "$base" "$id"
  done

  umount "$base" && rmdir "$base"
}
