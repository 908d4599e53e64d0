#!/usr/bin/env bash
# The Go benchmarks: the rolltoken package (cgo over the C ABI) next to golang-jwt/jwt/v5
# HS256, in one `go test -bench` run (bench_test.go says what each measures).
#
#   bash go/bench/run.sh                      # -benchtime 1s, -count 3 (~1 min once built)
#   BENCHTIME=200ms COUNT=1 bash go/bench/run.sh
#
# Builds the release static library the package links (target/release/librolltoken_ffi.a, as
# `make ffi` does), finds Go as go/run-tests.sh does, and writes
#   target/bench/go.txt   the raw `go test -bench . -benchmem` output (benchstat reads it)
#   target/bench/go.json  ns/op per benchmark (median, min, max over the runs), B/op,
#                         allocs/op, the ratios and the target (see the end of this script)
# The first run downloads golang-jwt from the Go module proxy into the module cache (go.sum
# pins it); the rolltoken package in go/ itself stays standard-library only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out_dir="$root/target/bench"
lib="$root/target/release/librolltoken_ffi.a"
benchtime="${BENCHTIME:-1s}"
count="${COUNT:-3}"
CARGO="${CARGO:-cargo}"

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    echo "go-bench: installing $* from Debian" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The static library go/link.go names (${SRCDIR}/../target/release/librolltoken_ffi.a).
# Cargo's target dir must be the repository's: that is where the cgo flags look.
if [[ -n "${CARGO_TARGET_DIR:-}" && "$(cd "$CARGO_TARGET_DIR" 2>/dev/null && pwd)" != "$root/target" ]]; then
    echo "go-bench: CARGO_TARGET_DIR must be $root/target (go/link.go links from there)" >&2
    exit 1
fi
(cd "$root" && "$CARGO" build --quiet --locked --release -p rolltoken-ffi)
[[ -f "$lib" ]] || { echo "go-bench: $lib was not built" >&2; exit 1; }

if command -v go >/dev/null 2>&1; then
    GO="$(command -v go)"
elif [[ -x /usr/local/go/bin/go ]]; then
    GO=/usr/local/go/bin/go
else
    apt_install golang-go
    GO="$(command -v go || echo /usr/lib/go/bin/go)"
fi
if ! command -v "${CC:-gcc}" >/dev/null 2>&1; then
    apt_install gcc libc6-dev
fi

export CGO_ENABLED=1
# No toolchain download; go.sum must already pin every module (-mod=readonly).
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly"
if [[ -z "${GOCACHE:-}" && -z "${HOME:-}" && -z "${XDG_CACHE_HOME:-}" ]]; then
    export GOCACHE="$root/target/go-build"
fi
if [[ -z "${GOMODCACHE:-}" && -z "${GOPATH:-}" && -z "${HOME:-}" ]]; then
    export GOMODCACHE="$root/target/go-mod"
fi

mkdir -p "$out_dir"
cd "$here"
echo "go-bench: $("$GO" version), linking $lib; -benchtime $benchtime -count $count"
"$GO" mod download
"$GO" vet ./...

raw="$out_dir/go.txt"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
# -run '^$': benchmarks only. -count: never a cached result (the go command does not notice
# a rebuilt librolltoken_ffi.a, so the test binary is linked afresh every run).
{
    echo "# go test -run '^\$' -bench . -benchmem -benchtime $benchtime -count $count (go/bench)"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo '+dirty') load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) nproc $(nproc 2>/dev/null || echo unknown)"
} >"$tmp"
set +e
timeout 900 "$GO" test -run '^$' -bench . -benchmem -benchtime "$benchtime" -count "$count" -timeout 800s . 2>&1 | tee -a "$tmp"
status=${PIPESTATUS[0]}
set -e
mv "$tmp" "$raw"
trap - EXIT
if [[ $status -ne 0 ]]; then
    echo "go-bench: go test failed (status $status); raw output in $raw" >&2
    exit "$status"
fi

