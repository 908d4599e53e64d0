package rolltoken

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version()) {
		t.Errorf("Version() = %q", Version())
	}
}

func TestPolicies(t *testing.T) {
	d := DefaultPolicy()
	if d.Mode != ModeStrict || d.Form != FormCompact || !d.Anonymous || d.GraceKind != GraceFixed ||
		d.GraceMs != 10000 || d.SpanCap != 8 || d.AnswerCap != 16 {
		t.Errorf("DefaultPolicy() = %+v", d)
	}
	c := CachedPolicy()
	if c.Mode != ModeCached || c.Form != FormFull || c.FreshMs != 15*60*1000 {
		t.Errorf("CachedPolicy() = %+v", c)
	}
}

func TestCookies(t *testing.T) {
	cfg := DefaultCookieConfig()
	if cfg != (CookieConfig{Name: "__Host-rolltoken", Path: "/", Secure: true, HTTPOnly: true, SameSite: SameSiteLax}) {
		t.Errorf("DefaultCookieConfig() = %+v", cfg)
	}
	if l := InsecureLocalCookieConfig(); l.Name != "rolltoken" || l.Secure || !l.HTTPOnly {
		t.Errorf("InsecureLocalCookieConfig() = %+v", l)
	}
	k := testKeyring(t)
	tok, _ := k.MintCompact(1, [16]byte{1}, 3)
	v, found, err := FindCookie("theme=dark; __Host-rolltoken="+tok+"; lang=en", cfg)
	if err != nil || !found || v != tok {
		t.Errorf("FindCookie = %q, %t, %v", v, found, err)
	}
	if _, found, err := FindCookie("theme=dark", cfg); err != nil || found {
		t.Errorf("FindCookie without the cookie: %t, %v", found, err)
	}
	set, err := SetCookie(cfg, tok, 3600)
	if err != nil || !strings.HasPrefix(set, "__Host-rolltoken="+tok+";") ||
		!strings.Contains(set, "Max-Age=3600") || !strings.Contains(set, "Secure") ||
		!strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Lax") || !strings.Contains(set, "Path=/") {
		t.Errorf("SetCookie = %q, %v", set, err)
	}
	clear, err := ClearCookie(cfg)
	if err != nil || !strings.HasPrefix(clear, "__Host-rolltoken=;") || !strings.Contains(clear, "Max-Age=0") {
		t.Errorf("ClearCookie = %q, %v", clear, err)
	}
	if len(set) > MaxSetCookieLen {
		t.Errorf("a Set-Cookie value longer than MaxSetCookieLen")
	}
}

func TestSessionOnlyCookie(t *testing.T) {
	cfg := DefaultCookieConfig()
	cfg.SessionOnly = true
	// No Max-Age whatever maxAgeSecs says; clearing still needs Max-Age=0.
	for _, maxAge := range []uint64{0, 3600, ^uint64(0)} {
		set, err := SetCookie(cfg, "abc", maxAge)
		if want := "__Host-rolltoken=abc; Path=/; Secure; HttpOnly; SameSite=Lax"; err != nil || set != want {
			t.Errorf("SetCookie(maxAge %d) = %q, %v; want %q", maxAge, set, err, want)
		}
	}
	clear, err := ClearCookie(cfg)
	if want := "__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"; err != nil || clear != want {
		t.Errorf("ClearCookie = %q, %v; want %q", clear, err, want)
	}
	local := InsecureLocalCookieConfig()
	local.SessionOnly, local.SameSite = true, SameSiteStrict
	set, err := SetCookie(local, "abc", 60)
	if want := "rolltoken=abc; Path=/; HttpOnly; SameSite=Strict"; err != nil || set != want {
		t.Errorf("SetCookie(local) = %q, %v; want %q", set, err, want)
	}
	// The zero value is the persistent cookie.
	set, err = SetCookie(CookieConfig{Name: "sid", Path: "/"}, "abc", 60)
	if want := "sid=abc; Max-Age=60; Path=/; SameSite=Lax"; err != nil || set != want {
		t.Errorf("SetCookie(zero flags) = %q, %v; want %q", set, err, want)
	}
}

func TestOutcomeNeverPrintsTheToken(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	o, err := s.Login(LoginRequest{Subject: [16]byte{15: 1}, UserAgent: testUA, IP: testIP})
	if err != nil || o.Token == "" {
		t.Fatalf("Login: %v, %v", o, err)
	}
	for _, text := range []string{fmt.Sprint(o), fmt.Sprintf("%v %+v %#v %s", o, o, o, o), o.String()} {
		if strings.Contains(text, o.Token) || strings.Contains(text, o.Token[5:20]) {
			t.Errorf("the token is printed: %s", text)
		}
		if !strings.Contains(text, o.LogID) {
			t.Errorf("the log id is not printed: %s", text)
		}
	}
}

