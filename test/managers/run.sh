#!/usr/bin/env bash
# run.sh — the container-manager tier: Debian's podman, containerd (through ctr and
# containerd-shim-runc-v2) and Docker run containers through tscontainer-runtime, and a user
# sees what runc would give: output and exit codes, env/workdir/user, tty and stdin, large
# output, memory and pids limits, networks, read-only rootfs, bind mounts, capabilities,
# privileged, and the detached lifecycle (exec, top/ps, pause/unpause, update, stop, restart, rm).
# Docker also loads images tscontainer saved (docker-archive; one tscontainer loaded, one it
# pulled from a private registry), sees them as tscontainer does and runs them with runc and
# with tscontainer.
#
# Everything it makes is private and removed at the end:
#   - a work directory ($TMPDIR/tsmanagers.XXXXXX) with the image's rootfs (test/fixtures'
#     busybox rootfs), podman's storage and config (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF),
#     containerd's root, state and socket, dockerd's data-root, exec-root, pidfile and socket,
#     and tscontainer's image store;
#   - a containerd and a dockerd (which starts its own containerd), stopped by pid, and an image
#     registry (test/images/registry.sh), stopped once tscontainer has pulled from it;
#   - cgroup parents /tsmanagers-PID-podman, /tsmanagers-PID-docker and the ctr namespace
#     tsmanagers-PID (whose containers live in /tsmanagers-PID/ID), so nothing is confused with
#     the machine's own libpod_parent, docker or default cgroups.
# Managers are called through wrappers in WORK/bin named podman, docker and ctr, which add the
# private flags and select the runtime the way a user would: `podman --runtime RUNTIME`,
# `docker run --runtime tscontainer` (registered in daemon.json), `ctr run --runc-binary
# RUNTIME`. With MGR_RUNTIME=runc set, a wrapper uses runc instead; the `same as runc` checks
# run a command both ways and compare.
#
# After the scenarios it checks that nothing of ours is left: no container in any manager,
# no entry in the runtime state directories the managers use (podman: the runtime's default
# root, /run/tscontainer; docker: EXEC-ROOT/runtime-runc/moby; containerd:
# /run/containerd/runc/NAMESPACE), no container cgroup, mount or process. Whatever remains is
# listed, counts as a failure, and is removed anyway. What the managers leave on a machine
# whatever the runtime (dockerd's docker0 and iptables chains, netavark's chains and IPAM
# database, the shims' directories in /run/containerd, ip_forward) is removed when it was not
# there before; then no iptables rule, link, network namespace or path may differ from before.
#
# This script makes itself a child subreaper first: conmon, the shims and the containers'
# processes are reparented to it (not to PID 1, which on some machines never reaps them:
# podman would then wait 20 s for conmon after every run), and a process still below it at the
# end is a leftover.
#
# Prints TAP (test/lib/tap.sh), `# pass N`, `# fail N`, `# skip N` and `N passed, N failed`;
# exits non-zero when anything failed.
# Without root or without the managers it prints `# SKIPPED: reason` and exits 0 — unless CI
# is set, when that is a failure.
#
# Environment: TSCONTAINER_RUNTIME_PATH (the runtime; default native/tscontainer-runtime, then
# cargo's release builds; /usr/sbin/runc runs the whole tier against runc for comparison),
# MANAGERS (which managers to check, default "podman containerd docker"), MANAGERS_TIMEOUT
# (seconds per command, default 60).
set -u

# --- a subreaper ----------------------------------------------------------------------------
# shellcheck source=test/lib/subreaper.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/subreaper.sh"
become_subreaper TSMANAGERS_REAPER "$0" "$@"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
managers=${MANAGERS:-podman containerd docker}
timeout_s=${MANAGERS_TIMEOUT:-60}
tag=tsmanagers-$$

# --- TAP ------------------------------------------------------------------------------------
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"
# shellcheck source=test/images/fixtures.sh
. "$repo/test/images/fixtures.sh"
tap_tier_name="managers tier"

# --- prerequisites --------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skipped "it starts daemons and creates containers: run it as root"

runtime=${TSCONTAINER_RUNTIME_PATH:-}
if [ -z "$runtime" ]; then
  for candidate in native/tscontainer-runtime target/release/tscontainer-runtime \
    target/"$(uname -m)"-unknown-linux-gnu/release/tscontainer-runtime; do
    [ -x "$repo/$candidate" ] && { runtime=$repo/$candidate; break; }
  done
fi
if [ -z "$runtime" ] || [ ! -x "$runtime" ]; then
  not_ok "managers tier: no tscontainer-runtime binary (npm run build:native, or set TSCONTAINER_RUNTIME_PATH)"
  finish
fi
runtime=$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")
runc_bin=$(command -v runc || true)

for tool in timeout script tar ip iptables perl; do
  command -v "$tool" >/dev/null || skipped "$tool is not installed (apt-get install util-linux tar iproute2 iptables perl coreutils)"
done
declare -A need=(
  [podman]="podman netavark"
  [containerd]="containerd ctr containerd-shim-runc-v2"
  [docker]="dockerd docker containerd containerd-shim-runc-v2"
)
declare -A package=([podman]="podman netavark" [containerd]=containerd [docker]=docker.io)
selected=()
missing=()
for m in $managers; do
  [ -n "${need[$m]:-}" ] || skipped "unknown manager '$m' in MANAGERS (podman, containerd, docker)"
  absent=""
  for tool in ${need[$m]}; do
    case $tool in
      netavark) [ -n "$(find /usr/lib/podman /usr/libexec/podman /usr/local/lib/podman -maxdepth 1 -name netavark 2>/dev/null)" ] ||
        absent="$absent $tool" ;;
      *) command -v "$tool" >/dev/null || absent="$absent $tool" ;;
    esac
  done
  if [ -n "$absent" ]; then missing+=("$m (no$absent: apt-get install ${package[$m]})"); else selected+=("$m"); fi
