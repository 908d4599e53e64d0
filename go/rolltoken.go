package rolltoken

// #include "rolltoken.h"
import "C"

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Sizes published by the library.
const (
	// SessionIDLen is the length of a session id in bytes.
	SessionIDLen = 16
	// KeyLen is the length of a key secret in bytes.
	KeyLen = 32
	// MaxTokenLen is the length of the longest token text (a full token).
	MaxTokenLen = 115
	// RecordLen is the length of an encoded session record.
	RecordLen = 128
	// MaxSetCookieLen is the length of the longest Set-Cookie value the cookie writers
	// produce.
	MaxSetCookieLen = 329
	// MemoryStoreCapacity is how many sessions the memory store of a *Sessions holds.
	MemoryStoreCapacity = 1024
	// DenyListCapacity is how many revoked session ids the deny list of a *Sessions holds.
	DenyListCapacity = 256
)

// Version is the library version, "major.minor.patch".
func Version() string { return C.GoString(C.rt_version()) }

// ---------------------------------------------------------------------------------------
// Keyring

// Key is one key of a keyring: a 1-byte id and a 32-byte secret from a CSPRNG.
type Key struct {
	ID     uint8
	Secret []byte
}

// Keyring holds up to 4 keys: one mints new tokens, all verify. It is immutable and safe
// for concurrent use by any number of goroutines. Close it when done; a *Sessions built from
// it keeps its own reference, so the keyring may be closed first. The C side zeroizes the
// secrets when the last reference goes.
type Keyring struct {
	mu  sync.RWMutex
	ptr *C.rt_keyring
}

// MaxAudienceLen is the longest audience NewKeyringForAudience takes, in bytes.
const MaxAudienceLen = C.RT_MAX_AUDIENCE_LEN

// NewKeyring builds a keyring from keys; mintingID names the key that mints new tokens.
// The secrets are copied: the caller may wipe its slices afterwards.
//
// Errors: ErrKeyEmpty, ErrKeyTooMany, ErrKeyDuplicateID, ErrKeyMintingMissing,
// ErrKeyWrongLength (a secret that is not KeyLen bytes).
func NewKeyring(keys []Key, mintingID uint8) (*Keyring, error) {
	return NewKeyringForAudience(keys, mintingID, nil)
}

// NewKeyringForAudience is NewKeyring for one audience: the application's name (at most
// MaxAudienceLen bytes; empty = NewKeyring). Subkeys are derived from the secrets and the
// audience, so applications sharing secrets but not the audience refuse each other's tokens
// (ErrTokenBadTag). The audience is not carried in tokens: both sides configure it.
//
// Errors: those of NewKeyring, and ErrKeyAudienceTooLong.
func NewKeyringForAudience(keys []Key, mintingID uint8, audience []byte) (*Keyring, error) {
	ids := make([]byte, len(keys))
	secrets := make([]byte, KeyLen*len(keys))
	defer wipe(secrets)
	for i, k := range keys {
		if len(k.Secret) != KeyLen {
			return nil, ErrKeyWrongLength
		}
		ids[i] = k.ID
		copy(secrets[i*KeyLen:], k.Secret)
	}
	var ptr *C.rt_keyring
	st := C.rt_keyring_new_for_audience(bptr(ids), bptr(secrets), C.size_t(len(keys)),
		C.uint8_t(mintingID), bptr(audience), C.size_t(len(audience)), &ptr)
	if err := statusError(st); err != nil {
		return nil, err
	}
	k := &Keyring{ptr: ptr}
	runtime.SetFinalizer(k, (*Keyring).Close)
	return k, nil
}

// Close frees the keyring. It is idempotent, waits for calls in progress, and always
// returns nil; later calls on the keyring return ErrClosed.
func (k *Keyring) Close() error {
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ptr != nil {
		C.rt_keyring_free(k.ptr)
		k.ptr = nil
		runtime.SetFinalizer(k, nil)
	}
	return nil
}

// acquire read-locks a live keyring; release with k.mu.RUnlock.
func (k *Keyring) acquire() (*C.rt_keyring, error) {
	if k == nil {
		return nil, ErrClosed
	}
	k.mu.RLock()
	if k.ptr == nil {
		k.mu.RUnlock()
		return nil, ErrClosed
	}
	return k.ptr, nil
}

// ---------------------------------------------------------------------------------------
// Policy

// Mode says whether requests consult the store.
type Mode uint8

// The modes.
const (
	// ModeStrict: every authenticated request consults the store.
	ModeStrict Mode = 0
	// ModeCached: full tokens are trusted without the store during a fresh window.
	ModeCached Mode = 1
)

// Form is the form of the tokens a session is issued.
type Form uint8

// The token forms.
const (
	// FormFull: self-contained claims ("rtf1_...", 115 characters).
	FormFull Form = 0
	// FormCompact: key id, session id and tag; the store holds the rest ("rtc1_...", 49
	// characters).
	FormCompact Form = 1
)

