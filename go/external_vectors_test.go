package rolltoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// Vectors rolltoken did not write (../vectors/hmac-sha256-external.json, see
// ../vectors/README.md): RFC 4231 and Project Wycheproof's HMAC-SHA256 cases through
// HMACSHA256, the keyring's own HMAC, with each case's 32-byte keyringKey (the key with the
// same HMAC, RFC 2104 section 2). Then the bit-flip sweep over a valid full and a valid
// compact token through VerifyToken. `go test -v` shows the counts.

const externalVectorsPath = "../vectors/hmac-sha256-external.json"

type extHex []byte

func (h *extHex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

type extCase struct {
	TcID       int     `json:"tcId"`
	Source     string  `json:"source"`
	SourceID   int     `json:"sourceId"`
	KeySize    int     `json:"keySize"`
	TagSize    int     `json:"tagSize"`
	Key        extHex  `json:"key"`
	Msg        extHex  `json:"msg"`
	Tag        extHex  `json:"tag"`
	Result     string  `json:"result"`
	KeyringKey *extHex `json:"keyringKey"`
	KeyForm    string  `json:"keyForm"`
}

type extFile struct {
	NumberOfTests int `json:"numberOfTests"`
	Sources       map[string]struct {
		NumberOfTests int `json:"numberOfTests"`
	} `json:"sources"`
	TestGroups []struct {
		Tests []extCase `json:"tests"`
	} `json:"testGroups"`
}

func TestExternalHMACVectors(t *testing.T) {
	raw, err := os.ReadFile(externalVectorsPath)
	if err != nil {
		t.Fatalf("reading %s: %v", externalVectorsPath, err)
	}
	var file extFile
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parsing %s: %v", externalVectorsPath, err)
	}
	passed := map[string]int{} // "source result"
	forms := map[string]int{}
	total, skipped, truncated := 0, 0, 0
	for _, g := range file.TestGroups {
		for _, c := range g.Tests {
			total++
			where := fmt.Sprintf("tcId %d (%s %d)", c.TcID, c.Source, c.SourceID)
			valid := c.Result == "valid"
			if !valid && c.Result != "invalid" {
				t.Errorf("%s: result %q", where, c.Result)
				continue
			}
			if len(c.Key)*8 != c.KeySize || len(c.Tag)*8 != c.TagSize || len(c.Tag) == 0 || len(c.Tag) > 32 {
				t.Errorf("%s: sizes do not match", where)
				continue
			}
			// The file itself, checked with Go's own HMAC: the case's key as written, and the
			// derived 32-byte key gives the same function.
			ref := hmac.New(sha256.New, c.Key)
			ref.Write(c.Msg)
			want := ref.Sum(nil)
			if hmac.Equal(want[:len(c.Tag)], c.Tag) != valid {
				t.Errorf("%s: crypto/hmac disagrees with the file", where)
			}
			if c.KeyringKey == nil {
				// A key of 33 to 64 bytes has no 32-byte key with the same HMAC.
				if c.KeyForm != "none" {
					t.Errorf("%s: keyringKey null but keyForm %q", where, c.KeyForm)
				}
				skipped++
				t.Logf("skipped: %s (a %d-byte key has no 32-byte form)", where, len(c.Key))
				continue
			}
			if len(*c.KeyringKey) != KeyLen {
				t.Errorf("%s: keyringKey has %d bytes", where, len(*c.KeyringKey))
				continue
			}
			var key [KeyLen]byte
			copy(key[:], *c.KeyringKey)
			ref = hmac.New(sha256.New, key[:])
			ref.Write(c.Msg)
			if !hmac.Equal(ref.Sum(nil), want) {
				t.Errorf("%s: keyringKey (%s) is not an equivalent key", where, c.KeyForm)
			}

			// Through the library.
			got := HMACSHA256(key, c.Msg)
			if !hmac.Equal(got[:], want) {
				t.Errorf("%s: HMACSHA256 = %x, want %x", where, got, want)
				continue
			}
			if accepted := hmac.Equal(got[:len(c.Tag)], c.Tag); accepted != valid {
				t.Errorf("%s: accepted %v, want %v", where, accepted, valid)
				continue
			}
			if len(c.Tag) < 32 {
				truncated++
			}
			forms[c.KeyForm]++
			passed[c.Source+" "+c.Result]++
		}
	}
	rfc := passed["rfc4231 valid"] + passed["rfc4231 invalid"]
	wpValid, wpInvalid := passed["wycheproof valid"], passed["wycheproof invalid"]
	t.Logf("external vectors: %d passed, %d skipped (rfc4231 %d/%d, wycheproof %d/%d: %d valid accepted, "+
		"%d invalid rejected; %d with 128-bit tags)", rfc+wpValid+wpInvalid, skipped, rfc,
		file.Sources["rfc4231"].NumberOfTests, wpValid+wpInvalid, file.Sources["wycheproof"].NumberOfTests,
		wpValid, wpInvalid, truncated)
	t.Logf("external vectors: through HMACSHA256 with 32-byte keys: %d as-is, %d zero-padded, %d hashed "+
		"(RFC 2104 equivalent keys)", forms["as_is"], forms["zero_padded"], forms["hashed"])
	if total != file.NumberOfTests || skipped != 0 || rfc != file.Sources["rfc4231"].NumberOfTests ||
		wpValid+wpInvalid != file.Sources["wycheproof"].NumberOfTests || wpInvalid == 0 {
		t.Errorf("external vectors: ran %d of %d (%d skipped)", rfc+wpValid+wpInvalid, file.NumberOfTests, skipped)
	}
}

