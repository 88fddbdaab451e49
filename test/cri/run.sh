#!/usr/bin/env bash
# run.sh [GINKGO_FOCUS] — the Kubernetes tier: containerd's CRI plugin, as a Kubernetes node
# runs it, driven by critest (kubernetes-sigs/cri-tools' CRI validation suite), first with runc
# and then with tscontainer-runtime as the runc shim's BinaryName, selected per pod through a
# runtime handler (what a RuntimeClass names). The tier passes when no spec that passes with
# runc fails with tscontainer-runtime; it reports how many pass with each.
#
# Everything is private and local:
# - containerd 1.6 (Debian's) with its own root, state, sockets and config (work directory
#   $TMPDIR/tscri.*): the CRI plugin on, the cgroupfs driver, restrict_oom_score_adj (this
#   machine's bounding set lacks CAP_SYS_RESOURCE, without which every sandbox fails),
#   network namespaces under its state directory, two runtime handlers of type
#   io.containerd.runc.v2 — `runc` (BinaryName /usr/sbin/runc) and `tscontainer` (BinaryName
#   the runtime under test) — each with its own state root;
# - the images critest pulls from registry.k8s.io and gcr.io are stand-ins (images.sh) served
#   by Debian's docker-registry on 127.0.0.1, which per-host hosts.toml files (config_path)
#   name as the only server for those registries: nothing is fetched from the internet;
# - pods get a bridge of their own (CNI: bridge, host-local, portmap, loopback from
#   containernetworking-plugins) with no default route: traffic stays on this machine.
# critest (with the ginkgo command, which runs its specs in parallel, and crictl, which clears
# what a failed run leaves) is built once with Go from the module proxy (cri-tools
# CRI_TOOLS_VERSION; about a minute) into test/.work/cri-tools/VERSION, as the conformance tier
# caches runtime-tools.
#
# The script makes itself a child subreaper (the shims and the containers' processes are
# reparented to it) and at the end stops everything it started, removes every mount, network
# namespace, cgroup, link, iptables rule of the CNI plugins and directory it made, and checks
# that nothing remains. Prints TAP (one point per spec that passes with runc; the others as
# SKIP, with the reason), `# pass/fail/skip N` and `N passed, N failed`; `# SKIPPED: why`
# when it cannot run here (under CI a missing prerequisite is a failure).
#
# Environment: TSCONTAINER_RUNTIME_PATH (the runtime), CRI_CACHE (critest's cache directory),
# CRI_TIMEOUT (seconds per critest run, default 1200), CRI_PARALLEL (specs at once, 4),
# CRI_LOGS (a directory to keep containerd's log and both critest outputs and reports in), GO
# (the go binary).
# The leftover finders are called through verify:
# shellcheck disable=SC2317
set -u

# --- a subreaper ------------------------------------------------------------------------------
# shellcheck source=test/lib/subreaper.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/subreaper.sh"
become_subreaper TSCRI_REAPER "$0" "$@"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"

CRI_TOOLS_MODULE=sigs.k8s.io/cri-tools
# The proxy serves v1.34.0 and v1.37.0 (not v1.24.x, which containerd 1.6's own CI pins); a
# newer critest has specs containerd 1.6 fails whatever the runtime: the tier compares with runc.
CRI_TOOLS_VERSION=v1.34.0
cache=${CRI_CACHE:-$repo/test/.work/cri-tools}
critest=$cache/$CRI_TOOLS_VERSION/critest
timeout_s=${CRI_TIMEOUT:-1200}
# Specs at once: most of a spec's time is spent polling a container's state every 4 s.
parallel=${CRI_PARALLEL:-4}
focus=${1:-}
started=$SECONDS
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# --- prerequisites ----------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || skipped "the CRI tier runs containerd and containers: run it as root"
for tool in containerd containerd-shim-runc-v2 runc docker-registry skopeo umoci cc perl node ip iptables ss timeout file ipcmk ipcrm; do
  command -v "$tool" >/dev/null ||
    skipped "$tool is not installed (apt-get install containerd runc docker-registry skopeo umoci build-essential perl iproute2 iptables containernetworking-plugins busybox-static)"
