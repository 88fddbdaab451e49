#!/usr/bin/env bash
# run.sh [TEST...] — the OCI conformance tier: opencontainers/runtime-tools' validation suite
# against tscontainer-runtime.
#
# Obtains runtime-tools at the pinned MODULE_VERSION through the Go module proxy, builds its
# `runtimetest` and `validation/*/*.t` executables once into test/.work/runtime-tools/VERSION
# (gitignored; a stamp file written last marks a complete build), then runs each test binary
# (all of them, or the ones named) from the module's root, one at a time, under a timeout, as
#     RUNTIME=/abs/tscontainer-runtime ./validation/NAME/NAME.t
# A test passes when it exits 0 and prints no `not ok` line (nor, as the hook tests do to
# report a failure, an "error" diagnostic without any test point). The suite uses the runtime's
# default state root (/run/tscontainer); each test gets its own TMPDIR (where it writes its
# bundles). After each test the runner force-deletes the containers that test left, then
# checks that none of its state entries, cgroup directories, processes or mounts remain —
# anything that does is removed and counts as a failure.
#
# expected-failures.txt lists the tests that cannot pass on this machine whatever the
# runtime does, with the reason; may-fail.txt the ones that run but whose result does not
# count; flaky.txt the ones with a race of their own, which get up to FLAKY_TRIES (3) tries.
# Prints a table (test, result, seconds, note), the totals, and as its LAST line
# `N passed, N failed`, where an expected failure that fails counts as passed. Exits
# non-zero on any other failure; an expected failure that passes is reported as
# `unexpected-pass` (trim the list) and does not fail the run.
# Without Go (and no built suite) it prints `# SKIPPED: reason` and `0 passed, 0 failed` and
# exits 0.
#
# Environment: TSCONTAINER_RUNTIME_PATH (the runtime; default native/tscontainer-runtime,
# then cargo's release builds), CONFORMANCE_TIMEOUT (seconds per test, default 120),
# CONFORMANCE_CACHE (default test/.work/runtime-tools), CONFORMANCE_LOGS (a directory to keep
# each test's output in, as NAME.tap), GO (the go binary).
set -u

MODULE=github.com/opencontainers/runtime-tools
# 2025-11-14, edf4cb3d2116: the proxy's version list only has v0.9.0 (2019, no go.mod);
# this pseudo-version has a go.mod and the 58 validation tests.
MODULE_VERSION=v0.9.1-0.20251114084447-edf4cb3d2116
STATE_ROOT=/run/tscontainer
# The suite names its containers with UUIDs; its cgroupsPath values are /cgrouptest and
# testdir/cgrouptest/container (runtime-tools cgroups.AbsCgroupPath, RelCgroupPath).
UUID='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CONFORMANCE_CACHE:-$repo/test/.work/runtime-tools}
suite=$cache/$MODULE_VERSION
stamp=.tscontainer-built
timeout_s=${CONFORMANCE_TIMEOUT:-120}
FLAKY_TRIES=3
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"

# --- the tools ------------------------------------------------------------------------------
for tool in timeout tar; do
  if ! command -v "$tool" >/dev/null; then
    not_ok "conformance tier: $tool is not installed"
    finish
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  not_ok "conformance tier: the validation suite creates containers: run it as root"
  finish
fi

runtime=${TSCONTAINER_RUNTIME_PATH:-}
if [ -z "$runtime" ]; then
  for candidate in native/tscontainer-runtime target/release/tscontainer-runtime \
    target/x86_64-unknown-linux-gnu/release/tscontainer-runtime; do
    [ -x "$repo/$candidate" ] && { runtime=$repo/$candidate; break; }
  done
fi
if [ -z "$runtime" ] || [ ! -x "$runtime" ]; then
  not_ok "conformance tier: no tscontainer-runtime binary (npm run build:native, or set TSCONTAINER_RUNTIME_PATH)"
  finish
fi
runtime=$(cd "$(dirname "$runtime")" && pwd)/$(basename "$runtime")

# The module's go.mod says go 1.21: never fetch another toolchain; no VCS stamping (the
# copy sits inside this repository's work tree).
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