// String names the form: "full" or "compact".
func (f Form) String() string {
	switch f {
	case FormFull:
		return "full"
	case FormCompact:
		return "compact"
	}
	return fmt.Sprintf("Form(%d)", uint8(f))
}

// GraceKind says how the grace window is sized.
type GraceKind uint8

// The grace kinds.
const (
	// GraceFixed: a fixed window of Policy.GraceMs.
	GraceFixed GraceKind = 0
	// GraceAdaptive: a window between Policy.GraceMinMs and Policy.GraceMaxMs.
	GraceAdaptive GraceKind = 1
)

// BindingPolicy says what a mismatching client binding does.
type BindingPolicy uint8

// The binding policies.
const (
	// BindingEvidence: the binding is evidence and a cache key only (default).
	BindingEvidence BindingPolicy = 0
	// BindingRequireUserAgent: refuse requests whose user agent differs.
	BindingRequireUserAgent BindingPolicy = 1
	// BindingRequireFull: refuse requests whose user agent or address prefix differs.
	BindingRequireFull BindingPolicy = 2
)

// Policy mirrors rt_policy: every tunable of a *Sessions and of Decide. Start from
// DefaultPolicy or CachedPolicy and change fields; values are checked when the policy is
// used (ErrInvalidArgument for an unknown enum value, ErrPolicyInvalid for an inconsistent
// combination). Plain data: copy it freely.
type Policy struct {
	// Mode: ModeStrict or ModeCached.
	Mode Mode
	// Form: FormFull or FormCompact (cached mode needs full).
	Form Form
	// Anonymous: mint anonymous sessions for visitors without a valid cookie.
	Anonymous bool
	// GraceKind: GraceFixed or GraceAdaptive.
	GraceKind GraceKind
	// GraceMs: the fixed grace window (ms).
	GraceMs uint32
	// GraceMinMs: the adaptive grace minimum (ms).
	GraceMinMs uint32
	// GraceMaxMs: the adaptive grace maximum (ms).
	GraceMaxMs uint32
	// SpanCap: most counters the accepted stale range may span (1..255).
	SpanCap uint8
	// AnswerCap: most grace answers per step (>= 1).
	AnswerCap uint8
	// ReissueOneBehind: rule 3, re-issue the current token to the client of the last
	// advance when its cookie jar is behind.
	ReissueOneBehind bool
	// Binding: BindingEvidence, BindingRequireUserAgent or BindingRequireFull.
	Binding BindingPolicy
	// JarBehindMs: rule 3, how recent the last advance must be (ms).
	JarBehindMs uint64
	// FreshMs: cached mode, how long a full token is trusted without the store (ms).
	FreshMs uint64
	// SessionLifetimeMs: absolute lifetime of an authenticated session (ms).
	SessionLifetimeMs uint64
	// IdleTimeoutMs: idle timeout of an authenticated session (ms).
	IdleTimeoutMs uint64
	// AnonymousLifetimeMs: lifetime of an anonymous session token (ms).
	AnonymousLifetimeMs uint64
}

// DefaultPolicy is strict mode, compact tokens, anonymous sessions, a fixed 10 s grace
// window, span cap 8 and answer cap 16 (rt_policy_default).
func DefaultPolicy() Policy {
	var p C.rt_policy
	mustOK(C.rt_policy_default(&p), "rt_policy_default")
	return policyFromC(&p)
}

// CachedPolicy is the default cached-mode policy: full tokens trusted without the store for
// 15 minutes (rt_policy_cached).
func CachedPolicy() Policy {
	var p C.rt_policy
	mustOK(C.rt_policy_cached(&p), "rt_policy_cached")
	return policyFromC(&p)
}

func policyFromC(p *C.rt_policy) Policy {
	return Policy{
		Mode:                Mode(p.mode),
		Form:                Form(p.form),
		Anonymous:           bool(p.anonymous),
		GraceKind:           GraceKind(p.grace_kind),
		GraceMs:             uint32(p.grace_ms),
		GraceMinMs:          uint32(p.grace_min_ms),
		GraceMaxMs:          uint32(p.grace_max_ms),
		SpanCap:             uint8(p.span_cap),
		AnswerCap:           uint8(p.answer_cap),
		ReissueOneBehind:    bool(p.reissue_one_behind),
		Binding:             BindingPolicy(p.binding),
		JarBehindMs:         uint64(p.jar_behind_ms),
		FreshMs:             uint64(p.fresh_ms),
		SessionLifetimeMs:   uint64(p.session_lifetime_ms),
		IdleTimeoutMs:       uint64(p.idle_timeout_ms),
		AnonymousLifetimeMs: uint64(p.anonymous_lifetime_ms),
	}
}

