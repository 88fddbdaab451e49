#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — builds the config fuzz target with libFuzzer's coverage
# instrumentation on stable Rust (what cargo-fuzz does, less the sanitizer, which needs
# nightly) and runs it for SECONDS (default 60) over fuzz/corpus, seeded from fuzz/seeds.
# Prints TAP (test/lib/tap.sh) and, as its last line, `N passed, N failed`; exits non-zero on
# a finding, whose input is kept in fuzz/artifacts/ (turn it into a regression test: see
# README).
set -u

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
target=$(rustc -vV | sed -n 's/^host: //p')
# --target keeps the instrumentation off build scripts and proc macros.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR=$here/target

# shellcheck source=test/lib/tap.sh
. "$here/../test/lib/tap.sh"
# A failure shows the end of the build's or the fuzzer's output.
tap_detail_lines=40

log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$SECONDS
if cargo build --release --quiet --manifest-path "$here/Cargo.toml" --target "$target" --bin config >"$log" 2>&1; then
  ok "build the config fuzz target ($((SECONDS - started)) s)"
  mkdir -p "$here/corpus" "$here/artifacts"
  started=$SECONDS
  if "$here/target/$target/release/config" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$here/artifacts/" -print_final_stats=1 \
    "$here/corpus" "$here/seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    ok "fuzz config parsing and validation for ${seconds} s: no crash in ${runs:-?} inputs ($((SECONDS - started)) s)"
  else
    not_ok "fuzz config parsing and validation: a finding (input in fuzz/artifacts/)" "$(cat "$log")"
  fi
else
  not_ok "build the config fuzz target" "$(cat "$log")"
fi
finish
