package rolltoken_test

import (
	"bytes"
	"fmt"

	rolltoken "rolltoken.example/go"
)

// A session is logged in, and its first page load rolls the token (the README example).
func Example() {
	secret := bytes.Repeat([]byte{7}, 32) // in real life: 32 bytes from crypto/rand, kept secret
	run := func() error {
		// README BEGIN
		keys, err := rolltoken.NewKeyring([]rolltoken.Key{{ID: 1, Secret: secret}}, 1) // secret: 32 bytes from crypto/rand
		if err != nil {
			return err
		}
		sessions, err := rolltoken.NewSessions(keys, rolltoken.DefaultPolicy()) // one per process, safe for concurrent use
		if err != nil {
			return err
		}
		login, err := sessions.Login(rolltoken.LoginRequest{Subject: [16]byte{15: 42}, UserAgent: "Mozilla/5.0", IP: "198.51.100.23"})
		if err != nil {
			return err
		}
		page, err := sessions.Handle(rolltoken.Request{Cookie: login.Token, Kind: rolltoken.KindAdvance, UserAgent: "Mozilla/5.0", IP: "198.51.100.23"})
		if err == nil && page.Proceed && page.Token != "" {
			fmt.Printf("%s at counter %d: set the cookie to the rolled token\n", page.Rule, page.Counter)
		}
		return err
		// README END
	}
	if err := run(); err != nil {
		fmt.Println(err)
	}
	// Output: fresh at counter 1: set the cookie to the rolled token
}

// Handling requests in an HTTP server: find the cookie, decide, set or clear the cookie.
func ExampleSessions_Handle() {
	keys, _ := rolltoken.NewKeyring([]rolltoken.Key{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}}, 1)
	defer keys.Close()
	sessions, _ := rolltoken.NewSessions(keys, rolltoken.DefaultPolicy())
	defer sessions.Close()
	cfg := rolltoken.DefaultCookieConfig()

	// A first visit: no cookie, so an anonymous session starts.
	header := "theme=dark"
	cookie, _, err := rolltoken.FindCookie(header, cfg)
	if err != nil {
		fmt.Println("refuse:", err) // e.g. ErrCookieDuplicate
		return
	}
	out, err := sessions.Handle(rolltoken.Request{Cookie: cookie, Kind: rolltoken.KindAdvance, UserAgent: "Mozilla/5.0", IP: "203.0.113.9"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	if out.Token != "" {
		setCookie, _ := rolltoken.SetCookie(cfg, out.Token, out.MaxAgeSecs)
		fmt.Println("Set-Cookie:", setCookie[:len(cfg.Name)+1]+"...")
	}
	if out.ClearCookie {
		clear, _ := rolltoken.ClearCookie(cfg)
		fmt.Println("Set-Cookie:", clear)
	}
	fmt.Println("proceed:", out.Proceed, "rule:", out.Rule)
	// Output:
	// Set-Cookie: __Host-rolltoken=...
	// proceed: true rule: new_anonymous
}
