#!/usr/bin/env bash
# Miri (the Rust undefined-behaviour interpreter) over the rolltoken core's unit tests (`--lib`)
# and the integration tests cheap enough to interpret (`send_sync`). Left out by default, with
# what they cost under Miri on the project's 2-core machine:
#   unit tests looping over 10^3-10^5 inputs (MIRI_SKIP, libtest `--skip` substrings):
#     cookie::tests::never_panics (200,000 random headers), token::tests::bodies_agree_with_base64ct
#     (39,000 parses), keys::tests::agrees_with_the_hmac_crate (8,000 HMACs); the bit-flip sweep
#     token::tests::flipping_any_bit_of_a_token_is_refused stays in (213 s).
#   tests/external_vectors.rs, tests/vectors.rs: serde_json over 117 KB and 451 KB of JSON, and a
#     2,232-token bit-flip sweep (532 s alone); external_hmac_vectors had not finished after 21 min.
#   tests/parsers.rs, tests/model.rs: proptest suites with 1,000-10,000 cases fixed in their
#     configs (hours).
# They all run natively in `make test`. MIRI_TESTS="--lib --test vectors" replaces the
# selection; MIRI_SKIP= runs every unit test.
#
# Needs a nightly toolchain with the miri component (`rustup component add --toolchain nightly
# miri rust-src`). Without one (CI machines are stable-only) it prints
#   miri: skipped (no nightly toolchain with miri)
# and exits 0. MIRIFLAGS defaults to -Zmiri-strict-provenance (Stacked Borrows is the default
# aliasing model); MIRIFLAGS=-Zmiri-tree-borrows runs Tree Borrows instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS

if ! command -v rustup >/dev/null 2>&1 \
  || ! rustup run nightly cargo miri --version >/dev/null 2>&1; then
  echo "miri: skipped (no nightly toolchain with miri)"
  exit 0
fi

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance}"
export CARGO_TERM_COLOR=never
read -r -a tests <<<"${MIRI_TESTS:---lib --test send_sync}"

skip_default="cookie::tests::never_panics token::tests::bodies_agree_with_base64ct keys::tests::agrees_with_the_hmac_crate"
read -r -a skips <<<"${MIRI_SKIP-$skip_default}"
skip_args=()
for s in "${skips[@]}"; do skip_args+=(--skip "$s"); done

mkdir -p target
log=target/miri.log
echo "miri: $(rustup run nightly cargo miri --version 2>/dev/null | head -n1), MIRIFLAGS=$MIRIFLAGS"
echo "miri: cargo +nightly miri test --locked -p rolltoken ${tests[*]} -- ${skip_args[*]} --report-time"
status=0
rustup run nightly cargo miri test --locked -p rolltoken "${tests[@]}" -- "${skip_args[@]}" -Zunstable-options --report-time >"$log" 2>&1 || status=$?
grep -E '^(test result:|     Running|error(\[|:)|.*Undefined Behavior)' "$log" | sed 's/^/  /' || true
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log"
fi
awk -v secs=$((SECONDS - start)) -v status="$status" '
  /^test result:/ { p += $4; f += $6; ig += $8; fo += $12 }
  /Undefined Behavior/ { ub++ }
  END {
    printf "miri: %d passed, %d failed, %d ignored, %d skipped, %d UB reports in %d s", p, f, ig, fo, ub, secs
    if (status != 0) printf " (FAIL: cargo miri exited with status %d)", status
    printf "\n"
    exit (status != 0 || f > 0 || ub > 0 || p == 0)
  }' "$log"