done
[ -n "$runc_bin" ] || missing+=("runc, the reference the checks compare with (apt-get install runc)")
if [ ${#selected[@]} -eq 0 ] || [ -z "$runc_bin" ]; then
  skipped "not installed: ${missing[*]}"
fi
for m in "${missing[@]}"; do
  if [ -n "${CI:-}" ]; then not_ok "$m"; else skip "${m%% *}" "not installed: $m"; fi
done
selected_has() { [[ " ${selected[*]} " == *" $1 "* ]]; }

# --- the machine before ---------------------------------------------------------------------
# Paths the managers create outside our work directory when they are missing (children
# before parents); any that appears during the run is removed at the end, if empty.
outside_paths=(/run/tscontainer /run/runc /run/containers/networks/ipam.db /run/containers/networks /run/containers
  /run/netns /run/containerd/runc /run/containerd/s /run/containerd/fifo /run/containerd
  /run/docker/plugins /run/docker /etc/docker /var/lib/containers/cache /var/lib/containers
  /opt/containerd)
declare -A existed=()
for p in "${outside_paths[@]}"; do [ -e "$p" ] && existed[$p]=1; done
link_names() { ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
links_before=$(link_names)
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
# Firewall rules, as `CMD TABLE` → the sorted `-S` listing.
firewalls=()
for cmd in iptables ip6tables; do
  command -v "$cmd" >/dev/null && firewalls+=("$cmd filter" "$cmd nat")
done
declare -A rules_before=()
for fw in "${firewalls[@]}"; do rules_before[$fw]=$(${fw% *} -w -t "${fw#* }" -S 2>/dev/null | sort); done
netns_before=$(ls -A /run/netns 2>/dev/null | sort)

work=$(mktemp -d "${TMPDIR:-/tmp}/tsmanagers.XXXXXX")
chmod 755 "$work"
mkdir -p "$work/bin" "$work/tmp" "$work/vol"
export TMPDIR=$work/tmp
out=$work/out err=$work/err

started=$SECONDS
declare -A daemon_pid=()
cleaned=false

# --- leftovers ------------------------------------------------------------------------------
# Each finder prints one line per leftover: "KIND WHAT". What counts as one (a state entry, a
# cgroup, a mount, a process) is test/lib/leftovers.mjs's, the one detector of every tier;
# the managers' own listings (podman ps, ctr task ls, ...) are added here.

# leftovers SCOPE...: test/lib/leftovers.mjs for this scope. The callers read its output (the
# status says only whether there was any); a checker that cannot run prints a leftover too, so
# that it never passes for a clean machine.
leftovers() {
  node "$repo/test/lib/leftovers.mjs" "$@"
  local status=$?
  [ "$status" -le 1 ] || echo "error: test/lib/leftovers.mjs exited $status"
}

cgroup_roots() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup; return; fi
  find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d
}

# remove_cgroup_tree PARENT: rmdir /PARENT and everything below it, deepest first.
remove_cgroup_tree() {
  local root dir
  for root in $(cgroup_roots); do
    [ -d "$root/${1#/}" ] || continue
    find "$root/${1#/}" -depth -type d 2>/dev/null | while read -r dir; do
      rmdir "$dir" 2>/dev/null || { cat "$dir/cgroup.procs" 2>/dev/null | xargs -r kill -9 2>/dev/null; sleep 0.2; rmdir "$dir" 2>/dev/null; }
    done
  done
}

# Processes below this script (a subreaper: the managers' orphans come here) or naming, rooted
# in, working in or with a TMPDIR in the work directory; the daemons are stopped by then.
leftover_processes() { leftovers --descendants-of $$ --processes-under "$work"; }

# Mounts in the work directory, and network namespaces mounted since the start.
leftover_mounts() {
  leftovers --mounts-under "$work" --mounts-under /run/netns |
    grep -vxF -f <(echo 'mount /run/netns'; sed 's|^|mount /run/netns/|' <<<"$netns_before")
}

# --- the wrappers ---------------------------------------------------------------------------
# MGR_RUNTIME=runc selects runc for one command; the default is the runtime under test.
podman_conf=$work/podman
mkdir -p "$podman_conf"
cat > "$podman_conf/containers.conf" <<EOF
[containers]
# This host may not let containers raise RLIMIT_NOFILE to podman's default 1048576.
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$podman_conf/tmp"
volume_path = "$podman_conf/volumes"
image_copy_tmp_dir = "$work/tmp"
[network]
network_backend = "netavark"
network_config_dir = "$podman_conf/networks"
EOF
cat > "$podman_conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$podman_conf/graph"
runroot = "$podman_conf/run"
EOF
export CONTAINERS_CONF=$podman_conf/containers.conf CONTAINERS_STORAGE_CONF=$podman_conf/storage.conf
podman_bin=$(command -v podman) docker_bin=$(command -v docker) ctr_bin=$(command -v ctr)
podman_parent=/$tag-podman docker_parent=/$tag-docker ctr_ns=$tag
ctr_sock=$work/containerd/containerd.sock docker_sock=$work/docker/docker.sock

cat > "$work/bin/podman" <<EOF
#!/bin/sh
# podman with private storage and config (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), the runtime
# under test (MGR_RUNTIME=runc: runc) and, for containers, a private cgroup parent. Run in the
# work directory: conmon writes a file named oom into the directory podman runs it in when a
# container is OOM-killed, which would otherwise be the caller's (the repository).
cd '$work' || exit 1
rt='$runtime'; [ "\${MGR_RUNTIME:-}" = runc ] && rt='$runc_bin'
case \${1:-} in
  run|create) sub=\$1; shift; exec $podman_bin --runtime "\$rt" "\$sub" --cgroup-parent $podman_parent "\$@" ;;
  *) exec $podman_bin --runtime "\$rt" "\$@" ;;
esac
EOF
cat > "$work/bin/docker" <<EOF
#!/bin/sh
# docker on the private daemon, with a private client config; containers run with
# --runtime tscontainer (MGR_RUNTIME=runc: runc).
export DOCKER_CONFIG=$work/docker/cli
rt=tscontainer; [ "\${MGR_RUNTIME:-}" = runc ] && rt=runc
case \${1:-} in
  run|create) sub=\$1; shift; exec $docker_bin -H unix://$docker_sock "\$sub" --runtime "\$rt" "\$@" ;;
  *) exec $docker_bin -H unix://$docker_sock "\$@" ;;
esac
EOF
cat > "$work/bin/ctr" <<EOF
#!/bin/sh
# ctr on the private containerd, in namespace $ctr_ns; run uses --runc-binary RUNTIME
# (MGR_RUNTIME=runc: containerd's default, runc).
case \${1:-} in
  run) shift; if [ "\${MGR_RUNTIME:-}" = runc ]; then set -- run "\$@"; else set -- run --runc-binary $runtime "\$@"; fi ;;
esac
exec $ctr_bin -a $ctr_sock -n $ctr_ns "\$@"
EOF
chmod +x "$work/bin/podman" "$work/bin/docker" "$work/bin/ctr"
export PATH=$work/bin:$PATH

# --- running a check ------------------------------------------------------------------------
# run CMD...: runs CMD under the timeout, stdin from $STDIN (a string) or /dev/null; sets
# status, stdout (in $out, CRs dropped, as $got) and stderr (in $err).
run() {
  if [ -n "${STDIN+x}" ]; then
    timeout -k 5 "$timeout_s" "$@" <<<"$STDIN" >"$out" 2>"$err"
  else
    timeout -k 5 "$timeout_s" "$@" </dev/null >"$out" 2>"$err"
  fi
  status=$?
  got=$(tr -d '\r' <"$out")
}

# run_tty CMD...: runs CMD on a terminal (script(1)), input from $STDIN or none.
run_tty() {
  local cmd writer
  cmd=$(printf '%q ' "$@")
  if [ -n "${STDIN+x}" ]; then
    # The input arrives once the container is attached, and stays open until it ends.
    rm -f "$work/tty-input"
    mkfifo "$work/tty-input"
    (sleep 1.5; printf '%s\n' "$STDIN"; exec sleep "$timeout_s") >"$work/tty-input" &
    writer=$!
    timeout -k 5 "$timeout_s" script -qec "$cmd" /dev/null <"$work/tty-input" >"$out" 2>"$err"
    status=$?
    kill "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
  else
    timeout -k 5 "$timeout_s" script -qec "$cmd" /dev/null </dev/null >"$out" 2>"$err"
    status=$?
  fi
  got=$(tr -d '\r' <"$out")
}

# describe CMD...: the diagnostics of a failed check.
describe() {
  printf 'command: %s\n' "$(printf '%q ' "$@")"
  printf 'exit status: %s\n' "$status"
  printf 'stdout: %s\n' "$(head -c 1500 <<<"$got")"
  printf 'stderr: %s\n' "$(tr -d '\r' <"$err" | head -c 1500)"
}