func (p *Policy) toC() C.rt_policy {
	return C.rt_policy{
		mode:                  C.uint8_t(p.Mode),
		form:                  C.uint8_t(p.Form),
		anonymous:             C.bool(p.Anonymous),
		grace_kind:            C.uint8_t(p.GraceKind),
		grace_ms:              C.uint32_t(p.GraceMs),
		grace_min_ms:          C.uint32_t(p.GraceMinMs),
		grace_max_ms:          C.uint32_t(p.GraceMaxMs),
		span_cap:              C.uint8_t(p.SpanCap),
		answer_cap:            C.uint8_t(p.AnswerCap),
		reissue_one_behind:    C.bool(p.ReissueOneBehind),
		binding:               C.uint8_t(p.Binding),
		jar_behind_ms:         C.uint64_t(p.JarBehindMs),
		fresh_ms:              C.uint64_t(p.FreshMs),
		session_lifetime_ms:   C.uint64_t(p.SessionLifetimeMs),
		idle_timeout_ms:       C.uint64_t(p.IdleTimeoutMs),
		anonymous_lifetime_ms: C.uint64_t(p.AnonymousLifetimeMs),
	}
}

// ---------------------------------------------------------------------------------------
// Requests and outcomes

// Kind is the kind of a request.
type Kind uint8

// The request kinds. The zero Kind is KindAdvance.
const (
	// KindAdvance: a page load; rolls the token.
	KindAdvance Kind = 0
	// KindRead: any other request (API calls, assets); verifies without rolling.
	KindRead Kind = 1
)

