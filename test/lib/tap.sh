# tap.sh — TAP output for the shell-driven tiers, sourced by each driver:
#   . "$repo/test/lib/tap.sh"
#   ok "what held"; not_ok "what failed" "detail line" ...; skip "what" "why"
#   skipped "why the whole tier cannot run"   # `# SKIPPED: why`; a failure under CI
#   finish                                    # plan, counts, `N passed, N failed`; exits
# run-all.sh reads the `# pass N` / `# fail N` / `# skip N` lines and the last summary line.
tap_n=0 tap_pass=0 tap_fail=0 tap_skip=0

ok() { tap_n=$((tap_n + 1)) tap_pass=$((tap_pass + 1)); echo "ok $tap_n - $1"; }

# not_ok DESCRIPTION [DETAIL...]: each detail is its own comment line.
not_ok() {
  tap_n=$((tap_n + 1)) tap_fail=$((tap_fail + 1))
  echo "not ok $tap_n - $1"
  shift
  local line
  for line in "$@"; do
    while IFS= read -r l; do printf '#   %s\n' "$l"; done <<<"$line"
  done
}

skip() { tap_n=$((tap_n + 1)) tap_skip=$((tap_skip + 1)); echo "ok $tap_n - $1 # SKIP $2"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds, not_ok with its output otherwise.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}

finish() {
  echo "1..$tap_n"
  printf '# pass %d\n# fail %d\n# skip %d\n' "$tap_pass" "$tap_fail" "$tap_skip"
  echo "$tap_pass passed, $tap_fail failed"
  [ "$tap_fail" -eq 0 ]
  exit
}

# skipped WHY: the tier cannot run here. Under CI everything a tier needs is installed by
# .ci/run, so a missing prerequisite there is a failure, not a skip.
skipped() {
  echo "# SKIPPED: $1"
  if [ -n "${CI:-}" ]; then not_ok "$1"; fi
  finish
}