# check NAME WANT_STATUS WANT CMD...: passes when CMD exits WANT_STATUS and prints WANT
# (exactly; `~RE`: its output matches the extended regex RE).
check() {
  local name=$1 want_status=$2 want=$3
  shift 3
  run "$@"
  matches "$want_status" "$want" && { ok "$name"; return 0; }
  not_ok "$name" "expected: exit $want_status, stdout $(printf '%q' "$want")" "$(describe "$@")"
  return 1
}

# check_tty NAME WANT_STATUS WANT CMD...: check, on a terminal.
check_tty() {
  local name=$1 want_status=$2 want=$3
  shift 3
  run_tty "$@"
  matches "$want_status" "$want" && { ok "$name"; return 0; }
  not_ok "$name" "expected: exit $want_status, terminal output $(printf '%q' "$want")" "$(describe "$@")"
  return 1
}

# expect NAME WANT GOT: a check of something read on the host.
expect() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "got: $3"; fi
}

matches() {
  [ "$status" = "$1" ] || return 1
  if [[ $2 == '~'* ]]; then [[ $got =~ ${2#\~} ]]; else [ "$got" = "$2" ]; fi
}

# same_as_runc NAME WANT_STATUS CMD...: CMD exits WANT_STATUS and prints the same with runc as
# with the runtime under test.
same_as_runc() {
  local name=$1 want_status=$2 ours_status ours theirs_err
  shift 2
  run "$@"
  ours_status=$status ours=$got
  cp "$err" "$err.ours"
  MGR_RUNTIME=runc run "$@"
  theirs_err=$(head -c 600 "$err")
  if [ "$ours_status" = "$want_status" ] && [ "$status" = "$want_status" ] && [ "$ours" = "$got" ]; then
    ok "$name"
    return 0
  fi
  not_ok "$name" "command: $(printf '%q ' "$@")" \
    "expected: exit $want_status from both" "with $(basename "$runtime"): exit $ours_status" "$ours" "stderr: $(head -c 600 "$err.ours")" \
    "with runc: exit $status" "$got" "stderr: $theirs_err" \
    "diff (runc → ours):" "$(diff <(echo "$got") <(echo "$ours") | grep '^[<>]')"
  return 1
}

# wait_for SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.1
  done
}

# freezer_state PID: FROZEN or THAWED, from the cgroup of a container's process.
freezer_state() {
  local path
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    [ "$(cat "/sys/fs/cgroup$path/cgroup.freeze" 2>/dev/null)" = 1 ] && echo FROZEN || echo THAWED
  else
    path=$(awk -F: '$2 == "freezer" {print $3}' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup/freezer$path/freezer.state" 2>/dev/null
  fi
}

# host_memory_limit PID: the memory limit of a process's cgroup, seen from the host.
host_memory_limit() {
  local path
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup$path/memory.max"
  else
    path=$(awk -F: '$2 == "memory" {print $3}' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes"
  fi
}

# What the container sees of its own limits, on cgroup v1 or v2.
memory_limit_cmd='cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
pids_limit_cmd='cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'
security_cmd='grep -E "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):" /proc/self/status'
host_capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
big_sum=$(seq 1 200000 | md5sum | cut -d' ' -f1)

# --- the image ------------------------------------------------------------------------------
prepare_rootfs() {
  bash test/fixtures/build-rootfs.sh >"$err" 2>&1 || return 1
  cp -a test/.work/rootfs "$work/rootfs" || return 1
  # podman --read-only mounts tmpfs on /tmp, /var/tmp and /run; Docker and podman make /etc
  # files of their own.
  mkdir -p "$work/rootfs/tmp" "$work/rootfs/run" "$work/rootfs/var/tmp" "$work/rootfs/etc"
  tar -C "$work/rootfs" -c . >"$work/image.tar"
}

# --- the scenarios podman and Docker share --------------------------------------------------
# cli_scenarios MANAGER IMAGE SUBNET_RE: MANAGER is podman or docker (a wrapper on PATH).
cli_scenarios() {
  local m=$1 img=$2 subnet=$3 c

  check "$m: a one-shot command's output" 0 hello $m run --rm "$img" echo hello
  check "$m: the command's exit code" 3 "" $m run --rm "$img" sh -c 'exit 3'
  check "$m: a command that does not exist exits 127" 127 "" $m run --rm "$img" /no/such/command
  check "$m: a command that is not executable exits 126" 126 "" $m run --rm "$img" /etc/passwd
  check "$m: -e, -w and -u" 0 "bar /tmp 1000:1000" \
    $m run --rm -e FOO=bar -w /tmp -u 1000:1000 "$img" sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
  check "$m: -u by name, from the image's /etc/passwd" 0 "tester 1000" \
    $m run --rm -u tester "$img" sh -c 'echo "$(id -un) $(id -u)"'
  same_as_runc "$m: HOME is the user's, from /etc/passwd" 0 \
    $m run --rm -u tester "$img" sh -c 'echo "$HOME"'
  STDIN=$'line one\nline two' check "$m: -i passes stdin to the end" 0 $'line one\nline two' \
    $m run --rm -i "$img" cat
  check_tty "$m: -t gives a terminal and the exit code" 5 '~^/dev/pts/[0-9]+'$'\n''stdin is a tty' \
    $m run --rm -t "$img" sh -c 'tty; [ -t 0 ] && echo "stdin is a tty"; exit 5'
  STDIN=$'echo "marker-$((6 * 7))"\nexit 6' check_tty "$m: -it runs an interactive shell" 6 '~marker-42' \
    $m run --rm -it "$img" sh
  check "$m: 200000 lines of output arrive intact" 0 "$big_sum" \
    bash -c "set -o pipefail; $m run --rm $img seq 1 200000 | md5sum | cut -d' ' -f1"

  check "$m: --memory sets the container's limit" 0 52428800 $m run --rm --memory 50m "$img" sh -c "$memory_limit_cmd"
  check "$m: going over --memory is an OOM kill (137)" 137 "" \
    $m run --rm --memory 50m --memory-swap 50m "$img" sh -c 'tail /dev/zero'
  check "$m: --pids-limit sets the limit, and forks beyond it fail" 0 $'10\nfork failed' \
    $m run --rm --pids-limit 10 "$img" sh -c "$pids_limit_cmd"'; for i in $(seq 12); do sleep 2 & done 2>&1 | grep -q "can.t fork" && echo "fork failed"; wait'

  check "$m: --network none has only lo" 0 lo $m run --rm --network none "$img" sh -c 'ls /sys/class/net'
  check "$m: the default bridge gives eth0 an address and a route out" 0 "~inet $subnet.*default via" \
    $m run --rm "$img" sh -c 'ip -4 -o addr show eth0; ip route'
  check "$m: the bridge's gateway answers a ping" 0 "~1 packets received" \
    $m run --rm --cap-add NET_RAW "$img" sh -c 'ping -c 1 -W 3 $(ip route | awk "/default/ {print \$3}")'

  check "$m: --read-only refuses writes to the rootfs" 1 "~Read-only file system" \
    $m run --rm --read-only "$img" sh -c 'touch /file 2>&1'
  echo "from the host" >"$work/vol/in"
  check "$m: -v binds a host directory read-write" 0 "from the host" \
    $m run --rm -v "$work/vol:/data" "$img" sh -c 'cat /data/in && echo "from $0" > /data/out'
  expect "$m: a file written to the bind mount is on the host" "from sh" "$(cat "$work/vol/out" 2>&1)"
  rm -f "$work/vol/out"
  check "$m: -v :ro binds read-only" 1 "~Read-only file system" \
    $m run --rm -v "$work/vol:/data:ro" "$img" sh -c 'touch /data/file 2>&1'

  same_as_runc "$m: default capabilities, no_new_privs and seccomp are runc's" 0 $m run --rm "$img" sh -c "$security_cmd"
  same_as_runc "$m: -u 1000 has runc's capabilities" 0 $m run --rm -u 1000 "$img" sh -c "$security_cmd"
  check "$m: --cap-drop ALL leaves no capability" 0 "CapEff:	0000000000000000" \
    $m run --rm --cap-drop ALL "$img" grep CapEff /proc/self/status
  same_as_runc "$m: --cap-drop ALL --cap-add NET_ADMIN,SYS_TIME is runc's" 0 \
    $m run --rm --cap-drop ALL --cap-add NET_ADMIN --cap-add SYS_TIME "$img" sh -c "$security_cmd"
  check "$m: without NET_ADMIN the interface cannot be changed" 1 "" \
    $m run --rm --network none "$img" sh -c 'ip link set lo mtu 1400 2>/dev/null || exit 1'
  check "$m: --cap-add NET_ADMIN lets it" 0 "~mtu 1400" \
    $m run --rm --network none --cap-add NET_ADMIN "$img" sh -c 'ip link set lo mtu 1400 && ip link show lo'
  check "$m: --cap-drop CHOWN refuses chown" 1 "~Operation not permitted" \
    $m run --rm --cap-drop CHOWN "$img" sh -c 'touch /tmp/f && chown 1000 /tmp/f 2>&1'
  check "$m: --privileged can mount and sees the host's devices" 0 $'mounted\nkmsg' \
    $m run --rm --privileged "$img" sh -c 'mount -t tmpfs none /mnt && echo mounted; [ -c /dev/kmsg ] && echo kmsg'
  # Docker 20.10 asks a privileged container for every capability it knows (up to
  # CAP_AUDIT_READ), also those the host's bounding set lacks: runc then refuses to create it
  # ("unable to apply caps"), while tscontainer-runtime leaves them out with a warning. podman
  # asks for the bounding set.
  if [ "$m" = podman ] || [ "$host_capbnd" = "$(printf '%016x' $(((1 << ($(cat /proc/sys/kernel/cap_last_cap) + 1)) - 1)))" ]; then
    same_as_runc "$m: --privileged is runc's" 0 $m run --rm --privileged "$img" sh -c "$security_cmd"
  else
    skip "$m: --privileged is runc's" "runc refuses it here: the host's bounding set ($host_capbnd) lacks capabilities Docker asks for"
  fi

  # --- detached ---
  c=$tag-$m
  if ! check "$m: run -d starts a container" 0 "~^[0-9a-f]{64}$" \
    $m run -d --name "$c" "$img" sh -c 'echo started; while :; do sleep 0.2; done'; then
    skip "$m: the detached lifecycle" "the container did not start"
    $m rm -f "$c" >/dev/null 2>&1 # the manager keeps a container that failed to start
    return
  fi
  if wait_for 10 sh -c "$m logs $c 2>&1 | grep -q started"; then ok "$m: logs has its output"
  else run $m logs "$c"; not_ok "$m: logs has its output" "$(describe $m logs "$c")"; fi
  check "$m: exec" 0 hi $m exec "$c" echo hi
  check "$m: exec's exit code" 7 "" $m exec "$c" sh -c 'exit 7'
  check "$m: exec -e -w -u" 0 "bar /tmp 1000" $m exec -e FOO=bar -w /tmp -u 1000 "$c" sh -c 'echo "$FOO $(pwd) $(id -u)"'
  STDIN="to exec" check "$m: exec -i passes stdin" 0 "to exec" $m exec -i "$c" cat
  check_tty "$m: exec -it gives a terminal" 3 '~/dev/pts/[0-9]+' $m exec -it "$c" sh -c 'tty; exit 3'
  check "$m: top lists the container's processes" 0 '~while :; do sleep' $m top "$c"

  # Lifecycle commands print the container's name (Docker) or its id (podman).
  local pid echoed="~^($c|[0-9a-f]{64})$"
  pid=$($m inspect --format '{{.State.Pid}}' "$c" 2>/dev/null)
  check "$m: pause" 0 "$echoed" $m pause "$c"
  check "$m: a paused container is paused" 0 paused $m inspect --format '{{.State.Status}}' "$c"
  check "$m: ps shows it Paused" 0 '~Paused' $m ps -a --filter "name=$c" --format '{{.Status}}'
  expect "$m: its cgroup is frozen" FROZEN "$(freezer_state "$pid" 2>&1)"
  check "$m: unpause" 0 "$echoed" $m unpause "$c"
  check "$m: an unpaused container is running" 0 running $m inspect --format '{{.State.Status}}' "$c"
  expect "$m: its cgroup is thawed" THAWED "$(freezer_state "$pid" 2>&1)"

  check "$m: update --memory 100m --memory-swap 200m" 0 "$echoed" $m update --memory 100m --memory-swap 200m "$c"
  check "$m: the container sees the updated limit" 0 104857600 $m exec "$c" sh -c "$memory_limit_cmd"
  # podman 4.3 on a cgroup v1 host reads the limit from the unified hierarchy, so it shows
  # the host's memory there (with runc too): only Docker's is checked.
  local stats_re='~^[0-9.]+[kKMG]i?B / 100(\.0)?MiB$'
  [ "$m" = podman ] && stats_re='~^[0-9.]+[kKMG]i?B / [0-9.]+[kKMGT]i?B$'
  check "$m: stats --no-stream reports its memory usage and limit" 0 "$stats_re" \
    $m stats --no-stream --format '{{.MemUsage}}' "$c"

  # stop: SIGTERM, then SIGKILL after -t. sh as PID 1 has no handler, so the kernel ignores SIGTERM.
  local t0=$SECONDS
  check "$m: stop -t 2 (SIGTERM ignored by PID 1, then SIGKILL)" 0 "$echoed" $m stop -t 2 "$c"
  local took=$((SECONDS - t0))
  if [ $took -ge 2 ] && [ $took -le 15 ]; then ok "$m: stop waited the 2 s grace period, then killed (${took}s)"
  else not_ok "$m: stop waited the 2 s grace period, then killed" "took ${took}s"; fi
  check "$m: the stopped container exited 137" 0 "exited 137" $m inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$c"
  check "$m: restart" 0 "$echoed" $m restart -t 1 "$c"
  check "$m: a restarted container is running" 0 running $m inspect --format '{{.State.Status}}' "$c"
  check "$m: exec after restart" 0 hi $m exec "$c" echo hi
  if wait_for 10 sh -c "[ \$($m logs $c 2>&1 | grep -c started) -ge 2 ]"; then ok "$m: logs has both runs' output"
  else run $m logs "$c"; not_ok "$m: logs has both runs' output" "$(describe $m logs "$c")"; fi
  check "$m: rm -f removes a running container" 0 "$echoed" $m rm -f "$c"
  check "$m: the container is gone" 0 "" $m ps -a --filter "name=$c" --format '{{.Names}}'

  # A process that handles SIGTERM stops with its own status, before the grace period ends.
  c=$tag-$m-term
  if check "$m: run -d a container that handles SIGTERM" 0 "~^[0-9a-f]{64}$" \
    $m run -d --name "$c" "$img" sh -c 'trap "exit 42" TERM; echo started; while :; do sleep 0.1; done'; then
    wait_for 10 sh -c "$m logs $c 2>&1 | grep -q started"
    t0=$SECONDS
    echoed="~^($c|[0-9a-f]{64})$"
    check "$m: stop delivers SIGTERM to a process that handles it" 0 "$echoed" $m stop -t 20 "$c"
    took=$((SECONDS - t0))
    check "$m: it exited with its own status" 0 "exited 42" $m inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$c"
    if [ $took -lt 10 ]; then ok "$m: without waiting for the grace period (${took}s)"
    else not_ok "$m: without waiting for the grace period" "took ${took}s of 20"; fi
    check "$m: rm" 0 "$echoed" $m rm "$c"
  else
    $m rm -f "$c" >/dev/null 2>&1
  fi
}

# --- podman ---------------------------------------------------------------------------------
podman_scenarios() {
  # conmon as podman itself finds it (its helper_binaries_dir, then PATH), not `command -v`: the
  # podman-static bundle on GitHub's Ubuntu 24.04 runners keeps it in /usr/local/lib/podman.
  local conmon
  if ! conmon=$(podman info --format '{{.Host.Conmon.Path}}' 2>"$err") || ! [ -x "$conmon" ]; then
    not_ok "podman: finds conmon (podman info)" "$(cat "$err")"
    return
  fi
  ok "podman: finds conmon at $conmon"
  # podman import writes c/image's blob-info cache to /var/lib/containers/cache whatever its
  # storage root; a private mount namespace with a tmpfs on /var/lib keeps that to itself.
  if ! run unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o size=16m tsmanagers /var/lib && exec podman import "$0" localhost/tsbusybox' "$work/image.tar"; then
    not_ok "podman: import the image" "$(describe podman import)"
    return
  fi
  ok "podman: import the image"
  cli_scenarios podman localhost/tsbusybox '10\.88\.'
  check "podman: --read-only keeps /tmp, /var/tmp and /run writable (tmpfs)" 0 "" \
    podman run --rm --read-only localhost/tsbusybox sh -c 'touch /tmp/a /var/tmp/b /run/c'
}

podman_leftovers() {
  local ids id state_root
  case $(basename "$runtime") in
    runc) state_root=/run/runc ;;
    crun) state_root=/run/crun ;;
    *) state_root=/run/tscontainer ;;
  esac
  local -a scope=()
  # The runtime state of the containers podman made (the root may hold others' containers).
  ids=$(podman events --stream=false --filter type=container --format '{{.ID}}' 2>/dev/null | sort -u)
  [ -n "$ids" ] && scope+=(--state-root "$state_root") && for id in $ids; do scope+=(--id "$id"); done
  podman ps -a --format 'container {{.ID}} {{.Names}} {{.Status}}' 2>/dev/null
  # Of podman's mounts, its containers' roots and /dev/shm (its storage keeps its own).
  leftovers "${scope[@]}" --cgroups-below "$podman_parent" --keep-cgroup '^conmon$' \
    --mounts-under "$podman_conf" --mounts-matching '(merged|userdata/shm)$'
}

podman_cleanup() {
  podman rm -af -t 0 >/dev/null 2>&1
  podman rmi -af >/dev/null 2>&1
  # The storage driver's own mounts (the overlay home, kept private).
  awk -v w="$podman_conf" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  remove_cgroup_tree "$podman_parent"
}

# --- containerd -----------------------------------------------------------------------------
start_containerd() {
  mkdir -p "$work/containerd"
  cat > "$work/containerd/config.toml" <<EOF
version = 2
root = "$work/containerd/root"
state = "$work/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$ctr_sock"
[ttrpc]
  address = "$ctr_sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$work/containerd/opt"
EOF
  containerd --config "$work/containerd/config.toml" >"$work/containerd/log" 2>&1 &
  daemon_pid[containerd]=$!
  wait_for 30 ctr version
}

ctr_scenarios() {
  # ctr's --rootfs is a switch: the directory is the first argument, after every option.
  local rootfs=$work/rootfs c=$tag-ctr
  if start_containerd; then ok "containerd: starts with a private root, state and socket"
  else not_ok "containerd: starts with a private root, state and socket" "$(tail -n 20 "$work/containerd/log")"; return; fi

  check "containerd: a one-shot command's output" 0 hello ctr run --rm --rootfs "$rootfs" "$c-1" /bin/echo hello
  check "containerd: the command's exit code" 3 "" ctr run --rm --rootfs "$rootfs" "$c-2" /bin/sh -c 'exit 3'
  same_as_runc "containerd: a command that does not exist fails as with runc" 1 \
    sh -c 'ctr run --rm --rootfs "$0" "$1" /no/such/command 2>"$2"; s=$?; grep -o "no such file or directory" "$2" | head -n 1; exit $s' \
    "$rootfs" "$c-3" "$work/ctr-err"
  same_as_runc "containerd: HOME is the user's, from /etc/passwd" 0 \
    ctr run --rm --rootfs "$rootfs" "$c-4h" /bin/sh -c 'echo "$HOME"'
  check "containerd: --env and --cwd" 0 "bar /tmp" \
    ctr run --rm --env FOO=bar --cwd /tmp --rootfs "$rootfs" "$c-4" /bin/sh -c 'echo "$FOO $(pwd)"'
  STDIN="from stdin" check "containerd: stdin reaches the container" 0 "got from stdin" \
    ctr run --rm --rootfs "$rootfs" "$c-5" /bin/sh -c 'read line; echo "got $line"'
  check_tty "containerd: -t gives a terminal and the exit code" 4 '~/dev/pts/[0-9]+' \
    ctr run --rm -t --rootfs "$rootfs" "$c-6" /bin/sh -c 'tty; exit 4'
  check "containerd: 200000 lines of output arrive intact" 0 "$big_sum" \
    bash -c "set -o pipefail; ctr run --rm --rootfs $rootfs $c-7 /bin/seq 1 200000 | md5sum | cut -d' ' -f1"
  check "containerd: going over --memory-limit is an OOM kill (137)" 137 "" \
    ctr run --rm --memory-limit 52428800 --rootfs "$rootfs" "$c-9" /bin/sh -c 'tail /dev/zero'
  check "containerd: without CNI it has only lo" 0 lo ctr run --rm --rootfs "$rootfs" "$c-10" /bin/ls /sys/class/net
  local host_if nl=$'\n'
  host_if=$(ip route show default | awk '{print $5; exit}')
  check "containerd: --net-host sees the host's interfaces ($host_if)" 0 "~(^|$nl)$host_if($nl|$)" \
    ctr run --rm --net-host --rootfs "$rootfs" "$c-11" /bin/ls /sys/class/net
  check "containerd: --read-only refuses writes to the rootfs" 1 "~Read-only file system" \
    ctr run --rm --read-only --rootfs "$rootfs" "$c-12" /bin/sh -c 'touch /file 2>&1'
  echo "from the host" >"$work/vol/in"
  check "containerd: --mount binds a host directory read-only" 1 $'from the host\ntouch: /data/file: Read-only file system' \
    ctr run --rm --mount "type=bind,src=$work/vol,dst=/data,options=rbind:ro" --rootfs "$rootfs" "$c-13" \
    /bin/sh -c 'cat /data/in; touch /data/file 2>&1'
  same_as_runc "containerd: default capabilities, no_new_privs and seccomp are runc's" 0 \
    ctr run --rm --rootfs "$rootfs" "$c-14" /bin/sh -c "$security_cmd"
  same_as_runc "containerd: --cap-add and --cap-drop are runc's" 0 \
    ctr run --rm --cap-add CAP_NET_ADMIN --cap-drop CAP_CHOWN --cap-drop CAP_KILL --rootfs "$rootfs" "$c-15" /bin/sh -c "$security_cmd"
  check "containerd: --privileged has the host's bounding set" 0 $'CapEff:\t'"$host_capbnd" \
    ctr run --rm --privileged --rootfs "$rootfs" "$c-16" /bin/grep CapEff /proc/self/status
  same_as_runc "containerd: --privileged is runc's" 0 \
    ctr run --rm --privileged --rootfs "$rootfs" "$c-17" /bin/sh -c "$security_cmd"

  # --- detached ---
  c=$tag-ctr-d
  if ! check "containerd: run -d starts a task" 0 "" \
    ctr run -d --memory-limit 104857600 --rootfs "$rootfs" "$c" /bin/sh -c 'while :; do sleep 0.2; done'; then
    skip "containerd: the detached lifecycle" "the task did not start"
    ctr container delete "$c" >/dev/null 2>&1
    return
  fi
  check "containerd: task ls shows it running" 0 "~$c +[0-9]+ +RUNNING" ctr task ls
  check "containerd: task exec --cwd --user" 0 "/tmp 1000" \
    ctr task exec --exec-id e1 --cwd /tmp --user 1000 "$c" /bin/sh -c 'echo "$(pwd) $(id -u)"'
  check "containerd: task exec --user gets the user's HOME" 0 /home/tester \
    ctr task exec --exec-id e1h --user 1000 "$c" /bin/sh -c 'echo "$HOME"'
  check "containerd: task exec's exit code" 7 "" ctr task exec --exec-id e2 "$c" /bin/sh -c 'exit 7'
  check_tty "containerd: task exec -t gives a terminal" 3 '~/dev/pts/[0-9]+' \
    ctr task exec -t --exec-id e3 "$c" /bin/sh -c 'tty; exit 3'
  local pid
  pid=$(ctr task ls | awk -v c="$c" '$1 == c {print $2}')
  # ctr's spec mounts no cgroup filesystem in the container: the limit is read on the host.
  expect "containerd: --memory-limit set the task's cgroup limit" 104857600 "$(host_memory_limit "$pid" 2>&1)"
  check "containerd: task ps lists its processes" 0 "~$nl$pid " ctr task ps "$c"
  check "containerd: task pause" 0 "" ctr task pause "$c"
  check "containerd: a paused task is PAUSED" 0 "~$c +[0-9]+ +PAUSED" ctr task ls
  expect "containerd: its cgroup is frozen" FROZEN "$(freezer_state "$pid" 2>&1)"
  check "containerd: task resume" 0 "" ctr task resume "$c"
  check "containerd: a resumed task is RUNNING" 0 "~$c +[0-9]+ +RUNNING" ctr task ls
  expect "containerd: its cgroup is thawed" THAWED "$(freezer_state "$pid" 2>&1)"
  check "containerd: task metrics reports memory" 0 '~memory' ctr task metrics "$c"
  check "containerd: task kill sends SIGTERM, which PID 1 ignores" 0 "" ctr task kill "$c"
  sleep 1
  check "containerd: so the task still runs" 0 "~$c +[0-9]+ +RUNNING" ctr task ls
  check "containerd: task kill -s SIGKILL" 0 "" ctr task kill -s SIGKILL "$c"
  wait_for 10 sh -c "ctr task ls | grep -q '$c .*STOPPED'"
  check "containerd: the task is STOPPED" 0 "~$c +[0-9]+ +STOPPED" ctr task ls
  check "containerd: task delete reports exit 137" 0 "~137" sh -c "ctr task delete $c 2>&1"
  check "containerd: container delete" 0 "" ctr container delete "$c"
}

ctr_leftovers() {
  ctr task ls -q 2>/dev/null | sed 's/^/task /'
  ctr container ls -q 2>/dev/null | sed 's/^/container /'
  leftovers --state-root "/run/containerd/runc/$ctr_ns" --cgroups-below "$ctr_ns" --mounts-under "$work/containerd"
}

ctr_cleanup() {
  local id
  if [ -n "${daemon_pid[containerd]:-}" ]; then
    for id in $(ctr task ls -q 2>/dev/null); do ctr task kill -s SIGKILL "$id" >/dev/null 2>&1; done
    sleep 0.5
    for id in $(ctr task ls -q 2>/dev/null); do ctr task delete -f "$id" >/dev/null 2>&1; done
    for id in $(ctr container ls -q 2>/dev/null); do ctr container delete "$id" >/dev/null 2>&1; done
  fi
  rmdir "/run/containerd/runc/$ctr_ns" 2>/dev/null
  remove_cgroup_tree "$ctr_ns"
}

# --- Docker ---------------------------------------------------------------------------------
start_dockerd() {
  mkdir -p "$work/docker"
  cat > "$work/docker/daemon.json" <<EOF
{
  "runtimes": { "tscontainer": { "path": "$runtime" } },
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "cgroup-parent": "$docker_parent",
  "deprecated-key-path": "$work/docker/key.json"
}
EOF
  dockerd --config-file "$work/docker/daemon.json" --data-root "$work/docker/data" \
    --exec-root "$work/docker/exec" --pidfile "$work/docker/docker.pid" -H "unix://$docker_sock" \
    >"$work/docker/log" 2>&1 &
  daemon_pid[docker]=$!
  wait_for 60 docker version
}

docker_scenarios() {
  if start_dockerd; then ok "docker: dockerd starts with private roots, socket and the tscontainer runtime"
  else not_ok "docker: dockerd starts with private roots, socket and the tscontainer runtime" "$(tail -n 20 "$work/docker/log")"; return; fi
  if check "docker: import the image" 0 "~sha256:" docker import "$work/image.tar" tsbusybox; then
    cli_scenarios docker tsbusybox '172\.17\.'
  fi
  docker_load_scenarios
}

# --- Docker loads what tscontainer saved ----------------------------------------------------
# Two images in a private tscontainer store ($work/tsstore, through the wrapper
# $work/bin/tscontainer), each saved by `tscontainer save --format docker-archive` from that
# store and loaded by `docker load`: localhost/tsfixture/busybox:latest, loaded by tscontainer
# from skopeo's docker-archive (test/images' archives recipe: uncompressed layers), and
# busybox:configured (test/images' busybox recipe: Entrypoint, Cmd, Env, WorkingDir, User),
# pushed by skopeo to a private registry and pulled by tscontainer (a gzip layer, decompressed
# by our save). Docker must name each as saved, see the same image id, Config and diff_ids as
# `tscontainer image inspect`, and run it with runc and with tscontainer.

# inspected_image: what `docker image inspect` or `tscontainer image inspect` printed ($got),
# one line per field compared: the id (Docker prefixes sha256:), Config's Entrypoint, Cmd, Env,
# WorkingDir and User (absent, null and "" alike: Docker writes "" and null where podman's
# shape leaves a field out) and RootFS.Layers, the diff_ids.
inspected_image() {
  node -e '
    const [image] = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const config = image.Config ?? {};
    const field = (v) => JSON.stringify(v === undefined || v === "" ? null : v);
    console.log(`Id ${image.Id.replace(/^sha256:/, "")}`);
    for (const k of ["Entrypoint", "Cmd", "Env", "WorkingDir", "User"]) console.log(`Config.${k} ${field(config[k])}`);
    console.log(`RootFS.Layers ${field(image.RootFS?.Layers)}`);' <<<"$got"
}

# docker_loads NAME FILE REF...: `docker load -i FILE` names exactly REF... (its progress lines
# aside), and `docker image inspect` finds each.
docker_loads() {
  local name=$1 file=$2 want ref
  shift 2
  want=$(printf 'Loaded image: %s\n' "$@")
  check "docker: $name" 0 "$want" bash -c 'set -o pipefail; docker load -i "$0" | grep "^Loaded image"' "$file" || return 1
  for ref in "$@"; do
    docker image inspect "$ref" >/dev/null 2>&1 || { not_ok "docker: $name: image inspect $ref" "$(docker images 2>&1)"; return 1; }
  done
}

# docker_image_matches NAME REF: Docker's image REF has the id, Config and diff_ids of
# tscontainer's.
docker_image_matches() {
  local ours
  run tscontainer image inspect "$2"
  [ "$status" = 0 ] || { not_ok "$1: tscontainer image inspect $2" "$(describe tscontainer image inspect "$2")"; return 1; }
  ours=$(inspected_image)
  run docker image inspect "$2"
  [ "$status" = 0 ] || { not_ok "$1: docker image inspect $2" "$(describe docker image inspect "$2")"; return 1; }
  expect "$1" "$ours" "$(inspected_image)"
}

docker_load_scenarios() {
  local store=$work/tsstore cli=$repo/bin/run.cjs
  local plain=localhost/tsfixture/busybox:latest configured second archive reason="" tool version
  if [ ! -f "$repo/dist/commands/save.js" ]; then
    not_ok "docker load: the tscontainer CLI is built" "no $repo/dist/commands/save.js: npm run build"
    return
  fi
  cat > "$work/bin/tscontainer" <<EOF
#!/bin/sh
# This checkout's CLI on a private image store, with its own tscontainer-runtime (the runtime
# under test, TSCONTAINER_RUNTIME_PATH, may be runc).
unset TSCONTAINER_RUNTIME_PATH
exec node '$cli' "\$@" --storage-root '$store'
EOF
  chmod +x "$work/bin/tscontainer"
  # The test images' archives are made with skopeo and podman; the registry is docker-registry,
  # asked with curl whether it answers.
  for tool in skopeo podman docker-registry curl; do
    command -v "$tool" >/dev/null || reason="${reason:+$reason, }$tool"
  done
  if [ -n "$reason" ]; then
    reason="not installed: $reason (apt-get install skopeo podman docker-registry curl)"
    if [ -n "${CI:-}" ]; then not_ok "docker load: images saved by tscontainer" "$reason"; else skip "docker load: images saved by tscontainer" "$reason"; fi
    return
  fi

  # localhost/tsfixture/busybox:latest, from skopeo's docker-archive.
  if ! archive=$(image_archive busybox.docker-archive.tar 2>"$err"); then
    not_ok "docker load: build the test images (test/images/build.sh busybox archives)" "$(cat "$err")"
    return
  fi
  check "tscontainer: load skopeo's docker-archive of busybox" 0 "Loaded image: $plain" tscontainer load -q -i "$archive"
  docker_saved_runs "busybox (loaded by tscontainer)" "$plain" "tscontainer-busybox /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    sh -c '. /etc/os-release && echo "$ID $PATH"'

  # busybox:configured, pulled by tscontainer from a private registry.
  if registry_start >"$err" 2>&1 && configured=$REGISTRY_HOST/tests/busybox:configured &&
    image_push busybox:configured "$configured" >"$err" 2>&1; then
    check "tscontainer: pull busybox:configured from a private registry" 0 "~^(sha256:)?[0-9a-f]{64}$" \
      tscontainer pull -q --tls-verify=false "$configured" || configured=""
  else
    not_ok "docker load: a private registry with busybox:configured (test/images/fixtures.sh)" "$(cat "$err")"
    configured=""
  fi
  # The registry is a process of ours: it goes before the leftover checks.
  fixtures_cleanup
  [ -n "$configured" ] || return
  docker_saved_runs "busybox:configured (pulled by tscontainer)" "$configured" "ran tester 1000 50 /srv/app hello from the image"

  # Two tags of one image in one archive; then several images with -o.
  second=${configured%:*}:second
  check "tscontainer: tag busybox:configured as :second" 0 "" tscontainer tag "$configured" "$second"
  docker rmi "$plain" "$configured" >/dev/null 2>&1
  check "tscontainer: save -o of two tags of one image" 0 "" \
    tscontainer save -o "$work/two-tags.tar" "$configured" "$second"
  docker_loads "load gives both tags of one image" "$work/two-tags.tar" "$configured" "$second" &&
    docker_image_matches "docker: the second tag is the same image as tscontainer's" "$second"
  docker rmi "$configured" "$second" >/dev/null 2>&1
  check "tscontainer: save -o of two images, one with two tags" 0 "" \
    tscontainer save -o "$work/several.tar" "$plain" "$configured" "$second"
  if docker_loads "load gives every image and tag of one archive" "$work/several.tar" "$plain" "$configured" "$second"; then
    MGR_RUNTIME=runc check "docker: runs the second tag, with runc" 0 "ran tester 1000 50 /srv/app hello from the image" \
      docker run --rm "$second"
    check "docker: runs the second tag, with --runtime tscontainer" 0 "ran tester 1000 50 /srv/app hello from the image" \
      docker run --rm "$second"
  fi

  # An oci-archive: Docker reads one from version 25 only.
  version=$(docker version --format '{{.Server.Version}}' 2>/dev/null)
  if [[ ${version%%.*} =~ ^[0-9]+$ ]] && [ "${version%%.*}" -lt 25 ]; then
    check "tscontainer: save --format oci-archive" 0 "" tscontainer save --format oci-archive -o "$work/oci.tar" "$configured"
    if run docker load -i "$work/oci.tar"; [ "$status" != 0 ] && ! grep -q '^Loaded image' "$out"; then
      ok "docker: load refuses an oci-archive (dockerd before 25 reads docker-archives only)"
      echo "#   dockerd $version; docker load said: $(head -n 1 "$err" | head -c 300)"
    else
      not_ok "docker: load refuses an oci-archive (dockerd before 25 reads docker-archives only)" "dockerd $version" "$(describe docker load -i "$work/oci.tar")"
    fi
  else
    skip "docker: load refuses an oci-archive" "dockerd ${version:-(version unknown)}: Docker reads oci-archives from 25 on; only an older one's refusal is checked"
  fi
}

# docker_saved_runs LABEL REF WANT [COMMAND...]: tscontainer saves REF as a docker-archive,
# Docker loads it under that name with tscontainer's id, Config and diff_ids, and `docker run
# --rm REF [COMMAND...]` prints WANT with runc and with tscontainer. (LABEL names the image in
# the checks' descriptions: REF may hold a port chosen at run time.)
docker_saved_runs() {
  local label=$1 ref=$2 want=$3 file=$work/saved.tar
  shift 3
  check "tscontainer: save -o FILE --format docker-archive, $label" 0 "" \
    tscontainer save -o "$file" --format docker-archive "$ref" || return
  docker_loads "load of tscontainer's docker-archive names it as saved, $label" "$file" "$ref" || return
  docker_image_matches "docker: the id, Config (Entrypoint, Cmd, Env, WorkingDir, User) and diff_ids are tscontainer's, $label" "$ref"
  MGR_RUNTIME=runc check "docker: runs it with runc, $label" 0 "$want" docker run --rm "$ref" "$@"
  check "docker: runs it with --runtime tscontainer, $label" 0 "$want" docker run --rm "$ref" "$@"
  rm -f "$file"
}

docker_leftovers() {
  docker ps -a --format 'container {{.ID}} {{.Names}} {{.Status}}' 2>/dev/null
  # (dockerd keeps its data-root a private mount of its own while it runs.)
  leftovers --state-root "$work/docker/exec/runtime-runc/moby" --cgroups-below "$docker_parent" \
    --mounts-under "$work/docker" --mounts-matching '(/merged|/mounts/shm|/netns/[^/]+)$'
}

docker_cleanup() {
  if [ -n "${daemon_pid[docker]:-}" ]; then
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
    docker images -q 2>/dev/null | xargs -r docker rmi -f >/dev/null 2>&1
  fi
  remove_cgroup_tree "$docker_parent"
}

# --- stopping and checking ------------------------------------------------------------------
stop_daemon() {
  local name=$1 pid=${daemon_pid[$1]:-} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "# $name (pid $pid) did not stop within 30 s of SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  unset "daemon_pid[$name]"
}

# The rules, links and paths the managers' networking and daemons added.
machine_leftovers() {
  local fw line link p
  for fw in "${firewalls[@]}"; do
    comm -13 <(echo "${rules_before[$fw]}") <(${fw% *} -w -t "${fw#* }" -S 2>/dev/null | sort) | while read -r line; do
      echo "${fw% *} -t ${fw#* } $line"
    done
  done
  for link in $(comm -13 <(echo "$links_before") <(link_names)); do echo "link $link"; done
  for p in $(comm -13 <(echo "$netns_before") <(ls -A /run/netns 2>/dev/null | sort)); do echo "netns /run/netns/$p"; done
  for p in "${outside_paths[@]}"; do
    [ -z "${existed[$p]:-}" ] && [ -e "$p" ] || continue
    # Other users' containers may live in the runtimes' default roots (ours are checked above).
    case $p in /run/tscontainer | /run/runc) [ -z "$(ls -A "$p")" ] || continue ;; esac
    echo "path $p"
  done
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$forward_before" ] || echo "sysctl net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
}