// String names the kind: "advance" or "read".
func (k Kind) String() string {
	switch k {
	case KindAdvance:
		return "advance"
	case KindRead:
		return "read"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Request is one HTTP request as the library sees it.
type Request struct {
	// Cookie is the session cookie's value (FindCookie); empty: none.
	Cookie string
	// Kind is KindAdvance (a page load, the zero value) or KindRead.
	Kind Kind
	// NowMs is the time of the request, ms since the Unix epoch; zero means time.Now().
	NowMs uint64
	// UserAgent is the User-Agent header.
	UserAgent string
	// IP is the client address as text ("198.51.100.23", "2001:db8::1"), without a port
	// (net.SplitHostPort of http.Request.RemoteAddr); empty: unknown. Text that is not an
	// address is ErrInvalidArgument.
	IP string
	// NewSessionID is used only if the request starts an anonymous session; the zero value
	// is replaced by 16 bytes from crypto/rand.
	NewSessionID [SessionIDLen]byte
}

// resolve fills the defaults: the time and, if zero, a random new session id.
func (r Request) resolve() (Request, error) {
	r.NowMs = nowOr(r.NowMs)
	if r.NewSessionID == ([SessionIDLen]byte{}) {
		id, err := NewSessionID()
		if err != nil {
			return r, err
		}
		r.NewSessionID = id
	}
	return r, nil
}

// NewSessionID returns 16 bytes from crypto/rand.
func NewSessionID() ([SessionIDLen]byte, error) {
	var id [SessionIDLen]byte
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("rolltoken: reading a random session id: %w", err)
	}
	return id, nil
}

func nowOr(ms uint64) uint64 {
	if ms != 0 {
		return ms
	}
	return uint64(time.Now().UnixNano() / int64(time.Millisecond))
}

// RevokeReason says why a session was revoked; zero means not revoked.
type RevokeReason uint8

// The revocation reasons.
const (
	// RevokeLogout: the user logged out.
	RevokeLogout RevokeReason = 1
	// RevokeReuse: a token was used out of sequence.
	RevokeReuse RevokeReason = 2
	// RevokeUpgradedAtLogin: replaced by a new session at login.
	RevokeUpgradedAtLogin RevokeReason = 3
	// RevokeAdmin: revoked by the application (e.g. RevokeAll).
	RevokeAdmin RevokeReason = 4
)

// String names the reason as the core does (rt_detail_name): "logout", "reuse",
// "upgraded_at_login", "admin" ("active" for zero).
func (r RevokeReason) String() string {
	if r == 0 {
		return "active"
	}
	return detailName(ruleCodeRevoked, uint8(r))
}

// Expiry says how a session expired.
type Expiry uint8

// The expiries.
const (
	// ExpiryAbsolute: past the session's absolute lifetime.
	ExpiryAbsolute Expiry = 1
	// ExpiryIdle: idle for longer than the idle timeout.
	ExpiryIdle Expiry = 2
	// ExpiryCounterExhausted: the counter reached its maximum.
	ExpiryCounterExhausted Expiry = 3
)

// String names the expiry as the core does (rt_detail_name): "absolute", "idle",
// "counter_exhausted".
func (e Expiry) String() string {
	return detailName(ruleCodeExpired, uint8(e))
}

// The rule codes whose detail rt_detail_name names (stable ABI values).
const (
	ruleCodeRevoked = 22
	ruleCodeExpired = 23
)

// detailName is the core's name of an outcome detail for a rule ("unknown" out of range).
func detailName(rule, detail uint8) string {
	return C.GoString(C.rt_detail_name(C.uint8_t(rule), C.uint8_t(detail)))
}

// Outcome is the answer to one request (rt_outcome, with the token). Proceed says whether
// to serve the request; Rule names the rule that decided ("fresh", "concurrent_in_grace",
// "reuse", ...). Send Token as the cookie when it is not empty; clear the cookie when
// ClearCookie. Log LogID and Rule, never Token: String and GoString leave the token out.
type Outcome struct {
	// Proceed: serve the request as this session (else refuse it).
	Proceed bool
	// Rule is the snake_case name of the rule that decided (rt_rule_name).
	Rule string
	// RuleCode is the rule's stable numeric code (proceeding rules are below 20).
	RuleCode uint8
	// ClearCookie: refused, and the response must clear the cookie (never for races,
	// contention, outages or binding mismatches).
	ClearCookie bool
	// Token is the token to send as the cookie; empty: leave the cookie as it is.
	Token string
	// BindingUserAgent: the request's user agent matched the session's last advancing
	// request.
	BindingUserAgent bool
	// BindingIP: the request's address prefix matched the session's last advancing request.
	BindingIP bool
	// Detail is rt_outcome.detail: for rule "revoked" the RevokeReason, for "expired" the
	// Expiry, for "malformed" 1 + the token error (see TokenError); else 0.
	Detail uint8
	// Steps: rule "concurrent_in_grace", steps behind; "store_behind", steps ahead.
	Steps uint64
	// HasPresented: rule "reuse", the presented counter is known (a compact token that
	// matched no counter has none).
	HasPresented bool
	// Presented: rule "reuse", the presented counter.
	Presented uint64
	// Current: rule "reuse", the session's current counter.
	Current uint64
	// HasSession: a session is known; SessionID and LogID are set.
	HasSession bool
	// SessionID is the session id (prefer LogID in logs).
	SessionID [SessionIDLen]byte
	// LogID is the session's log id (16 hex characters), "" when no session is known.
	LogID string
	// Subject is the user (all zero for anonymous sessions). Proceed only.
	Subject [16]byte
	// Authenticated: a subject has logged in. Proceed only.
	Authenticated bool
	// Counter is the counter of the newest token. Proceed only.
	Counter uint64
	// HasParent: Parent is set (the anonymous session this one replaced at login).
	HasParent bool
	// Parent is the parent session id. Proceed only.
	Parent [SessionIDLen]byte
	// ExpiresAt is the session's absolute expiry (ms). Proceed only.
	ExpiresAt uint64
	// MaxAgeSecs is the seconds until expiry, rounded up: the cookie's Max-Age.
	MaxAgeSecs uint64
	// AtMs is when the request was decided (ms).
	AtMs uint64
}

// RevokeReason is the reason of a "revoked" outcome (0 for other rules).
func (o Outcome) RevokeReason() RevokeReason {
	if o.Rule != "revoked" {
		return 0
	}
	return RevokeReason(o.Detail)
}

// Expiry is the expiry of an "expired" outcome (0 for other rules).
func (o Outcome) Expiry() Expiry {
	if o.Rule != "expired" {
		return 0
	}
	return Expiry(o.Detail)
}

// TokenError is the token error of a "malformed" outcome, comparable with errors.Is
// (ErrTokenWrongPrefix, ErrTokenUnknownKey, ...); nil for other rules.
func (o Outcome) TokenError() error {
	if o.Rule != "malformed" || o.Detail == 0 {
		return nil
	}
	return statusError(C.rt_status(C.RT_STATUS_TOKEN_EMPTY + uint32(o.Detail) - 1))
}

// String describes the outcome for logs, without the token.
func (o Outcome) String() string {
	tok := "none"
	if o.Token != "" {
		tok = "set"
	}
	logID := o.LogID
	if logID == "" {
		logID = "-"
	}
	return fmt.Sprintf("rolltoken.Outcome{proceed=%t rule=%s log_id=%s counter=%d token=%s clear_cookie=%t}",
		o.Proceed, o.Rule, logID, o.Counter, tok, o.ClearCookie)
}

// GoString is String: %#v must not print the token either.
func (o Outcome) GoString() string { return o.String() }

var ruleNames [256]string

func init() {
	for i := range ruleNames {
		ruleNames[i] = C.GoString(C.rt_rule_name(C.uint8_t(i)))
	}
}

// RuleName is the snake_case name of a rule code (rt_rule_name); "unknown" for codes the
// library does not define.
func RuleName(code uint8) string { return ruleNames[code] }

func outcomeFromC(o *C.rt_outcome, token []byte) Outcome {
	out := Outcome{
		Proceed:          bool(o.proceed),
		Rule:             ruleNames[uint8(o.rule)],
		RuleCode:         uint8(o.rule),
		ClearCookie:      bool(o.clear_cookie),
		BindingUserAgent: bool(o.binding_user_agent),
		BindingIP:        bool(o.binding_ip),
		Detail:           uint8(o.detail),
		Steps:            uint64(o.steps),
		HasPresented:     bool(o.has_presented),
		Presented:        uint64(o.presented),
		Current:          uint64(o.current),
		HasSession:       bool(o.has_session),
		SessionID:        id16(&o.session_id),
		Subject:          id16(&o.subject),
		Authenticated:    bool(o.authenticated),
		Counter:          uint64(o.counter),
		HasParent:        bool(o.has_parent),
		Parent:           id16(&o.parent),
		ExpiresAt:        uint64(o.expires_at),
		MaxAgeSecs:       uint64(o.max_age_secs),
		AtMs:             uint64(o.at_ms),
	}
	if out.HasSession {
		out.LogID = cText(o.log_id[:])
	}
	if bool(o.has_token) {
		out.Token = string(token)
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Sessions

// Sessions is the request façade: a keyring, a policy, a memory store of
// MemoryStoreCapacity sessions and a deny list of DenyListCapacity revoked ids (cached
// mode). It is safe for concurrent use by any number of goroutines: the library locks it
// for each call, so calls on one *Sessions run one at a time, and concurrent requests of one
// session are decided in some order (exactly one of several advancing requests with the same
// token rolls it; the others get the same successor as a grace answer). Use one *Sessions
// per process. Close it when done.
type Sessions struct {
	mu  sync.RWMutex
	ptr *C.rt_sessions
}

// NewSessions creates a façade over k and p with an empty memory store. The *Sessions keeps
// its own reference to the keyring's keys.
//
// Errors: ErrClosed (k), ErrInvalidArgument (an unknown enum value in p), ErrPolicyInvalid.
func NewSessions(k *Keyring, p Policy) (*Sessions, error) {
	kp, err := k.acquire()
	if err != nil {
		return nil, err
	}
	defer k.mu.RUnlock()
	cp := p.toC()
	var ptr *C.rt_sessions
	st := C.rt_sessions_new(kp, &cp, &ptr)
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return nil, err
	}
	s := &Sessions{ptr: ptr}
	runtime.SetFinalizer(s, (*Sessions).Close)
	return s, nil
}

// Close frees the façade and its memory store. It is idempotent, waits for calls in
// progress, and always returns nil; later calls return ErrClosed.
func (s *Sessions) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.rt_sessions_free(s.ptr)
		s.ptr = nil
		runtime.SetFinalizer(s, nil)
	}
	return nil
}

