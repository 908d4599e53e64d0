#!/usr/bin/env bash
# Link-time proof that no public entry point of the rolltoken core can panic (and that the core
# is no_std). How it works is explained at the top of src/lib.rs. Stable Rust on the host
# target only; needs cc, nm and objdump (binutils), which linking needs anyway.
#
# Three checks, one summary line each; exits non-zero if any fails:
#   1. canary   the cdylib links with -Wl,--no-undefined: no export can reach the panic handler.
#   2. control  with --features control (an untrusted s[i]) the link MUST fail on
#               __rolltoken_panic_is_reachable; if it links, the canary is broken.
#   3. scan     nm finds no panic machinery in the canary's .so (independent of 1), and does
#               find it in the control built without --no-undefined (so the scan is not blind).
# When the canary fails, a diagnostic build (same code, linked without --no-undefined, with line
# tables) lists every call into the panic machinery with its source line, and the exports that
# reach it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
start=$SECONDS

target="$here/target"
guarded="$target/guarded"     # --no-undefined: the proof
unguarded="$target/unguarded" # links even with panics: scan control and diagnostics
lib=librolltoken_no_panic.so
log="$target/logs"
mkdir -p "$log"

# Only the flags set here; ambient ones would change what is being proved.
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_BUILD_TARGET CARGO_TARGET_DIR
unset CARGO_PROFILE_RELEASE_DEBUG CARGO_PROFILE_RELEASE_STRIP CARGO_PROFILE_RELEASE_LTO \
  CARGO_PROFILE_RELEASE_PANIC CARGO_PROFILE_RELEASE_OPT_LEVEL CARGO_PROFILE_RELEASE_CODEGEN_UNITS \
  CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS
export CARGO_TERM_COLOR=never
guard_flags="-C link-arg=-Wl,--no-undefined -C link-arg=-lc"
plain_flags="-C link-arg=-lc"

# The same dependency versions as the workspace (cargo drops the entries this crate doesn't use).
cp ../../Cargo.lock Cargo.lock

# Anything in the panic machinery: core::panicking::*, panic_const_*, bounds and slice range
# failures, unwrap/expect failures, the panic handler itself and the canary symbol.
panic_re='core::panicking|panic_fmt|panic_bounds_check|panic_const|slice_[a-z_]*index[a-z_]*fail|slice_[a-z_]*index_[a-z_]*|str_index_overflow_fail|slice_error_fail|unwrap_failed|expect_failed|rust_begin_unwind|__rolltoken_panic_is_reachable'

# The linker's refusal (lld: "undefined symbol: X", GNU ld: "undefined reference to `X'").
canary_re='undefined (symbol: |reference to .)__rolltoken_panic_is_reachable'

build() { # build <flags> <target-dir> <log> [cargo args...]
  local flags=$1 dir=$2 out=$3
  shift 3
  RUSTFLAGS="$flags" CARGO_TARGET_DIR="$dir" cargo build --release "$@" >"$out" 2>&1
}

linker_lines() { # the linker's own words about the canary symbol
  grep -E 'undefined (symbol|reference)|>>> (referenced by|  )' "$1" | sed 's/^[[:space:]]*= note:[[:space:]]*//; s/^[[:space:]]*/    /' || true
}

panic_symbols() { # panic_symbols <so>
  nm -C "$1" | grep -E "$panic_re" || true
}

# Lists each function that calls into the panic machinery (with the source line of the call)
# and each export that can reach one, from the disassembly of an unguarded build.
explain() { # explain <so>
  objdump -d -l -C --no-show-raw-insn "$1" | awk -v re="$panic_re" '
    /^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); loc = ""; next }
    /^\/.*:[0-9]+/ { loc = $1; next }
    /\t(call|jmp) +[0-9a-f]+ <.*>$/ {
      callee = $0; sub(/^[^<]*</, "", callee); sub(/>$/, "", callee)
      if (callee == fn || callee ~ /\+0x[0-9a-f]+$/) next
      if (!((fn, callee) in edges)) edges[fn, callee] = loc
      if (callee ~ re && fn !~ re) sites[fn] = sites[fn] "\n      " loc "  (calls " callee ")"
    }
    END {
      for (e in edges) { split(e, p, SUBSEP); if (p[2] ~ re) reach[p[1]] = 1 }
      do {
        grew = 0
        for (e in edges) { split(e, p, SUBSEP); if ((p[2] in reach) && !(p[1] in reach)) { reach[p[1]] = 1; grew = 1 } }
      } while (grew)
      print "  panic call sites (function, then source line of each call):"
      for (f in sites) print "    " f sites[f]
      print "  calls on the way there (caller -> callee, at the first call site):"
      for (e in edges) {
        split(e, p, SUBSEP)
        if ((p[2] in reach) && p[2] !~ re) print "    " p[1] " -> " p[2] "\n      " edges[e]
      }
      print "  exports that reach the panic handler:"
      for (f in reach) if (f ~ /^rtnp_/) print "    " f
    }'
}

