#!/usr/bin/env bash
# run.sh — the cgroup v2 tier: prepares bundles on the host (prepare.ts), boots the
# cgroupv2-vm tool beside the repository (../shared/tools/cgroupv2-vm/run) and runs
# checks.sh inside it. Prints the checks' TAP, then `# pass N`, `# fail N`, `# skip N`
# counted from it — or `# SKIPPED: reason` when the VM tool is not there. A VM that fails or
# times out counts as a failure. Exits non-zero when anything failed. CGROUPV2_VM overrides
# the path of the VM tool.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm=${CGROUPV2_VM:-$repo/../shared/tools/cgroupv2-vm/run}
prepared=$repo/test/.work/cgroup-v2

if [ ! -x "$vm" ]; then
  echo "# SKIPPED: cgroup v2 tier: the VM tool $vm is not there (CI clones the repository beside shared/)"
  exit 0
fi

cd "$repo"
if ! node --import=tsx test/cgroup-v2/prepare.ts "$prepared"; then
  echo "not ok 1 - prepare the cgroup v2 bundles on the host"
  printf '# pass 0\n# fail 1\n# skip 0\n'
  exit 1
fi

output=$(mktemp)
trap 'rm -rf "$output" "$prepared"' EXIT
started=$SECONDS
V2VM_TIMEOUT=${V2VM_TIMEOUT:-900} "$vm" bash test/cgroup-v2/checks.sh "$prepared" | tee "$output"
vm_status=${PIPESTATUS[0]}
echo "# cgroup v2 tier: VM exited $vm_status after $((SECONDS - started))s"

pass=$(grep -c '^ok ' "$output" | tr -d ' ')
skip=$(grep -c '^ok .* # SKIP ' "$output" | tr -d ' ')
fail=$(grep -c '^not ok ' "$output" | tr -d ' ')
pass=$((pass - skip))
if ! grep -q '^1\.\.[0-9]' "$output"; then
  # The checks never finished: the VM failed to boot, timed out or died under them.
  echo "not ok - the cgroup v2 VM ended before the checks finished (exit $vm_status)"
  fail=$((fail + 1))
fi
printf '# pass %d\n# fail %d\n# skip %d\n' "$pass" "$fail" "$skip"
[ "$fail" -eq 0 ]
