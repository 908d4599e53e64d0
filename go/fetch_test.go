package rolltoken

import "testing"

func TestRequestKind(t *testing.T) {
	cases := []struct {
		h    FetchHeaders
		want Kind
	}{
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecFetchSite: "same-origin"}, KindAdvance},
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecFetchSite: "cross-site"}, KindRead},
		{FetchHeaders{Method: "GET", SecFetchMode: "navigate", SecPurpose: "prefetch"}, KindRead},
		{FetchHeaders{Method: "GET", SecFetchMode: "cors", Accept: "text/html"}, KindRead},
		{FetchHeaders{Method: "GET", Accept: "text/html,application/xhtml+xml"}, KindAdvance},
		{FetchHeaders{Method: "GET", Accept: "*/*"}, KindRead},
		{FetchHeaders{Method: "POST", Accept: "text/html"}, KindRead},
	}
	for _, c := range cases {
		if got := RequestKind(c.h); got != c.want {
			t.Errorf("RequestKind(%+v) = %v, want %v", c.h, got, c.want)
		}
	}
}

func TestDenyReachesTheCache(t *testing.T) {
	k, err := NewKeyring([]Key{{ID: 1, Secret: make([]byte, KeyLen)}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSessions(k, CachedPolicy())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const t0 = 1_700_000_000_000
	login, err := s.Login(LoginRequest{Subject: [16]byte{15: 9}, NowMs: t0, UserAgent: "ua", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Cookie: login.Token, Kind: KindRead, NowMs: t0 + 1000, UserAgent: "ua", IP: "192.0.2.1"}
	if o, err := s.Handle(req); err != nil || o.Rule != "cached" {
		t.Fatalf("before the deny: %v, %v; want cached", o, err)
	}
	// Another process revoked it and published the id: this process stops trusting its cache
	// and asks its (own, here still active) store.
	if err := s.Deny(login.SessionID, t0+2_000_000, t0+1500); err != nil {
		t.Fatal(err)
	}
	req.NowMs = t0 + 2000
	if o, err := s.Handle(req); err != nil || o.Rule == "cached" {
		t.Fatalf("after the deny: %v, %v; want the store path", o, err)
	}
}