failed=0
diag_so=""

# --- 1. canary -------------------------------------------------------------------------------
if build "$guard_flags" "$guarded" "$log/canary.log"; then
  # Keep it: the control build below writes to the same path.
  so="$target/canary-$lib"
  cp "$guarded/release/$lib" "$so"
  linked=$(nm -D --defined-only "$so" | awk '$3 ~ /^rtnp_/' | wc -l)
  declared=$(grep -c '^pub extern "C" fn rtnp_' src/lib.rs)
  declared=$((declared - $(grep -c '^pub extern "C" fn rtnp_control' src/lib.rs)))
  if [ "$linked" -ne "$declared" ]; then
    echo "no-panic canary: FAIL ($linked of $declared exports present in $lib)"
    failed=1
  else
    echo "no-panic canary: PASS ($linked core entry points linked, 0 panic paths)"
  fi
else
  so=""
  if grep -qE "$canary_re" "$log/canary.log"; then
    echo "no-panic canary: FAIL (a panic is reachable from an exported core entry point)"
    echo "  linker:"
    linker_lines "$log/canary.log"
    echo "  diagnosing (build linked without --no-undefined, with line tables)..."
    if CARGO_PROFILE_RELEASE_DEBUG=line-tables-only build "$plain_flags" "$unguarded/diag" "$log/diag.log"; then
      diag_so="$unguarded/diag/release/$lib"
      explain "$diag_so"
    else
      tail -n 30 "$log/diag.log"
    fi
  else
    if grep -q 'E0152' "$log/canary.log"; then
      echo "no-panic canary: FAIL (std is linked: the core or a dependency is not no_std)"
    else
      echo "no-panic canary: FAIL (the build failed before the link check)"
    fi
    tail -n 40 "$log/canary.log"
  fi
  failed=1
fi

# --- 2. control --------------------------------------------------------------------------------
if build "$guard_flags" "$guarded" "$log/control.log" --features control; then
  echo "no-panic control: FAIL (the out-of-bounds index linked: the canary does not bite)"
  failed=1
elif grep -qE "$canary_re" "$log/control.log"; then
  echo "no-panic control: PASS (out-of-bounds index detected at link time)"
  linker_lines "$log/control.log"
else
  echo "no-panic control: FAIL (the control build failed without reaching the link check):"
  tail -n 40 "$log/control.log"
  failed=1
fi

# --- 3. symbol scan ------------------------------------------------------------------------------
if build "$plain_flags" "$unguarded/control" "$log/scan-control.log" --features control; then
  blind_check=$(panic_symbols "$unguarded/control/release/$lib" | wc -l)
else
  blind_check=0
  tail -n 20 "$log/scan-control.log"
fi
if [ -z "$so" ]; then
  if [ -n "$diag_so" ]; then
    echo "no-panic scan: FAIL ($(panic_symbols "$diag_so" | wc -l) panic symbols in the canary linked without --no-undefined)"
  else
    echo "no-panic scan: FAIL (no canary library to scan)"
  fi
  failed=1
elif [ "$blind_check" -eq 0 ]; then
  echo "no-panic scan: FAIL (found no panic symbols even in the control library: the scan is blind)"
  failed=1
else
  found=$(panic_symbols "$so")
  if [ -n "$found" ]; then
    echo "no-panic scan: FAIL (panic machinery in $lib):"
    printf '%s\n' "$found" | sed 's/^/    /'
    failed=1
  else
    echo "no-panic scan: PASS (0 panic symbols in $lib; $blind_check in the unguarded control)"
  fi
fi

echo "no-panic: $([ "$failed" -eq 0 ] && echo PASS || echo FAIL) in $((SECONDS - start))s (logs: ${log#"$here"/})"
exit "$failed"