done
cni_bin=/usr/lib/cni
for plugin in bridge host-local portmap loopback; do
  [ -x "$cni_bin/$plugin" ] || skipped "the CNI plugin $cni_bin/$plugin is missing (apt-get install containernetworking-plugins)"
done
runtime=${TSCONTAINER_RUNTIME_PATH:-}
if [ -z "$runtime" ]; then
  for candidate in native/tscontainer-runtime target/release/tscontainer-runtime \
    target/"$(uname -m)"-unknown-linux-gnu/release/tscontainer-runtime; do
    [ -x "$repo/$candidate" ] && { runtime=$repo/$candidate; break; }
  done
fi
if [ -z "$runtime" ] || [ ! -x "$runtime" ]; then
  not_ok "CRI tier: no tscontainer-runtime binary (npm run build:native, or set TSCONTAINER_RUNTIME_PATH)"
  finish
fi
runtime=$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")
runc_bin=$(command -v runc)

# --- critest, built once ------------------------------------------------------------------------
build_critest() {
  local tmp dir
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  (
    set -e
    dir=$("$go" mod download -json "$CRI_TOOLS_MODULE@$CRI_TOOLS_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then echo "go mod download gave no module directory" >&2; exit 1; fi
    cp -R "$dir" "$tmp/src"
    chmod -R u+w "$tmp/src"
    cd "$tmp/src"
    "$go" test -c -o "$tmp/critest" ./cmd/critest
    # critest runs its specs in parallel through the ginkgo command (the module's own);
    # crictl removes what a failed run leaves, through the CRI (network teardown included).
    "$go" build -o "$tmp/ginkgo" github.com/onsi/ginkgo/v2/ginkgo
    "$go" build -o "$tmp/crictl" ./cmd/crictl
  ) >"$tmp/build.log" 2>&1
  local status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$tmp/build.log" | sed 's/^/# build: /'
    rm -rf "$tmp"
    return "$status"
  fi
  mkdir -p "$(dirname "$critest")"
  mv -f "$tmp/ginkgo" "$tmp/crictl" "$(dirname "$critest")/"
  mv -f "$tmp/critest" "$critest"
  rm -rf "$tmp"
}
if [ ! -x "$critest" ] || [ ! -x "$(dirname "$critest")/ginkgo" ] || [ ! -x "$(dirname "$critest")/crictl" ]; then
  go=${GO:-$(command -v go || true)}
  [ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
  if [ -z "$go" ] || [ ! -x "$go" ]; then
    skipped "Go is not installed (${go:-no go on PATH or /usr/local/go/bin/go}); it builds critest"
  fi
  echo "# building critest ($CRI_TOOLS_MODULE@$CRI_TOOLS_VERSION) into $critest"
  t=$SECONDS
  build_critest || { not_ok "build critest ($CRI_TOOLS_MODULE@$CRI_TOOLS_VERSION)"; finish; }
  echo "# built in $((SECONDS - t))s"
fi

# --- the machine before -------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/tscri.XXXXXX")
chmod 755 "$work"
tag=tscri$$
bridge=tscri$(($$ % 100000))
# Paths the daemons create outside the work directory when missing; removed at the end when
# they appeared during the run and are empty (children before parents).
# containerd's directories in /run are shared with any other containerd (see shared_paths_in_use);
# libcni's cache is used only by a CRI plugin's CNI calls.
containerd_paths=(/run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd /etc/containerd /opt/containerd)
cni_paths=(/var/lib/cni/results /var/lib/cni)
outside_paths=("${containerd_paths[@]}" "${cni_paths[@]}")
declare -A existed=()
for p in "${outside_paths[@]}"; do [ -e "$p" ] && existed[$p]=1; done
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
# critest's IPC tests make 1 MiB System V shared memory segments on the host (ipcmk) and
# leave them: those that appear during the run, unattached, are removed at the end.
shm_segments() { awk 'NR > 1 && $4 == 1048576 && $7 == 0 { print $2 }' /proc/sysvipc/shm | sort; }
shm_before=$(shm_segments)
# The sandboxes' and containers' cgroups: critest gives containerd 1.6 (which has no
# RuntimeConfig) the cgroup parent /test.slice; the cgroupfs driver nests them there.
cgroup_parent=test.slice
cgroup_roots() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup; return; fi
  find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d
}
parent_existed=""
for r in $(cgroup_roots); do [ -d "$r/$cgroup_parent" ] && parent_existed=1; done
# A subnet no route of this machine uses.
subnet=""
for i in $(seq 0 40); do
  n=$(((RANDOM + i) % 200 + 20))
  ip -4 route | grep -q "^10\.233\.$n\." || { subnet=10.233.$n.0/24; break; }
done
[ -n "$subnet" ] || { not_ok "CRI tier: no free 10.233.N.0/24 subnet for the pods"; finish; }

# free_port: a TCP port nothing listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

declare -A daemon_pid=()
cleaned=false
sock=$work/containerd/containerd.sock
ctr() { command ctr --address "$sock" --namespace k8s.io "$@"; }

# --- leftovers (each finder prints one line per leftover) ----------------------------------------
leftover_processes() {
  local self=$BASHPID pid args
  ps -o pid=,args= --ppid $$ | while read -r pid args; do
    [ "$pid" = "$self" ] && continue
    [[ " ${daemon_pid[*]} " == *" $pid "* ]] && continue
    echo "process $pid $args"
  done
}
leftover_tasks() { ctr tasks list -q | sed 's/^/task /'; ctr containers list -q | sed 's/^/container /'; }
leftover_mounts() { awk -v w="$work" 'index($5, w) == 1 { print "mount " $5 }' /proc/self/mountinfo | sort -u; }
leftover_cgroups() {
  local r
  for r in $(cgroup_roots); do
    [ -d "$r/$cgroup_parent" ] && find "$r/$cgroup_parent" -mindepth 1 -type d 2>/dev/null | sed 's/^/cgroup /'
  done
}
leftover_state() {
  local d
  for d in "$work/runc-state" "$work/tscontainer-state"; do
    [ -d "$d" ] && find "$d" -mindepth 2 -maxdepth 2 2>/dev/null | sed 's/^/state /'
  done
}
# What the CNI plugins leave on the machine: the bridge, veths, iptables rules and chains.
cni_rules() { iptables -w -t nat -S 2>/dev/null | grep -E 'CNI-|cni0|'"$bridge"; }
machine_leftovers() {
  ip link show "$bridge" >/dev/null 2>&1 && echo "link $bridge"
  ip -o link show master "$bridge" 2>/dev/null | awk -F': ' '{print "link " $2}'
  cni_rules | sed 's/^/iptables -t nat /'
  find /var/lib/cni/results -maxdepth 1 -name "$tag-*" 2>/dev/null | sed 's/^/cni result /'
  local p paths=("${cni_paths[@]}")
  shared_paths_in_use || paths+=("${containerd_paths[@]}")
  for p in "${paths[@]}"; do
    [ -z "${existed[$p]:-}" ] && [ -e "$p" ] && echo "path $p"
  done
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$forward_before" ] || echo "sysctl net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
  comm -13 <(echo "$shm_before") <(shm_segments) | sed 's/^/shared memory segment /'
}

# Another containerd on this machine (a system one, another test's) may have made the shared
# directories in /run meanwhile, and uses them: they are then neither ours to remove nor a
# leftover of ours. (Ours has stopped when this is asked.)
shared_paths_in_use() {
  local name
  # (A shim's process name is cut to 15 characters, as pgrep sees it.)
  for name in containerd containerd-shim dockerd; do pgrep -x "$name" >/dev/null && return 0; done
  return 1
}

# verify WHAT FINDER: a check that FINDER lists nothing.
verify() {
  local found
  found=$("$2" 2>/dev/null)
  if [ -z "$found" ]; then ok "$1"; else not_ok "$1" "$found"; fi
}

stop_daemon() { # NAME
  local pid=${daemon_pid[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset "daemon_pid[$1]"
}

# remove_pods: every pod critest left, through the CRI (containers stopped and removed, the
# network torn down), then whatever containerd still holds.
remove_pods() {
  local id
  [ -S "$sock" ] || return 0
  timeout 120 "$(dirname "$critest")/crictl" --runtime-endpoint "unix://$sock" --image-endpoint "unix://$sock" \
    rmp --all --force >/dev/null 2>&1
  for id in $(ctr tasks list -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1; done
  sleep 0.5
  for id in $(ctr tasks list -q 2>/dev/null); do ctr tasks delete -f "$id" >/dev/null 2>&1; done
  for id in $(ctr containers list -q 2>/dev/null); do ctr containers delete "$id" >/dev/null 2>&1; done
}

# cleanup [verify]: with `verify`, first checks (as TAP) that nothing is left, then removes all.
cleanup() {
  $cleaned && return
  cleaned=true
  local do_verify=${1:-} found r p f paths
  if [ -n "$do_verify" ]; then
    verify "containerd: no task or container of critest's pods is left" leftover_tasks
    verify "no runtime state entry (runc's or tscontainer-runtime's) is left" leftover_state
    verify "no cgroup of a pod or container is left (under /$cgroup_parent)" leftover_cgroups
  fi
  remove_pods
  stop_daemon containerd
  stop_daemon registry
  sleep 0.5
  if [ -n "$do_verify" ]; then
    verify "no process is left once containerd has stopped (shims, containers)" leftover_processes
    verify "no mount or network namespace under the work directory is left" leftover_mounts
  fi
  found=$(leftover_processes)
  [ -z "$found" ] || awk '{print $2}' <<<"$found" | xargs -r kill -KILL 2>/dev/null
  sleep 0.2
  found=$(leftover_mounts)
  [ -z "$found" ] || awk '{print $2}' <<<"$found" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  for r in $(cgroup_roots); do
    [ -d "$r/$cgroup_parent" ] || continue
    find "$r/$cgroup_parent" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -z "$parent_existed" ] && rmdir "$r/$cgroup_parent" 2>/dev/null
  done
  # What the CNI plugins and the daemons made on the machine, when it was not there before:
  # libcni's cached results of our network's pods (left when a pod's network was never torn
  # down), the bridge, the rules.
  for f in /var/lib/cni/results/"$tag"-*; do
    [ -e "$f" ] || continue
    r=${f#/var/lib/cni/results/"$tag"-}
    rm -f "$f" "/var/lib/cni/results/cni-loopback-${r%-*}-lo"
  done
  ip link delete "$bridge" 2>/dev/null
  cni_rules | grep '^-A ' | while read -r line; do eval "iptables -w -t nat -D ${line#-A }" 2>/dev/null; done
  cni_rules | grep '^-N ' | while read -r line; do iptables -w -t nat -X "${line#-N }" 2>/dev/null; done
  echo "$forward_before" >/proc/sys/net/ipv4/ip_forward
  comm -13 <(echo "$shm_before") <(shm_segments) | xargs -r -n1 ipcrm -m 2>/dev/null
  paths=("${cni_paths[@]}")
  shared_paths_in_use || paths+=("${containerd_paths[@]}")
  for p in "${paths[@]}"; do
    [ -n "${existed[$p]:-}" ] && continue
    if [ -d "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
  done
  if [ -n "$do_verify" ]; then
    verify "nothing made outside the work directory is left (the bridge, veths, CNI iptables rules, paths, ip_forward, shared memory)" machine_leftovers
  fi
  if [ -n "${CRI_LOGS:-}" ]; then
    mkdir -p "$CRI_LOGS"
    cp "$work"/containerd/log "$work"/critest-*.log "$work"/report-*.json "$CRI_LOGS"/ 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the images and their registry ----------------------------------------------------------------
echo "# runtime: $runtime; reference: $runc_bin; containerd $(containerd --version | awk '{print $3}'); critest $CRI_TOOLS_VERSION"
echo "# work directory $work"
if ! images_log=$(bash "$here/images.sh" "$work/layout" 2>&1); then
  not_ok "build the stand-in images (test/cri/images.sh)" "$(tail -n 20 <<<"$images_log")"
  finish
fi
registry_port=$(free_port)
registry=127.0.0.1:$registry_port
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $registry
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
daemon_pid[registry]=$!
case $(uname -m) in x86_64) goarch=amd64 ;; aarch64) goarch=arm64 ;; *) goarch=$(uname -m) ;; esac
# ref in the layout → where critest looks for it (the registries' host part is served here).
declare -A served=(
  [busybox]=e2e-test-images/busybox:1.29-2
  [pause]=pause:3.6
  [nginx]=e2e-test-images/nginx:1.14-2
  [httpd]=e2e-test-images/httpd:2.4.39-4
  [nonewprivs]=e2e-test-images/nonewprivs:1.3
  [hostnet-nginx]=k8s-staging-cri-tools/hostnet-nginx-$goarch:latest
  [test-image-1]=k8s-staging-cri-tools/test-image-1:latest
  [test-image-2]=k8s-staging-cri-tools/test-image-2:latest
  [test-image-3]=k8s-staging-cri-tools/test-image-3:latest
  [test-image-latest]=k8s-staging-cri-tools/test-image-latest:latest
  [test-image-tag-test]=k8s-staging-cri-tools/test-image-tag:test
  [test-image-tag-all]=k8s-staging-cri-tools/test-image-tag:all
  [test-image-user-uid]=k8s-staging-cri-tools/test-image-user-uid:latest
  [test-image-user-username]=k8s-staging-cri-tools/test-image-user-username:latest
  [test-image-user-uid-group]=k8s-staging-cri-tools/test-image-user-uid-group:latest
  [test-image-user-username-group]=k8s-staging-cri-tools/test-image-user-username-group:latest
  [test-image-predefined-group]=k8s-staging-cri-tools/test-image-predefined-group:latest
)
for i in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$registry_port") 2>/dev/null && break; sleep 0.1; done
push_failed=""
for ref in "${!served[@]}"; do
  skopeo copy -q --dest-tls-verify=false "oci:$work/layout:$ref" "docker://$registry/${served[$ref]}" >>"$work/push.log" 2>&1 ||
    push_failed+=" $ref"
done
# The same image under three tags.
for t in 1 2 3; do
  skopeo copy -q --dest-tls-verify=false "oci:$work/layout:test-image-tags" \
    "docker://$registry/k8s-staging-cri-tools/test-image-tags:$t" >>"$work/push.log" 2>&1 || push_failed+=" test-image-tags:$t"
done
if [ -n "$push_failed" ]; then
  not_ok "serve the stand-in images from a registry on $registry" "not pushed:$push_failed" "$(tail -n 10 "$work/push.log")" "$(tail -n 10 "$work/registry.log")"
  finish
fi
ok "the stand-in images are served from a registry on $registry ($((${#served[@]} + 2)) tags)"

# containerd's only server for registry.k8s.io and gcr.io is that registry: no fallback to
# the internet. (containerd 1.6 ignores a hosts.toml without a [host] table.)
for host in registry.k8s.io gcr.io; do
  mkdir -p "$work/certs.d/$host"
  cat >"$work/certs.d/$host/hosts.toml" <<EOF
server = "http://$registry"

[host."http://$registry"]
  capabilities = ["pull", "resolve"]
EOF
done

# --- the pods' network: a bridge with no default route ----------------------------------------------
mkdir -p "$work/cni/net.d" "$work/cni/ipam"
cat >"$work/cni/net.d/10-tscri.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$tag",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$subnet" }]], "dataDir": "$work/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

# --- containerd ---------------------------------------------------------------------------------------
mkdir -p "$work/containerd"
cri='plugins."io.containerd.grpc.v1.cri"'
runtimes="$cri.containerd.runtimes"
cat >"$work/containerd/config.toml" <<EOF
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/containerd/opt"
[$cri]
  sandbox_image = "registry.k8s.io/pause:3.6"
  # This machine's bounding set lacks CAP_SYS_RESOURCE: a sandbox could not lower its score.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
[$cri.cni]
  bin_dir = "$cni_bin"
  conf_dir = "$work/cni/net.d"
[$cri.registry]
  config_path = "$work/certs.d"
[$cri.containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"
[$runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[$runtimes.runc.options]
  BinaryName = "$runc_bin"
  Root = "$work/runc-state"
  SystemdCgroup = false
[$runtimes.tscontainer]
  runtime_type = "io.containerd.runc.v2"
[$runtimes.tscontainer.options]
  BinaryName = "$runtime"
  Root = "$work/tscontainer-state"
  SystemdCgroup = false
EOF
containerd --config "$work/containerd/config.toml" >"$work/containerd/log" 2>&1 &
daemon_pid[containerd]=$!
for i in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
if ! ctr version >/dev/null 2>&1; then
  not_ok "containerd starts with the CRI plugin, a private root, state and sockets" "$(tail -n 20 "$work/containerd/log")"
  finish
fi
ok "containerd starts with the CRI plugin, a private root, state and sockets"

# --- critest, once per runtime handler ----------------------------------------------------------------
run_critest() { # HANDLER
  local handler=$1 t=$SECONDS status
  local args=(--runtime-endpoint "unix://$sock" --image-endpoint "unix://$sock" --runtime-handler "$handler"
    --parallel "$parallel" --ginkgo.no-color --ginkgo.json-report "$work/report-$handler.json")
  [ -n "$focus" ] && args+=(--ginkgo.focus "$focus")
  # Its pods' log directories and host paths go to its own TMPDIR, in the work directory.
  mkdir -p "$work/tmp-$handler"
  (cd "$work" && PATH=$(dirname "$critest"):$PATH TMPDIR=$work/tmp-$handler timeout -k 10 "$timeout_s" "$critest" "${args[@]}") \
    >"$work/critest-$handler.log" 2>&1
  status=$?
  echo "# critest with $handler: exit $status, $((SECONDS - t))s ($(grep -Eo 'Ran [0-9]+ of [0-9]+ Specs' "$work/critest-$handler.log" | tail -n 1))"
  [ -s "$work/report-$handler.json" ]
}
for handler in runc tscontainer; do
  if ! run_critest "$handler"; then
    not_ok "critest runs with the $handler handler" "$(tail -n 20 "$work/critest-$handler.log")"
    finish
  fi
  # Nothing of one run may reach into the next.
  remove_pods
done

# --- the comparison -----------------------------------------------------------------------------------
declare -A count=([both]=0 [regressed]=0 [gained]=0 [neither]=0 [skipped]=0)
while IFS=$'\t' read -r kind name reason; do
  count[$kind]=$((count[$kind] + 1))
  case $kind in
    both) ok "critest: $name" ;;
    regressed) not_ok "critest: $name" "passes with runc, not with tscontainer-runtime: $reason" ;;
    gained) skip "critest: $name" "fails with runc ($reason), passes with tscontainer-runtime" ;;
    neither) skip "critest: $name" "fails with runc too: $reason" ;;
    skipped) skip "critest: $name" "critest skips it here: $reason" ;;
  esac
done < <(node "$here/compare.mjs" "$work/report-runc.json" "$work/report-tscontainer.json")
runc_passed=$((count[both] + count[regressed]))
ts_passed=$((count[both] + count[gained]))
echo "# critest $CRI_TOOLS_VERSION: $runc_passed specs pass with runc, $ts_passed with tscontainer-runtime;" \
  "${count[regressed]} pass with runc only, ${count[gained]} with tscontainer-runtime only," \
  "${count[neither]} with neither, ${count[skipped]} skipped"
if [ "$runc_passed" -eq 0 ]; then
  not_ok "critest: some spec passes with runc (none did: the setup is broken)" "$(tail -n 30 "$work/critest-runc.log")"
fi

cleanup verify
echo "# CRI tier: $((SECONDS - started))s"
finish
