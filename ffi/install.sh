#!/usr/bin/env bash
# Installs the rolltoken C library under PREFIX:
#   PREFIX/lib/librolltoken_ffi.a, PREFIX/lib/librolltoken_ffi.so,
#   PREFIX/include/rolltoken.h, PREFIX/lib/pkgconfig/rolltoken.pc
# Usage: bash ffi/install.sh PREFIX      (`make install PREFIX=...` runs it)
# It builds the release library first (cargo does nothing when it is current); set
# ROLLTOKEN_NO_BUILD=1 to install what target/release already holds. DESTDIR is honoured for
# staged installs (files go to DESTDIR/PREFIX, rolltoken.pc still says PREFIX).
# Then: cc app.c $(pkg-config --cflags --libs rolltoken)   (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
# when PREFIX is not a system prefix). Link statically by naming PREFIX/lib/librolltoken_ffi.a
# and `pkg-config --libs-only-l --static rolltoken`'s other libraries; the shared library has
# no ABI stability promise yet.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=$1
case "$prefix" in
    /*) ;;
    *) prefix="$(pwd)/$prefix" ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$root/target}

if [ "${ROLLTOKEN_NO_BUILD:-0}" != 1 ]; then
    (cd "$root" && "$cargo" build --quiet --locked --release -p rolltoken-ffi)
fi
for f in "$target/release/librolltoken_ffi.a" "$target/release/librolltoken_ffi.so"; do
    [ -f "$f" ] || { echo "install: $f is missing: run make ffi first" >&2; exit 1; }
done

# The version of the ffi crate, as cargo reads it (path+file:///...#rolltoken-ffi@0.1.0).
version=$(cd "$root" && "$cargo" pkgid --offline -p rolltoken-ffi)
version=${version##*[@#]}
case "$version" in
    [0-9]*.[0-9]*.[0-9]*) ;;
    *) echo "install: cannot read the rolltoken-ffi version (got '$version')" >&2; exit 1 ;;
esac

dest=${DESTDIR:-}$prefix
install -d "$dest/lib/pkgconfig" "$dest/include"
install -m 0644 "$target/release/librolltoken_ffi.a" "$dest/lib/librolltoken_ffi.a"
install -m 0755 "$target/release/librolltoken_ffi.so" "$dest/lib/librolltoken_ffi.so"
install -m 0644 "$root/include/rolltoken.h" "$dest/include/rolltoken.h"
pc=$(mktemp)
trap 'rm -f "$pc"' EXIT
sed -e '/^#/d' -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" \
    "$root/ffi/rolltoken.pc.in" >"$pc"
install -m 0644 "$pc" "$dest/lib/pkgconfig/rolltoken.pc"
echo "installed rolltoken $version under ${DESTDIR:-}$prefix"
