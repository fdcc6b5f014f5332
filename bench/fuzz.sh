#!/usr/bin/env bash
# Fuzzes the rule parser, the path normaliser and the Docker label translator with cargo-fuzz
# (libFuzzer; needs the nightly toolchain), SECS seconds per target. Not part of CI: run it
# by hand after changing one of them. The corpus grows in fuzz/corpus/ (not committed); a
# crash is saved under fuzz/artifacts/ and this script exits non-zero.
#
#   bench/fuzz.sh                 # 60 s per target
#   SECS=600 bench/fuzz.sh rule_parser
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rule_parser path_normalizer label_translator)

rustup toolchain list | grep -q '^nightly' \
  || { echo "cargo-fuzz needs nightly: rustup toolchain install nightly" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "== $t for ${SECS}s"
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$SECS" -dict="fuzz/$t.dict" -max_len=4096 -timeout=10 -print_final_stats=1 2>&1 \
    | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|SUMMARY|panicked|ERROR' || true
  if ls "fuzz/artifacts/$t"/crash-* >/dev/null 2>&1; then
    echo "$t: a crash is saved in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