// acquire read-locks a live façade; release with s.mu.RUnlock.
func (s *Sessions) acquire() (*C.rt_sessions, error) {
	if s == nil {
		return nil, ErrClosed
	}
	s.mu.RLock()
	if s.ptr == nil {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.ptr, nil
}

// cRequest is a Request's bytes, ready for C (Go memory without Go pointers; C keeps none).
type cRequest struct {
	cookie, userAgent, ip []byte
	kind                  C.uint8_t
	now                   C.uint64_t
	newID                 [SessionIDLen]byte
}

func (r *Request) toC() cRequest {
	return cRequest{
		cookie:    []byte(r.Cookie),
		userAgent: []byte(r.UserAgent),
		ip:        []byte(r.IP),
		kind:      C.uint8_t(r.Kind),
		now:       C.uint64_t(r.NowMs),
		newID:     r.NewSessionID,
	}
}

// Handle decides one request through the memory store (load, decide, compare-and-swap
// save). Refusals are not errors: they are an Outcome with Proceed false.
//
// Errors: ErrClosed, ErrInvalidArgument (Kind, IP), ErrInvalidUTF8 (IP), or the error of
// crypto/rand when NewSessionID had to be filled.
func (s *Sessions) Handle(req Request) (Outcome, error) {
	req, err := req.resolve()
	if err != nil {
		return Outcome{}, err
	}
	sp, err := s.acquire()
	if err != nil {
		return Outcome{}, err
	}
	defer s.mu.RUnlock()
	r := req.toC()
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	st := C.rt_sessions_handle(sp,
		bptr(r.cookie), blen(r.cookie), r.kind, r.now,
		bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		bptr(r.newID[:]),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return Outcome{}, err
	}
	return outcomeFromC(&out, tok[:tokLen]), nil
}

// Next says what a caller with its own database does after Begin or Finish.
type Next uint8

// The next steps.
const (
	// NextDone: answer Step.Outcome now (send its token, if any); nothing to save.
	NextDone Next = 0
	// NextSave: save Step.Record only if the stored record's version is still
	// Step.ExpectedVersion (compare-and-swap), then answer Step.Outcome. On a conflict load
	// the record again and call Finish again; when the database fails call StoreFailed.
	NextSave Next = 1
	// NextLoadPrimary: the token is ahead of the copy of the store that was read; load the
	// record of Step.SessionID from the primary and call Finish with fromPrimary true.
	NextLoadPrimary Next = 2
	// NextLoad (Begin only): load the record of Step.SessionID and call Finish.
	NextLoad Next = 3
)

// Step is where a request stands for a caller with its own database (Begin, Finish). It
// remembers the request, with its time and new session id filled in, for Finish and
// StoreFailed.
type Step struct {
	// Next says what to do: NextDone, NextLoad, NextSave or NextLoadPrimary.
	Next Next
	// Outcome is the answer when Next is NextDone, or after a successful save (NextSave).
	Outcome Outcome
	// SessionID is the session whose record to load (NextLoad, NextLoadPrimary).
	SessionID [SessionIDLen]byte
	// Record is the record to save (NextSave), RecordLen bytes.
	Record []byte
	// ExpectedVersion is the stored version the save must find (NextSave).
	ExpectedVersion uint64

	req Request
}

// Begin is the store-free first half of a request, for servers that keep records in their
// own database: parsing, anonymous sessions and cached mode's fresh window. Next is
// NextDone (answer Outcome) or NextLoad (load the record of SessionID and call Finish):
//
//	step, err := sessions.Begin(req)
//	for err == nil && step.Next != rolltoken.NextDone {
//		switch step.Next {
//		case rolltoken.NextLoad, rolltoken.NextLoadPrimary:
//			primary := step.Next == rolltoken.NextLoadPrimary
//			record := db.Load(step.SessionID, primary) // nil when not found
//			step, err = sessions.Finish(step, record, primary)
//		case rolltoken.NextSave:
//			if db.CompareAndSwap(step.SessionID, step.Record, step.ExpectedVersion) {
//				step.Next = rolltoken.NextDone
//			} else {
//				step, err = sessions.Finish(step, db.Load(step.SessionID, false), false)
//			}
//		}
//	}
//	// answer step.Outcome; bound the retries and call StoreFailed when the database fails
//
// Errors: as Handle.
func (s *Sessions) Begin(req Request) (Step, error) {
	req, err := req.resolve()
	if err != nil {
		return Step{}, err
	}
	sp, err := s.acquire()
	if err != nil {
		return Step{}, err
	}
	defer s.mu.RUnlock()
	r := req.toC()
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	var needs C.bool
	var sid [SessionIDLen]byte
	st := C.rt_sessions_begin(sp,
		bptr(r.cookie), blen(r.cookie), r.kind, r.now,
		bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		bptr(r.newID[:]),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen, &needs, bptr(sid[:]))
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return Step{}, err
	}
	step := Step{Next: NextDone, Outcome: outcomeFromC(&out, tok[:tokLen]), req: req}
	if bool(needs) {
		step.Next = NextLoad
		step.SessionID = sid
	}
	return step, nil
}

