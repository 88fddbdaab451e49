#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — builds the config fuzz target with libFuzzer's coverage
# instrumentation on stable Rust (what cargo-fuzz does, less the sanitizer, which needs
# nightly) and runs it for SECONDS (default 60) over fuzz/corpus, seeded from fuzz/seeds.
# Prints TAP and, as its last line, `N passed, N failed`; exits non-zero on a finding,
# whose input is kept in fuzz/artifacts/ (turn it into a regression test: see README).
set -u

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps the instrumentation off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR=$here/target

passed=0 failed=0 n=0
report() { # STATUS DESCRIPTION [DETAIL FILE]
  n=$((n + 1))
  if [ "$1" = ok ]; then passed=$((passed + 1)); echo "ok $n - $2"
  else failed=$((failed + 1)); echo "not ok $n - $2"; [ -n "${3:-}" ] && tail -n 40 "$3" | sed 's/^/#   /'; fi
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$SECONDS
if cargo build --release --quiet --manifest-path "$here/Cargo.toml" --target "$target" --bin config >"$log" 2>&1; then
  report ok "build the config fuzz target ($((SECONDS - started)) s)"
  mkdir -p "$here/corpus" "$here/artifacts"
  started=$SECONDS
  if "$here/target/$target/release/config" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$here/artifacts/" -print_final_stats=1 \
    "$here/corpus" "$here/seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    report ok "fuzz config parsing and validation for ${seconds} s: no crash in ${runs:-?} inputs ($((SECONDS - started)) s)"
  else
    report not_ok "fuzz config parsing and validation: a finding (input in fuzz/artifacts/)" "$log"
  fi
else
  report not_ok "build the config fuzz target" "$log"
fi
echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
