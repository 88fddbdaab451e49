#!/usr/bin/env bash
# run-all.sh — every test tier, in order, with one summary:
#   1. Rust unit tests       cargo test --workspace
#   2. test sources          tsc -p test/tsconfig.json (one check)
#   3. ava                   unit and runtime integration tests, TAP
#   4. OCI conformance       test/conformance/run.sh: opencontainers/runtime-tools' validation
#                            suite (built with Go on first use), one test at a time
#   5. container managers    test/managers/run.sh: podman, containerd and Docker with
#                            tscontainer-runtime as their runtime, private daemons
#      Kubernetes (CRI)      test/cri/run.sh: critest against a private containerd's CRI
#                            plugin, with runc then tscontainer-runtime as the runc shim's
#                            BinaryName; no spec that passes with runc may fail
#   6. rootless              test/rootless/run.sh: the CLI, the API, the runtime and podman
#                            as unprivileged users (made by the script), via setpriv
#   7. cgroup v2 tier        test/cgroup-v2/run.sh, in a VM (root and delegated rootless)
#   8. fuzz                  fuzz/run.sh: the config fuzz target, for FUZZ_SECONDS (60)
#   9. packages              test/dist/run.sh: static x64 and arm64 builds, the npm packages
#                            packed and installed offline, arm64 under qemu, actionlint
#  10. nothing left behind   no runtime process, /run/tscontainer entry, test cgroup or
#                            scratch directory appeared during the run (one check)
# The LAST line is `N passed, N failed`, summed over everything; the exit status is non-zero
# when anything failed. A tier that cannot run counts as one failure; a skipped tier says why.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

passed=0
failed=0
report=()

# tier NAME PASSED FAILED SECONDS [NOTE]
tier() {
  passed=$((passed + $2))
  failed=$((failed + $3))
  report+=("$(printf '%-22s %4d passed, %d failed  (%ds)%s' "$1" "$2" "$3" "$4" "${5:+  $5}")")
}

banner() { printf '\n===== %s =====\n' "$1"; }

# tap_count FILE pass|fail|skip: N from the last `# KEY N` line of a TAP log, 0 without one.
tap_count() {
  local n
  n=$(sed -n "s/^# $2 \([0-9]*\)\$/\1/p" "$1" | tail -n 1)
  echo "${n:-0}"
}

# What a run may leave behind: runtime processes, state entries, cgroups, scratch dirs.
footprint() {
  # The runtime, also when the API started it under the name `tscontainer` (a supervisor).
  pgrep -af '^([^ ]*/)?tscontainer-runtime( |$)|^tscontainer( --[a-z-]+ [^ ]+)* (create|run|exec) ' | sed 's/^/process /'
  ls -A /run/tscontainer 2>/dev/null | sed 's|^|state /run/tscontainer/|'
  find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name '*tscontainer*' 2>/dev/null | sed 's/^/cgroup /'
  # rootfs, runtime-tools, cri-tools and recvtty are caches (the fixture rootfs, the built
  # conformance suite, critest, the console-socket receiver).
  find test/.work -mindepth 1 -maxdepth 1 ! -name rootfs ! -name runtime-tools ! -name cri-tools ! -name recvtty 2>/dev/null | sed 's/^/scratch /'
  find /tmp -mindepth 1 -maxdepth 1 \( -name 'tscontainer-conformance.*' -o -name 'tscri.*' \) 2>/dev/null | sed 's/^/scratch /'
}
footprint | sort > "$log/before"

# --- 1. Rust unit tests ---------------------------------------------------------------------
banner 'cargo test --workspace'
start=$SECONDS
cargo test --workspace 2>&1 | tee "$log/cargo"
status=${PIPESTATUS[0]}
read -r p f < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log/cargo" |
  awk '{p += $1; f += $2} END {print p + 0, f + 0}')
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="cargo exited $status"; else note=""; fi
tier 'cargo test' "$p" "$f" $((SECONDS - start)) "$note"

# --- 2. the test sources typecheck ----------------------------------------------------------
banner 'tsc -p test/tsconfig.json'
start=$SECONDS
if node_modules/.bin/tsc -p test/tsconfig.json; then tier 'test typecheck' 1 0 $((SECONDS - start))
else tier 'test typecheck' 0 1 $((SECONDS - start)); fi

