package rolltoken

// #include "rolltoken.h"
import "C"

import "runtime"

// The building blocks under the façade: tokens, bindings, log ids, records and the pure
// engine decision. The golden vectors are checked through these.

// Claims are the claims of a full token. A compact token carries only KeyID and SessionID
// (ParseToken, VerifyToken fill Counter with the counter it was verified against).
type Claims struct {
	// KeyID is the id of the key that tagged the token.
	KeyID uint8
	// SessionID is the session.
	SessionID [SessionIDLen]byte
	// Counter is the token's position in the session's chain.
	Counter uint64
	// IssuedAt is when the token was minted (ms).
	IssuedAt uint64
	// ExpiresAt is the session's absolute expiry (ms).
	ExpiresAt uint64
	// Subject is the user (all zero: anonymous).
	Subject [16]byte
	// Binding is the keyed hash of the client: 4 bytes user agent, 4 bytes address prefix.
	Binding [8]byte
	// Authenticated: a subject has logged in.
	Authenticated bool
}

func claimsFromC(c *C.rt_claims) Claims {
	var b [8]byte
	for i, v := range c.binding {
		b[i] = byte(v)
	}
	return Claims{
		KeyID:         uint8(c.key_id),
		SessionID:     id16(&c.session_id),
		Counter:       uint64(c.counter),
		IssuedAt:      uint64(c.issued_at),
		ExpiresAt:     uint64(c.expires_at),
		Subject:       id16(&c.subject),
		Binding:       b,
		Authenticated: bool(c.authenticated),
	}
}

func (c *Claims) toC() C.rt_claims {
	var b [8]C.uint8_t
	for i, v := range c.Binding {
		b[i] = C.uint8_t(v)
	}
	return C.rt_claims{
		key_id:        C.uint8_t(c.KeyID),
		session_id:    toC16(c.SessionID),
		counter:       C.uint64_t(c.Counter),
		issued_at:     C.uint64_t(c.IssuedAt),
		expires_at:    C.uint64_t(c.ExpiresAt),
		subject:       toC16(c.Subject),
		binding:       b,
		authenticated: C.bool(c.Authenticated),
	}
}

// MintFull mints the full token of c under the key c.KeyID.
//
// Errors: ErrClosed, ErrTokenUnknownKey.
func (k *Keyring) MintFull(c Claims) (string, error) {
	kp, err := k.acquire()
	if err != nil {
		return "", err
	}
	defer k.mu.RUnlock()
	cc := c.toC()
	var out [MaxTokenLen]byte
	var n C.size_t
	st := C.rt_token_mint_full(kp, &cc, bptr(out[:]), C.size_t(len(out)), &n)
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return "", err
	}
	return string(out[:n]), nil
}

// MintCompact mints the compact token of sessionID at counter under keyID.
//
// Errors: ErrClosed, ErrTokenUnknownKey.
func (k *Keyring) MintCompact(keyID uint8, sessionID [SessionIDLen]byte, counter uint64) (string, error) {
	kp, err := k.acquire()
	if err != nil {
		return "", err
	}
	defer k.mu.RUnlock()
	var out [MaxTokenLen]byte
	var n C.size_t
	st := C.rt_token_mint_compact(kp, C.uint8_t(keyID), bptr(sessionID[:]), C.uint64_t(counter),
		bptr(out[:]), C.size_t(len(out)), &n)
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return "", err
	}
	return string(out[:n]), nil
}

// VerifyToken verifies a token's tag. A full token: counter is ignored and the claims are
// the token's. A compact token: verified against counter (the store's); the claims hold
// its key id, session id and counter.
//
// Errors: ErrClosed, the ErrToken* parse errors, ErrTokenUnknownKey, ErrTokenBadTag.
func (k *Keyring) VerifyToken(token string, counter uint64) (Claims, error) {
	kp, err := k.acquire()
	if err != nil {
		return Claims{}, err
	}
	defer k.mu.RUnlock()
	t := []byte(token)
	var c C.rt_claims
	st := C.rt_token_verify(kp, bptr(t), blen(t), C.uint64_t(counter), &c)
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return Claims{}, err
	}
	return claimsFromC(&c), nil
}

// Binding is the 8-byte keyed binding hash of a client (its user agent, and its address as
// text; empty: unknown) under the binding subkey of keyID.
//
// Errors: ErrClosed, ErrTokenUnknownKey, ErrInvalidArgument and ErrInvalidUTF8 (ip).
func (k *Keyring) Binding(keyID uint8, userAgent, ip string) ([8]byte, error) {
	var b [8]byte
	kp, err := k.acquire()
	if err != nil {
		return b, err
	}
	defer k.mu.RUnlock()
	ua, addr := []byte(userAgent), []byte(ip)
	st := C.rt_keyring_binding(kp, C.uint8_t(keyID), bptr(ua), blen(ua), bptr(addr), blen(addr), bptr(b[:]))
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return [8]byte{}, err
	}
	return b, nil
}

