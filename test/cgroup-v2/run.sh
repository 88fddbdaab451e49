#!/usr/bin/env bash
# run.sh — the cgroup v2 tier: prepares bundles on the host (prepare.ts), boots the
# cgroupv2-vm tool beside the repository (../shared/tools/cgroupv2-vm/run) and runs
# checks.sh inside it. Prints the checks' TAP, then `# pass N`, `# fail N`, `# skip N` and
# `N passed, N failed` counted from it (test/lib/tap.sh) — or `# SKIPPED: reason` when the VM
# tool is not there. A VM that fails or times out counts as a failure. Exits non-zero when
# anything failed. CGROUPV2_VM overrides the path of the VM tool.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"
vm=${CGROUPV2_VM:-$repo/../shared/tools/cgroupv2-vm/run}
prepared=$repo/test/.work/cgroup-v2

[ -x "$vm" ] || unavailable "cgroup v2 tier: the VM tool $vm is not there (CI clones the repository beside shared/)"

cd "$repo"
if ! node --import=tsx test/cgroup-v2/prepare.ts "$prepared"; then
  not_ok "prepare the cgroup v2 bundles on the host"
  finish
fi

output=$(mktemp)
trap 'rm -rf "$output" "$prepared"' EXIT
started=$SECONDS
V2VM_TIMEOUT=${V2VM_TIMEOUT:-900} "$vm" bash test/cgroup-v2/checks.sh "$prepared" | tee "$output"
vm_status=${PIPESTATUS[0]}
echo "# cgroup v2 tier: VM exited $vm_status after $((SECONDS - started))s"

tap_absorb "$output"
# The checks never finished: the VM failed to boot, timed out or died under them.
grep -q '^1\.\.[0-9]' "$output" || not_ok "the cgroup v2 VM ended before the checks finished (exit $vm_status)"
finish
