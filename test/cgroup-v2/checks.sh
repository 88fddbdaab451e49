#!/usr/bin/env bash
# checks.sh PREPARED — the cgroup v2 checks, run inside the VM (see run.sh) from the repo
# root, printing TAP. PREPARED is what prepare.ts wrote on the host: bundles and env.sh.
#
# The same three checks run twice: through the runtime with prepared bundles (always) and
# through the CLI, `node bin/run.cjs run --rm ...` (once the TypeScript build exists; see
# cli_expected for when its absence is a failure rather than a skip). After each, nothing
# of the container may remain: cgroup directory, state entry or runtime process. Then, on
# the VM's kernel (Debian 12's 6.1, which has no lowerdir+), overlay roots mounted with
# mount(2) (overlay.sh), and the rootless checks (rootless.sh).
set -u

prepared=$1
# shellcheck source=/dev/null
source "$prepared/env.sh"   # RUNTIME ROOTFS FIFTY_MIB ALLOCATE_200MB FORK_20 DEVICE_PROBE
scratch=$(mktemp -d /tmp/cgroup-v2-checks.XXXXXX)
state=/run/tscontainer-v2-checks
fork_refused="can't fork"
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
not_ok() {
  n=$((n + 1)); echo "not ok $n - $1"
  shift; for line in "$@"; do printf '#   %s\n' "$line"; done
}

# Runs a command, leaving its exit status in $code and its output in $out and $err.
capture() {
  "$@" >"$scratch/out" 2>"$scratch/err"
  code=$?
  out=$(cat "$scratch/out")
  err=$(cat "$scratch/err")
}

# Prints what remains of container $1 (cgroup named $2): nothing when all is gone.
leftovers() {
  local id=$1 cgroup=$2
  [ -e "/sys/fs/cgroup/$cgroup" ] && echo "cgroup /sys/fs/cgroup/$cgroup"
  [ -e "$state/$id" ] && echo "state $state/$id"
  pgrep -af "^([^ ]*/)?tscontainer-runtime .*$id( |\$)" | sed 's/^/process /'
  return 0
}

