# shellcheck shell=bash disable=SC2154 # images_dir is the caller's
# podman.sh — sourced: podman and skopeo that keep to directories of their own.
#   podman_private DIR [vfs|overlay]
#       Writes DIR/podman: podman with its storage (DIR/root, DIR/runroot; driver vfs by default,
#       which mounts nothing), libpod tmp dir, network config, containers.conf and
#       registries.conf (no search registries, no mirrors) all in DIR, --cgroup-manager=cgroupfs,
#       events to a file, an empty auth file unless REGISTRY_AUTH_FILE is set, run through
#       isolate.sh (so what podman writes in /run and /var/lib anyway goes away with it).
#       Remove DIR with `rm -rf` when done: every mount is in isolate.sh's namespace. DIR must
#       be short (mktemp -d /tmp/tspodman.XXXXXX): podman refuses a run root over 50 characters.
#   skopeo_isolated ARG...
#       skopeo through isolate.sh, with registries.conf of its own (DIR-less: a file in $TMPDIR
#       removed on return) and an empty auth file unless REGISTRY_AUTH_FILE is set.
# Needs $images_dir (test/images).

podman_private() {
  local dir=$1 driver=${2:-vfs}
  mkdir -p "$dir/tmp"
  dir=$(cd "$dir" && pwd)
  if [ ${#dir} -gt 40 ]; then
    echo "podman_private: $dir is too long for podman's run root (50 characters at most): use mktemp -d /tmp/tspodman.XXXXXX" >&2
    return 1
  fi
  # The machine's hard RLIMIT_NOFILE may be below podman's default of 1048576 for containers.
  printf '%s\n' '[containers]' 'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]' \
    '[engine]' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' \
    "tmp_dir = \"$dir/tmp\"" "volume_path = \"$dir/volumes\"" "image_copy_tmp_dir = \"$dir/tmp\"" \
    '[network]' "network_config_dir = \"$dir/networks\"" >"$dir/containers.conf"
  printf '%s\n' '[storage]' "driver = \"$driver\"" "graphroot = \"$dir/root\"" "runroot = \"$dir/runroot\"" >"$dir/storage.conf"
  echo 'unqualified-search-registries = []' >"$dir/registries.conf"
  echo '{"auths":{}}' >"$dir/auth.json"
  cat >"$dir/podman" <<EOF
#!/bin/sh
# podman confined to $dir (test/images/lib/podman.sh)
export CONTAINERS_CONF='$dir/containers.conf' CONTAINERS_STORAGE_CONF='$dir/storage.conf'
export CONTAINERS_REGISTRIES_CONF='$dir/registries.conf' REGISTRY_AUTH_FILE="\${REGISTRY_AUTH_FILE:-$dir/auth.json}"
export TMPDIR='$dir/tmp'
set -- podman --root '$dir/root' --runroot '$dir/runroot' --storage-driver '$driver' \\
  --cgroup-manager=cgroupfs --events-backend=file --tmpdir '$dir/tmp' --network-config-dir '$dir/networks' "\$@"
# Already isolated (TS_ISOLATED, test/images/isolate.sh): no second namespace.
[ -n "\${TS_ISOLATED:-}" ] || set -- '$images_dir/isolate.sh' "\$@"
exec "\$@"
EOF
  chmod 0755 "$dir/podman"
}

skopeo_isolated() {
  local conf status=0
  conf=$(mktemp -d "${TMPDIR:-/tmp}/tsskopeo.XXXXXX")
  echo 'unqualified-search-registries = []' >"$conf/registries.conf"
  echo '{"auths":{}}' >"$conf/auth.json"
  REGISTRY_AUTH_FILE=${REGISTRY_AUTH_FILE:-$conf/auth.json} \
    "$images_dir/isolate.sh" skopeo --registries-conf "$conf/registries.conf" "$@" || status=$?
  rm -rf "$conf"
  return "$status"
}
