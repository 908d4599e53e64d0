package rolltoken

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every documented error that Go can provoke: each must come back as the named error value,
// never as a crash, and no message may contain a token or a key.

const (
	testUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	testIP = "198.51.100.23"
	t0     = uint64(1700000000000)
)

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, KeyLen) }

func testKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := NewKeyring([]Key{{ID: 1, Secret: testSecret(7)}, {ID: 2, Secret: testSecret(9)}}, 1)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func testSessions(t testing.TB, k *Keyring, p Policy) *Sessions {
	t.Helper()
	s, err := NewSessions(k, p)
	if err != nil {
		t.Fatalf("NewSessions: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestEveryStatusHasAnError(t *testing.T) {
	named := 0
	for code := uint32(1); code < 1000; code++ {
		err := errorForCode(code)
		var e *Error
		if !errors.As(err, &e) || e.Code != code {
			t.Fatalf("code %d: %v is not an *Error with that code", code, err)
		}
		if e.Message == "unknown status" {
			continue
		}
		named++
		if errorsByCode[code] == nil {
			t.Errorf("rt_status %d (%q) has no Err value in status.go", code, e.Message)
		}
	}
	if named != len(errorsByCode) || named != 42 {
		t.Errorf("the library names %d statuses, status.go maps %d (42 expected)", named, len(errorsByCode))
	}
	if errorForCode(0) != nil {
		t.Errorf("RT_STATUS_OK is not nil")
	}
}

func TestErrorsIs(t *testing.T) {
	wrapped := fmt.Errorf("handling a request: %w", ErrTokenBadTag)
	if !errors.Is(wrapped, ErrTokenBadTag) || errors.Is(wrapped, ErrTokenBadFlags) {
		t.Errorf("errors.Is does not tell the codes apart")
	}
	if !errors.Is(&Error{Code: ErrTokenBadTag.Code}, ErrTokenBadTag) {
		t.Errorf("an *Error with the same code does not match")
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Code != 208 || e.Error() != "rolltoken: token tag does not verify" {
		t.Errorf("errors.As: %#v", e)
	}
}

func TestBadKeys(t *testing.T) {
	_, err := NewKeyring(nil, 1)
	wantErr(t, "no keys", err, ErrKeyEmpty)
	five := []Key{{1, testSecret(1)}, {2, testSecret(2)}, {3, testSecret(3)}, {4, testSecret(4)}, {5, testSecret(5)}}
	_, err = NewKeyring(five, 1)
	wantErr(t, "five keys", err, ErrKeyTooMany)
	_, err = NewKeyring([]Key{{1, testSecret(1)}, {1, testSecret(2)}}, 1)
	wantErr(t, "duplicate id", err, ErrKeyDuplicateID)
	_, err = NewKeyring([]Key{{1, testSecret(1)}}, 2)
	wantErr(t, "minting key missing", err, ErrKeyMintingMissing)
	for _, n := range []int{0, 31, 33} {
		_, err = NewKeyring([]Key{{1, make([]byte, n)}}, 1)
		wantErr(t, fmt.Sprintf("%d-byte secret", n), err, ErrKeyWrongLength)
		if err != nil && strings.Contains(err.Error(), "\x07") {
			t.Errorf("the error message holds key bytes")
		}
	}
	k := testKeyring(t)
	_, err = k.MintCompact(3, [16]byte{1}, 0)
	wantErr(t, "mint under an unknown key", err, ErrTokenUnknownKey)
	_, err = k.MintFull(Claims{KeyID: 3})
	wantErr(t, "mint full under an unknown key", err, ErrTokenUnknownKey)
	_, err = k.Binding(3, testUA, testIP)
	wantErr(t, "binding under an unknown key", err, ErrTokenUnknownKey)
}

func TestBadTokens(t *testing.T) {
	k := testKeyring(t)
	good, err := k.MintCompact(1, [16]byte{1, 2, 3}, 5)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		token string
		want  error
	}{
		{"", ErrTokenEmpty},
		{"garbage", ErrTokenWrongPrefix},
		{"\xff\xfe\x00", ErrTokenWrongPrefix},
		{strings.Repeat("a", 116), ErrTokenTooLong},
		{strings.Repeat("a", 1<<20), ErrTokenTooLong},
		{"rtc2_" + good[5:], ErrTokenUnsupportedVersion},
		{good[:len(good)-1], ErrTokenWrongLength},
		{good[:10] + "é" + good[12:], ErrTokenBadBase64},
		{good[:10] + "+" + good[11:], ErrTokenBadBase64},
	}
	for _, c := range cases {
		_, _, err := ParseToken(c.token)
		wantErr(t, fmt.Sprintf("ParseToken(%.20q)", c.token), err, c.want)
		_, err = k.VerifyToken(c.token, 5)
		wantErr(t, fmt.Sprintf("VerifyToken(%.20q)", c.token), err, c.want)
	}
	_, err = k.VerifyToken(good, 6)
	wantErr(t, "compact token at the wrong counter", err, ErrTokenBadTag)
	if err != nil && strings.Contains(err.Error(), good) {
		t.Errorf("the error message holds the token")
	}
	other, _ := NewKeyring([]Key{{ID: 9, Secret: testSecret(7)}}, 9)
	defer other.Close()
	_, err = other.VerifyToken(good, 5)
	wantErr(t, "token of a key the ring lacks", err, ErrTokenUnknownKey)
}

func TestBadRecords(t *testing.T) {
	rec, err := EncodeRecord(Record{SessionID: [16]byte{1}, Subject: [16]byte{15: 1}, Authenticated: true, Form: FormCompact, ExpiresAt: t0 + 1})
	if err != nil {
		t.Fatalf("EncodeRecord: %v", err)
	}
	for _, n := range []int{0, 1, RecordLen - 1, RecordLen + 1, 4096} {
		b := make([]byte, n)
		copy(b, rec)
		_, err := DecodeRecord(b)
		wantErr(t, fmt.Sprintf("%d-byte record", n), err, ErrRecordWrongLength)
	}
	_, err = DecodeRecord(bytes.Repeat([]byte{'x'}, RecordLen))
	wantErr(t, "128 bytes of garbage", err, ErrRecordForeign)
	damaged := append([]byte(nil), rec...)
	damaged[40] ^= 1
	_, err = DecodeRecord(damaged)
	wantErr(t, "one bit flipped", err, ErrRecordCorrupt)
	_, err = EncodeRecord(Record{Revoked: 9})
	wantErr(t, "revoke reason 9", err, ErrInvalidArgument)
	_, err = EncodeRecord(Record{Form: 7})
	wantErr(t, "form 7", err, ErrInvalidArgument)

	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	_, _, err = s.RevokeRecord(rec, 0, t0)
	wantErr(t, "RevokeRecord reason 0", err, ErrInvalidArgument)
	_, _, err = s.RevokeRecord(rec, 5, t0)
	wantErr(t, "RevokeRecord reason 5", err, ErrInvalidArgument)
	_, _, err = s.RevokeRecord(rec[:100], RevokeAdmin, t0)
	wantErr(t, "RevokeRecord of a short record", err, ErrRecordWrongLength)
	_, err = Decide(k, DefaultPolicy(), rec[:100], Request{Cookie: "rtc1_x", NowMs: t0})
	wantErr(t, "Decide on a short record", err, ErrRecordWrongLength)
	_, err = Decide(k, DefaultPolicy(), rec, Request{Cookie: "", NowMs: t0})
	wantErr(t, "Decide without a token", err, ErrTokenEmpty)
}

func TestBadAddresses(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	for _, c := range []struct {
		ip   string
		want error
	}{
		{"not-an-address", ErrInvalidArgument},
		{"198.51.100", ErrInvalidArgument},
		{"999.1.1.1", ErrInvalidArgument},
		{"198.51.100.23:443", ErrInvalidArgument},
		{"\xff\xfe", ErrInvalidUTF8},
	} {
		_, err := k.Binding(1, testUA, c.ip)
		wantErr(t, fmt.Sprintf("Binding(ip %q)", c.ip), err, c.want)
		_, err = s.Handle(Request{IP: c.ip, UserAgent: testUA, NowMs: t0})
		wantErr(t, fmt.Sprintf("Handle(ip %q)", c.ip), err, c.want)
		_, err = s.Login(LoginRequest{Subject: [16]byte{15: 1}, IP: c.ip, NowMs: t0})
		wantErr(t, fmt.Sprintf("Login(ip %q)", c.ip), err, c.want)
		_, err = s.Begin(Request{IP: c.ip, NowMs: t0})
		wantErr(t, fmt.Sprintf("Begin(ip %q)", c.ip), err, c.want)
	}
	for _, ip := range []string{"", "198.51.100.23", "2001:db8::1", "::ffff:198.51.100.23"} {
		if _, err := k.Binding(1, testUA, ip); err != nil {
			t.Errorf("Binding(ip %q): %v", ip, err)
		}
	}
}

func TestBadPolicies(t *testing.T) {
	k := testKeyring(t)
	rec, _ := EncodeRecord(Record{SessionID: [16]byte{1}, Form: FormCompact, ExpiresAt: t0 + 1})
	tok, _ := k.MintCompact(1, [16]byte{1}, 0)
	bad := map[string]func(*Policy){
		"mode 2":       func(p *Policy) { p.Mode = 2 },
		"form 2":       func(p *Policy) { p.Form = 2 },
		"grace kind 2": func(p *Policy) { p.GraceKind = 2 },
		"binding 3":    func(p *Policy) { p.Binding = 3 },
	}
	for name, change := range bad {
		p := DefaultPolicy()
		change(&p)
		_, err := NewSessions(k, p)
		wantErr(t, "NewSessions with "+name, err, ErrInvalidArgument)
		_, err = Decide(k, p, rec, Request{Cookie: tok, NowMs: t0})
		wantErr(t, "Decide with "+name, err, ErrInvalidArgument)
	}
	inconsistent := map[string]func(*Policy){
		"cached compact": func(p *Policy) { p.Mode, p.Form = ModeCached, FormCompact },
		"span cap 0":     func(p *Policy) { p.SpanCap = 0 },
		"answer cap 0":   func(p *Policy) { p.AnswerCap = 0 },
	}
	for name, change := range inconsistent {
		p := DefaultPolicy()
		change(&p)
		_, err := NewSessions(k, p)
		wantErr(t, "NewSessions with "+name, err, ErrPolicyInvalid)
	}
	s := testSessions(t, k, DefaultPolicy())
	_, err := s.Handle(Request{Kind: 2, NowMs: t0})
	wantErr(t, "Handle with kind 2", err, ErrInvalidArgument)
	_, err = Decide(k, DefaultPolicy(), rec, Request{Cookie: tok, Kind: 9, NowMs: t0})
	wantErr(t, "Decide with kind 9", err, ErrInvalidArgument)
}

func TestLoginErrors(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	_, err := s.Login(LoginRequest{NowMs: t0, UserAgent: testUA})
	wantErr(t, "Login without a subject", err, ErrAnonymousSubject)
	_, err = s.PlanLogin(LoginRequest{NowMs: t0, UserAgent: testUA})
	wantErr(t, "PlanLogin without a subject", err, ErrAnonymousSubject)
	l := LoginRequest{Subject: [16]byte{15: 1}, NowMs: t0, NewSessionID: [16]byte{1}}
	if _, err := s.Login(l); err != nil {
		t.Fatalf("Login: %v", err)
	}
	_, err = s.Login(l)
	wantErr(t, "Login with a session id that exists", err, ErrStoreConflict)
}

func TestBadCookies(t *testing.T) {
	cfg := DefaultCookieConfig()
	_, _, err := FindCookie("__Host-rolltoken=a; __Host-rolltoken=b", cfg)
	wantErr(t, "two different values", err, ErrCookieDuplicate)
	v, found, err := FindCookie("__Host-rolltoken=a; __Host-rolltoken=a", cfg)
	if err != nil || !found || v != "a" {
		t.Errorf("the same value twice: %q, %t, %v", v, found, err)
	}
	_, _, err = FindCookie("__Host-rolltoken=a\x01b", cfg)
	wantErr(t, "control character", err, ErrCookieMalformed)
	_, _, err = FindCookie("x="+strings.Repeat("y", 9000), cfg)
	wantErr(t, "9 kB header", err, ErrCookieTooLong)
	v, found, err = FindCookie("", cfg)
	if err != nil || found || v != "" {
		t.Errorf("empty header: %q, %t, %v", v, found, err)
	}

	configs := map[string]struct {
		change func(*CookieConfig)
		want   error
	}{
		"__Host- without Secure":    {func(c *CookieConfig) { c.Secure = false }, ErrCookieHostPrefixNeedsSecure},
		"__Host- with a path":       {func(c *CookieConfig) { c.Path = "/app" }, ErrCookieHostPrefixNeedsRootPath},
		"__Secure- without Secure":  {func(c *CookieConfig) { c.Name, c.Secure = "__Secure-s", false }, ErrCookieSecurePrefixNeedsSecure},
		"SameSite=None, not Secure": {func(c *CookieConfig) { c.Name, c.Secure, c.SameSite = "s", false, SameSiteNone }, ErrCookieSameSiteNoneNeedsSecure},
		"name with a space":         {func(c *CookieConfig) { c.Name = "a b" }, ErrCookieInvalidName},
		"name with a NUL":           {func(c *CookieConfig) { c.Name = "__Host-rolltoken\x00x" }, ErrCookieInvalidName},
		"empty name":                {func(c *CookieConfig) { c.Name = "" }, ErrCookieInvalidName},
		"path with a NUL":           {func(c *CookieConfig) { c.Name, c.Path = "s", "/\x00" }, ErrCookieInvalidPath},
		"path with a semicolon":     {func(c *CookieConfig) { c.Name, c.Path = "s", "/a;b" }, ErrCookieInvalidPath},
		"SameSite 7":                {func(c *CookieConfig) { c.SameSite = 7 }, ErrInvalidArgument},
		"name not UTF-8":            {func(c *CookieConfig) { c.Name = "\xff" }, ErrInvalidUTF8},
	}
	for name, c := range configs {
		cfg := DefaultCookieConfig()
		c.change(&cfg)
		_, _, err := FindCookie("a=b", cfg)
		wantErr(t, "FindCookie, "+name, err, c.want)
		_, err = SetCookie(cfg, "rtc1_x", 60)
		wantErr(t, "SetCookie, "+name, err, c.want)
		_, err = ClearCookie(cfg)
		wantErr(t, "ClearCookie, "+name, err, c.want)
	}
	for _, value := range []string{"a;b", "a b", "a\"b", "\xff", "a,b"} {
		_, err := SetCookie(DefaultCookieConfig(), value, 60)
		wantErr(t, fmt.Sprintf("SetCookie(%q)", value), err, ErrCookieInvalidValue)
	}
}

func TestClosedHandles(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	login, err := s.Login(LoginRequest{Subject: [16]byte{15: 1}, NowMs: t0, UserAgent: testUA, IP: testIP})
	if err != nil {
		t.Fatal(err)
	}
	// A *Sessions keeps its own reference to the keys: closing the keyring first is fine.
	k.Close()
	k.Close()
	if o, err := s.Handle(Request{Cookie: login.Token, NowMs: t0 + 1000, UserAgent: testUA, IP: testIP}); err != nil || o.Rule != "fresh" {
		t.Errorf("Handle after the keyring was closed: %v, %v", o, err)
	}
	_, err = k.MintCompact(1, [16]byte{}, 0)
	wantErr(t, "MintCompact on a closed keyring", err, ErrClosed)
	_, err = k.MintFull(Claims{KeyID: 1})
	wantErr(t, "MintFull on a closed keyring", err, ErrClosed)
	_, err = k.VerifyToken(login.Token, 0)
	wantErr(t, "VerifyToken on a closed keyring", err, ErrClosed)
	_, err = k.Binding(1, "", "")
	wantErr(t, "Binding on a closed keyring", err, ErrClosed)
	_, err = NewSessions(k, DefaultPolicy())
	wantErr(t, "NewSessions on a closed keyring", err, ErrClosed)
	_, err = Decide(k, DefaultPolicy(), nil, Request{})
	wantErr(t, "Decide on a closed keyring", err, ErrClosed)

	s.Close()
	s.Close()
	var nilSessions *Sessions
	var nilKeyring *Keyring
	for _, x := range []*Sessions{s, nilSessions} {
		_, err = x.Handle(Request{NowMs: t0})
		wantErr(t, "Handle", err, ErrClosed)
		_, err = x.Begin(Request{NowMs: t0})
		wantErr(t, "Begin", err, ErrClosed)
		_, err = x.Finish(Step{}, nil, false)
		wantErr(t, "Finish", err, ErrClosed)
		_, err = x.StoreFailed(Step{}, false)
		wantErr(t, "StoreFailed", err, ErrClosed)
		_, err = x.Login(LoginRequest{Subject: [16]byte{1}})
		wantErr(t, "Login", err, ErrClosed)
		_, err = x.PlanLogin(LoginRequest{Subject: [16]byte{1}})
		wantErr(t, "PlanLogin", err, ErrClosed)
		_, _, err = x.Logout(login.Token, t0)
		wantErr(t, "Logout", err, ErrClosed)
		_, _, err = x.LogoutTarget(login.Token, t0)
		wantErr(t, "LogoutTarget", err, ErrClosed)
		_, _, err = x.RevokeRecord(nil, RevokeAdmin, t0)
		wantErr(t, "RevokeRecord", err, ErrClosed)
		_, err = x.RevokeAll([16]byte{15: 1}, t0)
		wantErr(t, "RevokeAll", err, ErrClosed)
		_, _, err = x.LoadRecord(login.SessionID)
		wantErr(t, "LoadRecord", err, ErrClosed)
		if err := x.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	_, err = nilKeyring.MintCompact(1, [16]byte{}, 0)
	wantErr(t, "MintCompact on a nil keyring", err, ErrClosed)
	_, err = NewSessions(nil, DefaultPolicy())
	wantErr(t, "NewSessions(nil)", err, ErrClosed)
	if err := nilKeyring.Close(); err != nil {
		t.Errorf("Close of a nil keyring: %v", err)
	}
}

func TestRefusalsAreOutcomes(t *testing.T) {
	k := testKeyring(t)
	p := DefaultPolicy()
	p.Anonymous = false
	s := testSessions(t, k, p)
	for _, cookie := range []string{"", "garbage", strings.Repeat("x", 5000), "rtc1_\x00\x01"} {
		o, err := s.Handle(Request{Cookie: cookie, NowMs: t0, UserAgent: testUA})
		if err != nil || o.Proceed || o.Token != "" {
			t.Errorf("Handle(%.10q): %v, %v; want a refusal", cookie, o, err)
		}
	}
	o, _ := s.Handle(Request{Cookie: "garbage", NowMs: t0})
	if o.Rule != "malformed" || !errors.Is(o.TokenError(), ErrTokenWrongPrefix) || !o.ClearCookie {
		t.Errorf("garbage cookie: %v, token error %v", o, o.TokenError())
	}
}
