//go:build rolltoken_pkgconfig

package rolltoken

// The cgo directives when the C library is installed (`make install PREFIX=...`, which
// writes rolltoken.pc) instead of built in this repository: `go build -tags
// rolltoken_pkgconfig`, with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not a
// system prefix. The linker then takes the shared library when PREFIX/lib holds one (set
// LD_LIBRARY_PATH at run time); link.go is the static default.

// #cgo pkg-config: --static rolltoken
import "C"