remove_machine_leftovers() {
  local fw line p
  # Rules first (-A lines become -D), then the chains they used (-N lines become -X).
  for fw in "${firewalls[@]}"; do
    comm -13 <(echo "${rules_before[$fw]}") <(${fw% *} -w -t "${fw#* }" -S 2>/dev/null | sort) | grep '^-A ' | while read -r line; do
      eval "${fw% *} -w -t ${fw#* } -D ${line#-A }" 2>/dev/null
    done
    comm -13 <(echo "${rules_before[$fw]}") <(${fw% *} -w -t "${fw#* }" -S 2>/dev/null | sort) | grep '^-N ' | while read -r line; do
      ${fw% *} -w -t "${fw#* }" -X "${line#-N }" 2>/dev/null
    done
  done
  # Only the kinds of link the managers make: their bridges and the containers' veths.
  for link in $(comm -13 <(echo "$links_before") <(link_names)); do
    [[ $link =~ ^(docker0|podman[0-9]+|cni-podman[0-9]+|veth[0-9a-f]+)$ ]] && ip link delete "$link" 2>/dev/null
  done
  # podman's network namespaces (netns-UUID).
  for p in $(comm -13 <(echo "$netns_before") <(ls -A /run/netns 2>/dev/null | sort)); do
    [[ $p =~ ^netns-[0-9a-f-]+$ ]] || continue
    umount "/run/netns/$p" 2>/dev/null
    rm -f "/run/netns/$p"
  done
  for p in "${outside_paths[@]}"; do
    [ -n "${existed[$p]:-}" ] && continue
    if [ -d "$p" ]; then rmdir "$p" 2>/dev/null; else rm -f "$p"; fi
  done
  echo "$forward_before" >/proc/sys/net/ipv4/ip_forward
}