func TestDefaults(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	// Zero time: now. Zero new session id: random, so two visitors get two sessions.
	a, err := s.Handle(Request{UserAgent: testUA})
	if err != nil || a.Rule != "new_anonymous" || a.Token == "" {
		t.Fatalf("first visitor: %v, %v", a, err)
	}
	b, _ := s.Handle(Request{UserAgent: testUA})
	if a.SessionID == b.SessionID || a.SessionID == ([16]byte{}) {
		t.Errorf("two visitors share session id %x", a.SessionID)
	}
	if a.AtMs < t0 || a.MaxAgeSecs == 0 {
		t.Errorf("the zero time was not replaced by now: at %d, max age %d", a.AtMs, a.MaxAgeSecs)
	}
	f, c, err := ParseToken(a.Token)
	if err != nil || f != FormFull || c.SessionID != a.SessionID || c.Authenticated {
		t.Errorf("ParseToken(anonymous token) = %v, %+v, %v", f, c, err)
	}
	if LogID(a.SessionID) != a.LogID {
		t.Errorf("LogID disagrees with the outcome")
	}
}

// memDB is a caller's own database: records by session id, compare-and-swap on the version.
type memDB map[[16]byte][]byte

func (db memDB) load(t *testing.T, sid [16]byte) []byte { return db[sid] }

func (db memDB) cas(t *testing.T, sid [16]byte, rec []byte, expected uint64) bool {
	t.Helper()
	if cur, ok := db[sid]; ok {
		r, err := DecodeRecord(cur)
		if err != nil {
			t.Fatalf("stored record: %v", err)
		}
		if r.Version != expected {
			return false
		}
	}
	db[sid] = rec
	return true
}

// drive runs one request through Begin/Finish against db, as the Begin doc shows.
func drive(t *testing.T, s *Sessions, db memDB, req Request) Outcome {
	t.Helper()
	step, err := s.Begin(req)
	for tries := 0; err == nil && step.Next != NextDone; tries++ {
		if tries > 8 {
			o, err := s.StoreFailed(step, true)
			if err != nil {
				t.Fatalf("StoreFailed: %v", err)
			}
			return o
		}
		switch step.Next {
		case NextLoad, NextLoadPrimary:
			step, err = s.Finish(step, db.load(t, step.SessionID), step.Next == NextLoadPrimary)
		case NextSave:
			if db.cas(t, step.SessionID, step.Record, step.ExpectedVersion) {
				step.Next = NextDone
			} else {
				step, err = s.Finish(step, db.load(t, step.SessionID), false)
			}
		default:
			t.Fatalf("unknown next step %d", step.Next)
		}
	}
	if err != nil {
		t.Fatalf("Begin/Finish: %v", err)
	}
	return step.Outcome
}