# --- 3. ava ---------------------------------------------------------------------------------
banner 'ava --tap'
start=$SECONDS
node_modules/.bin/ava --tap 2>&1 | tee "$log/ava"
status=${PIPESTATUS[0]}
p=$(tap_count "$log/ava" pass) f=$(tap_count "$log/ava" fail) s=$(tap_count "$log/ava" skip)
note=""
[ "$s" -gt 0 ] && note="$s skipped"
if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="ava exited $status"; fi
tier 'ava' "$p" "$f" $((SECONDS - start)) "$note"

# --- 4. OCI conformance (runtime-tools) -----------------------------------------------------
banner 'OCI conformance (runtime-tools)'
start=$SECONDS
bash test/conformance/run.sh 2>&1 | tee "$log/conformance"
status=${PIPESTATUS[0]}
read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log/conformance" | tail -n 1)
p=${p:-0} f=${f:-0}
skipped=$(sed -n 's/^# SKIPPED: //p' "$log/conformance" | tail -n 1)
note=$(sed -n 's/^# [0-9]* tests in [0-9]*s: .* \([0-9]*\) expected-fail .* \([0-9]*\) unexpected-pass.*/\1 expected failures, \2 unexpected passes/p' "$log/conformance" | tail -n 1)
[ -n "$skipped" ] && note="SKIPPED: $skipped"
if [ -z "$skipped" ] && [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="run.sh exited $status"; fi
tier 'OCI conformance' "$p" "$f" $((SECONDS - start)) "$note"

# tap_tier NAME LOG SCRIPT [ARG...]: a tier whose script prints TAP ending in `# pass N`,
# `# fail N`, `# skip N` (or in the plain `N passed, N failed`), or `# SKIPPED: why` when it
# cannot run here.
tap_tier() {
  local name=$1 out=$log/$2 script=$3 start=$SECONDS status p f s skipped note=""
  shift 3
  banner "$name"
  bash "$script" "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  p=$(tap_count "$out" pass) f=$(tap_count "$out" fail) s=$(tap_count "$out" skip)
  if ! grep -q '^# pass [0-9]*$' "$out"; then
    read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out" | tail -n 1)
    p=${p:-0} f=${f:-0}
  fi
  skipped=$(sed -n 's/^# SKIPPED: //p' "$out" | tail -n 1)
  [ "$s" -gt 0 ] && note="$s skipped"
  [ -n "$skipped" ] && note="SKIPPED: $skipped"
  if [ -z "$skipped" ] && [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="$script exited $status"; fi
  tier "$name" "$p" "$f" $((SECONDS - start)) "$note"
}

# --- 5. container managers: podman, containerd, Docker ---------------------------------------
tap_tier 'container managers' managers test/managers/run.sh

# --- 5b. Kubernetes: containerd's CRI and critest ------------------------------------------
tap_tier 'Kubernetes (critest)' cri test/cri/run.sh

# --- 6. rootless: unprivileged users --------------------------------------------------------
tap_tier 'rootless' rootless test/rootless/run.sh

# --- 7. cgroup v2, in a VM ------------------------------------------------------------------
tap_tier 'cgroup v2 (VM)' v2 test/cgroup-v2/run.sh

# --- 8. fuzz: config parsing and validation -------------------------------------------------
tap_tier 'fuzz' fuzz fuzz/run.sh "${FUZZ_SECONDS:-60}"

# --- 9. packages: build, pack, install, arm64, workflows ------------------------------------
tap_tier 'packages' dist test/dist/run.sh

# --- 10. nothing left behind -----------------------------------------------------------------
banner 'leftovers'
footprint | sort > "$log/after"
left=$(comm -13 "$log/before" "$log/after")
if [ -z "$left" ]; then
  echo "ok - the run left no runtime process, state entry, test cgroup or scratch directory"
  tier 'nothing left behind' 1 0 0
else
  echo "not ok - the run left behind:"
  sed 's/^/  /' <<<"$left"
  tier 'nothing left behind' 0 1 0
fi

banner summary
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
