#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034,SC2317 # conditions are eval'd by expect; functions are called through it
# checks.sh RUNTIME ROOTFS IMAGE_TAR — the systemd cgroup driver's checks, run inside the VM
# booted with systemd as PID 1 (see run.sh), from the repository's root, as root (in
# /system.slice/v2vm.service). Prints TAP through test/lib/tap.sh.
#
# As root: `--systemd-cgroup` puts the container in a transient scope that systemctl shows
# with its limits, which the container reads in its cgroup files; `update` changes both;
# `delete` leaves no unit, cgroup or state, also after kill -9 of the runtime in create;
# podman (--cgroup-manager=systemd) and containerd (ctr --runc-systemd-cgroup) run through
# the runtime. As an ordinary user, through the user's own systemd (user@UID.service): the
# same scope, limits, update, exec and cleanup, and rootless podman with the systemd manager.
# Everything is made under one work directory, in state roots of its own, with unit names
# beginning with `tssd`.
set -u

repo=$(pwd)
runtime=$1 rootfs=$2 image_tar=$3
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"

work=$(mktemp -d /tmp/systemd-checks.XXXXXX)
chmod 755 "$work"
state=$work/state
fifty=52428800 hundred=104857600

# capture CMD...: runs CMD; its exit status in $code, stdout in $out, stderr in $err.
capture() {
  "$@" >"$work/out" 2>"$work/err"
  code=$?
  out=$(cat "$work/out") err=$(cat "$work/err")
}

# wait_until SECONDS CMD...: polls CMD until it succeeds (the VM emulates: slow).
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# bundle DIR JQ [spec flag]: a bundle over the fixture rootfs, from the runtime's own spec
# changed by the jq program JQ.
bundle() {
  local dir=$1 filter=$2
  mkdir -p "$dir"
  "$runtime" spec --bundle "$dir" ${3:+"$3"} || return 1
  jq --arg rootfs "$rootfs" ".root.path = \$rootfs | .process.terminal = false | $filter" \
    "$dir/config.json" >"$dir/config.tmp" && mv "$dir/config.tmp" "$dir/config.json"
}

# show UNIT PROPERTY... [systemctl flags via SYSTEMCTL]: `Name=value` lines, sorted.
show() {
  local unit=$1
  shift
  local props
  props=$(IFS=,; echo "$*")
  "${systemctl[@]}" show -p "$props" "$unit" | sort
}
systemctl=(systemctl)

# lines WORD...: one word a line, as `show` prints properties.
lines() { printf '%s\n' "$@"; }

# leftovers UNIT CGROUP STATE_ROOT ID: what remains of a container (nothing when all is gone).
leftovers() {
  local unit=$1 cgroup=$2 root=$3 id=$4
  "${systemctl[@]}" list-units --all --plain --no-legend "$unit" 2>/dev/null | sed 's/^/unit /'
  [ -e "/sys/fs/cgroup$cgroup" ] && echo "cgroup $cgroup"
  [ -e "$root/$id" ] && echo "state $root/$id"
  pgrep -af "^([^ ]*/)?tscontainer-runtime .*$id( |\$)" | sed 's/^/process /'
  return 0
}

# expect_clean DESCRIPTION LEFTOVERS-CMD...: ok when the command prints nothing.
expect_clean() {
  local description=$1 left
  shift
  left=$("$@")
  if [ -z "$left" ]; then ok "$description"; else not_ok "$description" "$left"; fi
}

# expect DESCRIPTION CONDITION: ok when the bash condition holds, else the evidence (the last
# command's and $evidence, which it then clears).
expect() {
  if eval "$2"; then
    ok "$1"
  else
    not_ok "$1" "expected: $2" "exit: ${code:-}" "stdout: ${out:-}" "stderr: ${err:-}" ${evidence:+"$evidence"}
  fi
  evidence=
}

limits='.linux.resources.memory = {"limit": 52428800} | .linux.resources.pids = {"limit": 20}
  | .linux.resources.cpu = {"quota": 12345, "period": 100000, "shares": 1024}'
reader='cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.weight; exec sleep 600'