// ParseToken parses a token WITHOUT checking its tag: for inspection and logs only. A
// compact token fills only KeyID and SessionID.
//
// Errors: the ErrToken* parse errors (ErrTokenEmpty, ErrTokenWrongPrefix, ...).
func ParseToken(token string) (Form, Claims, error) {
	t := []byte(token)
	var form C.uint8_t
	var c C.rt_claims
	if err := statusError(C.rt_token_parse(bptr(t), blen(t), &form, &c)); err != nil {
		return 0, Claims{}, err
	}
	return Form(form), claimsFromC(&c), nil
}

// LogID is the log id of a session id: 16 lowercase hex characters, stable across key
// rotation. Log it instead of a token or a session id.
func LogID(sessionID [SessionIDLen]byte) string {
	var out [C.RT_LOG_ID_LEN + 1]C.char
	mustOK(C.rt_log_id(bptr(sessionID[:]), &out[0]), "rt_log_id")
	return cText(out[:])
}

// HMACSHA256 is HMAC-SHA256(key, msg), computed by the keyring's own precomputed-state HMAC
// (rt_hmac_sha256). key has KeyLen bytes, the length of a keyring secret. It reads no keyring
// and makes no token: it is there so that published HMAC-SHA256 vectors (RFC 4231, Project
// Wycheproof) can be checked through this library's HMAC. A key of another length has the
// same HMAC as a KeyLen-byte key when it is shorter (padded with zeros) or longer than 64
// bytes (its SHA-256 hash), as RFC 2104 defines.
func HMACSHA256(key [KeyLen]byte, msg []byte) [32]byte {
	defer wipe(key[:])
	var out [32]byte
	mustOK(C.rt_hmac_sha256(bptr(key[:]), bptr(msg), blen(msg), bptr(out[:])), "rt_hmac_sha256")
	return out
}

// Record is a session record's fields (rt_record); its RecordLen-byte encoding is what a
// store keeps (EncodeRecord, DecodeRecord).
type Record struct {
	// SessionID is the session.
	SessionID [SessionIDLen]byte
	// HasParent: Parent is set.
	HasParent bool
	// Parent is the anonymous session this one replaced at login.
	Parent [SessionIDLen]byte
	// Subject is the user.
	Subject [16]byte
	// Revoked is zero while the session is active, else the reason it was revoked for.
	Revoked RevokeReason
	// Authenticated: a subject has logged in.
	Authenticated bool
	// Form is the form of the tokens this session is issued.
	Form Form
	// Counter is the newest token's counter.
	Counter uint64
	// Floor is the lowest counter still accepted.
	Floor uint64
	// Version is the write version (the compare-and-swap key).
	Version uint64
	// CreatedAt is the creation time (ms).
	CreatedAt uint64
	// ExpiresAt is the absolute expiry (ms).
	ExpiresAt uint64
	// LastAdvanceAt is when the current token was minted (ms).
	LastAdvanceAt uint64
	// GraceUntil is the end of the grace window (ms).
	GraceUntil uint64
	// LastSeenAt is the last activity (ms), for idle expiry.
	LastSeenAt uint64
	// GraceAnswers is how many grace answers were handed out in this step.
	GraceAnswers uint8
	// Confirmed: the current token has been presented.
	Confirmed bool
	// LatenessMs is the observed lateness (ms), for adaptive grace.
	LatenessMs uint32
	// Binding is the binding hash of the last advancing request.
	Binding [8]byte
	// BindingKeyID is the key id the binding was hashed under.
	BindingKeyID uint8
	// RevokedAt is when the session was revoked (ms), 0 while active.
	RevokedAt uint64
}

// EncodeRecord encodes r into its RecordLen bytes.
//
// Errors: ErrInvalidArgument (Revoked or Form out of range).
func EncodeRecord(r Record) ([]byte, error) {
	var b [8]C.uint8_t
	for i, v := range r.Binding {
		b[i] = C.uint8_t(v)
	}
	cr := C.rt_record{
		session_id:      toC16(r.SessionID),
		has_parent:      C.bool(r.HasParent),
		parent:          toC16(r.Parent),
		subject:         toC16(r.Subject),
		state:           C.uint8_t(r.Revoked),
		authenticated:   C.bool(r.Authenticated),
		form:            C.uint8_t(r.Form),
		counter:         C.uint64_t(r.Counter),
		floor:           C.uint64_t(r.Floor),
		version:         C.uint64_t(r.Version),
		created_at:      C.uint64_t(r.CreatedAt),
		expires_at:      C.uint64_t(r.ExpiresAt),
		last_advance_at: C.uint64_t(r.LastAdvanceAt),
		grace_until:     C.uint64_t(r.GraceUntil),
		last_seen_at:    C.uint64_t(r.LastSeenAt),
		grace_answers:   C.uint8_t(r.GraceAnswers),
		confirmed:       C.bool(r.Confirmed),
		lateness_ms:     C.uint32_t(r.LatenessMs),
		binding:         b,
		binding_key_id:  C.uint8_t(r.BindingKeyID),
		revoked_at:      C.uint64_t(r.RevokedAt),
	}
	var out [RecordLen]byte
	var n C.size_t
	if err := statusError(C.rt_record_encode(&cr, bptr(out[:]), C.size_t(len(out)), &n)); err != nil {
		return nil, err
	}
	return append([]byte(nil), out[:n]...), nil
}