// Finish is the store-free second half of a request: step comes from Begin (or an earlier
// Finish) and carries the request, record is what the database holds for step.SessionID
// (nil: not found), fromPrimary whether it was read from the primary. The returned Step says
// what to do next (see Begin). Record bytes that do not decode end the
// session (rule "unknown_session").
//
// Errors: as Handle.
func (s *Sessions) Finish(step Step, record []byte, fromPrimary bool) (Step, error) {
	sp, err := s.acquire()
	if err != nil {
		return Step{}, err
	}
	defer s.mu.RUnlock()
	step.req.NowMs = nowOr(step.req.NowMs) // a Step that did not come from Begin
	r := step.req.toC()
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	var next C.uint8_t
	var rec [RecordLen]byte
	var recLen C.size_t
	var version C.uint64_t
	st := C.rt_sessions_finish(sp,
		bptr(r.cookie), blen(r.cookie), r.kind, r.now,
		bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		bptr(record), blen(record), C.bool(fromPrimary),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen,
		&next, bptr(rec[:]), C.size_t(len(rec)), &recLen, &version)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return Step{}, err
	}
	res := Step{
		Next:      Next(next),
		Outcome:   outcomeFromC(&out, tok[:tokLen]),
		SessionID: step.SessionID,
		req:       step.req,
	}
	if res.Next == NextSave {
		res.Record = append([]byte(nil), rec[:recLen]...)
		res.ExpectedVersion = uint64(version)
	}
	return res, nil
}

// StoreFailed is the answer when the database failed for the request of step: conflict true
// when compare-and-swap conflicts outlasted your retry bound (rule "busy"), false when the
// database is unreachable (rule "store_unavailable"). Neither clears the cookie.
//
// Errors: ErrClosed.
func (s *Sessions) StoreFailed(step Step, conflict bool) (Outcome, error) {
	sp, err := s.acquire()
	if err != nil {
		return Outcome{}, err
	}
	defer s.mu.RUnlock()
	cookie := []byte(step.req.Cookie)
	var out C.rt_outcome
	st := C.rt_sessions_store_failed(sp, bptr(cookie), blen(cookie),
		C.uint64_t(nowOr(step.req.NowMs)), C.bool(conflict), &out)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return Outcome{}, err
	}
	return outcomeFromC(&out, nil), nil
}

// LoginRequest is a login: the subject that proved who it is, and the client.
type LoginRequest struct {
	// Cookie is the visitor's current session cookie (empty: none); its session becomes
	// the parent and is retired.
	Cookie string
	// Subject is the user id, 16 bytes, not all zero.
	Subject [16]byte
	// NowMs is the time, ms since the Unix epoch; zero means time.Now().
	NowMs uint64
	// UserAgent is the User-Agent header.
	UserAgent string
	// IP is the client address as text; empty: unknown.
	IP string
	// NewSessionID is the new session's id; the zero value is replaced by 16 bytes from
	// crypto/rand.
	NewSessionID [SessionIDLen]byte
}