# verify NAME FINDER: one check that FINDER lists nothing.
verify() {
  local found
  found=$("$2" 2>/dev/null)
  if [ -z "$found" ]; then ok "$1"; else not_ok "$1" "$found"; fi
}

# cleanup [verify]: removes everything; with `verify`, first checks (as TAP) that the
# managers left nothing of ours, then that nothing at all remains once the daemons stopped.
cleanup() {
  $cleaned && return
  cleaned=true
  local do_verify=${1:-}
  fixtures_cleanup
  if selected_has podman; then
    [ -n "$do_verify" ] && verify "podman: no container, runtime state, cgroup or mount of its containers is left" podman_leftovers
    podman_cleanup
  fi
  if selected_has containerd; then
    [ -n "$do_verify" ] && verify "containerd: no task, container, runtime state, cgroup or mount is left" ctr_leftovers
    ctr_cleanup
  fi
  if selected_has docker; then
    [ -n "$do_verify" ] && verify "docker: no container, runtime state, cgroup or mount is left" docker_leftovers
    docker_cleanup
  fi
  stop_daemon docker
  stop_daemon containerd
  # Whatever the managers left below us (shims, conmon, containers' processes).
  sleep 0.5
  if [ -n "$do_verify" ]; then
    verify "no process of ours is left once the daemons have stopped" leftover_processes
    verify "no mount of ours is left" leftover_mounts
  fi
  # (Listed first: a pipeline's other commands are children of this shell too.)
  local found
  found=$(leftover_processes)
  [ -z "$found" ] || awk '{print $2}' <<<"$found" | xargs -r kill -KILL 2>/dev/null
  found=$(leftover_mounts)
  [ -z "$found" ] || awk '{print $2}' <<<"$found" | sort -r | xargs -r -n1 umount -l 2>/dev/null
  # cgroups the runtime left are removed with their parents (listed above when verifying).
  remove_cgroup_tree "$podman_parent"
  remove_cgroup_tree "$docker_parent"
  remove_cgroup_tree "$ctr_ns"
  # The managers leave some things on the machine whatever the runtime (dockerd its bridge
  # and iptables chains, netavark its chains and IPAM database, the shims their directories
  # in /run/containerd, ip_forward set): those that were not there before are removed, and
  # then nothing may differ from before.
  found=$(machine_leftovers)
  remove_machine_leftovers
  [ -z "$found" ] || sed 's/^/# removed (made by a manager): /' <<<"$found"
  if [ -n "$do_verify" ]; then
    verify "nothing the managers made outside the work directory is left (iptables rules, links, network namespaces, paths)" machine_leftovers
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- main -----------------------------------------------------------------------------------
echo "# runtime: $runtime; reference: $runc_bin; managers: ${selected[*]}"
echo "# $(podman --version 2>/dev/null); containerd $(containerd --version 2>/dev/null | awk '{print $3}'); $(dockerd --version 2>/dev/null)"
echo "# work directory $work; podman, docker and ctr are wrappers in $work/bin (see their comments)"
if ! prepare_rootfs; then
  not_ok "build the image's rootfs (test/fixtures/build-rootfs.sh) and tarball" "$(cat "$err")"
  finish
fi
for m in "${selected[@]}"; do
  t=$SECONDS
  case $m in
    podman) podman_scenarios ;;
    containerd) ctr_scenarios ;;
    docker) docker_scenarios ;;
  esac
  echo "# $m: $((SECONDS - t))s"
done
cleanup verify
echo "# managers tier: $((SECONDS - started))s"
finish