# expect_clean DESCRIPTION CONDITION LEFTOVERS...: ok when the condition (evaluated by bash)
# holds and the command LEFTOVERS... prints nothing (nothing of the container is left);
# otherwise not ok with the evidence. Used by the CLI and rootless checks too.
expect_clean() {
  local description=$1 condition=$2 left
  shift 2
  # One evidence line per leftover, so each stays a TAP comment.
  mapfile -t left < <("$@" | sed 's/^/left behind: /')
  if eval "$condition" && [ ${#left[@]} -eq 0 ]; then
    ok "$description"
  else
    not_ok "$description" "expected: $condition" "exit: $code" "stdout: ${out:0:300}" \
      "stderr: ${err:0:300}" "${left[@]:-left behind: nothing}"
  fi
}

# expect DESCRIPTION ID CGROUP CONDITION: expect_clean for a container the runtime ran.
expect() { expect_clean "$1" "$4" leftovers "$2" "$3"; }

if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  ok "/sys/fs/cgroup is a pure cgroup v2 hierarchy"
else
  not_ok "/sys/fs/cgroup is a pure cgroup v2 hierarchy" "found $(stat -fc %T /sys/fs/cgroup)"
fi

# --- the runtime, with bundles prepared on the host ---------------------------------------
run_bundle() {
  local name=$1
  id=v2-$name-$$
  capture "$RUNTIME" --root "$state" --log "$scratch/$name.log" --log-format json run --bundle "$prepared/$name" "$id"
  log=$(cat "$scratch/$name.log" 2>/dev/null)
}

run_bundle memory-max
expect "runtime: a 50M memory limit reads $FIFTY_MIB in memory.max at the container's cgroup root" \
  "$id" "$id" '[ $code = 0 ] && [ "$out" = "$FIFTY_MIB" ]'

run_bundle oom
expect "runtime: allocating 200MB under a 50M limit is OOM-killed: exit 137, oomKilled in the log" \
  "$id" "$id" '[ $code = 137 ] && [[ $log == *\"oomKilled\":true* ]]'

run_bundle pids-max
expect "runtime: a pids limit of 10 reads 10 in pids.max at the container's cgroup root" \
  "$id" "$id" '[ $code = 0 ] && [ "$out" = 10 ]'

run_bundle fork-limit
expect "runtime: under a pids limit of 10, fork fails before 20 processes start" \
  "$id" "$id" '[ $code != 0 ] && [ -z "$out" ] && [[ $err == *"$fork_refused"* ]]'

run_bundle devices
last_line() { printf '%s\n' "$1" | tail -n 1; }
expect "runtime: the eBPF device program lets mknod through, refuses /dev/kmsg (EPERM), allows /dev/null and /dev/zero" \
  "$id" "$id" '[ $code = 0 ] && [[ $out == *"mknod 0"*"kmsg 1"* ]] && [ "$(last_line "$out")" = 3 ] && [[ $err == *"Operation not permitted"* ]]'

# --- the CLI ------------------------------------------------------------------------------
# A missing CLI is a failure once the TypeScript build is part of the project (package.json
# names bin/run.cjs) or in CI, where `npm ci` builds it; before that, the checks are skipped.
cli_expected() {
  [ -n "${CI:-}" ] || grep -q '"bin/run.cjs"' package.json 2>/dev/null
}

cli_checks=(
  "CLI: --memory 50M reads $FIFTY_MIB in memory.max"
  "CLI: allocating 200MB under --memory 50M exits 137"
  "CLI: under --pids-limit 10, fork fails before 20 processes start"
  "CLI: /dev/kmsg is refused by the device program (EPERM), /dev/null and /dev/zero work"
)
if [ ! -f bin/run.cjs ]; then
  for c in "${cli_checks[@]}"; do
    if cli_expected; then not_ok "$c" "bin/run.cjs is missing: the CLI was not built"
    else skip "$c" "bin/run.cjs does not exist yet (the TypeScript CLI is not built)"; fi
  done
else
  cli() { capture node bin/run.cjs run --rm --rootfs "$ROOTFS" "$@"; }
  # The CLI names its cgroups /tscontainer-<id> and keeps state in the default root.
  cli_left() {
    { find /sys/fs/cgroup -maxdepth 1 -name 'tscontainer-*'; ls -A /run/tscontainer 2>/dev/null
      find /var/lib/tscontainer -mindepth 2 -maxdepth 2 2>/dev/null
      pgrep -af '^([^ ]*/)?tscontainer-runtime( |$)'; }
  }
  cli_expect() { expect_clean "$1" "$2" cli_left; }

  cli --memory 50M -- cat /sys/fs/cgroup/memory.max
  cli_expect "${cli_checks[0]}" '[ $code = 0 ] && [ "$out" = "$FIFTY_MIB" ]'
  cli --memory 50M -- sh -c "$ALLOCATE_200MB"
  cli_expect "${cli_checks[1]}" '[ $code = 137 ]'
  cli --pids-limit 10 -- sh -c "$FORK_20"
  cli_expect "${cli_checks[2]}" '[ $code != 0 ] && [[ $err == *"$fork_refused"* ]]'
  # The node goes in /dev, the container's own tmpfs, which allows device nodes.
  cli -- sh -c "${DEVICE_PROBE//\/tmp\/kmsg//dev/kmsg-probe}"
  cli_expect "${cli_checks[3]}" '[[ $out == *"mknod 0"*"kmsg 1"* ]] && [ "$(last_line "$out")" = 3 ] && [[ $err == *"Operation not permitted"* ]]'
fi

# --- overlay roots on the VM's kernel, Debian 12's 6.1: mount(2)'s forms (overlay.sh) ---------
# shellcheck source=test/cgroup-v2/overlay.sh
source test/cgroup-v2/overlay.sh
overlay_checks

# --- rootless: an unprivileged user in a delegated subtree (rootless.sh) ----------------------
if [ -f bin/run.cjs ]; then
  # shellcheck source=test/cgroup-v2/rootless.sh
  source test/cgroup-v2/rootless.sh
  rootless_checks 4242
elif cli_expected; then
  not_ok "rootless: limits in a delegated subtree" "bin/run.cjs is missing: the CLI was not built"
else
  skip "rootless: limits in a delegated subtree" "bin/run.cjs does not exist yet"
fi

rm -rf "$scratch"
echo "1..$n"
