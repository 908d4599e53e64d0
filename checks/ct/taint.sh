#!/usr/bin/env bash
# Secret-taint test of rolltoken's verify under valgrind memcheck (the ctgrind method).
#
# The driver (src/bin/taint.rs) marks secrets undefined through a C shim over
# <valgrind/memcheck.h> (shim/ct_shim.c): the key (so every subkey, keyed HMAC state and
# expected tag), the decoded token's tag and session id, the store's counter, the claims, and
# the token text's tag characters. memcheck reports every branch ("Conditional jump or move
# depends on uninitialised value(s)") and every memory address ("Use of uninitialised value")
# computed from them. Each report is classified by the first stack frame in the core's source:
#   tag verdict     a conditional jump on a line that calls tags_equal( (outside parse): the
#                   accept/refuse branch itself, a public verdict. At most one per verify call.
#   decode outcome  a conditional jump inside token::parse: "is this canonical base64url"
#                   (public: the sender knows what it sent); only the text scenario reaches
#                   it. At most one per parse of a tainted text.
#   LEAK            anything else, or more than one outcome branch per call. Must be 0.
# The control (an early-exit compare on a tag computed by the core's HMAC under the tainted key)
# must give > 0 reports, or the test is blind.
#
# Prints `taint: verify 0 errors, control N errors` and exits 0, or explains and exits 1.
# Installs valgrind (which ships <valgrind/memcheck.h> on Debian) and python3 when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
start=$SECONDS
out="$here/results"
mkdir -p "$out"

need_apt=()
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
[ -f /usr/include/valgrind/memcheck.h ] || need_apt+=(valgrind)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "taint: installing ${need_apt[*]} (Debian packages)"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Only the flags set here; ambient ones would change the code under test.
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTFLAGS CARGO_BUILD_TARGET CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never
cp ../../Cargo.lock Cargo.lock
if ! cargo build --quiet --release --features taint --bin taint 2>"$out/taint-build.log"; then
  cat "$out/taint-build.log" >&2
  echo "taint: FAIL (build)"
  exit 1
fi

vg=(valgrind --tool=memcheck --track-origins=yes --num-callers=40 --error-limit=no)
for mode in verify control; do
  "${vg[@]}" --xml=yes --xml-file="$out/taint-$mode.xml" --log-file="$out/taint-$mode.log" \
    target/release/taint "$mode" >"$out/taint-$mode.out" 2>&1 || {
    cat "$out/taint-$mode.out" "$out/taint-$mode.log" >&2
    echo "taint: FAIL (the $mode driver failed)"
    exit 1
  }
done
sed 's/^/  /' "$out/taint-verify.out" "$out/taint-control.out"

python3 - "$out" "$(cd ../../core/src && pwd)" "$((SECONDS - start))" <<'PY'
import sys, xml.etree.ElementTree as ET
out, core_src, secs = sys.argv[1], sys.argv[2], sys.argv[3]

def reports(mode):
    root = ET.parse(f"{out}/taint-{mode}.xml").getroot()
    counts = {p.findtext("unique"): int(p.findtext("count")) for p in root.iter("pair")}
    for e in root.findall("error"):
        frames = e.find("stack").findall("frame")
        def loc(f):
            return (f.findtext("fn") or "?", f.findtext("dir") or "", f.findtext("file") or "?",
                    int(f.findtext("line") or 0))
        top = loc(frames[0]) if frames else ("?", "", "?", 0)
        core = next((loc(f) for f in frames if (f.findtext("dir") or "") == core_src), None)
        src = ""
        if core:
            try:
                with open(f"{core[1]}/{core[2]}") as fh:
                    src = fh.read().splitlines()[core[3] - 1].strip()
            except (OSError, IndexError):
                src = "?"
        origin = " ".join(a.text or "" for a in e.findall("auxwhat"))
        yield dict(kind=e.findtext("kind"), n=counts.get(e.findtext("unique"), 1), top=top,
                   core=core, src=src, origin=origin,
                   all_fns=[f.findtext("fn") or "?" for f in frames])

def where(r):
    c = r["core"] or r["top"]
    return f'{r["top"][0]} at {c[2]}:{c[3]}'

import re
drv = open(f"{out}/taint-verify.out").read()
calls = re.search(r"taint calls: (\d+) parses of tainted text, (\d+) verify calls", drv)
parses, verifies = (int(calls.group(1)), int(calls.group(2))) if calls else (0, 0)

def in_parse(r):
    return any(fn == "rolltoken::token::parse" or fn.endswith("::token::parse") for fn in r["all_fns"])

ok = True
rs = list(reports("verify"))
for r in rs:
    if r["kind"] == "UninitCondition" and r["core"] and "tags_equal(" in r["src"] and not in_parse(r):
        r["cls"] = "tag verdict"
    elif r["kind"] == "UninitCondition" and in_parse(r):
        r["cls"] = "decode outcome"
    else:
        r["cls"] = "LEAK"
verdict = sum(r["n"] for r in rs if r["cls"] == "tag verdict")
decode = sum(r["n"] for r in rs if r["cls"] == "decode outcome")
# An outcome is one branch per call; more means the code branches on secret data on the way.
for cls, total, bound in (("tag verdict", verdict, verifies), ("decode outcome", decode, parses)):
    if total > bound:
        print(f"taint: {total} {cls} reports for {bound} calls: more than one branch per call")
        for r in rs:
            if r["cls"] == cls:
                r["cls"] = "LEAK"
leaks = sum(r["n"] for r in rs if r["cls"] == "LEAK")
print("taint: verify reports (first frame in core/src decides):")
for r in rs:
    cls = r["cls"]
    if "client request" not in r["origin"]:
        cls += " (origin is not the taint: " + r["origin"] + ")"
        ok = False
    print(f'  {r["n"]:3d} x {r["kind"]:<16} {cls:<15} {where(r)}   `{r["src"]}`')
    if r["cls"] == "LEAK":
        print("        stack: " + " <- ".join(r["all_fns"][:8]))
if not rs:
    print("  (none)")

control = leaky = 0
by_place = {}
for r in reports("control"):
    control += r["n"]
    if any("leaky_eq" in fn for fn in r["all_fns"]):
        leaky += r["n"]
    key = (r["kind"], where(r))
    by_place[key] = by_place.get(key, (0, 0))
    by_place[key] = (by_place[key][0] + r["n"], by_place[key][1] + 1)
print("taint: control reports:")
for (kind, place), (n, ctx) in by_place.items():
    print(f"  {n:3d} x {kind:<16} {place} ({ctx} contexts: one per unrolled byte compare)")

if "FAIL" in drv:
    ok = False
    print("taint: the driver reported a failure (see above)")
if leaks:
    ok = False
if leaky == 0:
    ok = False
    print("taint: FAIL the control's early-exit compare was not reported: the test is blind")
print(f"taint: verify {leaks} errors, control {control} errors "
      f"(outcome branches: {verdict} tag verdict in {verifies} verify calls, "
      f"{decode} decode outcome in {parses} parses of tainted text; {secs} s)")
print("taint:", "PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