root_checks() {
  # --- root: a scope with the limits, update, delete ----------------------------------------
  id=tssd-root unit=tssd-root.scope cg=/system.slice/tssd-root.scope
  bundle "$work/root" "$limits | .linux.cgroupsPath = \"system.slice:tssd:root\" | .process.args = [\"sh\", \"-c\", \"$reader\"]"
  capture "$runtime" --root "$state" --systemd-cgroup create --bundle "$work/root" "$id"
  init=$("$runtime" --root "$state" state "$id" 2>/dev/null | jq -r .pid)
  props=$(show "$unit" ActiveState Slice ControlGroup Delegate MemoryMax TasksMax CPUQuotaPerSecUSec CPUWeight)
  want=$(lines ActiveState=active CPUQuotaPerSecUSec=130ms CPUWeight=39 "ControlGroup=$cg" Delegate=yes \
    "MemoryMax=$fifty" Slice=system.slice TasksMax=20)
  evidence="properties: $props"
  expect "root: create puts the init in $unit, which systemctl shows with the limits as properties" \
    '[ $code = 0 ] && [ "$props" = "$want" ] && [ "$(cat /sys/fs/cgroup$cg/cgroup.procs)" = "$init" ]'
  status=$(systemctl status --no-pager "$unit" 2>&1)
  expect "root: systemctl status shows the scope with its task and memory limits" \
    '[[ $status == *"Tasks: 1 (limit: 20)"* && $status == *"max: 50.0M"* && $status == *"CGroup: $cg"* ]]'

  "$runtime" --root "$state" start "$id" >/dev/null 2>&1
  wait_until 60 grep -q . "$work/out"; sleep 0.5
  inside=$(tr '\n' ' ' <"$work/out")
  evidence="inside: $inside"
  expect "root: inside, the cgroup files read the limits (the CPU quota rounded up as systemd rounds it)" \
    '[ "$inside" = "$fifty 20 13000 100000 39 " ]'

  capture "$runtime" --root "$state" update --memory "$hundred" --pids-limit 30 --cpu-quota 50000 "$id"
  props=$(show "$unit" MemoryMax TasksMax CPUQuotaPerSecUSec)
  files="$(cat "/sys/fs/cgroup$cg/memory.max") $(cat "/sys/fs/cgroup$cg/pids.max") $(cat "/sys/fs/cgroup$cg/cpu.max")"
  evidence="properties: $props; files: $files"
  expect "root: update changes the unit's properties and the cgroup files" \
    '[ $code = 0 ] && [ "$props" = "$(lines CPUQuotaPerSecUSec=500ms MemoryMax=$hundred TasksMax=30)" ] && [ "$files" = "$hundred 30 50000 100000" ]'
  capture "$runtime" --root "$state" exec "$id" cat /sys/fs/cgroup/memory.max
  expect "root: after update, the container reads the new memory.max" '[ $code = 0 ] && [ "$out" = "$hundred" ]'

  capture "$runtime" --root "$state" delete --force "$id"
  expect "root: delete --force exits 0" '[ $code = 0 ]'
  expect_clean "root: after delete, no unit, cgroup, state or process is left" leftovers "$unit" "$cg" "$state" "$id"

  # --- root: runc's default name, and `run` ---------------------------------------------------
  id=tssd-default unit=runc-tssd-default.scope
  bundle "$work/default" '.process.args = ["sh", "-c", "cat /sys/fs/cgroup/pids.max"] | .linux.resources.pids = {"limit": 7} | del(.linux.cgroupsPath)'
  capture "$runtime" --root "$state" --systemd-cgroup create --bundle "$work/default" "$id"
  props=$(show "$unit" Slice TasksMax)
  evidence="properties: $props"
  expect "root: without cgroupsPath the scope is runc-ID.scope in system.slice, as with runc" \
    '[ $code = 0 ] && [ "$props" = "$(lines Slice=system.slice TasksMax=7)" ]'
  "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1
  capture "$runtime" --root "$state" --systemd-cgroup run --bundle "$work/default" "$id"
  expect "root: run reads pids.max 7 and exits 0" '[ $code = 0 ] && [ "$out" = 7 ]'
  expect_clean "root: after run, no unit, cgroup, state or process is left" \
    leftovers "$unit" "/system.slice/$unit" "$state" "$id"

  # --- root: kill -9 of the runtime in the middle of create -----------------------------------
  # A createRuntime hook (run by the runtime once the scope exists) holds create; the runtime
  # is killed there. Its init sees the channel close and exits: the scope empties and systemd
  # removes it; delete --force removes the state.
  id=tssd-killed unit=tssd-killed.scope cg=/system.slice/tssd-killed.scope
  hook="echo \$\$ > $work/hook.pid; exec sleep 120"
  bundle "$work/killed" ".linux.cgroupsPath = \"system.slice:tssd:killed\" | .linux.resources.memory = {\"limit\": $fifty}
    | .hooks.createRuntime = [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"$hook\"]}]"
  "$runtime" --root "$state" --systemd-cgroup create --bundle "$work/killed" "$id" >/dev/null 2>&1 &
  creator=$!
  if wait_until 60 test -s "$work/hook.pid"; then
    active=$(systemctl is-active "$unit")
    # The runtime has talked to systemd (the scope exists) and still has one thread.
    threads=$(find "/proc/$creator/task" -mindepth 1 -maxdepth 1 | wc -l)
    kill -9 "$creator"
    wait "$creator" 2>/dev/null
    kill "$(cat "$work/hook.pid")" 2>/dev/null
    gone() { ! systemctl is-active -q "$unit" && [ ! -e "/sys/fs/cgroup$cg" ]; }
    wait_until 60 gone
    evidence="threads: $threads"
    expect "root: kill -9 of the runtime in create (the scope $active, the runtime single-threaded after its D-Bus calls): the init ends and systemd removes the scope" \
      '[ "$active" = active ] && [ "$threads" = 1 ] && gone && [ -d "$state/$id" ]'
    capture "$runtime" --root "$state" delete --force "$id"
    expect "root: delete --force after the kill exits 0" '[ $code = 0 ]'
    expect_clean "root: after kill -9 and delete --force, no unit, cgroup, state or process is left" \
      leftovers "$unit" "$cg" "$state" "$id"
  else
    kill -9 "$creator" 2>/dev/null
    not_ok "root: kill -9 of the runtime in create" "the createRuntime hook never ran"
    "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1
  fi

  # --- root: a cgroupsPath systemd cannot take --------------------------------------------------
  bundle "$work/bad" '.linux.cgroupsPath = "/not/slice/form"'
  capture "$runtime" --root "$state" --systemd-cgroup create --bundle "$work/bad" tssd-bad
  expect "root: a cgroupsPath not in slice:prefix:name form fails in one line with runc's message, creating nothing" \
    '[ $code != 0 ] && [ "$(wc -l <<<"$err")" = 1 ] && [[ $err == *"expected cgroupsPath to be of format \"slice:prefix:name\""* ]] && [ ! -e "$state/tssd-bad" ]'
}

# --- podman, cgroup_manager = "systemd" -------------------------------------------------------
podman_checks() {
  local p=$work/podman
  mkdir -p "$p"
  # Its storage on a tmpfs: overlay cannot use the VM's overlay root as its upper layer.
  mount -t tmpfs -o size=512m tssd-podman "$p"
  cat >"$p/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024"]
[engine]
cgroup_manager = "systemd"
events_logger = "file"
tmp_dir = "$p/tmp"
EOF
  cat >"$p/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$p/graph"
runroot = "$p/run"
EOF
  pm() { CONTAINERS_CONF=$p/containers.conf CONTAINERS_STORAGE_CONF=$p/storage.conf podman --runtime "$runtime" "$@"; }
  capture pm import "$image_tar" localhost/tssd-busybox
  if [ $code != 0 ]; then
    not_ok "podman: import the image" "$err"
  else
    capture pm run -d --name tssd-podman --network none --memory 50m localhost/tssd-busybox sleep 600
    local scope=libpod-$out.scope memory inside
    props=$(show "$scope" ActiveState Slice MemoryMax)
    memory=$(cat "/sys/fs/cgroup/machine.slice/$scope/memory.max" 2>&1)
    inside=$(pm exec tssd-podman cat /sys/fs/cgroup/memory.max 2>&1)
    evidence="properties: $props; memory.max: $memory; inside: $inside"
    expect "podman --cgroup-manager=systemd: the container runs in $scope in machine.slice, MemoryMax and memory.max $fifty (also inside)" \
      '[ $code = 0 ] && [ "$props" = "$(lines ActiveState=active MemoryMax=$fifty Slice=machine.slice)" ] && [ "$memory" = "$fifty" ] && [ "$inside" = "$fifty" ]'
    pm rm -f -t 0 tssd-podman >/dev/null 2>&1
    podman_left() {
      systemctl list-units --all --plain --no-legend 'libpod-*' | grep -v conmon
      [ -e "/sys/fs/cgroup/machine.slice/$scope" ] && echo "cgroup $scope"
      pm ps -aq
    }
    expect_clean "podman: no libpod scope, cgroup or container is left" podman_left
  fi
  pm rm -af >/dev/null 2>&1
  pm rmi -af >/dev/null 2>&1
  awk -v p="$p" 'index($5, p) == 1 && $5 != p { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  umount -l "$p"
}

