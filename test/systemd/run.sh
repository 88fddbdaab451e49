#!/usr/bin/env bash
# run.sh — the systemd tier: the runtime's systemd cgroup driver (`--systemd-cgroup`) against
# a real systemd. This machine's PID 1 is not systemd, so the tier boots the cgroupv2-vm tool
# beside the repository (../shared/tools/cgroupv2-vm/run) with V2VM_INIT=systemd — this
# machine's own systemd as PID 1 on a pure cgroup v2 kernel — and runs checks.sh there, as
# root and as an ordinary user (see checks.sh for what it checks). The fixture rootfs and the
# image tarball podman imports are made here first.
#
# Prints the checks' TAP, then `# pass N`, `# fail N`, `# skip N` and `N passed, N failed`;
# a VM that fails or times out is a failure. Without the VM tool it prints `# SKIPPED: why`
# (a failure under CI, which installs everything). TSCONTAINER_RUNTIME_PATH picks the
# runtime (default native/tscontainer-runtime, then cargo's release build); CGROUPV2_VM the
# VM tool.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=test/lib/tap.sh
. test/lib/tap.sh
vm=${CGROUPV2_VM:-$repo/../shared/tools/cgroupv2-vm/run}

[ "$(id -u)" -eq 0 ] || skipped "systemd tier: it boots a VM and creates system units: run it as root"
[ -x "$vm" ] || skipped "systemd tier: the VM tool $vm is not there (CI clones the repository beside shared/)"
for tool in jq podman containerd ctr runuser; do
  command -v "$tool" >/dev/null || skipped "systemd tier: $tool is not installed (apt-get install jq podman containerd util-linux)"
done
if [ ! -x /lib/systemd/systemd ] || [ ! -e /lib/systemd/system/dbus.socket ] || [ ! -e /usr/lib/systemd/user/dbus.socket ]; then
  skipped "systemd tier: systemd, dbus and the user bus are not installed (apt-get install systemd dbus dbus-user-session)"
fi

runtime=${TSCONTAINER_RUNTIME_PATH:-}
if [ -z "$runtime" ]; then
  for candidate in native/tscontainer-runtime target/release/tscontainer-runtime; do
    [ -x "$candidate" ] && { runtime=$repo/$candidate; break; }
  done
fi
if [ -z "$runtime" ] || [ ! -x "$runtime" ]; then
  not_ok "systemd tier: no tscontainer-runtime binary (npm run build:native, or set TSCONTAINER_RUNTIME_PATH)"
  finish
fi
runtime=$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")

rootfs=$repo/test/.work/rootfs
if ! bash test/fixtures/build-rootfs.sh "$rootfs"; then
  not_ok "systemd tier: build the fixture rootfs"
  finish
fi
image=$(mktemp "${TMPDIR:-/tmp}/tssd-image.XXXXXX.tar")
output=$(mktemp)
host=$(mktemp -d "${TMPDIR:-/tmp}/tssd-host.XXXXXX")
trap 'rm -rf "$image" "$output" "$host"' EXIT
tar -C "$rootfs" -cf "$image" .

# On this machine, when systemd is not PID 1: the flag fails in runc's words, making nothing.
if [ -d /run/systemd/system ]; then
  skip "host: --systemd-cgroup without systemd fails in one line" "systemd runs here"
else
  "$runtime" spec --bundle "$host" &&
    jq --arg rootfs "$rootfs" '.root.path = $rootfs | .process.terminal = false | .process.args = ["true"]' \
      "$host/config.json" >"$host/c" && mv "$host/c" "$host/config.json"
  "$runtime" --root "$host/state" --systemd-cgroup run --bundle "$host" tssd-host >"$host/out" 2>"$host/err"
  code=$? err=$(cat "$host/err")
  if [ $code != 0 ] && [ "$err" = "tscontainer-runtime: systemd not running on this host, cannot use systemd cgroups manager" ] &&
    [ ! -e "$host/state/tssd-host" ]; then
    ok "host: --systemd-cgroup without systemd fails in one line (runc's message) and creates nothing"
  else
    not_ok "host: --systemd-cgroup without systemd fails in one line (runc's message) and creates nothing" \
      "exit: $code" "stderr: $err" "$(ls -A "$host/state" 2>&1)"
  fi
fi

started=$SECONDS
V2VM_INIT=systemd V2VM_TIMEOUT=${V2VM_TIMEOUT:-900} "$vm" bash test/systemd/checks.sh "$runtime" "$rootfs" "$image" |
  tee "$output"
vm_status=${PIPESTATUS[0]}
echo "# systemd tier: VM exited $vm_status after $((SECONDS - started))s"

# The tier's counts: the host check above plus checks.sh's; a VM that never let it finish
# adds a failure.
tap_absorb "$output"
grep -q '^1\.\.[0-9]' "$output" || not_ok "the systemd VM ended before the checks finished (exit $vm_status)"
finish