// The bit-flip sweep: the same inputs on every surface (keys 1 and 3, so that flipping bit 1
// of the key id names a key the ring holds; a full and a compact token of key 1).
func TestBitFlipSweep(t *testing.T) {
	var k1, k3 = make([]byte, KeyLen), make([]byte, KeyLen)
	for i := range k1 {
		k1[i], k3[i] = byte(i), byte(0x20+i)
	}
	k, err := NewKeyring([]Key{{ID: 1, Secret: k1}, {ID: 3, Secret: k3}}, 1)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	defer k.Close()
	const counter = 7
	var sid [SessionIDLen]byte
	for i := range sid {
		sid[i] = byte(0x10 + i)
	}
	claims := Claims{KeyID: 1, SessionID: sid, Counter: counter, IssuedAt: 1700000000000,
		ExpiresAt: 1700086400000, Binding: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, Authenticated: true}
	claims.Subject[15] = 42
	full, err := k.MintFull(claims)
	if err != nil {
		t.Fatalf("MintFull: %v", err)
	}
	compact, err := k.MintCompact(1, sid, counter)
	if err != nil {
		t.Fatalf("MintCompact: %v", err)
	}

	names := []struct {
		err  error
		name string
	}{
		{ErrTokenEmpty, "empty"}, {ErrTokenTooLong, "too_long"}, {ErrTokenWrongPrefix, "wrong_prefix"},
		{ErrTokenUnsupportedVersion, "unsupported_version"}, {ErrTokenWrongLength, "wrong_length"},
		{ErrTokenBadBase64, "bad_base64"}, {ErrTokenBadFlags, "bad_flags"},
		{ErrTokenUnknownKey, "unknown_key"}, {ErrTokenBadTag, "bad_tag"},
	}
	refusals := map[string]int{}
	flips, accepted := 0, 0
	try := func(what string, text []byte) {
		flips++
		_, err := k.VerifyToken(string(text), counter)
		if err == nil {
			accepted++
			t.Errorf("%s: flipped and accepted", what)
			return
		}
		for _, n := range names {
			if errors.Is(err, n.err) {
				refusals[n.name]++
				return
			}
		}
		t.Errorf("%s: refused with %v, not a token error", what, err)
	}
	for _, tok := range []struct{ name, text string }{{"full", full}, {"compact", compact}} {
		if _, err := k.VerifyToken(tok.text, counter); err != nil {
			t.Fatalf("the unmodified %s token: %v", tok.name, err)
		}
		text := []byte(tok.text)
		// 1. Every bit of the text.
		for i := range text {
			for bit := 0; bit < 8; bit++ {
				m := append([]byte(nil), text...)
				m[i] ^= 1 << bit
				try(fmt.Sprintf("%s: bit %d of text byte %d", tok.name, bit, i), m)
			}
		}
		// 2. Every bit of the decoded body, re-encoded canonically.
		body, err := base64.RawURLEncoding.DecodeString(tok.text[5:])
		if err != nil {
			t.Fatalf("decoding the %s body: %v", tok.name, err)
		}
		for i := range body {
			for bit := 0; bit < 8; bit++ {
				b := append([]byte(nil), body...)
				b[i] ^= 1 << bit
				m := tok.text[:5] + base64.RawURLEncoding.EncodeToString(b)
				try(fmt.Sprintf("%s: bit %d of body byte %d", tok.name, bit, i), []byte(m))
			}
		}
		t.Logf("bit-flip sweep: %s %d chars: %d text flips, %d body bytes: %d body flips",
			tok.name, len(text), len(text)*8, len(body), len(body)*8)
	}
	refused := 0
	var parts []string
	for name, n := range refusals {
		refused += n
		parts = append(parts, fmt.Sprintf("%s %d", name, n))
	}
	sort.Strings(parts)
	t.Logf("bit-flip sweep: %d flips, %d refused, %d accepted", flips, refused, accepted)
	t.Logf("bit-flip sweep refusals: %s", strings.Join(parts, ", "))
	if accepted != 0 || refused != flips || flips != (115+49)*8+(82+33)*8 {
		t.Errorf("bit-flip sweep: %d flips, %d refused, %d accepted", flips, refused, accepted)
	}
}