func TestOwnDatabase(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	db := memDB{}
	sid := [16]byte{0xaa, 1}
	plan, err := s.PlanLogin(LoginRequest{Subject: [16]byte{15: 7}, NowMs: t0, UserAgent: testUA, IP: testIP, NewSessionID: sid})
	if err != nil || plan.HasRetire || len(plan.Record) != RecordLen || plan.Outcome.SessionID != sid {
		t.Fatalf("PlanLogin: %+v, %v", plan, err)
	}
	db[sid] = plan.Record
	// Nothing went to the memory store.
	if _, found, _ := s.LoadRecord(sid); found {
		t.Errorf("PlanLogin stored the record itself")
	}

	req := func(token string, at uint64) Request {
		return Request{Cookie: token, Kind: KindAdvance, NowMs: at, UserAgent: testUA, IP: testIP}
	}
	tok0 := plan.Outcome.Token
	o1 := drive(t, s, db, req(tok0, t0+1000))
	if o1.Rule != "fresh" || o1.Counter != 1 || o1.Token == "" {
		t.Fatalf("page load: %v", o1)
	}
	replica := db[sid] // a copy of the store that will fall behind

	// A save that loses the race: decided on counter 1, but another request saves first.
	step, err := s.Begin(req(o1.Token, t0+2000))
	if err == nil {
		step, err = s.Finish(step, db[sid], false)
	}
	if err != nil || step.Next != NextSave {
		t.Fatalf("Finish: %+v, %v", step, err)
	}
	o2 := drive(t, s, db, req(o1.Token, t0+2000))
	if o2.Rule != "fresh" || o2.Counter != 2 {
		t.Fatalf("the other request: %v", o2)
	}
	if db.cas(t, sid, step.Record, step.ExpectedVersion) {
		t.Fatalf("a stale compare-and-swap succeeded")
	}
	step, err = s.Finish(step, db[sid], false)
	if err != nil || step.Outcome.Rule != "concurrent_in_grace" || step.Outcome.Token != o2.Token {
		t.Fatalf("after the conflict: %v, %v; want the same successor as a grace answer", step.Outcome, err)
	}

	// A replica behind the token: load from the primary.
	step, err = s.Begin(req(o2.Token, t0+3000))
	if err == nil {
		step, err = s.Finish(step, replica, false)
	}
	if err != nil || step.Next != NextLoadPrimary || step.SessionID != sid {
		t.Fatalf("a replica behind the token: %+v, %v; want NextLoadPrimary", step, err)
	}
	step, err = s.Finish(step, db[sid], true)
	if err != nil || step.Next != NextSave || step.Outcome.Rule != "fresh" || step.Outcome.Counter != 3 {
		t.Fatalf("from the primary: %v %v, %v", step.Next, step.Outcome, err)
	}
	db[sid] = step.Record
	tok3 := step.Outcome.Token

	// Outages never log anyone out.
	step, _ = s.Begin(req(tok3, t0+4000))
	for _, conflict := range []bool{true, false} {
		o, err := s.StoreFailed(step, conflict)
		want := map[bool]string{true: "busy", false: "store_unavailable"}[conflict]
		if err != nil || o.Proceed || o.ClearCookie || o.Rule != want {
			t.Errorf("StoreFailed(conflict %t) = %v, %v; want %s without clearing", conflict, o, err, want)
		}
	}

	// Bytes of the wrong length are the caller's bug (an error), not the end of the session.
	step, _ = s.Begin(req(tok3, t0+4000))
	if _, err := s.Finish(step, []byte("not a record"), false); !errors.Is(err, ErrRecordWrongLength) {
		t.Errorf("a record of the wrong length: %v, want ErrRecordWrongLength", err)
	}
	// A damaged record (checksum) ends the session.
	damaged := append([]byte(nil), db[sid]...)
	damaged[100] ^= 0x40
	step, _ = s.Begin(req(tok3, t0+4000))
	step, err = s.Finish(step, damaged, false)
	if err != nil || step.Outcome.Rule != "unknown_session" || !step.Outcome.ClearCookie {
		t.Errorf("a damaged record: %v, %v", step.Outcome, err)
	}

	// Logging in again from this session retires it.
	sid2 := [16]byte{0xbb, 2}
	plan2, err := s.PlanLogin(LoginRequest{Cookie: tok3, Subject: [16]byte{15: 7}, NowMs: t0 + 5000, UserAgent: testUA, IP: testIP, NewSessionID: sid2})
	// Retired, not linked: only an anonymous session becomes a parent.
	if err != nil || !plan2.HasRetire || plan2.Retire != sid || plan2.Outcome.HasParent {
		t.Fatalf("PlanLogin over a session: %+v, %v", plan2, err)
	}
	db[sid2] = plan2.Record
	revoked, changed, err := s.RevokeRecord(db[sid], RevokeUpgradedAtLogin, t0+5000)
	if err != nil || !changed {
		t.Fatalf("RevokeRecord: %v, %v", changed, err)
	}
	if r, _ := DecodeRecord(revoked); r.Revoked != RevokeUpgradedAtLogin || r.RevokedAt != t0+5000 {
		t.Errorf("revoked record: %+v", r)
	}
	db[sid] = revoked
	if _, changed, err := s.RevokeRecord(db[sid], RevokeAdmin, t0+6000); err != nil || changed {
		t.Errorf("revoking twice: changed %t, %v", changed, err)
	}
	if o := drive(t, s, db, req(tok3, t0+6000)); o.Rule != "revoked" || o.RevokeReason() != RevokeUpgradedAtLogin || !o.ClearCookie {
		t.Errorf("the retired session's token: %v (reason %v)", o, o.RevokeReason())
	}

	// Logout of the new session.
	target, found, err := s.LogoutTarget(plan2.Outcome.Token, t0+7000)
	if err != nil || !found || target != sid2 {
		t.Fatalf("LogoutTarget = %x, %t, %v", target, found, err)
	}
	db[sid2], _, _ = s.RevokeRecord(db[sid2], RevokeLogout, t0+7000)
	if o := drive(t, s, db, req(plan2.Outcome.Token, t0+8000)); o.Rule != "revoked" || o.RevokeReason() != RevokeLogout {
		t.Errorf("after logout: %v", o)
	}
	if _, found, err := s.LogoutTarget("garbage", t0); err != nil || found {
		t.Errorf("LogoutTarget(garbage) = %t, %v", found, err)
	}
}

