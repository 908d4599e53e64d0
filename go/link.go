//go:build !rolltoken_pkgconfig

package rolltoken

// The cgo directives of the package (they are package-global, so they live here only, or in
// link_pkgconfig.go under the rolltoken_pkgconfig tag). The static library comes from
// `make ffi` at the repository root; the system libraries are
// the ones `cargo rustc -p rolltoken-ffi --release --crate-type staticlib -- --print
// native-static-libs` lists for it (libc is linked anyway).

// #cgo CFLAGS: -I${SRCDIR}/../include
// #cgo LDFLAGS: ${SRCDIR}/../target/release/librolltoken_ffi.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
import "C"
