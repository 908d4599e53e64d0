#!/usr/bin/env bash
# The core may depend on exactly four crates (and their own dependencies); hmac and base64ct
# are its test references only (docs/design.md).
set -euo pipefail
cd "$(dirname "$0")/.."
want="heapless sha2 subtle zeroize"
got=$(cargo tree -p rolltoken -e normal --depth 1 --prefix none --locked | tail -n +2 | awk '{print $1}' | sort -u | tr '\n' ' ' | sed 's/ $//')
if [ "$got" != "$want" ]; then
  echo "core dependencies: FAIL: expected [$want], found [$got]" >&2
  exit 1
fi
echo "core dependencies: PASS ($got)"
