#!/usr/bin/env bash
# `make bench`: every benchmark of issue 7, then BENCHMARKS.md and docs/benchmarks.png.
#
#   1. cargo bench --locked -p rolltoken-benches   Rust groups vs the floor and jsonwebtoken /
#                                                  cookie, and the C ABI vs direct Rust
#                                                  (target/criterion; a few minutes here)
#   2. bash go/bench/run.sh (when present)         Go vs golang-jwt (target/bench/go.json),
#                                                  after building the release C library it links
#   3. the Python venv target/py-venv              created when missing; the wheel built and
#                                                  installed as python/run-tests.sh does when the
#                                                  venv lacks it or the sources are newer; the
#                                                  peers and tools from PyPI (pip)
#   4. python/bench/micro.py, python/bench/asgi_load.py   (target/bench/python.json)
#   5. benches/write_benchmarks.py                 BENCHMARKS.md + docs/benchmarks.png
#
# A failing step is recorded (target/bench/run-info.json) and the rest still run: its rows in
# BENCHMARKS.md say "not run" (or "stale" when an older result is left). The exit status is
# non-zero when a step failed; a missed target is reported in BENCHMARKS.md (met/missed),
# not an error. Environment: CARGO_TARGET_DIR,
# PYTHON (interpreter for the venv, default python3), BENCH_SKIP="rust go python" (any of
# them, to regenerate the report from earlier results), and the knobs of the Python scripts
# (PY_BENCH_ROUNDS, ASGI_BENCH_REQUESTS, ASGI_BENCH_CLIENTS, ASGI_BENCH_ROUNDS).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/bench"
mkdir -p "$out"
CARGO=${CARGO:-cargo}
export PIP_DISABLE_PIP_VERSION_CHECK=1
skip=" ${BENCH_SKIP:-} "
start_epoch=$(date +%s)
start_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
steps_file="$out/steps.tsv"
: >"$steps_file"
failed=0

# step NAME COMMAND...: runs it, logs to $out/NAME.log (and the terminal), records the status.
step() {
    local name=$1
    shift
    echo "bench: [$name] $*"
    local t0=$SECONDS rc
    "$@" 2>&1 | tee "$out/$name.log"
    rc=${PIPESTATUS[0]}
    local shown=${STEP_LABEL:-$*}
    printf '%s\t%s\t%s\t%s\n' "$name" "${shown//$root\//}" "$rc" "$((SECONDS - t0))" >>"$steps_file"
    if [ "$rc" -ne 0 ]; then
        echo "bench: [$name] failed (exit $rc): see $out/$name.log" >&2
        failed=$((failed + 1))
    fi
    return 0
}

skipped() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "skipped" 0 >>"$steps_file"
    echo "bench: [$1] skipped ($2)"
}

# 1. Rust and the C ABI.
if [[ "$skip" == *" rust "* ]]; then
    skipped rust "BENCH_SKIP"
else
    step rust "$CARGO" bench --locked -p rolltoken-benches
fi

# 2. Go.
if [[ "$skip" == *" go "* ]]; then
    skipped go "BENCH_SKIP"
elif [ -f go/bench/run.sh ]; then
    step ffi-release "$CARGO" build --locked --release -p rolltoken-ffi
    step go bash go/bench/run.sh
else
    skipped go "go/bench/run.sh not present"
fi

# 3 and 4. Python.
venv="$target/py-venv"
py="$venv/bin/python"
python_env() {
    set -e
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        rm -rf "$venv"
        "${PYTHON:-python3}" -m venv "$venv"
    fi
    export PATH="$venv/bin:$PATH" # the maturin build backend runs the maturin binary
    "$py" -m pip install --quiet "maturin>=1.9,<2"
    # The wheel, built as python/run-tests.sh builds it, when the venv lacks it or any source
    # of the extension (core, python crate, package) is newer than the last install.
    local stamp="$out/.wheel-installed"
    if ! "$py" -c 'import rolltoken._rolltoken' 2>/dev/null || [ ! -f "$stamp" ] ||
        [ -n "$(find core python/src python/rolltoken python/Cargo.toml python/pyproject.toml Cargo.lock -newer "$stamp" -print -quit 2>/dev/null)" ]; then
        local wheels="$target/py-bench-wheels"
        rm -rf "$wheels"
        echo "bench: building the wheel"
        "$py" -m pip wheel --quiet --no-build-isolation --no-deps --wheel-dir "$wheels" ./python
        shopt -s nullglob
        local built=("$wheels"/rolltoken-*.whl)
        shopt -u nullglob
        [ "${#built[@]}" -eq 1 ] || { echo "bench: expected one rolltoken wheel, got: ${built[*]:-nothing}" >&2; return 1; }
        "$py" -m pip install --quiet --force-reinstall --no-deps "${built[0]}"
        touch "$stamp"
    fi
    # The peers, the servers and the chart.
    "$py" -m pip install --quiet "pyjwt>=2.8" "itsdangerous>=2.1" "starlette>=0.37" "uvicorn>=0.30" \
        "httptools>=0.6" "httpx>=0.27" "matplotlib>=3.7"
    "$py" -c 'import rolltoken, jwt, itsdangerous, starlette, uvicorn, matplotlib; print("bench: python", rolltoken.__version__)'
}
if [[ "$skip" == *" python "* ]]; then
    skipped python "BENCH_SKIP"
else
    rm -f "$out/python.json"
    STEP_LABEL="python -m venv $venv; pip install maturin, the wheel (./python), pyjwt itsdangerous starlette uvicorn httptools httpx matplotlib" \
        step python-env python_env
    if [ -x "$py" ] && "$py" -c 'import rolltoken, jwt, itsdangerous, starlette, uvicorn' 2>/dev/null; then
        step python-micro "$py" python/bench/micro.py --out "$out/python.json"
        step python-asgi "$py" python/bench/asgi_load.py --out "$out/python.json"
    else
        skipped python-micro "no Python environment"
        skipped python-asgi "no Python environment"
    fi
fi

# 5. The report. run-info.json first, so that write_benchmarks.py can tell stale results.
load_end=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo null)
report_py="$py"
[ -x "$report_py" ] || report_py=${PYTHON:-python3}
"$report_py" - "$steps_file" "$out/run-info.json" "$start_epoch" "$start_iso" "$load_start" "$load_end" <<'EOF'
import json, sys
steps_file, out, epoch, iso, la0, la1 = sys.argv[1:7]
steps = []
for line in open(steps_file, encoding="utf-8"):
    name, cmd, status, secs = line.rstrip("\n").split("\t")
    steps.append({"name": name, "command": cmd, "status": int(status) if status.lstrip("-").isdigit() else status, "seconds": int(secs)})
num = lambda s: float(s) if s not in ("", "null") else None
json.dump({"started_epoch": int(epoch), "started": iso, "loadavg_start": num(la0), "loadavg_end": num(la1), "steps": steps},
          open(out, "w"), indent=2)
EOF
step report "$report_py" benches/write_benchmarks.py

if [ "$failed" -ne 0 ]; then
    echo "bench: $failed step(s) failed; BENCHMARKS.md marks their rows not run / stale" >&2
    exit 1
fi
echo "bench: done: BENCHMARKS.md, docs/benchmarks.png"