# --- containerd, SystemdCgroup = true (ctr --runc-systemd-cgroup) -----------------------------
containerd_checks() {
  local c=$work/containerd
  mkdir -p "$c"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$c/sock"
[ttrpc]
  address = "$c/sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
EOF
  containerd --config "$c/config.toml" >"$c/log" 2>&1 &
  local daemon=$!
  cr() { ctr --address "$c/sock" --namespace tssd "$@"; }
  if ! wait_until 120 cr version; then
    not_ok "containerd: the private daemon starts" "$(tail -n 5 "$c/log")"
  else
    # --runc-binary and --runc-systemd-cgroup are the runc shim's BinaryName and
    # SystemdCgroup options (what containerd's CRI config sets): the shim passes
    # --systemd-cgroup on to the runtime, as to runc.
    capture cr run -d --runc-binary "$runtime" --runc-systemd-cgroup --cgroup system.slice:tssd:ctr \
      --memory-limit "$fifty" --rootfs "$rootfs" tssd-ctr /bin/sleep 600
    props=$(show tssd-ctr.scope ActiveState MemoryMax)
    # ctr's default spec mounts no cgroup filesystem in the container: the host's view only.
    local memory
    memory=$(cat /sys/fs/cgroup/system.slice/tssd-ctr.scope/memory.max 2>&1)
    evidence="properties: $props; memory.max: $memory"
    expect "containerd (runc shim, SystemdCgroup): the task runs in tssd-ctr.scope with MemoryMax and memory.max $fifty" \
      '[ $code = 0 ] && [ "$props" = "$(lines ActiveState=active MemoryMax=$fifty)" ] && [ "$memory" = "$fifty" ]'
    cr task kill -s SIGKILL tssd-ctr >/dev/null 2>&1
    wait_until 60 sh -c "ctr --address '$c/sock' --namespace tssd task ls | grep -q STOPPED"
    capture cr task rm tssd-ctr
    cr container rm tssd-ctr >/dev/null 2>&1
    containerd_left() {
      systemctl list-units --all --plain --no-legend tssd-ctr.scope
      [ -e /sys/fs/cgroup/system.slice/tssd-ctr.scope ] && echo "cgroup tssd-ctr.scope"
      cr containers ls -q
    }
    expect_clean "containerd: after the task is killed and removed, no unit, cgroup or container is left" containerd_left
  fi
  kill "$daemon" 2>/dev/null
  wait "$daemon" 2>/dev/null
}