// DecodeRecord decodes record bytes.
//
// Errors: ErrRecordWrongLength, ErrRecordForeign, ErrRecordUnsupportedVersion,
// ErrRecordCorrupt, ErrRecordInvalid.
func DecodeRecord(b []byte) (Record, error) {
	var r C.rt_record
	if err := statusError(C.rt_record_decode(bptr(b), blen(b), &r)); err != nil {
		return Record{}, err
	}
	var bind [8]byte
	for i, v := range r.binding {
		bind[i] = byte(v)
	}
	return Record{
		SessionID:     id16(&r.session_id),
		HasParent:     bool(r.has_parent),
		Parent:        id16(&r.parent),
		Subject:       id16(&r.subject),
		Revoked:       RevokeReason(r.state),
		Authenticated: bool(r.authenticated),
		Form:          Form(r.form),
		Counter:       uint64(r.counter),
		Floor:         uint64(r.floor),
		Version:       uint64(r.version),
		CreatedAt:     uint64(r.created_at),
		ExpiresAt:     uint64(r.expires_at),
		LastAdvanceAt: uint64(r.last_advance_at),
		GraceUntil:    uint64(r.grace_until),
		LastSeenAt:    uint64(r.last_seen_at),
		GraceAnswers:  uint8(r.grace_answers),
		Confirmed:     bool(r.confirmed),
		LatenessMs:    uint32(r.lateness_ms),
		Binding:       bind,
		BindingKeyID:  uint8(r.binding_key_id),
		RevokedAt:     uint64(r.revoked_at),
	}, nil
}

// Decision is the pure engine's answer (Decide).
type Decision struct {
	// Outcome is the verdict, the binding comparison and the view of the session after the
	// decision; Outcome.Token is the token to send, if any.
	Outcome Outcome
	// Save: store Record, with compare-and-swap on the given record's version.
	Save bool
	// Record is the record to store when Save (RecordLen bytes).
	Record []byte
}

// Decide is the pure engine decision (the rolling rules, rt_decide) on a record the caller
// holds, for the request's token (req.Cookie), kind, time (zero: time.Now()), user agent
// and address. There is no store, no deny list and no cache: Sessions adds those.
// req.NewSessionID is not used.
//
// Errors: ErrClosed, ErrInvalidArgument (policy enums, Kind, IP), ErrPolicyInvalid,
// ErrInvalidUTF8 (IP), the ErrRecord* errors of record, the ErrToken* parse errors of the
// token (a token that parses but fails its checks is an Outcome, e.g. rule "forged").
func Decide(k *Keyring, p Policy, record []byte, req Request) (Decision, error) {
	kp, err := k.acquire()
	if err != nil {
		return Decision{}, err
	}
	defer k.mu.RUnlock()
	creq := Request{Cookie: req.Cookie, Kind: req.Kind, NowMs: nowOr(req.NowMs), UserAgent: req.UserAgent, IP: req.IP}
	r := creq.toC()
	cp := p.toC()
	var out C.rt_outcome
	var tok [MaxTokenLen]byte
	var tokLen C.size_t
	var save C.bool
	var rec [RecordLen]byte
	var recLen C.size_t
	st := C.rt_decide(kp, &cp, bptr(record), blen(record), bptr(r.cookie), blen(r.cookie),
		r.kind, r.now, bptr(r.userAgent), blen(r.userAgent), bptr(r.ip), blen(r.ip),
		&out, bptr(tok[:]), C.size_t(len(tok)), &tokLen,
		&save, bptr(rec[:]), C.size_t(len(rec)), &recLen)
	runtime.KeepAlive(k)
	if err := statusError(st); err != nil {
		return Decision{}, err
	}
	d := Decision{Outcome: outcomeFromC(&out, tok[:tokLen]), Save: bool(save)}
	if d.Save {
		d.Record = append([]byte(nil), rec[:recLen]...)
	}
	return d, nil
}