# --- build the suite (once) -----------------------------------------------------------------
# build: obtains the module, copies it where it can be written, drops its incomplete vendor/
# and builds with -mod=mod (dependencies from the proxy, checked against its go.sum). Built
# in a temporary directory beside the cache entry and renamed into place when complete.
build() {
  local tmp dir
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  (
    set -e
    dir=$("$go" mod download -json "$MODULE@$MODULE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then echo "go mod download gave no module directory" >&2; exit 1; fi
    cp -R "$dir" "$tmp/src"
    chmod -R u+w "$tmp/src"
    rm -rf "$tmp/src/vendor"
    cd "$tmp/src"
    GOFLAGS="$GOFLAGS -mod=mod" make COMMIT="$MODULE_VERSION" runtimetest validation-executables
    touch "$stamp"
  ) >"$tmp/build.log" 2>&1
  local status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$tmp/build.log" | sed 's/^/# build: /'
    rm -rf "$tmp"
    return "$status"
  fi
  # Whoever renames first wins; a concurrent build discards its copy.
  mv -T "$tmp/src" "$suite" 2>/dev/null || true
  rm -rf "$tmp"
  [ -e "$suite/$stamp" ]
}

if [ ! -e "$suite/$stamp" ]; then
  go=${GO:-$(command -v go || true)}
  [ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
  if [ -z "$go" ] || [ ! -x "$go" ]; then
    unavailable "conformance tier: Go is not installed (${go:-no go on PATH or /usr/local/go/bin/go}); it builds opencontainers/runtime-tools"
  fi
  if ! command -v make >/dev/null; then
    not_ok "conformance tier: make is not installed (apt-get install build-essential)"
    finish
  fi
  [ -e "$suite" ] && rm -rf "$suite" # an incomplete build
  echo "# building $MODULE@$MODULE_VERSION into $suite (about a minute)"
  started=$SECONDS
  if ! build; then
    not_ok "conformance tier: building $MODULE@$MODULE_VERSION failed"
    finish
  fi
  echo "# built in $((SECONDS - started))s"
fi

# --- what to run ----------------------------------------------------------------------------
declare -A expected=() may_fail=() flaky=()
# read_list FILE ARRAY: `name<TAB>reason` lines; blank lines and # comments are skipped.
read_list() {
  # shellcheck disable=SC2034 # a nameref: fills the caller's array
  local -n into=$2
  local name reason
  while IFS=$'\t' read -r name reason; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    into[$name]=${reason:-no reason given}
  done <"$1"
}
read_list "$here/expected-failures.txt" expected
read_list "$here/may-fail.txt" may_fail
read_list "$here/flaky.txt" flaky

all=()
for t in "$suite"/validation/*/*.t; do all+=("$(basename "$t" .t)"); done
if [ "$#" -gt 0 ]; then tests=("$@"); else tests=("${all[@]}"); fi

# A listed name the suite does not have means the lists and MODULE_VERSION disagree.
stale=()
for name in "${!expected[@]}" "${!may_fail[@]}" "${!flaky[@]}"; do
  [ -x "$suite/validation/$name/$name.t" ] || stale+=("$name")
done

# --- leftovers ------------------------------------------------------------------------------
# The state entries of the runtime's default root that belong to a test: their bundle is
# under the test's TMPDIR (other users of this machine may have containers there too).
entries_of() { # DIR
  grep -lF "\"bundle\":\"$1/" "$STATE_ROOT"/*/state.json 2>/dev/null | awk -F/ '{print $(NF - 1)}'
}
# Entries without a state.json (which the runtime writes atomically, at once).
broken_entries() {
  local e
  for e in "$STATE_ROOT"/*/; do [ -d "$e" ] && [ ! -e "$e/state.json" ] && basename "$e"; done
}
cgroup_dirs() { find /sys/fs/cgroup -mindepth 1 -maxdepth 12 -type d 2>/dev/null | sort; }
# Processes of a test: those it started (they inherit its TMPDIR) and the containers' (their
# root is under it). Prints `PID COMMAND`.
processes_of() { # DIR
  local p
  {
    grep -lzxF "TMPDIR=$1" /proc/[0-9]*/environ 2>/dev/null
    find /proc/[0-9]*/root -maxdepth 0 -lname "$1/*" 2>/dev/null
  } | cut -d/ -f3 | sort -un | while read -r p; do
    [ "$p" = "$BASHPID" ] && continue
    [ -e "/proc/$p" ] && echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)"
  done
}
mounts_under() { awk -v d="$1/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo; }

# cleanup NAME DIR CGROUPS_BEFORE: deletes what the test left, then checks and force-removes
# whatever remains. Sets `cleaned` (a note) and `leftover` (what remained: a failure).
cleanup() {
  local name=$1 dir=$2 before=$3 id out rest pid
  cleaned="" leftover=""
  local ids
  ids=$(entries_of "$dir")
  for id in $ids; do
    if ! out=$("$runtime" delete --force "$id" 2>&1); then
      leftover+="delete --force $id failed: $(head -c 200 <<<"$out"); "
    fi
  done
  [ -n "$ids" ] && cleaned="deleted $(wc -w <<<"$ids") container(s) it left"

  # Give killed processes a moment to be reaped before looking for them.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ -z "$(processes_of "$dir")" ] && break
    sleep 0.2
  done
  rest=$(processes_of "$dir")
  if [ -n "$rest" ]; then
    leftover+="processes: $(paste -sd, <<<"$rest"); "
    while read -r pid _; do kill -KILL "$pid" 2>/dev/null; done <<<"$rest"
  fi

  rest=$(entries_of "$dir")
  if [ -n "$rest" ]; then
    leftover+="state entries: $(paste -sd' ' <<<"$rest"); "
    for id in $rest; do rm -rf "${STATE_ROOT:?}/$id"; done
  fi
  # A new entry without state.json cannot be told from another user's container being
  # created at this instant: reported, not removed.
  rest=$(comm -13 "$work/broken.before" <(broken_entries | sort))
  [ -n "$rest" ] && leftover+="state entries without state.json (not removed): $(paste -sd' ' <<<"$rest"); "

  # New cgroup directories of the suite's containers: named by a container id (a UUID, the
  # default cgroupsPath) or the suite's cgroupsPath values. Others are not ours (other users
  # of this machine). The parents of the relative one (testdir/cgrouptest/container) are made
  # by the runtime and, as runc does, left: removed here, noted, not a failure.
  local new parents=() others=() d
  new=$(comm -13 "$before" <(cgroup_dirs))
  while read -r d; do
    [ -n "$d" ] || continue
    if [[ "$d" =~ /testdir(/cgrouptest)?$ ]]; then parents+=("$d")
    elif [[ "$d" =~ /$UUID$ || "$d" =~ ^/sys/fs/cgroup/[^/]+/cgrouptest$ || "$d" =~ /testdir/cgrouptest/container$ ]]; then
      others+=("$d")
    fi
  done <<<"$new"
  if [ "${#others[@]}" -gt 0 ]; then
    leftover+="cgroups: ${others[*]}; "
    printf '%s\n' "${others[@]}" | sort -r | while read -r d; do rmdir "$d" 2>/dev/null; done
  fi
  if [ "${#parents[@]}" -gt 0 ]; then
    printf '%s\n' "${parents[@]}" | sort -r | while read -r d; do rmdir "$d" 2>/dev/null; done
    cleaned+="${cleaned:+; }removed the parent cgroups $(printf '%s\n' "${parents[@]}" | sed -E 's#.*/(testdir(/cgrouptest)?)$#\1#' | sort -u | paste -sd' ') (${#parents[@]} dirs)"
  fi

  rest=$(mounts_under "$dir")
  if [ -n "$rest" ]; then
    leftover+="mounts: $(paste -sd' ' <<<"$rest"); "
    sort -r <<<"$rest" | while read -r d; do umount -l "$d" 2>/dev/null; done
  fi
  rm -rf --one-file-system "$dir" 2>/dev/null
  [ -e "$dir" ] && leftover+="could not remove $dir; "
  leftover=${leftover%; }
}

# --- run ------------------------------------------------------------------------------------
work=$(mktemp -d /tmp/tscontainer-conformance.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
# Searchable by everyone, as /tmp is: a container with a user namespace maps its root to
# another uid, which must still reach its bundle.
chmod 755 "$work"
mkdir -m 700 "$work/logs"

declare -A count=([pass]=0 [fail]=0 [expected-fail]=0 [unexpected-pass]=0 [may-fail]=0)
passed=0 failed=0
problems=()
row() { printf '%-36s %-16s %6s  %s\n' "$@"; }

echo "# $MODULE@$MODULE_VERSION against $runtime (timeout ${timeout_s}s per test)"
row test result seconds note
row "$(printf '%.0s-' {1..36})" "$(printf '%.0s-' {1..16})" "-------" "----"
# attempt NAME: runs one test and cleans up after it. Sets ok (true|false), note (why not
# ok; skips), secs, log, cleaned and leftover (see cleanup).
attempt() {
  local name=$1 bin=./validation/$1/$1.t tmp=$work/$1 t0 t1 status nots skips
  log=$work/logs/$name
  rm -rf --one-file-system "$tmp"
  mkdir "$tmp"
  cgroup_dirs >"$work/cgroups.before"
  broken_entries | sort >"$work/broken.before"
  t0=$(date +%s%N)
  (cd "$suite" && TMPDIR=$tmp RUNTIME=$runtime exec timeout -k 10 "$timeout_s" "$bin") </dev/null >"$log" 2>&1
  status=$?
  t1=$(date +%s%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
  cleanup "$name" "$tmp" "$work/cgroups.before"
  [ -n "${CONFORMANCE_LOGS:-}" ] && mkdir -p "$CONFORMANCE_LOGS" && cp "$log" "$CONFORMANCE_LOGS/$name.tap"

  ok=true note=""
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then ok=false note="timed out after ${timeout_s}s"
  elif [ "$status" -ne 0 ]; then ok=false note="exit $status"; fi
  nots=$(grep -c '^not ok' "$log")
  [ "$nots" -gt 0 ] && { ok=false note="${note:+$note, }$nots not ok"; }
  # The hook tests report a failure only as an "error" diagnostic, with no test point.
  if ! grep -qE '^(not )?ok' "$log" && grep -qE '^[[:space:]]+"error":' "$log"; then
    ok=false note="${note:+$note, }an error diagnostic and no test point"
  fi
  skips=$(grep -ciE '^ok .*# skip' "$log")
  [ "$skips" -gt 0 ] && note="${note:+$note, }$skips skipped"
}

started=$SECONDS
for name in "${tests[@]}"; do
  if [ ! -x "$suite/validation/$name/$name.t" ]; then
    row "$name" fail - "no such test in $MODULE@$MODULE_VERSION"
    count[fail]=$((count[fail] + 1)) failed=$((failed + 1))
    continue
  fi
  attempt "$name"
  if ! $ok && [ -z "$leftover" ] && [ -n "${flaky[$name]:-}" ]; then
    # A race of the suite's own (flaky.txt): up to FLAKY_TRIES tries in all; the first
    # failure is shown.
    first="failed (${note}; ${flaky[$name]}), then"
    total_secs=$secs tries=1
    while ! $ok && [ -z "$leftover" ] && [ "$tries" -lt "$FLAKY_TRIES" ]; do
      attempt "$name"
      tries=$((tries + 1))
      total_secs=$(awk -v a="$total_secs" -v b="$secs" 'BEGIN {printf "%.1f", a + b}')
    done
    $ok && note="$first passed at try $tries${note:+, $note}" || note="$first failed all $tries tries: $note"
    secs=$total_secs
  fi

  if [ -n "${may_fail[$name]:-}" ]; then
    result=may-fail
    $ok && note="${note:+$note; }passed" || note="${note:+$note; }${may_fail[$name]}"
  elif [ -n "${expected[$name]:-}" ]; then
    if $ok; then result=unexpected-pass note="listed: ${expected[$name]}"
      problems+=("$name: listed in expected-failures.txt but passed: trim the list")
    else result=expected-fail note="${expected[$name]}"; fi
  elif $ok; then result=pass
  else
    result=fail
    problems+=("$name: $note")
  fi
  [ -n "$cleaned" ] && note="${note:+$note; }$cleaned"
  if [ -n "$leftover" ]; then
    # Left behind after the runtime's own delete --force: a failure whatever the result.
    [ "$result" = fail ] || note="the test itself: $result${note:+; $note}"
    result=fail
    note="${note:+$note; }LEFT BEHIND: $leftover"
    problems+=("$name: left behind: $leftover")
  fi
  count[$result]=$((${count[$result]} + 1))
  if [ "$result" = fail ]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
  row "$name" "$result" "$secs" "$note"
  if [ "$result" = fail ]; then
    sed 's/^/    | /' "$log" | head -n 60
    lines=$(wc -l <"$log")
    [ "$lines" -gt 60 ] && echo "    | ... $((lines - 60)) more lines (CONFORMANCE_LOGS=DIR keeps each test's output)"
  fi
done

for name in "${stale[@]}"; do
  problems+=("$name: listed, but $MODULE@$MODULE_VERSION has no such test")
  failed=$((failed + 1))
done

echo
echo "# ${#tests[@]} tests in $((SECONDS - started))s: ${count[pass]} pass, ${count[expected-fail]} expected-fail" \
  "(expected-failures.txt), ${count[may-fail]} may-fail (may-fail.txt), ${count[unexpected-pass]} unexpected-pass," \
  "${count[fail]} fail"
for p in "${problems[@]}"; do echo "# - $p"; done
tap_tally "$passed" "$failed"
finish
