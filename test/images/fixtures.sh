# shellcheck shell=bash
# fixtures.sh — test images and registries for the shell tiers. Source it (bash), and call
# fixtures_cleanup from the tier's EXIT trap:
#
#   . "$repo/test/images/fixtures.sh"
#   trap fixtures_cleanup EXIT
#   registry_start --tls --auth                   # sets REGISTRY_HOST, REGISTRY_CERT_DIR, ...
#   image_push busybox:configured "$REGISTRY_HOST/tests/busybox:configured"
#   p=$(mktemp -d /tmp/tspodman.XXXXXX); podman_private "$p"     # remove $p when done
#   mapfile -t flags < <(registry_flags podman "$REGISTRY_HOST")
#   "$p/podman" pull "${flags[@]}" "$REGISTRY_HOST/tests/busybox:configured"
#
# Images (test/images/README.md says what each holds; test/images/build.sh builds them):
#   images_build NAME...            builds recipes (cached; a recipe already built costs ~30 ms)
#   image_layout NAME               the OCI layout directory of recipe NAME, built when needed
#   image_source IMAGE              `oci:LAYOUT:TAG` for IMAGE = NAME[:TAG] (TAG defaults to latest),
#                                   the form skopeo and podman read
#   image_archive FILE              the path of FILE in the archives recipe (built when needed)
# Registries (test/images/registry.sh):
#   registry_start [--tls] [--auth] starts one, stopped when this shell exits however it ends,
#                                   and sets the REGISTRY_* variables registry.sh prints
#                                   (REGISTRY_HOST, REGISTRY_URL, REGISTRY_CA, REGISTRY_CERT_DIR,
#                                   REGISTRY_USER, REGISTRY_PASSWORD, REGISTRY_DIR, ...)
#   registry_stop [DIR]             stops one (default: the last started, $REGISTRY_DIR)
#   registry_flags TOOL HOST        the flags, one a line, with which TOOL reaches HOST: TOOL is
#                                   src or dest (skopeo copy's sides), skopeo (inspect), podman
#                                   (pull/push) or ctr (images pull). For a registry started
#                                   here: its CA or plain HTTP, and its credentials.
#   image_push IMAGE REF [ARG...]   skopeo copy of IMAGE to docker://REF with REF's registry's
#                                   flags (--all when IMAGE is an index); ARGs go to skopeo copy
#                                   (--format v2s2, --dest-compress-format zstd, ...)
#   faulty_proxy_start UPSTREAM_URL FAULT...
#                                   test/images/faulty-proxy.mjs in front of a plain-HTTP
#                                   registry; sets PROXY_HOST, PROXY_URL, PROXY_PID
#   faulty_proxy_stop [PID]
# podman and skopeo that leave nothing on the machine (lib/podman.sh):
#   podman_private DIR [vfs|overlay], skopeo_isolated ARG...
#   fixtures_cleanup                stops every registry and proxy started here
# It defines images_dir (test/images) and variables and functions named fixtures_*.

fixtures_images_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
images_dir=$fixtures_images_dir
# shellcheck source=test/images/lib/podman.sh
. "$fixtures_images_dir/lib/podman.sh"
fixtures_cache=${TS_IMAGE_CACHE:-$(cd "$fixtures_images_dir/../.." && pwd)/test/.work/images}
declare -A fixtures_registry_dirs=()
declare -a fixtures_proxy_pids=()

images_build() { bash "$fixtures_images_dir/build.sh" "$@" >/dev/null; }

image_layout() {
  images_build "$1" || return 1
  echo "$fixtures_cache/$1/oci"
}

