// Package bench measures the rolltoken Go package (cgo over the C ABI) next to
// github.com/golang-jwt/jwt/v5 HS256 over equivalent claims, in one `go test -bench` run
// (compare ratios, not nanoseconds: the machine is a shared 2-core box). run.sh runs it and
// writes target/bench/go.txt and target/bench/go.json.
//
// The fixture is the one of the Rust benches (benches/src/lib.rs): key id 1 with the secret
// 0x5a × 32, session id 0x42 × 16, counter 1,234, a 105-byte Chrome user agent from
// 203.0.113.7, and the JWT claims {sub, sid, ctr, iat, exp, bnd} (subject, session id as
// hex, counter, issued-at and expiry in seconds, binding as hex).
//
//   - BenchmarkVerifyCompact: Keyring.VerifyToken of the 49-character compact token against
//     the counter in hand (parse + MAC + compare).
//   - BenchmarkVerifyFull: Keyring.VerifyToken of the 115-character full token (its claims
//     returned).
//   - BenchmarkAdvance: Sessions.Handle with KindAdvance through the memory store (load,
//     decide, mint, compare-and-swap save) of one session among 256, as a chain: each
//     iteration presents the token the previous one rolled, 1 ms later (rule "fresh" every
//     time). NewSessionID is set, as the C and Rust benches pass one.
//   - BenchmarkAdvanceFull: the same with full tokens (strict mode).
//   - BenchmarkAdvanceRandomID: BenchmarkAdvance with NewSessionID left zero, as the README
//     example does: the package then draws 16 bytes from crypto/rand on every request.
//   - BenchmarkJWTParseHS256: jwt.ParseWithClaims with the HS256 method only
//     (WithValidMethods) and exp required and validated against the clock.
//   - BenchmarkJWTSignHS256: jwt.NewWithClaims(HS256, claims).SignedString.
package bench

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	rolltoken "rolltoken.example/go"
)

const (
	keyID          = 1
	compactCounter = 1234
	t0             = uint64(1_760_000_000_000)
	userAgent      = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	clientIP       = "203.0.113.7"
	subjectID      = 42
	otherSessions  = 255
)

var (
	secret    = bytes.Repeat([]byte{0x5a}, 32)
	sessionID = [16]byte{0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42}
	newID     = [16]byte{0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77}
)

// Sinks keep results alive.
var (
	sinkClaims  rolltoken.Claims
	sinkOutcome rolltoken.Outcome
	sinkJWT     *jwt.Token
	sinkString  string
)

func subject(id uint64) (s [16]byte) {
	for i := 0; i < 8; i++ {
		s[15-i] = byte(id >> (8 * i))
	}
	return s
}

func keyring(tb testing.TB) *rolltoken.Keyring {
	k, err := rolltoken.NewKeyring([]rolltoken.Key{{ID: keyID, Secret: secret}}, keyID)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { k.Close() })
	return k
}

// fullClaims are the claims of the full token, as benches/src/lib.rs full_claims.
func fullClaims(tb testing.TB, k *rolltoken.Keyring) rolltoken.Claims {
	b, err := k.Binding(keyID, userAgent, clientIP)
	if err != nil {
		tb.Fatal(err)
	}
	return rolltoken.Claims{
		KeyID:         keyID,
		SessionID:     sessionID,
		Counter:       compactCounter,
		IssuedAt:      t0,
		ExpiresAt:     t0 + 12*3_600_000,
		Subject:       subject(subjectID),
		Binding:       b,
		Authenticated: true,
	}
}

func BenchmarkVerifyCompact(b *testing.B) {
	k := keyring(b)
	tok, err := k.MintCompact(keyID, sessionID, compactCounter)
	if err != nil {
		b.Fatal(err)
	}
	if len(tok) != 49 {
		b.Fatalf("compact token of %d characters", len(tok))
	}
	if c, err := k.VerifyToken(tok, compactCounter); err != nil || c.SessionID != sessionID {
		b.Fatalf("verify: %v", err)
	}
	if _, err := k.VerifyToken(tok, compactCounter+1); err == nil {
		b.Fatal("a wrong counter must not verify")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := k.VerifyToken(tok, compactCounter)
		if err != nil {
			b.Fatal(err)
		}
		sinkClaims = c
	}
}

