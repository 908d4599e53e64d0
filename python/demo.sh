#!/usr/bin/env bash
# `make demo`: the demo web app (python/rolltoken/demo) on http://127.0.0.1:${PORT:-8000}/.
#   1. the virtualenv in target/py-venv (the one python/run-tests.sh uses; created when absent);
#   2. the wheel, built by pip through maturin (the same commands as run-tests.sh, into its own
#      directory so the two never race) and installed;
#   3. ROLLTOKEN_DEMO_INSECURE=1 python -m rolltoken demo --port ${PORT:-8000}: plain HTTP on
#      this machine, so the cookie is "rolltoken" without Secure or the __Host- prefix.
# Extra arguments go to the demo (--host, --allow-remote). Keys: ROLLTOKEN_KEYS when set
# (`rolltoken keygen`), else a fresh random key per run. Sessions: in memory, or in Redis /
# PostgreSQL when REDIS_URL / DATABASE_URL is set. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/py-venv
wheels=target/py-demo-wheel
export PIP_DISABLE_PIP_VERSION_CHECK=1

if ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
fi
py="$PWD/$venv/bin/python"
export PATH="$PWD/$venv/bin:$PATH" # the maturin build backend runs the maturin binary
"$py" -m pip install --quiet "maturin>=1.9,<2"

echo "demo: building the wheel"
rm -rf "$wheels"
"$py" -m pip wheel --quiet --no-build-isolation --no-deps --wheel-dir "$wheels" ./python
shopt -s nullglob
built=("$wheels"/rolltoken-*.whl)
shopt -u nullglob
if [ "${#built[@]}" -ne 1 ]; then
  echo "demo: expected one rolltoken wheel, got: ${built[*]:-nothing}" >&2
  exit 1
fi
"$py" -m pip install --quiet --force-reinstall --no-deps "${built[0]}"
# Sessions in Redis or PostgreSQL when REDIS_URL / DATABASE_URL is set: their client libraries.
if [ -n "${REDIS_URL:-}" ]; then "$py" -m pip install --quiet "${built[0]}[redis]"; fi
if [ -n "${DATABASE_URL:-}" ]; then "$py" -m pip install --quiet "${built[0]}[postgres]"; fi

exec env ROLLTOKEN_DEMO_INSECURE=1 "$py" -m rolltoken demo --port "${PORT:-8000}" "$@"