image_source() {
  local name=${1%%:*} tag=latest layout
  [[ $1 == *:* ]] && tag=${1#*:}
  layout=$(image_layout "$name") || return 1
  echo "oci:$layout:$tag"
}

image_archive() {
  images_build archives || return 1
  [ -e "$fixtures_cache/archives/$1" ] || { echo "fixtures.sh: no archive $1 in $fixtures_cache/archives" >&2; return 1; }
  echo "$fixtures_cache/archives/$1"
}

# fixtures_load_env DIR: sets the REGISTRY_* variables from DIR/env.
fixtures_load_env() {
  local key value
  while IFS='=' read -r key value; do
    [[ $key == REGISTRY_* ]] && printf -v "$key" '%s' "$value"
  done <"$1/env"
}

# fixtures_env_value DIR KEY: REGISTRY_KEY of the registry in DIR.
fixtures_env_value() { sed -n "s/^REGISTRY_$2=//p" "$1/env"; }

registry_start() {
  local out
  out=$(bash "$fixtures_images_dir/registry.sh" start --owner "$$" "$@") || return 1
  fixtures_load_env "$(sed -n 's/^REGISTRY_DIR=//p' <<<"$out")"
  fixtures_registry_dirs[$REGISTRY_HOST]=$REGISTRY_DIR
}

registry_stop() {
  local dir=${1:-${REGISTRY_DIR:-}} host
  [ -n "$dir" ] || return 0
  for host in "${!fixtures_registry_dirs[@]}"; do
    [ "${fixtures_registry_dirs[$host]}" = "$dir" ] && unset "fixtures_registry_dirs[$host]"
  done
  bash "$fixtures_images_dir/registry.sh" stop "$dir"
}

registry_flags() {
  local tool=$1 host=$2 dir tls=0 certdir="" creds=""
  dir=${fixtures_registry_dirs[$host]:-}
  if [ -n "$dir" ]; then
    tls=$(fixtures_env_value "$dir" TLS)
    certdir=$(fixtures_env_value "$dir" CERT_DIR)
    creds=$(fixtures_env_value "$dir" USER)
    [ -z "$creds" ] || creds=$creds:$(fixtures_env_value "$dir" PASSWORD)
  fi
  case $tool in
    src | dest)
      if [ "$tls" = 1 ]; then echo "--$tool-cert-dir=$certdir"; else echo "--$tool-tls-verify=false"; fi
      [ -z "$creds" ] || echo "--$tool-creds=$creds" ;;
    skopeo | podman)
      if [ "$tls" = 1 ]; then echo "--cert-dir=$certdir"; else echo "--tls-verify=false"; fi
      [ -z "$creds" ] || echo "--creds=$creds" ;;
    ctr)
      if [ "$tls" = 1 ]; then echo "--tlscacert=$certdir/ca.crt"; else echo "--plain-http"; fi
      [ -z "$creds" ] || echo "--user=$creds" ;;
    *) echo "registry_flags: unknown tool '$tool' (src, dest, skopeo, podman, ctr)" >&2; return 1 ;;
  esac
}

# fixtures_is_index SOURCE: whether `oci:LAYOUT:TAG` names an image index (lib/oci-layout.mjs
# writes index.json compactly, an index entry without a platform).
fixtures_is_index() {
  local rest=${1#oci:} layout tag
  layout=${rest%:*} tag=${rest##*:}
  grep -q "\"mediaType\":\"application/vnd.oci.image.index.v1+json\",[^}]*\"annotations\":{\"org.opencontainers.image.ref.name\":\"$tag\"}" \
    "$layout/index.json"
}

image_push() {
  local image=$1 ref=$2 source flags=()
  shift 2
  source=$(image_source "$image") || return 1
  mapfile -t flags < <(registry_flags dest "${ref%%/*}")
  fixtures_is_index "$source" && flags+=(--all)
  skopeo_isolated copy -q "${flags[@]}" "$@" "$source" "docker://$ref"
}

faulty_proxy_start() {
  local upstream=$1 out line
  shift
  out=$(mktemp "${TMPDIR:-/tmp}/tsproxy.XXXXXX")
  node "$fixtures_images_dir/faulty-proxy.mjs" --upstream "$upstream" --owner "$$" "$@" >"$out" 2>&1 &
  PROXY_PID=$!
  fixtures_proxy_pids+=("$PROXY_PID")
  for _ in $(seq 100); do
    line=$(grep -m1 '^listening on ' "$out" || true)
    [ -n "$line" ] && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$line" ]; then
    cat "$out" >&2
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
  PROXY_HOST=${line#listening on }
  # shellcheck disable=SC2034 # for the caller
  PROXY_URL=http://$PROXY_HOST
}

faulty_proxy_stop() {
  local pid=${1:-${PROXY_PID:-}}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  return 0
}

fixtures_cleanup() {
  local pid host
  for pid in "${fixtures_proxy_pids[@]}"; do faulty_proxy_stop "$pid"; done
  fixtures_proxy_pids=()
  for host in "${!fixtures_registry_dirs[@]}"; do registry_stop "${fixtures_registry_dirs[$host]}"; done
}