func BenchmarkVerifyFull(b *testing.B) {
	k := keyring(b)
	want := fullClaims(b, k)
	tok, err := k.MintFull(want)
	if err != nil {
		b.Fatal(err)
	}
	if len(tok) != 115 {
		b.Fatalf("full token of %d characters", len(tok))
	}
	if c, err := k.VerifyToken(tok, 0); err != nil || c != want {
		b.Fatalf("verify: %v %+v", err, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := k.VerifyToken(tok, 0)
		if err != nil {
			b.Fatal(err)
		}
		sinkClaims = c
	}
}

// chain is the advance chain of the bench session in a memory store of 256 sessions.
type chain struct {
	s     *rolltoken.Sessions
	token string
	now   uint64
	id    [16]byte
}

func newChain(tb testing.TB, form rolltoken.Form, id [16]byte) *chain {
	k := keyring(tb)
	p := rolltoken.DefaultPolicy()
	p.Form = form
	s, err := rolltoken.NewSessions(k, p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	for i := 0; i < otherSessions; i++ {
		var sid [16]byte
		for j := 0; j < 8; j++ {
			sid[7-j] = byte(uint64(i) >> (8 * j))
		}
		sid[8] = 0xee
		if _, err := s.Login(rolltoken.LoginRequest{Subject: subject(1000 + uint64(i)), NowMs: t0,
			UserAgent: userAgent, IP: clientIP, NewSessionID: sid}); err != nil {
			tb.Fatal(err)
		}
	}
	login, err := s.Login(rolltoken.LoginRequest{Subject: subject(subjectID), NowMs: t0,
		UserAgent: userAgent, IP: clientIP, NewSessionID: sessionID})
	if err != nil {
		tb.Fatal(err)
	}
	wantLen := 49
	if form == rolltoken.FormFull {
		wantLen = 115
	}
	if len(login.Token) != wantLen {
		tb.Fatalf("login token of %d characters", len(login.Token))
	}
	c := &chain{s: s, token: login.Token, now: t0, id: id}
	for i := 0; i < 2; i++ {
		o, err := c.advance()
		if err != nil || !o.Proceed || o.Token == "" || o.Rule != "fresh" || !o.BindingUserAgent || !o.BindingIP {
			tb.Fatalf("advance: %v %v", err, o)
		}
		if o.Counter != uint64(i+1) || len(o.Token) != wantLen {
			tb.Fatalf("advance: counter %d, token of %d characters", o.Counter, len(o.Token))
		}
	}
	return c
}

func (c *chain) advance() (rolltoken.Outcome, error) {
	c.now++
	o, err := c.s.Handle(rolltoken.Request{Cookie: c.token, Kind: rolltoken.KindAdvance, NowMs: c.now,
		UserAgent: userAgent, IP: clientIP, NewSessionID: c.id})
	if err == nil && o.Proceed && o.Token != "" {
		c.token = o.Token
	}
	return o, err
}

func benchAdvance(b *testing.B, form rolltoken.Form, id [16]byte) {
	c := newChain(b, form, id)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := c.advance()
		if err != nil || !o.Proceed || o.Token == "" {
			b.Fatalf("advance %d: %v %v", i, err, o)
		}
		sinkOutcome = o
	}
}

func BenchmarkAdvance(b *testing.B) { benchAdvance(b, rolltoken.FormCompact, newID) }

func BenchmarkAdvanceFull(b *testing.B) { benchAdvance(b, rolltoken.FormFull, newID) }

func BenchmarkAdvanceRandomID(b *testing.B) {
	benchAdvance(b, rolltoken.FormCompact, [16]byte{})
}

// ---------------------------------------------------------------------------------------
// golang-jwt/jwt/v5

// jwtClaims are {sub, sid, ctr, iat, exp, bnd}; RegisteredClaims carries sub, iat and exp
// (the others are empty and omitted), so exp is validated by the parser.
type jwtClaims struct {
	jwt.RegisteredClaims
	Sid string `json:"sid"`
	Ctr uint64 `json:"ctr"`
	Bnd string `json:"bnd"`
}

type jwtFixture struct {
	claims jwtClaims
	token  string
	parser *jwt.Parser
}

func keyFunc(*jwt.Token) (interface{}, error) { return secret, nil }

func newJWT(tb testing.TB) *jwtFixture {
	k := keyring(tb)
	fc := fullClaims(tb, k)
	now := time.Now().Truncate(time.Second)
	claims := jwtClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   fmt.Sprintf("user-%06d", subjectID),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(12 * time.Hour)),
		},
		Sid: hex.EncodeToString(fc.SessionID[:]),
		Ctr: fc.Counter,
		Bnd: hex.EncodeToString(fc.Binding[:]),
	}
	f := &jwtFixture{
		claims: claims,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithExpirationRequired()),
	}
	tok, err := f.sign()
	if err != nil {
		tb.Fatal(err)
	}
	f.token = tok
	got, err := f.parse()
	if err != nil || !got.Valid {
		tb.Fatalf("jwt parse: %v", err)
	}
	if c := got.Claims.(*jwtClaims); c.Ctr != compactCounter || c.Sid != claims.Sid || c.Subject != claims.Subject {
		tb.Fatalf("jwt claims: %+v", c)
	}
	// The checks are on: an expired token and another algorithm are refused.
	expired := claims
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
	old, err := jwt.NewWithClaims(jwt.SigningMethodHS256, expired).SignedString(secret)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.parser.ParseWithClaims(old, &jwtClaims{}, keyFunc); err == nil {
		tb.Fatal("an expired JWT must not parse")
	}
	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, claims).SignedString(secret)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.parser.ParseWithClaims(hs384, &jwtClaims{}, keyFunc); err == nil {
		tb.Fatal("an HS384 JWT must not parse")
	}
	return f
}

func (f *jwtFixture) parse() (*jwt.Token, error) {
	return f.parser.ParseWithClaims(f.token, &jwtClaims{}, keyFunc)
}

func (f *jwtFixture) sign() (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, f.claims).SignedString(secret)
}

func BenchmarkJWTParseHS256(b *testing.B) {
	f := newJWT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := f.parse()
		if err != nil {
			b.Fatal(err)
		}
		sinkJWT = t
	}
}

func BenchmarkJWTSignHS256(b *testing.B) {
	f := newJWT(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := f.sign()
		if err != nil {
			b.Fatal(err)
		}
		sinkString = s
	}
}
