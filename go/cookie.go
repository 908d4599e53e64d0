package rolltoken

// #include "rolltoken.h"
// #include <stdlib.h>
import "C"

import (
	"strings"
	"unsafe"
)

// SameSite is the SameSite attribute of the session cookie.
type SameSite uint8

// The SameSite values.
const (
	// SameSiteLax (default): sent on same-site requests and top-level navigations.
	SameSiteLax SameSite = 0
	// SameSiteStrict: sent on same-site requests only.
	SameSiteStrict SameSite = 1
	// SameSiteNone: sent everywhere (needs Secure).
	SameSiteNone SameSite = 2
)

// CookieConfig is how the session cookie is named and flagged. Start from
// DefaultCookieConfig (a __Host-rolltoken cookie: Secure, HttpOnly, SameSite=Lax, Path=/)
// or InsecureLocalCookieConfig (plain-HTTP development only). Plain data.
type CookieConfig struct {
	// Name is the cookie name.
	Name string
	// Path is the cookie path.
	Path string
	// Secure writes Secure (required by __Host- and __Secure- names).
	Secure bool
	// HTTPOnly writes HttpOnly.
	HTTPOnly bool
	// SameSite is SameSiteLax, SameSiteStrict or SameSiteNone.
	SameSite SameSite
	// SessionOnly writes no Max-Age: a session-only cookie the browser drops when it closes
	// (the session still ends at its timeouts on the server). ClearCookie still writes
	// Max-Age=0. False (the zero value) keeps a persistent cookie.
	SessionOnly bool
}

// DefaultCookieConfig is the production cookie: __Host-rolltoken, Secure, HttpOnly,
// SameSite=Lax, Path=/, not session-only.
func DefaultCookieConfig() CookieConfig {
	var c C.rt_cookie_config
	mustOK(C.rt_cookie_config_default(&c), "rt_cookie_config_default")
	return cookieConfigFromC(&c)
}

// InsecureLocalCookieConfig is the plain-HTTP development cookie: rolltoken, no Secure,
// HttpOnly, SameSite=Lax, Path=/, not session-only. Never use it in production.
func InsecureLocalCookieConfig() CookieConfig {
	var c C.rt_cookie_config
	mustOK(C.rt_cookie_config_insecure_local(&c), "rt_cookie_config_insecure_local")
	return cookieConfigFromC(&c)
}

func cookieConfigFromC(c *C.rt_cookie_config) CookieConfig {
	return CookieConfig{
		Name:        C.GoString(c.name),
		Path:        C.GoString(c.path),
		Secure:      bool(c.secure),
		HTTPOnly:    bool(c.http_only),
		SameSite:    SameSite(c.same_site),
		SessionOnly: bool(c.session_only),
	}
}

// withConfig runs f with cfg as an rt_cookie_config whose strings live in C memory for the
// duration of the call.
func withConfig(cfg CookieConfig, f func(*C.rt_cookie_config) C.rt_status) error {
	// C strings end at the first NUL: a name or path holding one would be cut short.
	if strings.IndexByte(cfg.Name, 0) >= 0 {
		return ErrCookieInvalidName
	}
	if strings.IndexByte(cfg.Path, 0) >= 0 {
		return ErrCookieInvalidPath
	}
	name := C.CString(cfg.Name)
	defer C.free(unsafe.Pointer(name))
	path := C.CString(cfg.Path)
	defer C.free(unsafe.Pointer(path))
	c := C.rt_cookie_config{
		name:         name,
		path:         path,
		secure:       C.bool(cfg.Secure),
		http_only:    C.bool(cfg.HTTPOnly),
		same_site:    C.uint8_t(cfg.SameSite),
		session_only: C.bool(cfg.SessionOnly),
	}
	return statusError(f(&c))
}

// FindCookie finds the session cookie (cfg.Name) in the value of a Cookie request header.
//
// Errors: ErrCookieDuplicate (the name appears twice with different values: refuse the
// request), ErrCookieInvalidValue, ErrCookieMalformed (control characters),
// ErrCookieTooLong (over 8192 bytes), and the config errors (ErrCookieInvalidName, ...).
func FindCookie(header string, cfg CookieConfig) (value string, found bool, err error) {
	// The library answers with a pointer into the header, so the header goes to C memory:
	// C then never holds, and never hands back, a Go pointer.
	var h unsafe.Pointer
	if len(header) > 0 {
		h = C.CBytes([]byte(header))
		defer C.free(h)
	}
	var cfound C.bool
	var v *C.uint8_t
	var vlen C.size_t
	err = withConfig(cfg, func(c *C.rt_cookie_config) C.rt_status {
		return C.rt_cookie_find(c, (*C.uint8_t)(h), C.size_t(len(header)), &cfound, &v, &vlen)
	})
	if err != nil || !bool(cfound) {
		return "", false, err
	}
	off := uintptr(unsafe.Pointer(v)) - uintptr(h)
	if off > uintptr(len(header)) || uintptr(vlen) > uintptr(len(header))-off {
		return "", false, ErrPanic // the library pointed outside the header: a bug
	}
	return header[off : off+uintptr(vlen)], true, nil
}

// SetCookie is the Set-Cookie header value that sets the session cookie to token, with
// Max-Age=maxAgeSecs (use Outcome.MaxAgeSecs), or with no Max-Age when cfg.SessionOnly
// (maxAgeSecs is then ignored).
//
// Errors: ErrCookieInvalidValue, and the config errors (ErrCookieInvalidName,
// ErrCookieHostPrefixNeedsSecure, ...).
func SetCookie(cfg CookieConfig, token string, maxAgeSecs uint64) (string, error) {
	t := []byte(token)
	var out [MaxSetCookieLen]byte
	var n C.size_t
	err := withConfig(cfg, func(c *C.rt_cookie_config) C.rt_status {
		return C.rt_set_cookie_write(c, bptr(t), blen(t), C.uint64_t(maxAgeSecs), bptr(out[:]), C.size_t(len(out)), &n)
	})
	if err != nil {
		return "", err
	}
	return string(out[:n]), nil
}

// ClearCookie is the Set-Cookie header value that deletes the session cookie (Max-Age=0,
// same attributes, so browsers accept it for a __Host- cookie; also when cfg.SessionOnly).
//
// Errors: the config errors.
func ClearCookie(cfg CookieConfig) (string, error) {
	var out [MaxSetCookieLen]byte
	var n C.size_t
	err := withConfig(cfg, func(c *C.rt_cookie_config) C.rt_status {
		return C.rt_clear_cookie_write(c, bptr(out[:]), C.size_t(len(out)), &n)
	})
	if err != nil {
		return "", err
	}
	return string(out[:n]), nil
}
