package rolltoken

import (
	"errors"
	"sync"
	"testing"
)

// Many goroutines hammer one session through one *Sessions: each round, every goroutine
// presents the same current token as a page load while readers make API calls with it.
// The chain must never fork: exactly one "fresh" winner per round, every other advance is a
// grace answer carrying the same successor, nobody is refused, and after R rounds the stored
// counter is R. Run it with -race.
func TestConcurrentAdvanceNeverForks(t *testing.T) {
	const (
		advancers = 32
		readers   = 8
		rounds    = 500
	)
	k := testKeyring(t)
	p := DefaultPolicy()
	p.AnswerCap = 2 * advancers // room for every loser's grace answer in one step
	s := testSessions(t, k, p)
	login, err := s.Login(LoginRequest{Subject: [16]byte{15: 1}, NowMs: t0, UserAgent: testUA, IP: testIP})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	token := login.Token
	sid := login.SessionID

	for round := 1; round <= rounds; round++ {
		now := t0 + uint64(round)*50
		start := make(chan struct{})
		advances := make([]Outcome, advancers)
		reads := make([]Outcome, readers)
		errs := make([]error, advancers+readers)
		var wg sync.WaitGroup
		for g := 0; g < advancers+readers; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				<-start
				req := Request{Cookie: token, Kind: KindAdvance, NowMs: now, UserAgent: testUA, IP: testIP}
				if g >= advancers {
					req.Kind = KindRead
					reads[g-advancers], errs[g] = s.Handle(req)
					return
				}
				advances[g], errs[g] = s.Handle(req)
			}(g)
		}
		close(start)
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("round %d goroutine %d: %v", round, g, err)
			}
		}
		winners := 0
		var successor string
		for _, o := range advances {
			if o.Rule == "fresh" {
				winners++
				successor = o.Token
			}
		}
		if winners != 1 || successor == "" {
			t.Fatalf("round %d: %d fresh winners, want exactly 1", round, winners)
		}
		for g, o := range advances {
			if !o.Proceed || o.Counter != uint64(round) || o.Token != successor {
				t.Fatalf("round %d advancer %d: %v; want the successor at counter %d", round, g, o, round)
			}
			if o.Rule != "fresh" && (o.Rule != "concurrent_in_grace" || o.Steps != 1) {
				t.Fatalf("round %d advancer %d: rule %s (steps %d), want concurrent_in_grace 1 behind", round, g, o.Rule, o.Steps)
			}
		}
		for g, o := range reads {
			if !o.Proceed || (o.Rule != "current" && o.Rule != "concurrent_in_grace") || (o.Token != "" && o.Token != successor) {
				t.Fatalf("round %d reader %d: %v", round, g, o)
			}
		}
		if _, err := k.VerifyToken(successor, uint64(round)); err != nil {
			t.Fatalf("round %d: the successor does not verify at counter %d: %v", round, round, err)
		}
		token = successor
	}

	raw, found, err := s.LoadRecord(sid)
	if err != nil || !found {
		t.Fatalf("LoadRecord: %t, %v", found, err)
	}
	rec, err := DecodeRecord(raw)
	if err != nil {
		t.Fatalf("DecodeRecord: %v", err)
	}
	if rec.Counter != rounds || rec.Revoked != 0 {
		t.Fatalf("after %d rounds the record is at counter %d (revoked %v)", rounds, rec.Counter, rec.Revoked)
	}
	t.Logf("%d advancers + %d readers x %d rounds: one winner per round, counter %d", advancers, readers, rounds, rec.Counter)
}

// Many goroutines use their own sessions, the shared keyring and the cookie helpers at once,
// while one goroutine closes a second *Sessions under them: no crash, only ErrClosed.
func TestConcurrentUseAndClose(t *testing.T) {
	k := testKeyring(t)
	s := testSessions(t, k, DefaultPolicy())
	doomed := testSessions(t, k, DefaultPolicy())
	cfg := DefaultCookieConfig()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			o, err := s.Login(LoginRequest{Subject: [16]byte{15: byte(g + 1)}, NowMs: t0, UserAgent: testUA, IP: testIP})
			if err != nil {
				errs <- err
				return
			}
			tok := o.Token
			for i := 1; i <= 50; i++ {
				header := "a=b; " + cfg.Name + "=" + tok
				cookie, _, err := FindCookie(header, cfg)
				if err != nil {
					errs <- err
					return
				}
				o, err = s.Handle(Request{Cookie: cookie, NowMs: t0 + uint64(i)*100, UserAgent: testUA, IP: testIP})
				if err != nil || o.Rule != "fresh" {
					errs <- errors.New("a lone session's page load was not fresh: " + o.String())
					return
				}
				if _, err := SetCookie(cfg, o.Token, o.MaxAgeSecs); err != nil {
					errs <- err
					return
				}
				tok = o.Token
				if _, err := doomed.Handle(Request{NowMs: t0, UserAgent: testUA}); err != nil && !errors.Is(err, ErrClosed) {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		doomed.Close()
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
