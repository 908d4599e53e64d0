#!/usr/bin/env bash
# The Go binding's checks: gofmt, go vet, and go test -race over go/ (the golden vectors,
# the bad inputs, the concurrency test, the examples). `make test-go` runs it after
# `make ffi`, which builds the static library the package links against.
#
# Finds Go (go on PATH, else /usr/local/go/bin/go, else installs Debian's golang-go) and
# ends with "go: N passed, N failed" (top-level tests and examples); exits non-zero on any
# failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
lib="$root/target/release/librolltoken_ffi.a"

if [[ ! -f "$lib" ]]; then
    echo "go: $lib is missing: run \`make ffi\` at the repository root first" >&2
    echo "go: 0 passed, 1 failed"
    exit 1
fi

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    echo "go: installing $* from Debian" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
elif [[ -x /usr/local/go/bin/go ]]; then
    GO=/usr/local/go/bin/go
else
    apt_install golang-go
    GO="$(command -v go || echo /usr/lib/go/bin/go)"
fi
# cgo (and -race) need a C compiler.
if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
    apt_install gcc libc6-dev
fi

export CGO_ENABLED=1
# The module uses only the standard library: never reach for the network or a toolchain.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS="${GOFLAGS:-}"
# A machine without HOME (some CI shells) still needs a build cache.
if [[ -z "${GOCACHE:-}" && -z "${HOME:-}" && -z "${XDG_CACHE_HOME:-}" ]]; then
    export GOCACHE="$root/target/go-build"
fi

cd "$here"
echo "go: $("$GO" version) ($GO), linking $lib"

gofmt_bin="$(dirname "$GO")/gofmt"
[[ -x "$gofmt_bin" ]] || gofmt_bin="$(command -v gofmt || true)"
if [[ -n "$gofmt_bin" ]]; then
    unformatted="$("$gofmt_bin" -l .)"
    if [[ -n "$unformatted" ]]; then
        echo "go: not gofmt-formatted: $unformatted" >&2
        echo "go: 0 passed, 1 failed"
        exit 1
    fi
fi

if ! "$GO" vet ./...; then
    echo "go: go vet failed" >&2
    echo "go: 0 passed, 1 failed"
    exit 1
fi

# -count=1: the go command does not notice a rebuilt librolltoken_ffi.a, so never reuse a
# cached test result; the test binary is linked afresh against the library every run.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
"$GO" test -race -count=1 -v ./... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Top-level results start at column 0; subtests are indented.
passed=$(grep -c '^--- PASS: ' "$log" || true)
failed=$(grep -c '^--- FAIL: ' "$log" || true)
skipped=$(grep -c '^--- SKIP: ' "$log" || true)
if [[ $status -ne 0 && $failed -eq 0 ]]; then
    failed=1 # a build failure or a crash of the test binary
    if grep -q 'librolltoken_ffi.a' "$log"; then
        echo "go: linking librolltoken_ffi.a failed: run \`make ffi\` at the repository root" >&2
    fi
fi
if [[ $status -eq 0 && $passed -eq 0 ]]; then
    failed=1 # ran nothing
fi
if [[ $skipped -gt 0 ]]; then
    echo "go: skipped: $(grep '^--- SKIP: ' "$log" | awk '{print $3}' | tr '\n' ' ')"
fi
echo "go: $passed passed, $failed failed"
[[ $status -eq 0 && $failed -eq 0 ]]