func (l LoginRequest) request() (Request, error) {
	return Request{
		Cookie: l.Cookie, Kind: KindAdvance, NowMs: l.NowMs, UserAgent: l.UserAgent,
		IP: l.IP, NewSessionID: l.NewSessionID,
	}.resolve()
}

// Login starts an authenticated session, saved in the memory store. The Outcome describes
// the new session (rule "fresh") and carries its token: send it as the cookie.
//
// Errors: ErrClosed, ErrAnonymousSubject, ErrStoreConflict (the session id exists),
// ErrStoreFull, ErrInvalidArgument and ErrInvalidUTF8 (IP).
func (s *Sessions) Login(l LoginRequest) (Outcome, error) {
	req, err := l.request()
	if err != nil {
		return Outcome{}, err
	}
	sp, err := s.acquire()
	if err != nil {
		return Outcome{}, err
	}
	defer s.mu.RUnlock()
	r := req.toC()
	subject := l.Subject
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	st := C.rt_sessions_login(sp, bptr(r.cookie), blen(r.cookie),
		bptr(r.newID[:]), bptr(subject[:]), r.now,
		bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return Outcome{}, err
	}
	return outcomeFromC(&out, tok[:tokLen]), nil
}

// LoginPlan is a login for a caller with its own database (PlanLogin).
type LoginPlan struct {
	// Outcome describes the new session and carries its token.
	Outcome Outcome
	// Record is the new session's record: insert it (fail if the id exists).
	Record []byte
	// HasRetire: the session Retire, named by the current cookie, must be revoked with
	// RevokeRecord(..., RevokeUpgradedAtLogin, ...).
	HasRetire bool
	// Retire is the session id to retire when HasRetire.
	Retire [SessionIDLen]byte
}

// PlanLogin is Login for servers with their own database: nothing is stored; the plan says
// what to insert and what to retire.
//
// Errors: as Login, without the store errors.
func (s *Sessions) PlanLogin(l LoginRequest) (LoginPlan, error) {
	req, err := l.request()
	if err != nil {
		return LoginPlan{}, err
	}
	sp, err := s.acquire()
	if err != nil {
		return LoginPlan{}, err
	}
	defer s.mu.RUnlock()
	r := req.toC()
	subject := l.Subject
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	var rec [RecordLen]byte
	var recLen C.size_t
	var hasRetire C.bool
	var retire [SessionIDLen]byte
	st := C.rt_sessions_plan_login(sp, bptr(r.cookie), blen(r.cookie),
		bptr(r.newID[:]), bptr(subject[:]), r.now,
		bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen,
		bptr(rec[:]), C.size_t(len(rec)), &recLen, &hasRetire, bptr(retire[:]))
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return LoginPlan{}, err
	}
	plan := LoginPlan{
		Outcome:   outcomeFromC(&out, tok[:tokLen]),
		Record:    append([]byte(nil), rec[:recLen]...),
		HasRetire: bool(hasRetire),
	}
	if plan.HasRetire {
		plan.Retire = retire
	}
	return plan, nil
}

// Logout ends the session the cookie names, for every holder (memory store). found tells
// whether a stored session was revoked, and logID is then its log id. Clear the cookie
// either way. nowMs zero means time.Now().
//
// Errors: ErrClosed, ErrStoreConflict (contention outlasted the retries).
func (s *Sessions) Logout(cookie string, nowMs uint64) (logID string, found bool, err error) {
	sp, err := s.acquire()
	if err != nil {
		return "", false, err
	}
	defer s.mu.RUnlock()
	c := []byte(cookie)
	var cfound C.bool
	var id [C.RT_LOG_ID_LEN + 1]C.char
	st := C.rt_sessions_logout(sp, bptr(c), blen(c), C.uint64_t(nowOr(nowMs)), &cfound, &id[0])
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return "", false, err
	}
	if !bool(cfound) {
		return "", false, nil
	}
	return cText(id[:]), true, nil
}

// LogoutTarget is Logout for servers with their own database: found false means nothing is
// stored for the cookie (anonymous or invalid); else revoke sessionID with
// RevokeRecord(..., RevokeLogout, ...). Clear the cookie either way.
//
// Errors: ErrClosed.
func (s *Sessions) LogoutTarget(cookie string, nowMs uint64) (sessionID [SessionIDLen]byte, found bool, err error) {
	sp, err := s.acquire()
	if err != nil {
		return sessionID, false, err
	}
	defer s.mu.RUnlock()
	c := []byte(cookie)
	var has C.bool
	var sid [SessionIDLen]byte
	st := C.rt_sessions_logout_target(sp, bptr(c), blen(c), C.uint64_t(nowOr(nowMs)), &has, bptr(sid[:]))
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return sessionID, false, err
	}
	if !bool(has) {
		return sessionID, false, nil
	}
	return sid, true, nil
}

