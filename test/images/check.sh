#!/usr/bin/env bash
# check.sh — the images smoke tier: proves the image fixtures that the images tests and the pull
# benchmark use. It builds every image (test/images/build.sh; cached), checks what each recipe
# says it contains, starts a plain-HTTP registry and one with TLS (a CA of its own) and
# htpasswd authentication, pushes every image to them (OCI, Docker schema 2 and a manifest
# list), pulls each back with skopeo (digests checked) and with podman into a private store
# (configs inspected, the layered image's unpacked tree compared with its expected listing, two
# containers run with runc), loads every archive into podman, and checks the error cases: no
# CA, no credentials, and the faulty proxy's corrupt blob, 500 and hang. Last, that no registry,
# proxy, scratch directory or cgroup of its own is left.
#
# Prints TAP, `# pass/fail/skip N` and `N passed, N failed`; as root. With a warm image cache
# about 80 s on a 2-core machine under a load of 20 (less when idle); the first build adds 2 to
# 8 minutes, most of it mmdebstrap downloading from Debian's mirror.
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=test/lib/tap.sh
. test/lib/tap.sh

[ "$(id -u)" -eq 0 ] || skipped "the images tier builds images with files of other owners and device nodes: run it as root"
missing=""
for tool in docker-registry:docker-registry skopeo:skopeo podman:podman runc:runc mmdebstrap:mmdebstrap openssl:openssl \
  htpasswd:apache2-utils curl:curl zstd:zstd setfattr:attr getfattr:attr setcap:libcap2-bin node:nodejs; do
  command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool#*:}"
done
[ -z "$missing" ] || skipped "not installed:$missing (apt-get install$missing)"

# The whole tier in one isolate.sh namespace: skopeo and podman need no namespace each, and
# the mounts of podman's overlay store are visible to the checks and end with the tier.
[ -n "${TS_ISOLATED:-}" ] || exec test/images/isolate.sh bash "${BASH_SOURCE[0]}" "$@"

