// Package rolltoken is the Go binding of rolltoken: session cookies that notice when they
// are copied.
//
// A session cookie is a bearer secret. rolltoken rolls it: every advancing request (a page
// load) gets a new token whose HMAC-SHA256 tag covers a counter the server also keeps, so a
// copy used out of sequence proves that two parties hold the session, and the session is
// revoked. Reading requests (API calls) verify without rolling, and a grace window keeps
// honest races (parallel requests, a second tab, a lost response) from logging anyone out.
//
// The package is a thin cgo layer over the Rust library's C ABI (include/rolltoken.h): every
// decision is made by the Rust core, and this package only converts types, owns handles and
// maps statuses to errors.
//
// # Building
//
// The Rust static library must be built first, at the repository root:
//
//	make ffi    # builds target/release/librolltoken_ffi.a
//
// A link error naming librolltoken_ffi.a ("cannot find ... librolltoken_ffi.a: No such file
// or directory") means this step is missing. The go command does not notice when that
// library is rebuilt: run tests with -count=1 (or `go clean -cache`) after `make ffi`.
// cgo must be enabled (CGO_ENABLED=1, a C compiler on PATH). With the C library installed
// instead (`make install PREFIX=...`), build with -tags rolltoken_pkgconfig to link it
// through pkg-config.
//
// # Use
//
// Build one [*Keyring] from your secret keys and one [*Sessions] (the request façade with a
// built-in memory store) per process, then call [Sessions.Handle] for every request: send
// [Outcome.Token] as the cookie when it is set ([SetCookie]), clear the cookie when
// [Outcome.ClearCookie] says so ([ClearCookie]), and refuse the request unless
// [Outcome.Proceed]. Log [Outcome.LogID], never a token. Servers that keep session records in
// their own database use [Sessions.Begin] and [Sessions.Finish] instead, and
// [Sessions.PlanLogin], [Sessions.LogoutTarget] and [Sessions.RevokeRecord].
//
// Times are milliseconds since the Unix epoch and always an input; a zero time argument
// means time.Now(). Session ids are 16 bytes from crypto/rand; a zero new session id in a
// [Request] or [LoginRequest] is filled from crypto/rand.
//
// # Errors
//
// Every failure of the library is an [*Error] carrying the rt_status code and its
// description, comparable with errors.Is against the Err* values ([ErrTokenBadTag],
// [ErrBufferTooSmall], ...). Refusing a request is not an error: it is an [Outcome] with
// Proceed false and the rule that decided. Error messages never contain a token or a key.
// Calls on a closed (or nil) handle return [ErrClosed].
//
// # Ownership and thread safety
//
// [*Keyring] and [*Sessions] own C handles: call Close when done (a finalizer frees a
// forgotten one, as a safety net only). Close is idempotent and waits for calls in progress
// on the handle. A *Keyring is immutable and may be shared by any number of goroutines; a
// *Sessions built from it keeps its own reference, so the keyring may be closed first. A
// *Sessions is safe for concurrent use: the library locks it for each call, so calls on one
// *Sessions run one at a time. Use one *Sessions per process: its memory store (1024
// sessions) and deny list (256 ids) are its own. Everything else (Policy, Request, Outcome,
// Record, Claims, CookieConfig) is plain data.
package rolltoken
