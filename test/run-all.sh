#!/usr/bin/env bash
# run-all.sh — every test tier, in order, with one summary:
#   1. Rust unit tests       cargo test --workspace                                   CARGO
#   2. test sources          tsc -p test/tsconfig.json (one check)                    TYPECHECK
#   3. ava                   unit and runtime integration tests, TAP                  AVA
#   4. OCI conformance       test/conformance/run.sh: opencontainers/runtime-tools'   CONFORMANCE
#                            validation suite (built with Go on first use), one test at a time
#   5. image fixtures        test/images/check.sh: the test images (built once into   IMAGES
#                            test/.work/images), local registries (plain, TLS + htpasswd),
#                            pushes and pulls with skopeo and podman, the faulty proxy
#   6. container managers    test/managers/run.sh: podman, containerd and Docker with MANAGERS
#                            tscontainer-runtime as their runtime, private daemons
#   7. Kubernetes (CRI)      test/cri/run.sh: critest against a private containerd's  CRI
#                            CRI plugin, with runc then tscontainer-runtime as the runc shim's
#                            BinaryName; no spec that passes with runc may fail
#   8. rootless              test/rootless/run.sh: the CLI, the API, the runtime and  ROOTLESS
#                            podman as unprivileged users (made by the script), via setpriv
#   9. cgroup v2 tier        test/cgroup-v2/run.sh, in a VM (root and delegated       CGROUP_V2
#                            rootless)
#  10. systemd tier          test/systemd/run.sh: the systemd cgroup driver, in a VM  SYSTEMD
#                            booted with systemd (root, a user's systemd, podman, containerd)
#  11. fuzz                  fuzz/run.sh: the config fuzz target, for FUZZ_SECONDS    FUZZ
#                            (60)
#  12. packages              test/dist/run.sh: static x64 and arm64 builds, the npm   PACKAGES
#                            packages packed and installed offline, arm64 under qemu, actionlint
#  13. workflows             test/workflows/run.sh: the GitHub workflows, parsed,     WORKFLOWS
#                            against what their runners provide
#  14. nothing left behind   no runtime process, /run/tscontainer entry, bundle in
#                            /var/lib/tscontainer, test cgroup or scratch directory appeared
#                            during the run (one check)
# The LAST line is `N passed, N failed`, summed over everything; the exit status is non-zero
# when anything failed. A tier that cannot run counts as one failure; a skipped tier says why.
#
# Switches: a CI workflow whose runner cannot run a tier turns it off with
# TSCONTAINER_SKIP_<ID>=<reason> (the IDs above). That tier then prints
# `# SKIPPED: TSCONTAINER_SKIP_<ID> set by the workflow: <reason>` and counts as neither passed
# nor failed. .ci/run clears every switch: there, everything runs. `run-all.sh --tiers` prints
# each tier's ID, name and command, tab-separated (test/workflows reads it).
set -u

# ID|name|function [ARG...] of every tier, in the order they run.
tiers=(
  'CARGO|cargo test|cargo_tier'
  'TYPECHECK|test typecheck|typecheck_tier'
  'AVA|ava|ava_tier'
  'CONFORMANCE|OCI conformance|conformance_tier'
  'IMAGES|image fixtures|tap_tier images test/images/check.sh'
  'MANAGERS|container managers|tap_tier managers test/managers/run.sh'
  'CRI|Kubernetes (critest)|tap_tier cri test/cri/run.sh'
  'ROOTLESS|rootless|tap_tier rootless test/rootless/run.sh'
  'CGROUP_V2|cgroup v2 (VM)|tap_tier v2 test/cgroup-v2/run.sh'
  'SYSTEMD|systemd (VM)|tap_tier systemd test/systemd/run.sh'
  "FUZZ|fuzz|tap_tier fuzz fuzz/run.sh ${FUZZ_SECONDS:-60}"
  'PACKAGES|packages|tap_tier dist test/dist/run.sh'
  'WORKFLOWS|workflows|tap_tier workflows test/workflows/run.sh'
)
if [ "${1:-}" = --tiers ]; then
  for t in "${tiers[@]}"; do IFS='|' read -r id name run <<<"$t"; printf '%s\t%s\t%s\n' "$id" "$name" "$run"; done
  exit 0
