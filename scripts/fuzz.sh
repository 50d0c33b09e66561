#!/usr/bin/env bash
# Fuzzes every target in fuzz/ on the stable toolchain, SECONDS_PER_TARGET (default 60) each.
# RUSTC_BOOTSTRAP=1 lets stable rustc take the flags cargo-fuzz passes; `-s none` needs no
# sanitizer runtime. The repository's corpus seeds each run; what a run adds goes to a temporary
# folder. A crash stops the script with libFuzzer's report and the input in fuzz/artifacts/;
# turn that input into a regression test (and add it to fuzz/corpus/<target>).
# The `set` target validates against the plugins in FXCHAIN_FUZZ_PLUGIN_DIR (default:
# target/debug, built by `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SECONDS_PER_TARGET:-60}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export FXCHAIN_FUZZ_PLUGIN_DIR="${FXCHAIN_FUZZ_PLUGIN_DIR:-$PWD/target/debug}"
cd fuzz
cargo fuzz build -s none
for target in $(cargo fuzz list); do
  scratch="$(mktemp -d)"
  log="$scratch/log"
  # A whole-frame render may hold a 2^28-pixel step output (1 GiB in 8 bits) beside its input,
  # so the memory limit is above libFuzzer's default of 2 GiB.
  if ! cargo fuzz run -s none "$target" "$scratch" "corpus/$target" -- -max_total_time="$seconds" \
      -rss_limit_mb=3072 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  echo "fuzz: $target: $runs executions in ${seconds} s, no crash ($(ls "$scratch" | wc -l) new corpus inputs, not kept)"
  rm -rf "$scratch"
done
