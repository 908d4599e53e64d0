#!/usr/bin/env bash
# dudect timing test of rolltoken's verify (src/bin/dudect.rs explains every bench).
#
#   dudect.sh [--short | --long] [--measurements N] [--control-measurements M]
#
#   --short  (default; for `make test`) 10^5 measurements per verify bench, 5*10^4 per control;
#            the 64 verify benches and 3 controls. Fails only if a control does not leak
#            (|t| > 10 for the bare early-exit compare, > 4.5 for the two verify-shaped ones);
#            prints every verify t-value. Under a minute of measuring on 2 cores.
#   --long   (for the docs; `make ct`) 10^7 measurements per verify bench, 10^6 per control;
#            all 97 benches. Fails if a gated verify bench reaches |t| >= 4.5, if the bare
#            control stays under 100, or if at some tag position neither verify-shaped control
#            exceeds 4.5. Gated: compact valid-vs-wrong, compact and full random-vs-wrong.
#            Full valid-vs-wrong is printed but not gated: its classes differ in the verdict,
#            and full verify takes a branch on the verdict (taint.sh shows it), so the time of
#            an accepted token differs from that of a refused one; the random-vs-wrong benches
#            hold the verdict fixed and test the tag compare alone.
#   CT_MEASUREMENTS / CT_CONTROL_MEASUREMENTS override the budgets; CT_FILTER (space-separated
#   substrings, `^` anchors one at the start of the name) replaces the bench set.
# The process is pinned to one core with taskset when it is available. Raw output and a TSV of
# max |t| per bench go to results/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
start=$SECONDS

mode=short
n=""
m=""
while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --long) mode=long ;;
    --measurements) n="$2"; shift ;;
    --control-measurements) m="$2"; shift ;;
    *) echo "usage: $0 [--short|--long] [--measurements N] [--control-measurements M]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$mode" = long ]; then
  n=${n:-${CT_MEASUREMENTS:-10000000}}
  m=${m:-${CT_CONTROL_MEASUREMENTS:-1000000}}
  filters=()
else
  n=${n:-${CT_MEASUREMENTS:-100000}}
  m=${m:-${CT_CONTROL_MEASUREMENTS:-50000}}
  # The 64 verify benches and three controls.
  filters=(--filter ^compact_ --filter ^full_ --filter ^control_compare
    --filter ^control_compact_valid_vs_wrong00 --filter ^control_compact_random_vs_wrong15)
fi
if [ -n "${CT_FILTER:-}" ]; then
  filters=()
  for f in $CT_FILTER; do filters+=(--filter "$f"); done
fi

unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTFLAGS CARGO_BUILD_TARGET CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never
cp ../../Cargo.lock Cargo.lock
out="$here/results"
mkdir -p "$out"
if ! cargo build --quiet --release --bin dudect 2>"$out/dudect-build.log"; then
  cat "$out/dudect-build.log" >&2
  echo "dudect: FAIL (build)"
  exit 1
fi
built=$((SECONDS - start))

pin=()
command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -gt 1 ] && pin=(taskset -c 1)
raw="$out/dudect-$mode.txt"
log="$out/dudect-$mode.log"
"${pin[@]}" target/release/dudect --measurements "$n" --control-measurements "$m" \
  "${filters[@]}" >"$raw" 2>"$log"
secs=$((SECONDS - start - built))

# name -> t (dudect-bencher: "bench NAME ... : n == +0.100M, max t = +1.23, max tau = ...").
tsv="$out/dudect-$mode.tsv"
awk '/max t = / {
  name = $2; t = $0; sub(/.*max t = /, "", t); sub(/,.*/, "", t)
  cn = $0; sub(/.*n == /, "", cn); sub(/M,.*/, "", cn)
  printf "%s\t%s\t%s\n", name, t + 0, cn + 0
}' "$raw" | sort >"$tsv"

MODE=$mode N=$n M=$m SECS=$secs BUILT=$built python3 - "$tsv" <<'PY'
import os, sys
rows = {}
for line in open(sys.argv[1]):
    name, t, crop = line.rstrip("\n").split("\t")
    rows[name] = (float(t), float(crop))
mode, n, m = os.environ["MODE"], int(os.environ["N"]), int(os.environ["M"])
fams = [("compact_valid_vs_wrong", "compact valid/wrong", True),
        ("compact_random_vs_wrong", "compact random/wrong", True),
        ("full_valid_vs_wrong", "full valid/wrong", False),
        ("full_random_vs_wrong", "full random/wrong", True),
        ("control_compact_valid_vs_wrong", "CONTROL valid/wrong", None),
        ("control_compact_random_vs_wrong", "CONTROL random/wrong", None)]
present = [f for f in fams if any(k.startswith(f[0]) and len(k) == len(f[0]) + 2 for k in rows)]
def t(name):
    return rows[name][0] if name in rows else None
print(f"dudect ({mode}): max |t| per tag byte position; {n:,} measurements per verify bench, "
      f"{m:,} per control bench")
print("  pos " + "".join(f"{lab:>22}" for _, lab, _ in present))
for i in range(16):
    cells = []
    for pre, _, _ in present:
        v = t(f"{pre}{i:02d}")
        cells.append(f"{abs(v):22.2f}" if v is not None else f"{'-':>22}")
    print(f"  {i:3d} " + "".join(cells))
print("  max " + "".join(f"{max(abs(t(f'{p}{i:02d}')) for i in range(16) if t(f'{p}{i:02d}') is not None):22.2f}"
                         for p, _, _ in present))
ok = True
gated_max = 0.0
for pre, lab, gated in present:
    vals = [abs(t(f"{pre}{i:02d}")) for i in range(16) if t(f"{pre}{i:02d}") is not None]
    if gated:
        gated_max = max(gated_max, max(vals))
        if mode == "long" and max(vals) >= 4.5:
            ok = False
            print(f"dudect: FAIL {lab}: max |t| {max(vals):.2f} >= 4.5")
full_verdict = [abs(t(f"full_valid_vs_wrong{i:02d}")) for i in range(16) if t(f"full_valid_vs_wrong{i:02d}") is not None]
cc = t("control_compare")
if cc is None or abs(cc) <= (100 if mode == "long" else 10):
    ok = False
    print(f"dudect: FAIL control_compare |t| = {cc}: the early-exit control does not leak")
weak = []
for i in range(16):
    a, b = t(f"control_compact_valid_vs_wrong{i:02d}"), t(f"control_compact_random_vs_wrong{i:02d}")
    if a is None and b is None:
        continue
    if max(abs(a or 0), abs(b or 0)) <= 4.5:
        weak.append(i)
if weak:
    ok = False
    print(f"dudect: FAIL the verify-shaped control does not leak at tag byte(s) {weak}")
print(f"dudect: control_compare |t| = {abs(cc or 0):.1f}; verify max |t| = {gated_max:.2f} over the gated benches"
      + (f", full valid/wrong (verdict timing, not gated) up to {max(full_verdict):.2f}" if full_verdict else "")
      + f"; {os.environ['SECS']} s measuring, {os.environ['BUILT']} s building")
print("dudect:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
