#!/usr/bin/env bash
# The Python package's checks, from a clean checkout with Rust and Python 3.9+:
#   1. a virtualenv in target/py-venv (reused when present) with maturin, pytest and mypy;
#   2. the wheel, built by pip through maturin: exactly one rolltoken-*-cp39-abi3-*.whl,
#      installed with its [test] extra;
#   3. mypy --strict on the package's sources, python/examples and python/tests;
#   4. python -m mypy.stubtest rolltoken._rolltoken (the hand-written .pyi against the
#      compiled module; the pure-Python modules are their own stubs, checked by mypy);
#   5. pytest on python/tests (golden vectors and API tests).
# The last line is "python: N passed, M failed"; the exit status is non-zero when any step
# failed or no test ran (pytest's exit code 5 included). PYTHON picks the interpreter
# (default python3); CARGO_TARGET_DIR is honoured by the build.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

venv=target/py-venv
wheels=target/py-wheels
junit=target/py-junit.xml
export MYPY_CACHE_DIR="$PWD/target/py-mypy-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$PWD/$venv/bin/python"
export PATH="$PWD/$venv/bin:$PATH" # the maturin build backend runs the maturin binary
"$py" -m pip install --quiet "maturin>=1.9,<2" "pytest>=7" "mypy>=1.10"

echo "python: building the wheel"
rm -rf "$wheels" "$junit"
"$py" -m pip wheel --quiet --no-build-isolation --no-deps --wheel-dir "$wheels" ./python
shopt -s nullglob
built=("$wheels"/*.whl)
shopt -u nullglob
if [ "${#built[@]}" -ne 1 ] || [[ "${built[0]}" != */rolltoken-*-cp39-abi3-*.whl ]]; then
  echo "python: expected one rolltoken-*-cp39-abi3-*.whl, got: ${built[*]:-nothing}" >&2
  echo "python: 0 passed, 1 failed"
  exit 1
fi
wheel="${built[0]}"
echo "python: $(basename "$wheel")"
"$py" -m pip install --quiet --force-reinstall --no-deps "$wheel"
"$py" -m pip install --quiet "$wheel[test]" # playwright among them (never `playwright install`)
# The browser test drives Debian's Chromium (/usr/bin/chromium); without it, it is skipped.
command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
  echo "python: chromium could not be installed: the browser test will be skipped" >&2
# The store tests start their own Redis (single, replica, 6-node cluster) and PostgreSQL on
# 127.0.0.1 (python/tests/servers.py); a system Redis the package may start is stopped.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools) >/dev/null 2>&1; then
    echo "python: installed redis-server and redis-tools ($(redis-server --version | grep -o 'v=[^ ]*'))"
  else
    echo "python: redis-server/redis-tools could not be installed: the Redis store tests will fail" >&2
  fi
  (service redis-server stop || true) >/dev/null 2>&1
  (systemctl disable --now redis-server || true) >/dev/null 2>&1
fi
if ! command -v initdb >/dev/null && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1; then
    echo "python: installed postgresql"
  else
    echo "python: postgresql could not be installed: the PostgreSQL store tests will fail" >&2
  fi
  (service postgresql stop || true) >/dev/null 2>&1
  (systemctl disable --now postgresql || true) >/dev/null 2>&1
fi

failed_checks=0
echo "python: mypy --strict python/rolltoken python/examples python/tests"
if ! "$py" -m mypy --strict python/rolltoken python/examples python/tests; then
  failed_checks=$((failed_checks + 1))
fi
echo "python: stubtest rolltoken._rolltoken"
if ! "$py" -m mypy.stubtest rolltoken._rolltoken; then
  failed_checks=$((failed_checks + 1))
fi

echo "python: pytest"
set +e
"$py" -m pytest -q -p no:cacheprovider --junitxml="$junit" python/tests
pytest_rc=$?
set -e

read -r passed failed < <("$py" - "$junit" <<'EOF'
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 1)
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(total - bad - skipped, bad)
EOF
)
failed=$((failed + failed_checks))
if [ "$pytest_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # pytest failed without failing a test: no tests (exit 5), usage or internal error
fi
echo "python: finished in $((SECONDS - start)) s"
echo "python: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
