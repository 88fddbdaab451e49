# shellcheck shell=bash
# tap.sh — TAP output for the shell-driven tiers, sourced by each driver (also inside the VM
# tiers' guests, which see this checkout read-only):
#   . "$repo/test/lib/tap.sh"
#   ok "what held"; not_ok "what failed" "detail" ...; skip "what" "why"
#   check "what" COMMAND...                   # ok when COMMAND succeeds (a driver may define its own)
#   skipped "why the whole tier cannot run"   # `# SKIPPED: why`; a failure under CI
#   unavailable "why"                         # `# SKIPPED: why` also under CI (what .ci/run cannot install)
#   tap_absorb FILE                           # count a nested stream printed from elsewhere (a VM's)
#   tap_tally PASSED FAILED                   # count results reported otherwise (a table's rows)
#   finish                                    # plan, counts, `N passed, N failed`; exits
# run-all.sh reads the `# pass N` / `# fail N` / `# skip N` lines and the last summary line.
# Set by the driver: tap_tier_name=NAME prefixes what `skipped` and `unavailable` report;
# tap_detail_lines=N keeps only the last N lines of each not_ok detail.
tap_n=0 tap_pass=0 tap_fail=0 tap_skip=0
tap_planned=false
tap_tier_name=
tap_detail_lines=

ok() { tap_n=$((tap_n + 1)) tap_pass=$((tap_pass + 1)); echo "ok $tap_n - $1"; }

# not_ok DESCRIPTION [DETAIL...]: each line of each detail is its own comment line.
not_ok() {
  tap_n=$((tap_n + 1)) tap_fail=$((tap_fail + 1))
  echo "not ok $tap_n - $1"
  shift
  local detail line
  for detail in "$@"; do
    [ -z "$tap_detail_lines" ] || detail=$(tail -n "$tap_detail_lines" <<<"$detail")
    while IFS= read -r line; do printf '#   %s\n' "$line"; done <<<"$detail"
  done
}

skip() { tap_n=$((tap_n + 1)) tap_skip=$((tap_skip + 1)); echo "ok $tap_n - $1 # SKIP $2"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds, not_ok with its output otherwise.
check() {
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what" "$out"; fi
}

# tap_absorb FILE: adds the points of a TAP stream already printed from elsewhere (the checks
# a VM ran), which numbered and planned them itself: finish then prints no second plan.
tap_absorb() {
  local points skips fails
  points=$(grep -c '^ok ' "$1") skips=$(grep -c '^ok .* # SKIP ' "$1") fails=$(grep -c '^not ok ' "$1")
  tap_n=$((tap_n + points + fails)) tap_pass=$((tap_pass + points - skips))
  tap_fail=$((tap_fail + fails)) tap_skip=$((tap_skip + skips))
  tap_planned=true
}

# tap_tally PASSED FAILED: adds results the driver reported in a form of its own (the
# conformance tier's table), which are no TAP points: finish then prints no plan.
tap_tally() {
  tap_pass=$((tap_pass + $1)) tap_fail=$((tap_fail + $2))
  tap_planned=true
}

finish() {
  $tap_planned || echo "1..$tap_n"
  printf '# pass %d\n# fail %d\n# skip %d\n' "$tap_pass" "$tap_fail" "$tap_skip"
  echo "$tap_pass passed, $tap_fail failed"
  [ "$tap_fail" -eq 0 ]
  exit
}

# skipped WHY: the tier cannot run here. Under CI everything a tier needs is installed by
# .ci/run, so a missing prerequisite there is a failure, not a skip.
skipped() {
  local why=${tap_tier_name:+$tap_tier_name: }$1
  echo "# SKIPPED: $why"
  if [ -n "${CI:-}" ]; then not_ok "$why"; fi
  finish
}

# unavailable WHY: the tier cannot run here for want of something .ci/run does not install
# (the VM tool beside the clone, Go): a skip under CI too.
unavailable() {
  echo "# SKIPPED: ${tap_tier_name:+$tap_tier_name: }$1"
  finish
}
