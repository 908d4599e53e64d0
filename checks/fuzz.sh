#!/usr/bin/env bash
# Coverage-guided fuzzing of every rolltoken entry point that takes outside input (fuzz/, a
# cargo-fuzz workspace of its own). Stable toolchain only: `cargo fuzz run -s none` (no
# sanitizer; -Z sanitizers need nightly, which CI does not have). The targets are built the
# cargo-fuzz default way: optimised, with debug assertions and overflow checks on, and
# libFuzzer aborts on any panic, so an arithmetic overflow or a failed invariant is a crash.
#
#   FUZZ_RUNS      executions per target; a target stops when it has run them (0 = no
#                  limit). `make test`'s short pass: 10^6; `make fuzz`: 10^7
#   FUZZ_SECONDS   the most seconds per target (default 30); a target stops at whichever of
#                  FUZZ_RUNS and FUZZ_SECONDS comes first. `make test`: 240, `make fuzz`: 3600
#   FUZZ_JOBS      targets fuzzed at once, one process each (default: the number of cores)
#   FUZZ_TARGETS   space-separated subset (default: every target in fuzz/Cargo.toml)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB    memory limit of the fuzzing process in MiB (default 2048)
#
# Steps: install cargo-fuzz if missing (pinned, ~3.5 min the first time), write the seed corpora
# from vectors/rolltoken-v1.json (fuzz/seeds.py), build every target once, run each for
# FUZZ_RUNS executions or FUZZ_SECONDS on its corpus (fuzz/corpus/<target>/, kept between runs, not committed), and
# print one line per target from libFuzzer's final statistics:
#   fuzz: <target>: N execs, cov C, ft F, 0 crashes
# then `fuzz: T targets, K crashes`. Exits non-zero on any crash, panic, timeout or OOM, or if
# a target did not run; crash inputs stay in fuzz/artifacts/<target>/ and full logs in
# fuzz/target/logs/. Reproduce one with:
#   cd fuzz && cargo fuzz run -s none <target> artifacts/<target>/<file>
# (the runs use the binaries `cargo fuzz build -s none` made: the same build as `cargo fuzz run`).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$SECONDS

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
FUZZ_RUNS="${FUZZ_RUNS:-0}"
FUZZ_JOBS="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-10}"
FUZZ_RSS_MB="${FUZZ_RSS_MB:-2048}"
export CARGO_TERM_COLOR=never
# Flags meant for the main workspace would change what is built here.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION (once per machine, a few minutes)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --quiet
fi
echo "fuzz: $(cargo fuzz --version), $(rustc --version)"

all_targets=$(awk '/^\[\[bin\]\]/ { b = 1; next } b && /^name *=/ { gsub(/[" ]/, "", $0); sub(/^name=/, "", $0); print; b = 0 }' fuzz/Cargo.toml)
targets="${FUZZ_TARGETS:-$all_targets}"
for t in $targets; do
  grep -qx "$t" <<<"$all_targets" || { echo "fuzz: unknown target '$t' (have: $(echo $all_targets))" >&2; exit 2; }
done

command -v python3 >/dev/null || { echo "fuzz: python3 is needed to write the seed corpora" >&2; exit 1; }
python3 fuzz/seeds.py --out fuzz/corpus | tail -n 1

cd fuzz
logs=target/logs
mkdir -p "$logs"
# One build for every target; the runs below use these binaries, so every target of a pass
# tests the same code (`cargo fuzz run -s none <target>` would rebuild first: the same flags).
if ! cargo fuzz build -s none >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  echo "fuzz: build FAILED (log: fuzz/$logs/build.log)" >&2
  exit 1
fi
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"

# Fuzzes target $1 and writes its one-line summary to $logs/$1.result: "ok <line>" or
# "FAILED <line>" (run in the background, FUZZ_JOBS at a time).
fuzz_one() {
  local t=$1
  mkdir -p "corpus/$t" "artifacts/$t"
  local before after rc=0 execs last cov ft rate edges kind artifact input runs_arg=()
  before=$(find "artifacts/$t" -type f | wc -l)
  # Written under a per-run name and moved at the end, so two passes in one tree never write
  # into the same log.
  local log="$logs/$t.log"
  local run_log="$log.$$"
  [ "$FUZZ_RUNS" -gt 0 ] && runs_arg=(-runs="$FUZZ_RUNS")
  # The outer timeout only guards against a fuzzer that does not stop by itself. (The
  # `+` form expands an empty array under `set -u` on bash before 4.4 too.)
  timeout --kill-after=15 $((FUZZ_SECONDS + 180)) \
    "$bin/$t" "corpus/$t" ${runs_arg[@]+"${runs_arg[@]}"} \
      -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
      -rss_limit_mb="$FUZZ_RSS_MB" -malloc_limit_mb="$FUZZ_RSS_MB" \
      -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$run_log" 2>&1 || rc=$?
  mv -f "$run_log" "$log"
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  last=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
  edges=$(sed -nE 's/.*Loaded 1 modules +\(([0-9]+) inline 8-bit counters.*/\1/p' "$log" | head -n 1)
  after=$(find "artifacts/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ] || [ -z "$execs" ] ||
     grep -aqE 'deadly signal|panicked at|==ERROR|ERROR: libFuzzer' "$log"; then
    kind=crash
    grep -aq 'libFuzzer: timeout' "$log" && kind=timeout
    { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; } && kind="hang, killed"
    grep -aqE 'out-of-memory|malloc\(.*\) exceeds limit' "$log" && kind=oom
    artifact=$(sed -nE 's/.*Test unit written to (.*)/\1/p' "$log" | tail -n 1)
    # Without an artifact (the crash handler itself failed) the input's bytes are in the log.
    input="in the log"
    [ -n "$artifact" ] && input="fuzz/$artifact"
    {
      echo "FAILED fuzz: $t: FAILED ($kind, exit $rc) after ${execs:-?} execs; input: $input; log: fuzz/$log"
      grep -aE -A 12 'panicked at' "$log" | head -n 30 || true
    } >"$logs/$t.result"
  else
    local short=""
    [ "$FUZZ_RUNS" -gt 0 ] && [ "$execs" -lt "$FUZZ_RUNS" ] && short=", stopped by the time limit below $FUZZ_RUNS"
    echo "ok fuzz: $t: $execs execs, cov $cov, ft $ft, 0 crashes (cov of ${edges:-?} edges, ${rate:-?} exec/s$short)" >"$logs/$t.result"
  fi
}

# Background jobs of a non-interactive shell ignore SIGINT: stop them with the script.
trap 'kill $(jobs -p) 2>/dev/null || true' INT TERM EXIT

n=0
failed=0
running=0
for t in $targets; do
  n=$((n + 1))
  rm -f "$logs/$t.result"
  if [ "$running" -ge "$FUZZ_JOBS" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait || true
for t in $targets; do
  if [ ! -f "$logs/$t.result" ]; then
    failed=$((failed + 1))
    echo "fuzz: $t: FAILED (no result: the run did not finish)"
    continue
  fi
  first=$(head -n 1 "$logs/$t.result")
  case "$first" in
    ok\ *) echo "${first#ok }" ;;
    *) failed=$((failed + 1)); sed '1s/^FAILED //' "$logs/$t.result" ;;
  esac
done

echo "fuzz: $n targets, $failed crashes ($((SECONDS - start)) s)"
[ "$failed" -eq 0 ]