user_checks() {
  # --- an ordinary user, through the user's own systemd -----------------------------------------
  user=tssd-user
  id -u "$user" >/dev/null 2>&1 || useradd --no-create-home --user-group "$user"
  uid=$(id -u "$user")
  systemctl start "user@$uid.service"
  runtime_dir=/run/user/$uid
  as_user() {
    runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work" XDG_RUNTIME_DIR="$runtime_dir" \
      DBUS_SESSION_BUS_ADDRESS="unix:path=$runtime_dir/bus" "$@"
  }
  systemctl=(as_user systemctl --user)
  user_state=$runtime_dir/tssd-state
  manager_cg=/user.slice/user-$uid.slice/user@$uid.service
  id=tssd-user unit=runc-tssd-user.scope cg=$manager_cg/user.slice/runc-tssd-user.scope
  chown "$user:" "$work"
  bundle "$work/user" ".linux.resources.memory = {\"limit\": $fifty} | .linux.resources.pids = {\"limit\": 20}
    | .process.args = [\"sh\", \"-c\", \"cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; exec sleep 600\"]" --rootless
  # A rootless spec maps the caller's uid: the user's, not root's who wrote it.
  jq --argjson uid "$uid" '.linux.uidMappings[0].hostID = $uid | .linux.gidMappings[0].hostID = $uid' \
    "$work/user/config.json" >"$work/user/c" && mv "$work/user/c" "$work/user/config.json"
  chown -R "$user:" "$work/user"
  capture as_user "$runtime" --root "$user_state" --systemd-cgroup create --bundle "$work/user" "$id"
  props=$(show "$unit" ActiveState ControlGroup Delegate MemoryMax TasksMax)
  want=$(lines ActiveState=active "ControlGroup=$cg" Delegate=yes "MemoryMax=$fifty" TasksMax=20)
  evidence="properties: $props"
  expect "user $uid: create puts the init in $unit of the user's systemd, with the limits as properties" \
    '[ $code = 0 ] && [ "$props" = "$want" ]'
  as_user "$runtime" --root "$user_state" start "$id" >/dev/null 2>&1
  wait_until 60 grep -q . "$work/out"; sleep 0.5
  inside=$(tr '\n' ' ' <"$work/out")
  expect "user: inside, memory.max and pids.max read the limits" '[ "$inside" = "$fifty 20 " ]'
  capture as_user "$runtime" --root "$user_state" update --memory "$hundred" --pids-limit 30 "$id"
  props=$(show "$unit" MemoryMax TasksMax)
  files="$(cat "/sys/fs/cgroup$cg/memory.max" 2>&1) $(cat "/sys/fs/cgroup$cg/pids.max" 2>&1)"
  evidence="properties: $props; files: $files"
  expect "user: update changes the unit's properties and the cgroup files" \
    '[ $code = 0 ] && [ "$props" = "$(lines MemoryMax=$hundred TasksMax=30)" ] && [ "$files" = "$hundred 30" ]'
  capture as_user "$runtime" --root "$user_state" exec "$id" sh -c 'cat /sys/fs/cgroup/memory.max /proc/self/cgroup'
  expect "user: exec runs in the scope (its cgroup namespace's root) and reads the new memory.max" \
    '[ $code = 0 ] && [ "$out" = "$(lines "$hundred" 0::/)" ]'
  capture as_user "$runtime" --root "$user_state" delete --force "$id"
  expect "user: delete --force exits 0" '[ $code = 0 ]'
  user_left() {
    leftovers "$unit" "$cg" "$user_state" "$id"
    pgrep -u "$uid" -af 'tscontainer|sleep' | sed 's/^/process /'
  }
  expect_clean "user: after delete, no unit, cgroup, state or process of the user's is left" user_left

  # Rootless podman runs the runtime inside its own user namespace (getuid() is 0 there):
  # the runtime reaches the user's systemd all the same.
  if command -v podman >/dev/null; then
    grep -q "^$user:" /etc/subuid || usermod --add-subuids 300000-365535 --add-subgids 300000-365535 "$user"
    local home=$work/home
    mkdir -p "$home" && chown "$user:" "$home"
    upodman() { as_user env HOME="$home" podman --cgroup-manager=systemd --runtime "$runtime" "$@"; }
    chmod 644 "$image_tar"
    capture upodman import "$image_tar" localhost/tssd-busybox
    capture upodman run --rm --network none --memory 50m --pids-limit 20 localhost/tssd-busybox \
      sh -c 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max'
    expect "user: rootless podman --cgroup-manager=systemd runs the container with memory.max $fifty and pids.max 20" \
      '[ $code = 0 ] && [ "$out" = "$(lines "$fifty" 20)" ]'
    rootless_podman_left() {
      as_user systemctl --user list-units --all --plain --no-legend 'libpod-*' | grep -v conmon
      upodman ps -aq
    }
    expect_clean "user: rootless podman leaves no libpod scope or container" rootless_podman_left
    upodman rmi -af >/dev/null 2>&1
  fi
  systemctl=(systemctl)
}

# SYSTEMD_CHECKS picks parts (default all): root podman containerd user.
for part in ${SYSTEMD_CHECKS:-root podman containerd user}; do
  case $part in
    podman) if command -v podman >/dev/null; then podman_checks; else not_ok "podman: it is not installed (apt-get install podman)"; fi ;;
    containerd) if command -v containerd >/dev/null; then containerd_checks; else not_ok "containerd: it is not installed (apt-get install containerd)"; fi ;;
    *) "${part}_checks" ;;
  esac
done

rm -rf "$work"
finish