# shellcheck source=test/images/fixtures.sh
. test/images/fixtures.sh
work=$(mktemp -d /tmp/tsimages.XXXXXX)
export TMPDIR=$work
cgroup_parent=/tsimages-$$
cleaned=false
cleanup() {
  $cleaned && return
  cleaned=true
  fixtures_cleanup
  remove_cgroups
  # podman's overlay store mounts (in this namespace only), deepest first.
  awk -v w="$work" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

cgroup_dirs() {
  local root
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then root=/sys/fs/cgroup; else root="/sys/fs/cgroup/*"; fi
  # shellcheck disable=SC2086 # the glob is the point
  find $root -maxdepth 1 -type d -name "${cgroup_parent#/}" 2>/dev/null
}
remove_cgroups() {
  local d
  for d in $(cgroup_dirs); do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
}

# json FILE EXPR: the JSON value of EXPR (a JavaScript property path such as .config.User) in FILE.
json() {
  node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    process.stdout.write(JSON.stringify(new Function("d", "return d" + process.argv[2])(d)) + "\n")' "$1" "$2"
}

# section TITLE: a TAP comment with the time since the start.
section() { echo "# $1 (at $SECONDS s)"; }

# expect WHAT WANT GOT: ok when GOT is WANT.
expect() {
  if [ "$3" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2" "got:  $3"; fi
}

section "1. the images build"
for recipe in busybox multiarch layers debian bench archives; do
  started=$SECONDS
  if out=$(bash test/images/build.sh "$recipe" 2>&1); then
    ok "build.sh $recipe ($((SECONDS - started)) s)"
  else
    not_ok "build.sh $recipe" "$out"
  fi
done
cache=$fixtures_cache
arch=$(dpkg --print-architecture)

section "2. they hold what their recipes say"
skopeo_isolated inspect --config "$(image_source busybox:configured)" >"$work/configured.json"
expect "busybox:configured: User, WorkingDir, StopSignal" '"tester" "/srv/app" "SIGUSR1"' \
  "$(json "$work/configured.json" .config.User) $(json "$work/configured.json" .config.WorkingDir) $(json "$work/configured.json" .config.StopSignal)"
expect "busybox:configured: Entrypoint and ExposedPorts" '["/usr/local/bin/entrypoint"] ["5353/udp","8080/tcp"]' \
  "$(json "$work/configured.json" .config.Entrypoint) $(json "$work/configured.json" '.config.ExposedPorts && Object.keys(d.config.ExposedPorts).sort()')"
skopeo_isolated inspect --raw "$(image_source busybox:zstd)" >"$work/zstd.json"
skopeo_isolated inspect --raw "$(image_source busybox:uncompressed)" >"$work/uncompressed.json"
expect "busybox:zstd and busybox:uncompressed: their layers' media types" \
  '"application/vnd.oci.image.layer.v1.tar+zstd" "application/vnd.oci.image.layer.v1.tar"' \
  "$(json "$work/zstd.json" '.layers[0].mediaType') $(json "$work/uncompressed.json" '.layers[0].mediaType')"
skopeo_isolated inspect --raw "$(image_source multiarch)" >"$work/index.json"
expect "multiarch: an index of linux/amd64 and linux/arm64/v8" '["linux/amd64","linux/arm64/v8"]' \
  "$(json "$work/index.json" '.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join("/"))')"
skopeo_isolated inspect --raw "$(image_source layers)" >"$work/layers.json"
skopeo_isolated inspect --raw "$(image_source busybox)" >"$work/busybox.json"
expect "layers: four layers, the first busybox's" "4 $(json "$work/busybox.json" '.layers[0].digest')" \
  "$(json "$work/layers.json" .layers.length) $(json "$work/layers.json" '.layers[0].digest')"
files=$(cat "$cache/debian/files.txt")
if [ "$files" -ge 9000 ] && [ "$files" -le 12000 ] && grep -q '^bash ' "$cache/debian/packages.txt" &&
  grep -q '^apt ' "$cache/debian/packages.txt"; then
  ok "debian: one layer of $files entries with bash and apt"
else
  not_ok "debian: one layer of about 10,000 entries with bash and apt" "$files entries; packages: $(wc -l <"$cache/debian/packages.txt")"
fi
skopeo_isolated inspect --raw "$(image_source bench)" >"$work/bench.json"
bench_bytes=$(awk '{s += $5} END {print s}' "$cache/bench/layers.txt")
if [ "$(json "$work/bench.json" .layers.length)" = 5 ] && [ "$bench_bytes" -ge 200000000 ]; then
  ok "bench: 5 layers, $((bench_bytes / 1000000)) MB of files"
else
  not_ok "bench: 5 layers, about 200 MB" "$(cat "$cache/bench/layers.txt")"
fi

section "3. registries"
if registry_start; then
  plain=$REGISTRY_HOST plain_url=$REGISTRY_URL
  expect "a plain-HTTP registry answers /v2/ on $plain" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$plain_url/v2/")"
else
  not_ok "a plain-HTTP registry starts"
  finish
fi
if registry_start --tls --auth; then
  secure=$REGISTRY_HOST secure_url=$REGISTRY_URL secure_ca=$REGISTRY_CA
  expect "a TLS registry with htpasswd answers 401 without credentials" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$secure_ca" "$secure_url/v2/")"
  expect "... and 200 with them" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$secure_ca" -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "$secure_url/v2/")"
  if curl -s -o /dev/null "$secure_url/v2/" 2>/dev/null; then not_ok "its certificate is not trusted without the test CA"
  else ok "its certificate is not trusted without the test CA"; fi
else
  not_ok "a TLS registry with htpasswd starts"
  finish
fi

section "4. pushes"
# key REF: a file name for REF.
key() { echo "$1" | tr '/:' '__'; }
# ref HOST IMAGE [TAG]: HOST/tests/NAME:TAG for IMAGE = NAME[:TAG].
ref() {
  local name=${2%%:*} tag=latest
  [[ $2 == *:* ]] && tag=${2#*:}
  echo "$1/tests/$name:${3:-$tag}"
}
mkdir -p "$work/digests"
pushed=()
# push IMAGE REF [ARG...]: one check; REF's pushed digest in $work/digests.
push() {
  local image=$1 ref=$2 out
  shift 2
  if out=$(image_push "$image" "$ref" --digestfile "$work/digests/$(key "$ref")" "$@" 2>&1); then
    ok "push $image to $ref${*:+ ($*)}"
    pushed+=("$ref")
  else
    not_ok "push $image to $ref${*:+ ($*)}" "$out"
  fi
}
for image in busybox busybox:configured busybox:zstd busybox:uncompressed multiarch layers debian bench; do
  push "$image" "$(ref "$plain" "$image")"
done
push busybox "$(ref "$plain" busybox v2s2)" --format v2s2
push multiarch "$(ref "$plain" multiarch v2s2)" --format v2s2
for image in busybox:configured multiarch layers debian; do
  push "$image" "$(ref "$secure" "$image")"
done

section "5. skopeo pulls them back"
mapfile -t plain_flags < <(registry_flags skopeo "$plain")
skopeo_isolated inspect --raw "${plain_flags[@]}" "docker://$(ref "$plain" multiarch v2s2)" >"$work/list.json"
expect "multiarch:v2s2 is a Docker manifest list" '"application/vnd.docker.distribution.manifest.list.v2+json"' \
  "$(json "$work/list.json" .mediaType)"
skopeo_isolated inspect --raw "${plain_flags[@]}" "docker://$(ref "$plain" busybox v2s2)" >"$work/v2s2.json"
expect "busybox:v2s2 is a Docker schema 2 manifest" '"application/vnd.docker.distribution.manifest.v2+json"' \
  "$(json "$work/v2s2.json" .mediaType)"
for r in "${pushed[@]}"; do
  mapfile -t src < <(registry_flags src "${r%%/*}")
  mapfile -t flags < <(registry_flags skopeo "${r%%/*}")
  want=$(cat "$work/digests/$(key "$r")")
  got=sha256:$(skopeo_isolated inspect --raw "${flags[@]}" "docker://$r" | sha256sum | cut -d' ' -f1)
  # The bench image's blobs are read back by the pull benchmark; here only its manifest.
  if [[ $r == */bench:* ]]; then
    expect "the registry serves $r's manifest as pushed" "$want" "$got"
    continue
  fi
  dest=$work/pulled-$(key "$r")
  if out=$(skopeo_isolated copy -q --all "${src[@]}" "docker://$r" "oci:$dest:x" 2>&1); then
    expect "skopeo pulls $r (every blob verified), the manifest that was pushed" "$want" "$got"
  else
    not_ok "skopeo pulls $r" "$out"
  fi
  rm -rf "$dest"
done

section "6. podman pulls them into a private overlay store"
podman_private "$work/p" overlay
p=$work/p/podman
# pull REF [ARG...]: podman pull with REF's registry's flags and ARGs; prints the image id.
pull() {
  local flags
  mapfile -t flags < <(registry_flags podman "${1%%/*}")
  "$p" pull -q "${flags[@]}" "${@:2}" "$1"
}
inspect() { "$p" image inspect --format "$2" "$1" 2>&1; }

for r in "$(ref "$plain" busybox:configured)" "$(ref "$secure" busybox:configured)"; do
  if out=$(pull "$r" 2>&1); then
    expect "podman pulls $r: its config" 'tester /srv/app [/usr/local/bin/entrypoint] SIGUSR1 busybox-configured' \
      "$(inspect "$r" '{{.Config.User}} {{.Config.WorkingDir}} {{.Config.Entrypoint}} {{.Config.StopSignal}} {{index .Config.Labels "org.tscontainer.test.fixture"}}')"
  else
    not_ok "podman pulls $r" "$out"
  fi
done
for r in "$(ref "$plain" multiarch)" "$(ref "$plain" multiarch v2s2)" "$(ref "$secure" multiarch)"; do
  if out=$(pull "$r" 2>&1); then expect "podman pulls $r: the $arch image" "$arch" "$(inspect "$r" '{{.Architecture}}')"
  else not_ok "podman pulls $r" "$out"; fi
done
r=$(ref "$plain" multiarch)
if out=$(pull "$r" --arch arm64 2>&1); then
  expect "podman pulls $r for arm64: the arm64 image" arm64 "$(inspect "$r" '{{.Architecture}}')"
else
  not_ok "podman pulls $r for arm64" "$out"
fi
for image in busybox:zstd busybox:uncompressed busybox:v2s2; do
  r=$(ref "$plain" "$image")
  if out=$(pull "$r" 2>&1); then ok "podman pulls $r"; else not_ok "podman pulls $r" "$out"; fi
done
for r in "$(ref "$plain" layers)" "$(ref "$secure" layers)"; do
  if out=$(pull "$r" 2>&1) && dir=$("$p" image mount "$r" 2>&1); then
    node test/images/lib/listing.mjs "$dir" >"$work/unpacked.txt"
    "$p" image unmount "$r" >/dev/null 2>&1
    if diff_out=$(diff "$cache/layers/expected.txt" "$work/unpacked.txt"); then
      ok "podman unpacks $r into exactly layers/expected.txt ($(wc -l <"$work/unpacked.txt") entries)"
    else
      not_ok "podman unpacks $r into exactly layers/expected.txt" "$diff_out"
    fi
  else
    not_ok "podman pulls and mounts $r" "$out" "${dir:-}"
  fi
done

# run IMAGE CMD...: a container through podman with runc, in our own cgroup parent.
run() { "$p" --runtime runc run --rm --network none --cgroup-parent "$cgroup_parent" "$@" 2>&1; }
expect "podman runs busybox:configured: its Entrypoint, Cmd, User (and group), WorkingDir and Env" \
  "ran tester 1000 50 /srv/app hello from the image" "$(run "$(ref "$plain" busybox:configured)")"
r=$(ref "$secure" debian)
if out=$(pull "$r" 2>&1); then
  # shellcheck disable=SC2016 # expanded in the container
  expect "podman pulls $r and runs bash and apt in it, as root" "12 root apt" \
    "$(run "$r" bash -c 'echo "$(cut -d. -f1 /etc/debian_version) $(id -un) $(apt-get --version | cut -d" " -f1 | head -n 1)"')"
else
  not_ok "podman pulls $r" "$out"
fi

section "7. archives load"
for archive in busybox.docker-archive.tar busybox.oci-archive.tar podman-save.docker-archive.tar \
  podman-save.oci-archive.tar; do
  if out=$("$p" load -i "$(image_archive "$archive")" 2>&1); then
    ok "podman loads $archive: $(grep '^Loaded image' <<<"$out" | tr '\n' ' ')"
  else
    not_ok "podman loads $archive" "$out"
  fi
done

# podman 4.3 names an OCI directory it loads after its path, which test/.work cannot be.
skopeo_isolated inspect --config "oci:$(image_archive podman-save.oci-dir):localhost/tsfixture/busybox:configured" >"$work/oci-dir.json"
expect "podman-save.oci-dir is an OCI layout of busybox:configured" '"tester"' "$(json "$work/oci-dir.json" .config.User)"

section "8. what must fail fails"
r=$(ref "$secure" busybox:configured)
if out=$(skopeo_isolated inspect --creds "$REGISTRY_USER:$REGISTRY_PASSWORD" "docker://$r" 2>&1); then
  not_ok "the TLS registry is refused without its CA" "$out"
else
  expect "the TLS registry is refused without its CA" 1 "$(grep -c 'certificate signed by unknown authority' <<<"$out")"
fi
if out=$(skopeo_isolated inspect --cert-dir "$REGISTRY_CERT_DIR" "docker://$r" 2>&1); then
  not_ok "the registry with htpasswd refuses a pull without credentials" "$out"
else
  expect "the registry with htpasswd refuses a pull without credentials" 1 "$(grep -ci 'unauthorized\|authentication required' <<<"$out")"
fi
# proxied FAULT EXPECTED_ERROR_PATTERN: a pull of busybox through the faulty proxy fails so.
proxied() {
  local fault=$1 pattern=$2 out
  if ! faulty_proxy_start "$plain_url" --fault "$fault"; then not_ok "faulty proxy ($fault) starts"; return; fi
  if out=$(skopeo_isolated --command-timeout 3s copy -q --src-tls-verify=false \
    "docker://$PROXY_HOST/tests/busybox:latest" "oci:$work/faulty:x" 2>&1); then
    not_ok "a pull through the faulty proxy ($fault) fails" "$out"
  elif grep -q "$pattern" <<<"$out"; then
    ok "a pull through the faulty proxy ($fault) fails: $(grep -o "$pattern" <<<"$out" | head -n 1)"
  else
    not_ok "a pull through the faulty proxy ($fault) fails with '$pattern'" "$out"
  fi
  faulty_proxy_stop
  rm -rf "$work/faulty"
}
proxied 'corrupt@GET /v2/.*/blobs/' 'Digest did not match'
proxied 'status=500@/manifests/' '500 Internal Server Error'
proxied 'hang@/blobs/' 'context deadline exceeded'
proxied 'truncate@GET /v2/.*/blobs/' 'unexpected EOF'

section "9. nothing left"
dirs=("${fixtures_registry_dirs[@]}")
pids=()
for d in "${dirs[@]}"; do pids+=("$(fixtures_env_value "$d" PID)"); done
cleanup
left=""
for d in "${dirs[@]}"; do [ ! -e "$d" ] || left="$left directory $d;"; done
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left="$left registry process $pid;"; done
[ -z "$(pgrep -f "faulty-proxy.mjs --upstream $plain_url" || true)" ] || left="$left faulty proxy;"
[ ! -e "$work" ] || left="$left $work;"
[ -z "$(cgroup_dirs)" ] || left="$left cgroups $(cgroup_dirs | tr '\n' ' ');"
if [ -z "$left" ]; then ok "no registry, proxy, scratch directory or cgroup is left"; else not_ok "nothing is left" "$left"; fi
finish
