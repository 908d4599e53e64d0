package rolltoken_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	rolltoken "rolltoken.example/go"
)

// readmeExample holds the Go example of the repository README, line for line between the
// markers: this file compiles it, and TestReadmeExample checks that README.md and
// example_test.go show the same lines.
func readmeExample(secret []byte) error {
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

// snippet is the text between the markers of a Go source file, without its indentation.
func snippet(t *testing.T, path string) string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	begin := strings.Index(text, "// README BEGIN\n")
	end := strings.Index(text, "// README END")
	if begin < 0 || end < begin {
		t.Fatalf("%s has no README BEGIN/END markers", path)
	}
	// The markers' own indentation is the snippet's left margin.
	indent := text[strings.LastIndex(text[:begin], "\n")+1 : begin]
	var lines []string
	for _, line := range strings.Split(text[begin+len("// README BEGIN\n"):end], "\n") {
		lines = append(lines, strings.TrimPrefix(line, indent))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

func TestReadmeExample(t *testing.T) {
	want := snippet(t, "readme_example_test.go")
	if got := snippet(t, "example_test.go"); got != want {
		t.Errorf("example_test.go and readme_example_test.go show different examples:\n%s\n---\n%s", got, want)
	}
	if err := readmeExample(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Errorf("the README example fails: %v", err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "```go\n")
	if i < 0 {
		t.Skip("README.md has no ```go example yet")
	}
	body := text[i+len("```go\n"):]
	body = body[:strings.Index(body, "```")]
	if strings.TrimSpace(body) != want {
		t.Errorf("README.md's Go example differs from readme_example_test.go:\n%s\n--- want ---\n%s", body, want)
	}
}