# The JSON summary: for each benchmark the median (and min, max) ns/op over the -count runs,
# with B/op and allocs/op (the last run's); ratios of medians, and of minima. Target (issue
# 7): rolltoken compact verify at least 8x faster than golang-jwt HS256 parse.
awk -v goversion="$("$GO" version | awk '{print $3}')" -v benchtime="$benchtime" -v count="$count" '
function median(name,   n, i, j, t, a) {
    n = runs[name]
    for (i = 1; i <= n; i++) a[i] = ns[name, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    lo[name] = a[1]; hi[name] = a[n]
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^goos:/ { goos = $2 } /^goarch:/ { goarch = $2 }
/^cpu:/ { sub(/^cpu: */, ""); cpu = $0 }
/^Benchmark/ && $4 == "ns/op" {
    name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
    if (!(name in runs)) order[++nb] = name
    k = ++runs[name]; ns[name, k] = $3 + 0
    for (i = 5; i < NF; i++) { if ($(i + 1) == "B/op") bop[name] = $i; if ($(i + 1) == "allocs/op") aop[name] = $i }
}
END {
    if (nb == 0) { print "no benchmark lines" > "/dev/stderr"; exit 1 }
    for (b = 1; b <= nb; b++) med[order[b]] = median(order[b])
    printf "{\n  \"tool\": \"go test -bench\",\n  \"go\": \"%s\",\n  \"goos\": \"%s\",\n  \"goarch\": \"%s\",\n  \"cpu\": \"%s\",\n", goversion, goos, goarch, cpu
    printf "  \"benchtime\": \"%s\",\n  \"count\": %d,\n  \"unit\": \"ns/op\",\n  \"benchmarks\": {\n", benchtime, count
    for (b = 1; b <= nb; b++) {
        n = order[b]
        printf "    \"%s\": {\"ns_op\": %.1f, \"min\": %.1f, \"max\": %.1f, \"runs\": [", n, med[n], lo[n], hi[n]
        for (i = 1; i <= runs[n]; i++) printf "%s%.1f", (i > 1 ? ", " : ""), ns[n, i]
        printf "], \"bytes_op\": %d, \"allocs_op\": %d}%s\n", bop[n], aop[n], (b < nb ? "," : "")
    }
    printf "  },\n  \"ratios\": {\n"
    nr = 0
    if (med["VerifyCompact"] > 0 && med["JWTParseHS256"] > 0) {
        r["jwt_parse_over_verify_compact"] = med["JWTParseHS256"] / med["VerifyCompact"]
        m["jwt_parse_over_verify_compact"] = lo["JWTParseHS256"] / lo["VerifyCompact"]; ro[++nr] = "jwt_parse_over_verify_compact"
    }
    if (med["VerifyFull"] > 0 && med["JWTParseHS256"] > 0) {
        r["jwt_parse_over_verify_full"] = med["JWTParseHS256"] / med["VerifyFull"]
        m["jwt_parse_over_verify_full"] = lo["JWTParseHS256"] / lo["VerifyFull"]; ro[++nr] = "jwt_parse_over_verify_full"
    }
    if (med["Advance"] > 0 && med["JWTParseHS256"] > 0 && med["JWTSignHS256"] > 0) {
        r["jwt_parse_plus_sign_over_advance"] = (med["JWTParseHS256"] + med["JWTSignHS256"]) / med["Advance"]
        m["jwt_parse_plus_sign_over_advance"] = (lo["JWTParseHS256"] + lo["JWTSignHS256"]) / lo["Advance"]; ro[++nr] = "jwt_parse_plus_sign_over_advance"
    }
    for (i = 1; i <= nr; i++) printf "    \"%s\": %.2f%s\n", ro[i], r[ro[i]], (i < nr ? "," : "")
    # The same ratios of the fastest run of each: less moved by other jobs on a shared box.
    printf "  },\n  \"ratios_of_min\": {\n"
    for (i = 1; i <= nr; i++) printf "    \"%s\": %.2f%s\n", ro[i], m[ro[i]], (i < nr ? "," : "")
    printf "  },\n  \"targets\": {\n"
    v = r["jwt_parse_over_verify_compact"]
    printf "    \"verify_compact_vs_jwt_parse\": {\"want\": \">= 8\", \"got\": %.2f, \"met\": %s}\n", v, (v >= 8 ? "true" : "false")
    printf "  }\n}\n"
}' "$raw" >"$out_dir/go.json"

echo "go-bench: wrote $raw and $out_dir/go.json"
cat "$out_dir/go.json"