fi

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
  # The image tests' registries and faulty proxies (test/images).
  pgrep -af 'docker-registry serve .*/tsregistry\.|faulty-proxy\.mjs --upstream' | sed 's/^/process /'
  ls -A /run/tscontainer 2>/dev/null | sed 's|^|state /run/tscontainer/|'
  # The CLI's and the API's bundles and exec directories (root's data directory).
  for d in containers exec; do ls -A "/var/lib/tscontainer/$d" 2>/dev/null | sed "s|^|bundle /var/lib/tscontainer/$d/|"; done
  find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name '*tscontainer*' 2>/dev/null | sed 's/^/cgroup /'
  # rootfs, runtime-tools, images, cri-tools and recvtty are caches (the fixture rootfs, the
  # built conformance suite, the test images, critest, the console-socket receiver).
  find test/.work -mindepth 1 -maxdepth 1 ! -name rootfs ! -name runtime-tools ! -name images ! -name cri-tools \
    ! -name recvtty 2>/dev/null | sed 's/^/scratch /'
  find /tmp -mindepth 1 -maxdepth 1 \( -name 'tscontainer-conformance.*' -o -name 'tsregistry.*' -o -name 'tsimages.*' \
    -o -name 'tsisolate.*' -o -name 'tspodman.*' -o -name 'tspull.*' -o -name 'tsproxy.*' -o -name 'tspush-*' \
    -o -name 'tsskopeo.*' -o -name 'tscri.*' \) 2>/dev/null | sed 's/^/scratch /'
}
footprint | sort > "$log/before"

# Each *_tier function runs under the tier's NAME (in $name) and records it with `tier`.

# --- Rust unit tests ------------------------------------------------------------------------
cargo_tier() {
  local start=$SECONDS status p f note=""
  banner 'cargo test --workspace'
  cargo test --workspace 2>&1 | tee "$log/cargo"
  status=${PIPESTATUS[0]}
  read -r p f < <(sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log/cargo" |
    awk '{p += $1; f += $2} END {print p + 0, f + 0}')
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="cargo exited $status"; fi
  tier "$name" "$p" "$f" $((SECONDS - start)) "$note"
}

# --- the test sources typecheck -------------------------------------------------------------
typecheck_tier() {
  local start=$SECONDS
  banner 'tsc -p test/tsconfig.json'
  if node_modules/.bin/tsc -p test/tsconfig.json; then tier "$name" 1 0 $((SECONDS - start))
  else tier "$name" 0 1 $((SECONDS - start)); fi
}

# --- ava ------------------------------------------------------------------------------------
ava_tier() {
  local start=$SECONDS status p f s note=""
  banner 'ava --tap'
  node_modules/.bin/ava --tap 2>&1 | tee "$log/ava"
  status=${PIPESTATUS[0]}
  p=$(tap_count "$log/ava" pass) f=$(tap_count "$log/ava" fail) s=$(tap_count "$log/ava" skip)
  [ "$s" -gt 0 ] && note="$s skipped"
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="ava exited $status"; fi
  tier "$name" "$p" "$f" $((SECONDS - start)) "$note"
}

# --- OCI conformance (runtime-tools) --------------------------------------------------------
conformance_tier() {
  local start=$SECONDS status p f skipped note
  banner 'OCI conformance (runtime-tools)'
  bash test/conformance/run.sh 2>&1 | tee "$log/conformance"
  status=${PIPESTATUS[0]}
  read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log/conformance" | tail -n 1)
  p=${p:-0} f=${f:-0}
  skipped=$(sed -n 's/^# SKIPPED: //p' "$log/conformance" | tail -n 1)
  note=$(sed -n 's/^# [0-9]* tests in [0-9]*s: .* \([0-9]*\) expected-fail .* \([0-9]*\) unexpected-pass.*/\1 expected failures, \2 unexpected passes/p' "$log/conformance" | tail -n 1)
  [ -n "$skipped" ] && note="SKIPPED: $skipped"
  if [ -z "$skipped" ] && [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; note="run.sh exited $status"; fi
  tier "$name" "$p" "$f" $((SECONDS - start)) "$note"
}

# tap_tier LOG SCRIPT [ARG...]: a tier whose script prints TAP ending in `# pass N`,
# `# fail N`, `# skip N` (or in the plain `N passed, N failed`), or `# SKIPPED: why` when it
# cannot run here.
tap_tier() {
  local out=$log/$1 script=$2 start=$SECONDS status p f s skipped note=""
  shift 2
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

# --- every tier, unless a workflow switched it off --------------------------------------------
for t in "${tiers[@]}"; do
  IFS='|' read -r id name run <<<"$t"
  switch=TSCONTAINER_SKIP_$id
  if [ -n "${!switch:-}" ]; then
    banner "$name"
    echo "# SKIPPED: $switch set by the workflow: ${!switch}"
    tier "$name" 0 0 0 "SKIPPED: $switch: ${!switch}"
    continue
  fi
  # shellcheck disable=SC2086 # the function and its arguments, as listed in tiers
  $run
done

# --- nothing left behind ---------------------------------------------------------------------
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