// RevokeRecord is the store-free revocation: given the stored record bytes, it returns the
// revoked record to save (compare-and-swap on the stored version; on a conflict reload and
// call again). changed false means the session was already revoked: nothing to save.
//
// Errors: ErrClosed, ErrInvalidArgument (reason), the ErrRecord* decoding errors.
func (s *Sessions) RevokeRecord(record []byte, reason RevokeReason, nowMs uint64) (revoked []byte, changed bool, err error) {
	sp, err := s.acquire()
	if err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	var out [RecordLen]byte
	var outLen C.size_t
	var ch C.bool
	st := C.rt_sessions_revoke_record(sp, bptr(record), blen(record), C.uint8_t(reason),
		C.uint64_t(nowOr(nowMs)), bptr(out[:]), C.size_t(len(out)), &outLen, &ch)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return nil, false, err
	}
	if !bool(ch) {
		return nil, false, nil
	}
	return append([]byte(nil), out[:outLen]...), true, nil
}

// RevokeAll revokes every active session of subject in the memory store (e.g. after a
// password change) and returns how many.
//
// Errors: ErrClosed, ErrStoreConflict.
func (s *Sessions) RevokeAll(subject [16]byte, nowMs uint64) (int, error) {
	sp, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n C.size_t
	st := C.rt_sessions_revoke_all(sp, bptr(subject[:]), C.uint64_t(nowOr(nowMs)), &n)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Deny puts sessionID on this Sessions' deny list until untilMs: how revocations made by
// other processes reach a cached-mode server inside the fresh window. Publish
// max(now, the record's last advance) + FreshMs + the core's 60 s clock-skew allowance with
// each revocation and feed it to every process; a revocation that never arrives stays usable
// from the cache for at most the fresh window. A full deny list drops nothing: the cache is
// bypassed until untilMs. A zero nowMs means time.Now().
//
// Errors: ErrClosed.
func (s *Sessions) Deny(sessionID [SessionIDLen]byte, untilMs, nowMs uint64) error {
	sp, err := s.acquire()
	if err != nil {
		return err
	}
	defer s.mu.RUnlock()
	st := C.rt_sessions_deny(sp, bptr(sessionID[:]), C.uint64_t(untilMs), C.uint64_t(nowOr(nowMs)))
	runtime.KeepAlive(s)
	return statusError(st)
}

// LoadRecord returns the memory store's record of sessionID (RecordLen bytes; decode it
// with DecodeRecord); found false when there is none. For inspection and tests.
//
// Errors: ErrClosed.
func (s *Sessions) LoadRecord(sessionID [SessionIDLen]byte) (record []byte, found bool, err error) {
	sp, err := s.acquire()
	if err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	var out [RecordLen]byte
	var outLen C.size_t
	var f C.bool
	st := C.rt_sessions_load_record(sp, bptr(sessionID[:]), bptr(out[:]), C.size_t(len(out)), &outLen, &f)
	runtime.KeepAlive(s)
	if err := statusError(st); err != nil {
		return nil, false, err
	}
	if !bool(f) {
		return nil, false, nil
	}
	return append([]byte(nil), out[:outLen]...), true, nil
}

// ---------------------------------------------------------------------------------------
// Helpers

// bptr is the C pointer of b's bytes, nil for an empty slice. b must hold no Go pointers
// (bytes never do) and C must not keep the pointer (no rolltoken function does).
func bptr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func blen(b []byte) C.size_t { return C.size_t(len(b)) }

func id16(a *[16]C.uint8_t) (b [16]byte) {
	for i, v := range a {
		b[i] = byte(v)
	}
	return b
}

func toC16(b [16]byte) (a [16]C.uint8_t) {
	for i, v := range b {
		a[i] = C.uint8_t(v)
	}
	return a
}

// cText is the text of a NUL-terminated C char array.
func cText(a []C.char) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// FetchHeaders are the request headers that decide whether a request advances the chain.
// An empty field means the header is absent.
type FetchHeaders struct {
	Method       string // the request method
	SecFetchMode string // Sec-Fetch-Mode
	SecFetchSite string // Sec-Fetch-Site
	SecPurpose   string // Sec-Purpose
	Purpose      string // Purpose
	Accept       string // Accept
}

// RequestKind says whether a request advances (a top-level navigation from this site) or
// reads (API calls, cross-site navigations, prefetches), by the core's rules
// (rt_request_kind): Sec-Fetch-Mode first, else a GET whose Accept leads with text/html.
func RequestKind(h FetchHeaders) Kind {
	b := func(s string) []byte { return []byte(s) }
	method, mode, site, sp, p, accept := b(h.Method), b(h.SecFetchMode), b(h.SecFetchSite), b(h.SecPurpose), b(h.Purpose), b(h.Accept)
	var kind C.uint8_t
	mustOK(C.rt_request_kind(bptr(method), blen(method), bptr(mode), blen(mode), bptr(site), blen(site),
		bptr(sp), blen(sp), bptr(p), blen(p), bptr(accept), blen(accept), &kind), "rt_request_kind")
	return Kind(kind)
}