func TestMemoryStore(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	subject := [16]byte{15: 9}
	var tokens []string
	for i := 0; i < 3; i++ {
		o, err := s.Login(LoginRequest{Subject: subject, NowMs: t0, UserAgent: testUA, IP: testIP})
		if err != nil || o.Rule != "fresh" || !o.Authenticated || o.Subject != subject {
			t.Fatalf("Login: %v, %v", o, err)
		}
		rec, found, err := s.LoadRecord(o.SessionID)
		if err != nil || !found {
			t.Fatalf("LoadRecord: %t, %v", found, err)
		}
		if r, err := DecodeRecord(rec); err != nil || r.Subject != subject || r.Counter != 0 {
			t.Errorf("stored record: %+v, %v", r, err)
		}
		tokens = append(tokens, o.Token)
	}
	logID, found, err := s.Logout(tokens[0], t0+1000)
	if err != nil || !found || len(logID) != 16 {
		t.Errorf("Logout = %q, %t, %v", logID, found, err)
	}
	if _, found, _ := s.Logout(tokens[0], t0+1000); found {
		t.Errorf("a second logout found an active session")
	}
	if n, err := s.RevokeAll(subject, t0+2000); err != nil || n != 2 {
		t.Errorf("RevokeAll = %d, %v; want 2", n, err)
	}
	o, err := s.Handle(Request{Cookie: tokens[1], NowMs: t0 + 3000, UserAgent: testUA, IP: testIP})
	if err != nil || o.Proceed || o.Rule != "revoked" || o.RevokeReason() != RevokeAdmin {
		t.Errorf("a token after RevokeAll: %v, %v", o, err)
	}
	if _, found, err := s.LoadRecord([16]byte{0xee}); err != nil || found {
		t.Errorf("LoadRecord of an unknown id: %t, %v", found, err)
	}
}

// Handles that are never closed are freed by their finalizers; closing after a collection
// is still safe.
func TestFinalizers(t *testing.T) {
	kept, _ := NewKeyring([]Key{{ID: 1, Secret: testSecret(1)}}, 1)
	for i := 0; i < 200; i++ {
		k, err := NewKeyring([]Key{{ID: 1, Secret: testSecret(byte(i))}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSessions(k, DefaultPolicy())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Handle(Request{NowMs: t0, UserAgent: testUA}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	if _, err := kept.MintCompact(1, [16]byte{1}, 1); err != nil {
		t.Errorf("a live keyring after collections: %v", err)
	}
	kept.Close()
}

// Two applications sharing secrets but not the audience refuse each other's tokens.
func TestKeyringAudience(t *testing.T) {
	keys := []Key{{ID: 1, Secret: testSecret(7)}}
	ring := func(aud string) *Keyring {
		k, err := NewKeyringForAudience(keys, 1, []byte(aud))
		if err != nil {
			t.Fatalf("NewKeyringForAudience(%q): %v", aud, err)
		}
		t.Cleanup(func() { k.Close() })
		return k
	}
	billing, blog, none := ring("billing.example"), ring("blog.example"), ring("")
	plain := testKeyring(t)
	sid := [SessionIDLen]byte{3}
	tok, err := billing.MintCompact(1, sid, 9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := billing.VerifyToken(tok, 9); err != nil {
		t.Errorf("own audience: %v", err)
	}
	for name, k := range map[string]*Keyring{"blog": blog, "plain": plain} {
		if _, err := k.VerifyToken(tok, 9); !errors.Is(err, ErrTokenBadTag) {
			t.Errorf("%s accepted billing's token: %v", name, err)
		}
	}
	plainTok, err := plain.MintCompact(1, sid, 9)
	if err != nil {
		t.Fatal(err)
	}
	noneTok, err := none.MintCompact(1, sid, 9)
	if err != nil || noneTok != plainTok || noneTok == tok {
		t.Errorf("the empty audience is not the plain keyring: %s vs %s (%v)", noneTok, plainTok, err)
	}
	if _, err := NewKeyringForAudience(keys, 1, bytes.Repeat([]byte("a"), MaxAudienceLen+1)); !errors.Is(err, ErrKeyAudienceTooLong) {
		t.Errorf("a too long audience: %v", err)
	}
	ring(strings.Repeat("a", MaxAudienceLen))
}
