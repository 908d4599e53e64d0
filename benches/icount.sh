#!/usr/bin/env bash
# Instruction-count guard: counts the instructions of compact verify, full verify and advance
# (memory store) under `valgrind --tool=callgrind`, which is deterministic where time is not,
# and fails if one grew by more than 10% over benches/instructions.json.
#
#   bash benches/icount.sh                 # check
#   ICOUNT_BLESS=1 bash benches/icount.sh  # rewrite benches/instructions.json with the counts
#
# Per-op count = (Ir(N2) - Ir(N1)) / (N2 - N1): setup, process start and exit cancel out.
# valgrind's emulated CPU hides SHA-NI, so SHA-256 runs in software (~3,401 Ir per
# compression): the counts are not a time, but they move with every instruction the code adds.
set -euo pipefail
cd "$(dirname "$0")/.."

ops=(verify_compact verify_full advance_memory)
n1=${ICOUNT_N1:-200}
n2=${ICOUNT_N2:-2200}
tolerance_pct=10
json=benches/instructions.json

if ! command -v valgrind >/dev/null 2>&1; then
  echo "icount: valgrind missing, installing it with apt-get" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

cargo build --quiet --locked --release -p rolltoken-benches --bin icount
target_dir=${CARGO_TARGET_DIR:-target}
bin="$target_dir/release/icount"
[ -x "$bin" ] || { echo "icount: FAIL: $bin not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions of one run of `icount OP N` under callgrind.
ir_of() {
  local op=$1 n=$2 out="$tmp/$1.$2.callgrind"
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$op" "$n" \
    >"$tmp/run.log" 2>&1; then
    echo "icount: FAIL: $op x $n under callgrind:" >&2
    cat "$tmp/run.log" >&2
    exit 1
  fi
  awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# The committed count of OP, or empty when absent.
committed_of() {
  [ -f "$json" ] || return 0
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p" "$json" | head -n 1
}

# 1234567 -> 1,234,567
commas() { printf '%s' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

declare -A measured
fail=0
for op in "${ops[@]}"; do
  ir1=$(ir_of "$op" "$n1")
  ir2=$(ir_of "$op" "$n2")
  per_op=$(( (ir2 - ir1 + (n2 - n1) / 2) / (n2 - n1) ))
  measured[$op]=$per_op
  was=$(committed_of "$op")
  if [ -z "$was" ] || [ "$was" -eq 0 ]; then
    echo "icount $op: $(commas "$per_op") Ir/op (no committed figure)"
    [ -n "${ICOUNT_BLESS:-}" ] || fail=1
    continue
  fi
  # Change in tenths of a percent, rounded toward zero, printed with its sign.
  permille=$(( (per_op - was) * 1000 / was ))
  sign=+; [ "$permille" -lt 0 ] && sign=-
  abs=${permille#-}
  pct="$sign$((abs / 10)).$((abs % 10))%"
  verdict=""
  if [ $(( per_op * 100 )) -gt $(( was * (100 + tolerance_pct) )) ]; then
    verdict=" FAIL: grew more than ${tolerance_pct}%"
    fail=1
  elif [ $(( per_op * 100 )) -lt $(( was * (100 - tolerance_pct) )) ]; then
    verdict=" (shrank more than ${tolerance_pct}%: bless the new figure with ICOUNT_BLESS=1)"
  fi
  echo "icount $op: $(commas "$per_op") Ir/op (committed $(commas "$was"), $pct)$verdict"
done

if [ -n "${ICOUNT_BLESS:-}" ]; then
  {
    echo "{"
    last=$(( ${#ops[@]} - 1 ))
    for i in "${!ops[@]}"; do
      sep=,; [ "$i" -eq "$last" ] && sep=
      echo "  \"${ops[$i]}\": ${measured[${ops[$i]}]}$sep"
    done
    echo "}"
  } >"$json"
  echo "icount: wrote $json"
  exit 0
fi

if [ "$fail" -ne 0 ]; then
  echo "icount: FAIL (if the growth is intended, rerun with ICOUNT_BLESS=1 and commit $json)" >&2
  exit 1
fi
echo "icount: PASS (within ${tolerance_pct}% of $json)"
