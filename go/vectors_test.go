package rolltoken

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The golden vectors (../vectors/rolltoken-v1.json, schema in ../vectors/README.md), checked
// byte for byte through this package's API.

const vectorsPath = "../vectors/rolltoken-v1.json"

// u64 is a u64 written as a decimal string.
type u64 uint64

func (v *u64) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("u64 must be a decimal string: %s", b)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	*v = u64(n)
	return err
}

// hexBytes is bytes written as lowercase hex.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

func (h hexBytes) id16(t *testing.T) (a [16]byte) {
	t.Helper()
	if len(h) != 16 {
		t.Fatalf("want 16 bytes, have %d", len(h))
	}
	copy(a[:], h)
	return a
}

func (h hexBytes) b8(t *testing.T) (a [8]byte) {
	t.Helper()
	if len(h) != 8 {
		t.Fatalf("want 8 bytes, have %d", len(h))
	}
	copy(a[:], h)
	return a
}

type vKeyring struct {
	Keys []struct {
		ID     uint8    `json:"id"`
		Secret hexBytes `json:"secret"`
	} `json:"keys"`
	MintingID uint8 `json:"minting_id"`
}

type vPolicy struct {
	Mode      string `json:"mode"`
	Form      string `json:"form"`
	Anonymous bool   `json:"anonymous"`
	Grace     struct {
		Kind  string `json:"kind"`
		Ms    uint32 `json:"ms"`
		MinMs uint32 `json:"min_ms"`
		MaxMs uint32 `json:"max_ms"`
	} `json:"grace"`
	SpanCap             uint8  `json:"span_cap"`
	AnswerCap           uint8  `json:"answer_cap"`
	ReissueOneBehind    bool   `json:"reissue_one_behind"`
	JarBehindMs         u64    `json:"jar_behind_ms"`
	Binding             string `json:"binding"`
	FreshMs             u64    `json:"fresh_ms"`
	SessionLifetimeMs   u64    `json:"session_lifetime_ms"`
	IdleTimeoutMs       u64    `json:"idle_timeout_ms"`
	AnonymousLifetimeMs u64    `json:"anonymous_lifetime_ms"`
}

type vFields struct {
	SessionID     hexBytes  `json:"session_id"`
	Parent        *hexBytes `json:"parent"`
	Subject       hexBytes  `json:"subject"`
	State         string    `json:"state"`
	RevokeReason  *string   `json:"revoke_reason"`
	Authenticated bool      `json:"authenticated"`
	Form          string    `json:"form"`
	Counter       u64       `json:"counter"`
	Floor         u64       `json:"floor"`
	Version       u64       `json:"version"`
	CreatedAt     u64       `json:"created_at"`
	ExpiresAt     u64       `json:"expires_at"`
	LastAdvanceAt u64       `json:"last_advance_at"`
	GraceUntil    u64       `json:"grace_until"`
	LastSeenAt    u64       `json:"last_seen_at"`
	GraceAnswers  uint8     `json:"grace_answers"`
	Confirmed     bool      `json:"confirmed"`
	LatenessMs    uint32    `json:"lateness_ms"`
	Binding       hexBytes  `json:"binding"`
	BindingKeyID  uint8     `json:"binding_key_id"`
	RevokedAt     u64       `json:"revoked_at"`
}

type vClaims struct {
	KeyID         uint8    `json:"key_id"`
	SessionID     hexBytes `json:"session_id"`
	Counter       u64      `json:"counter"`
	IssuedAt      u64      `json:"issued_at"`
	ExpiresAt     u64      `json:"expires_at"`
	Subject       hexBytes `json:"subject"`
	Binding       hexBytes `json:"binding"`
	Authenticated bool     `json:"authenticated"`
}

type vCase struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
}

type vBinding struct {
	UserAgent bool `json:"user_agent"`
	IP        bool `json:"ip"`
}

type vView struct {
	SessionID     hexBytes  `json:"session_id"`
	LogID         string    `json:"log_id"`
	Subject       hexBytes  `json:"subject"`
	Authenticated bool      `json:"authenticated"`
	Counter       u64       `json:"counter"`
	Parent        *hexBytes `json:"parent"`
	ExpiresAt     u64       `json:"expires_at"`
}

type vExpect struct {
	Outcome     string                 `json:"outcome"`
	Verdict     string                 `json:"verdict"`
	Details     map[string]interface{} `json:"details"`
	Binding     vBinding               `json:"binding"`
	ClearCookie bool                   `json:"clear_cookie"`
	TokenOut    *string                `json:"token_out"`
	RecordOut   *hexBytes              `json:"record_out"`
	View        *vView                 `json:"view"`
	Event       *struct {
		LogID *string `json:"log_id"`
		AtMs  u64     `json:"at_ms"`
	} `json:"event"`
	Error *string `json:"error"`
	LogID *string `json:"log_id"`
	Count *int    `json:"count"`
}

type vFile struct {
	NumberOfTests int `json:"numberOfTests"`
	Keys          struct {
		TestGroups []struct {
			Type string `json:"type"`
			Key  struct {
				ID     uint8    `json:"id"`
				Secret hexBytes `json:"secret"`
			} `json:"key"`
			Tests []struct {
				vCase
				SessionID hexBytes `json:"session_id"`
				Counter   u64      `json:"counter"`
				Tag       hexBytes `json:"tag"`
				Token     string   `json:"token"`
				UserAgent string   `json:"user_agent"`
				IP        *string  `json:"ip"`
				Binding   hexBytes `json:"binding"`
				LogID     string   `json:"log_id"`
			} `json:"tests"`
		} `json:"testGroups"`
	} `json:"keys"`
	Tokens struct {
		TestGroups []struct {
			Type    string   `json:"type"`
			Keyring vKeyring `json:"keyring"`
			Tests   []struct {
				vCase
				Claims    vClaims  `json:"claims"`
				KeyID     uint8    `json:"key_id"`
				SessionID hexBytes `json:"session_id"`
				Counter   *u64     `json:"counter"`
				Token     string   `json:"token"`
				Error     string   `json:"error"`
			} `json:"tests"`
		} `json:"testGroups"`
	} `json:"tokens"`
	Records struct {
		TestGroups []struct {
			Type  string `json:"type"`
			Tests []struct {
				vCase
				Fields  vFields  `json:"fields"`
				Decoded *vFields `json:"decoded"`
				Hex     hexBytes `json:"hex"`
				Error   string   `json:"error"`
			} `json:"tests"`
		} `json:"testGroups"`
	} `json:"records"`
	Sequences []struct {
		vCase
		Keyring       vKeyring `json:"keyring"`
		Policy        vPolicy  `json:"policy"`
		InitialRecord struct {
			Fields vFields  `json:"fields"`
			Hex    hexBytes `json:"hex"`
		} `json:"initial_record"`
		Steps []struct {
			Comment   string  `json:"comment"`
			Kind      string  `json:"kind"`
			Token     string  `json:"token"`
			NowMs     u64     `json:"now_ms"`
			UserAgent string  `json:"user_agent"`
			IP        *string `json:"ip"`
			Expect    vExpect `json:"expect"`
		} `json:"steps"`
	} `json:"sequences"`
	Sessions []struct {
		vCase
		Keyring vKeyring `json:"keyring"`
		Policy  vPolicy  `json:"policy"`
		Steps   []struct {
			Op           string    `json:"op"`
			Comment      string    `json:"comment"`
			Cookie       *string   `json:"cookie"`
			Kind         string    `json:"kind"`
			NowMs        u64       `json:"now_ms"`
			UserAgent    string    `json:"user_agent"`
			IP           *string   `json:"ip"`
			NewSessionID *hexBytes `json:"new_session_id"`
			Subject      *hexBytes `json:"subject"`
			Expect       vExpect   `json:"expect"`
		} `json:"steps"`
	} `json:"sessions"`
}

var tokenErrors = map[string]error{
	"empty":               ErrTokenEmpty,
	"too_long":            ErrTokenTooLong,
	"wrong_prefix":        ErrTokenWrongPrefix,
	"unsupported_version": ErrTokenUnsupportedVersion,
	"wrong_length":        ErrTokenWrongLength,
	"bad_base64":          ErrTokenBadBase64,
	"bad_flags":           ErrTokenBadFlags,
	"unknown_key":         ErrTokenUnknownKey,
	"bad_tag":             ErrTokenBadTag,
}

var recordErrors = map[string]error{
	"wrong_length":        ErrRecordWrongLength,
	"foreign":             ErrRecordForeign,
	"unsupported_version": ErrRecordUnsupportedVersion,
	"corrupt":             ErrRecordCorrupt,
	"invalid":             ErrRecordInvalid,
}

func errorName(names map[string]error, err error) string {
	for name, e := range names {
		if errors.Is(err, e) {
			return name
		}
	}
	return fmt.Sprintf("<%v>", err)
}

func loadVectors(t *testing.T) *vFile {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("reading the golden vectors: %v", err)
	}
	var f vFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parsing %s: %v", vectorsPath, err)
	}
	return &f
}

func (k vKeyring) open(t *testing.T) *Keyring {
	t.Helper()
	keys := make([]Key, len(k.Keys))
	for i, key := range k.Keys {
		keys[i] = Key{ID: key.ID, Secret: key.Secret}
	}
	ring, err := NewKeyring(keys, k.MintingID)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	t.Cleanup(func() { ring.Close() })
	return ring
}

func (p vPolicy) policy(t *testing.T) Policy {
	t.Helper()
	out := DefaultPolicy()
	switch p.Mode {
	case "strict":
		out.Mode = ModeStrict
	case "cached":
		out.Mode = ModeCached
	default:
		t.Fatalf("mode %q", p.Mode)
	}
	out.Form = parseForm(t, p.Form)
	out.Anonymous = p.Anonymous
	switch p.Grace.Kind {
	case "fixed":
		out.GraceKind, out.GraceMs, out.GraceMinMs, out.GraceMaxMs = GraceFixed, p.Grace.Ms, 0, 0
	case "adaptive":
		out.GraceKind, out.GraceMs, out.GraceMinMs, out.GraceMaxMs = GraceAdaptive, 0, p.Grace.MinMs, p.Grace.MaxMs
	default:
		t.Fatalf("grace kind %q", p.Grace.Kind)
	}
	out.SpanCap = p.SpanCap
	out.AnswerCap = p.AnswerCap
	out.ReissueOneBehind = p.ReissueOneBehind
	out.JarBehindMs = uint64(p.JarBehindMs)
	switch p.Binding {
	case "evidence":
		out.Binding = BindingEvidence
	case "require_user_agent":
		out.Binding = BindingRequireUserAgent
	case "require_full":
		out.Binding = BindingRequireFull
	default:
		t.Fatalf("binding policy %q", p.Binding)
	}
	out.FreshMs = uint64(p.FreshMs)
	out.SessionLifetimeMs = uint64(p.SessionLifetimeMs)
	out.IdleTimeoutMs = uint64(p.IdleTimeoutMs)
	out.AnonymousLifetimeMs = uint64(p.AnonymousLifetimeMs)
	return out
}

func parseForm(t *testing.T, s string) Form {
	t.Helper()
	switch s {
	case "full":
		return FormFull
	case "compact":
		return FormCompact
	}
	t.Fatalf("form %q", s)
	return 0
}

func parseKind(t *testing.T, s string) Kind {
	t.Helper()
	switch s {
	case "advance":
		return KindAdvance
	case "read":
		return KindRead
	}
	t.Fatalf("kind %q", s)
	return 0
}

func (f vFields) record(t *testing.T) Record {
	t.Helper()
	r := Record{
		SessionID:     f.SessionID.id16(t),
		Subject:       f.Subject.id16(t),
		Authenticated: f.Authenticated,
		Form:          parseForm(t, f.Form),
		Counter:       uint64(f.Counter),
		Floor:         uint64(f.Floor),
		Version:       uint64(f.Version),
		CreatedAt:     uint64(f.CreatedAt),
		ExpiresAt:     uint64(f.ExpiresAt),
		LastAdvanceAt: uint64(f.LastAdvanceAt),
		GraceUntil:    uint64(f.GraceUntil),
		LastSeenAt:    uint64(f.LastSeenAt),
		GraceAnswers:  f.GraceAnswers,
		Confirmed:     f.Confirmed,
		LatenessMs:    f.LatenessMs,
		Binding:       f.Binding.b8(t),
		BindingKeyID:  f.BindingKeyID,
		RevokedAt:     uint64(f.RevokedAt),
	}
	if f.Parent != nil {
		r.HasParent = true
		r.Parent = f.Parent.id16(t)
	}
	switch f.State {
	case "active":
		if f.RevokeReason != nil {
			t.Fatalf("active record with a revoke reason")
		}
	case "revoked":
		if f.RevokeReason == nil {
			t.Fatalf("revoked record without a reason")
		}
		r.Revoked = revokeReasonByName(t, *f.RevokeReason)
	default:
		t.Fatalf("state %q", f.State)
	}
	return r
}

func revokeReasonByName(t *testing.T, name string) RevokeReason {
	t.Helper()
	for _, r := range []RevokeReason{RevokeLogout, RevokeReuse, RevokeUpgradedAtLogin, RevokeAdmin} {
		if r.String() == name {
			return r
		}
	}
	t.Fatalf("revoke reason %q", name)
	return 0
}

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// details is the verdict's fields as the vectors write them.
func details(o Outcome) map[string]interface{} {
	dec := func(v uint64) interface{} { return strconv.FormatUint(v, 10) }
	d := map[string]interface{}{}
	switch o.Rule {
	case "concurrent_in_grace":
		d["behind"] = dec(o.Steps)
	case "store_behind":
		d["ahead"] = dec(o.Steps)
	case "reuse":
		d["presented"] = nil
		if o.HasPresented {
			d["presented"] = dec(o.Presented)
		}
		d["current"] = dec(o.Current)
	case "revoked":
		d["reason"] = o.RevokeReason().String()
	case "malformed":
		d["reason"] = errorName(tokenErrors, o.TokenError())
	case "expired":
		d["expiry"] = o.Expiry().String()
	}
	return d
}

// checkVerdict compares what every engine and façade answer has.
func checkVerdict(t *testing.T, where string, o Outcome, e *vExpect) {
	t.Helper()
	if o.Rule != e.Verdict {
		t.Errorf("%s: verdict %q, want %q", where, o.Rule, e.Verdict)
	}
	if RuleName(o.RuleCode) != o.Rule {
		t.Errorf("%s: RuleName(%d) = %q, outcome says %q", where, o.RuleCode, RuleName(o.RuleCode), o.Rule)
	}
	want := e.Details
	if want == nil {
		want = map[string]interface{}{}
	}
	if got := details(o); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: details %v, want %v", where, got, want)
	}
	if o.BindingUserAgent != e.Binding.UserAgent || o.BindingIP != e.Binding.IP {
		t.Errorf("%s: binding {user_agent %t, ip %t}, want {%t, %t}", where,
			o.BindingUserAgent, o.BindingIP, e.Binding.UserAgent, e.Binding.IP)
	}
	if o.ClearCookie != e.ClearCookie {
		t.Errorf("%s: clear_cookie %t, want %t", where, o.ClearCookie, e.ClearCookie)
	}
	if o.Token != strOr(e.TokenOut) {
		t.Errorf("%s: token_out %q, want %q", where, o.Token, strOr(e.TokenOut))
	}
}

// vectorCounts tallies what TestVectors checked, for the report at its end.
type vectorCounts struct {
	keys, tokens, records, sequences, steps, sessions, sessionSteps int
	tcIDs                                                           map[int]bool
}

func (c *vectorCounts) seen(t *testing.T, id int) {
	t.Helper()
	if c.tcIDs[id] {
		t.Errorf("tcId %d appears twice", id)
	}
	c.tcIDs[id] = true
}

func TestVectors(t *testing.T) {
	f := loadVectors(t)
	c := &vectorCounts{tcIDs: map[int]bool{}}
	t.Run("keys", func(t *testing.T) { checkKeys(t, f, c) })
	t.Run("tokens", func(t *testing.T) { checkTokens(t, f, c) })
	t.Run("records", func(t *testing.T) { checkRecords(t, f, c) })
	t.Run("sequences", func(t *testing.T) { checkSequences(t, f, c) })
	t.Run("sessions", func(t *testing.T) { checkSessions(t, f, c) })
	if len(c.tcIDs) != f.NumberOfTests {
		t.Errorf("checked %d test cases, the file has numberOfTests %d", len(c.tcIDs), f.NumberOfTests)
	}
	t.Logf("vectors: keys %d, tokens %d, records %d, sequences %d (%d steps), sessions %d (%d steps); %d of %d tcIds",
		c.keys, c.tokens, c.records, c.sequences, c.steps, c.sessions, c.sessionSteps, len(c.tcIDs), f.NumberOfTests)
}

func checkKeys(t *testing.T, f *vFile, c *vectorCounts) {
	for _, g := range f.Keys.TestGroups {
		var ring *Keyring
		if g.Type != "log_id" {
			ring = vKeyring{Keys: []struct {
				ID     uint8    `json:"id"`
				Secret hexBytes `json:"secret"`
			}{{ID: g.Key.ID, Secret: g.Key.Secret}}, MintingID: g.Key.ID}.open(t)
		}
		for _, tc := range g.Tests {
			c.seen(t, tc.TcID)
			c.keys++
			where := fmt.Sprintf("tcId %d (%s, %s)", tc.TcID, g.Type, tc.Comment)
			switch g.Type {
			case "compact_tag":
				sid := tc.SessionID.id16(t)
				tok, err := ring.MintCompact(g.Key.ID, sid, uint64(tc.Counter))
				if err != nil || tok != tc.Token {
					t.Errorf("%s: MintCompact = %q, %v; want %q", where, tok, err, tc.Token)
					continue
				}
				body, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, "rtc1_"))
				if err != nil || len(body) != 33 {
					t.Errorf("%s: body does not decode to 33 bytes: %v", where, err)
					continue
				}
				if body[0] != g.Key.ID || string(body[1:17]) != string(sid[:]) || hex.EncodeToString(body[17:]) != hex.EncodeToString(tc.Tag) {
					t.Errorf("%s: body %x, want key %d, session %x, tag %x", where, body, g.Key.ID, sid, []byte(tc.Tag))
				}
			case "binding":
				b, err := ring.Binding(g.Key.ID, tc.UserAgent, strOr(tc.IP))
				if err != nil || hex.EncodeToString(b[:]) != hex.EncodeToString(tc.Binding) {
					t.Errorf("%s: Binding = %x, %v; want %x", where, b, err, []byte(tc.Binding))
				}
			case "log_id":
				if got := LogID(tc.SessionID.id16(t)); got != tc.LogID {
					t.Errorf("%s: LogID = %q, want %q", where, got, tc.LogID)
				}
			default:
				t.Errorf("unknown keys group type %q", g.Type)
			}
		}
	}
}

func (v vClaims) claims(t *testing.T) Claims {
	return Claims{
		KeyID:         v.KeyID,
		SessionID:     v.SessionID.id16(t),
		Counter:       uint64(v.Counter),
		IssuedAt:      uint64(v.IssuedAt),
		ExpiresAt:     uint64(v.ExpiresAt),
		Subject:       v.Subject.id16(t),
		Binding:       v.Binding.b8(t),
		Authenticated: v.Authenticated,
	}
}

func checkTokens(t *testing.T, f *vFile, c *vectorCounts) {
	for _, g := range f.Tokens.TestGroups {
		ring := g.Keyring.open(t)
		for _, tc := range g.Tests {
			c.seen(t, tc.TcID)
			c.tokens++
			where := fmt.Sprintf("tcId %d (%s, %s)", tc.TcID, g.Type, tc.Comment)
			switch g.Type {
			case "full":
				want := tc.Claims.claims(t)
				tok, err := ring.MintFull(want)
				if err != nil || tok != tc.Token {
					t.Errorf("%s: MintFull = %q, %v; want %q", where, tok, err, tc.Token)
				}
				form, parsed, err := ParseToken(tc.Token)
				if err != nil || form != FormFull || parsed != want {
					t.Errorf("%s: ParseToken = %v, %+v, %v; want full, %+v", where, form, parsed, err, want)
				}
				verified, err := ring.VerifyToken(tc.Token, 0)
				if err != nil || verified != want {
					t.Errorf("%s: VerifyToken = %+v, %v; want %+v", where, verified, err, want)
				}
			case "compact":
				sid := tc.SessionID.id16(t)
				counter := uint64(*tc.Counter)
				tok, err := ring.MintCompact(tc.KeyID, sid, counter)
				if err != nil || tok != tc.Token {
					t.Errorf("%s: MintCompact = %q, %v; want %q", where, tok, err, tc.Token)
				}
				form, parsed, err := ParseToken(tc.Token)
				if err != nil || form != FormCompact || parsed != (Claims{KeyID: tc.KeyID, SessionID: sid}) {
					t.Errorf("%s: ParseToken = %v, %+v, %v", where, form, parsed, err)
				}
				verified, err := ring.VerifyToken(tc.Token, counter)
				if err != nil || verified != (Claims{KeyID: tc.KeyID, SessionID: sid, Counter: counter}) {
					t.Errorf("%s: VerifyToken(%d) = %+v, %v", where, counter, verified, err)
				}
				if counter > 0 {
					if _, err := ring.VerifyToken(tc.Token, counter-1); !errors.Is(err, ErrTokenBadTag) {
						t.Errorf("%s: VerifyToken(counter-1) = %v, want ErrTokenBadTag", where, err)
					}
				}
				if counter < ^uint64(0) {
					if _, err := ring.VerifyToken(tc.Token, counter+1); !errors.Is(err, ErrTokenBadTag) {
						t.Errorf("%s: VerifyToken(counter+1) = %v, want ErrTokenBadTag", where, err)
					}
				}
			case "invalid":
				want, ok := tokenErrors[tc.Error]
				if !ok {
					t.Fatalf("%s: unknown token error %q", where, tc.Error)
				}
				form, _, err := ParseToken(tc.Token)
				if err == nil {
					switch form {
					case FormFull:
						_, err = ring.VerifyToken(tc.Token, 0)
					case FormCompact:
						if tc.Counter == nil {
							t.Errorf("%s: a compact token that parses needs a counter", where)
							continue
						}
						_, err = ring.VerifyToken(tc.Token, uint64(*tc.Counter))
					}
				}
				if !errors.Is(err, want) {
					t.Errorf("%s: error %v, want %s", where, err, tc.Error)
				}
			default:
				t.Errorf("unknown tokens group type %q", g.Type)
			}
		}
	}
}

func checkRecords(t *testing.T, f *vFile, c *vectorCounts) {
	for _, g := range f.Records.TestGroups {
		for _, tc := range g.Tests {
			c.seen(t, tc.TcID)
			c.records++
			where := fmt.Sprintf("tcId %d (%s, %s)", tc.TcID, g.Type, tc.Comment)
			switch g.Type {
			case "valid":
				fields := tc.Fields.record(t)
				enc, err := EncodeRecord(fields)
				if err != nil || hex.EncodeToString(enc) != hex.EncodeToString(tc.Hex) {
					t.Errorf("%s: EncodeRecord = %x, %v; want %x", where, enc, err, []byte(tc.Hex))
				}
				want := fields
				if tc.Decoded != nil {
					want = tc.Decoded.record(t)
				}
				dec, err := DecodeRecord(tc.Hex)
				if err != nil || dec != want {
					t.Errorf("%s: DecodeRecord = %+v, %v; want %+v", where, dec, err, want)
				}
			case "invalid":
				want, ok := recordErrors[tc.Error]
				if !ok {
					t.Fatalf("%s: unknown record error %q", where, tc.Error)
				}
				if _, err := DecodeRecord(tc.Hex); !errors.Is(err, want) {
					t.Errorf("%s: DecodeRecord error %v, want %s", where, err, tc.Error)
				}
			default:
				t.Errorf("unknown records group type %q", g.Type)
			}
		}
	}
}

func checkSequences(t *testing.T, f *vFile, c *vectorCounts) {
	for _, seq := range f.Sequences {
		c.seen(t, seq.TcID)
		c.sequences++
		ring := seq.Keyring.open(t)
		policy := seq.Policy.policy(t)
		record := []byte(seq.InitialRecord.Hex)
		enc, err := EncodeRecord(seq.InitialRecord.Fields.record(t))
		if err != nil || hex.EncodeToString(enc) != hex.EncodeToString(record) {
			t.Errorf("tcId %d: initial record fields encode to %x, %v; want %x", seq.TcID, enc, err, record)
		}
		for i, st := range seq.Steps {
			c.steps++
			where := fmt.Sprintf("tcId %d step %d (%s)", seq.TcID, i, st.Comment)
			d, err := Decide(ring, policy, record, Request{
				Cookie:    st.Token,
				Kind:      parseKind(t, st.Kind),
				NowMs:     uint64(st.NowMs),
				UserAgent: st.UserAgent,
				IP:        strOr(st.IP),
			})
			if err != nil {
				t.Errorf("%s: Decide: %v", where, err)
				continue
			}
			checkVerdict(t, where, d.Outcome, &st.Expect)
			if st.Expect.RecordOut == nil {
				if d.Save {
					t.Errorf("%s: record_out %x, want none", where, d.Record)
				}
				continue
			}
			if !d.Save || hex.EncodeToString(d.Record) != hex.EncodeToString(*st.Expect.RecordOut) {
				t.Errorf("%s: record_out %x (save %t), want %x", where, d.Record, d.Save, []byte(*st.Expect.RecordOut))
			}
			record = []byte(*st.Expect.RecordOut)
		}
	}
}

func checkView(t *testing.T, where string, o Outcome, v *vView) {
	t.Helper()
	if v == nil {
		t.Errorf("%s: the vector has no view", where)
		return
	}
	var parent [16]byte
	if v.Parent != nil {
		parent = v.Parent.id16(t)
	}
	if !o.HasSession || o.SessionID != v.SessionID.id16(t) || o.LogID != v.LogID ||
		o.Subject != v.Subject.id16(t) || o.Authenticated != v.Authenticated ||
		o.Counter != uint64(v.Counter) || o.HasParent != (v.Parent != nil) || o.Parent != parent ||
		o.ExpiresAt != uint64(v.ExpiresAt) {
		t.Errorf("%s: view {session %x, log id %s, subject %x, authenticated %t, counter %d, parent %t %x, expires %d}, want %+v",
			where, o.SessionID, o.LogID, o.Subject, o.Authenticated, o.Counter, o.HasParent, o.Parent, o.ExpiresAt, *v)
	}
	if o.MaxAgeSecs != (o.ExpiresAt-o.AtMs+999)/1000 && o.ExpiresAt > o.AtMs {
		t.Errorf("%s: max age %d s for expiry %d at %d", where, o.MaxAgeSecs, o.ExpiresAt, o.AtMs)
	}
}

func checkSessions(t *testing.T, f *vFile, c *vectorCounts) {
	for _, seq := range f.Sessions {
		c.seen(t, seq.TcID)
		c.sessions++
		ring := seq.Keyring.open(t)
		s, err := NewSessions(ring, seq.Policy.policy(t))
		if err != nil {
			t.Fatalf("tcId %d: NewSessions: %v", seq.TcID, err)
		}
		for i, st := range seq.Steps {
			c.sessionSteps++
			where := fmt.Sprintf("tcId %d step %d %s (%s)", seq.TcID, i, st.Op, st.Comment)
			e := &st.Expect
			switch st.Op {
			case "request":
				req := Request{
					Cookie:    strOr(st.Cookie),
					Kind:      parseKind(t, st.Kind),
					NowMs:     uint64(st.NowMs),
					UserAgent: st.UserAgent,
					IP:        strOr(st.IP),
				}
				if st.NewSessionID != nil {
					req.NewSessionID = st.NewSessionID.id16(t)
				}
				o, err := s.Handle(req)
				if err != nil {
					t.Errorf("%s: Handle: %v", where, err)
					continue
				}
				checkVerdict(t, where, o, e)
				if o.Proceed != (e.Outcome == "proceed") {
					t.Errorf("%s: proceed %t, want outcome %s", where, o.Proceed, e.Outcome)
				}
				if o.Proceed {
					checkView(t, where, o, e.View)
					continue
				}
				if e.Event == nil {
					t.Errorf("%s: a reject without an event", where)
					continue
				}
				if o.AtMs != uint64(e.Event.AtMs) {
					t.Errorf("%s: event at %d, want %d", where, o.AtMs, uint64(e.Event.AtMs))
				}
				if wantLogID := strOr(e.Event.LogID); o.LogID != wantLogID || o.HasSession != (wantLogID != "") {
					t.Errorf("%s: event log id %q (has session %t), want %q", where, o.LogID, o.HasSession, wantLogID)
				}
			case "login":
				l := LoginRequest{
					Cookie:    strOr(st.Cookie),
					NowMs:     uint64(st.NowMs),
					UserAgent: st.UserAgent,
					IP:        strOr(st.IP),
				}
				if st.Subject != nil {
					l.Subject = st.Subject.id16(t)
				}
				if st.NewSessionID != nil {
					l.NewSessionID = st.NewSessionID.id16(t)
				}
				o, err := s.Login(l)
				if e.Error != nil {
					if want := map[string]error{"anonymous_subject": ErrAnonymousSubject}[*e.Error]; want == nil || !errors.Is(err, want) {
						t.Errorf("%s: Login error %v, want %s", where, err, *e.Error)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: Login: %v", where, err)
					continue
				}
				if !o.Proceed || o.Token != strOr(e.TokenOut) {
					t.Errorf("%s: Login token %q (proceed %t), want %q", where, o.Token, o.Proceed, strOr(e.TokenOut))
				}
				checkView(t, where, o, e.View)
			case "logout":
				logID, found, err := s.Logout(strOr(st.Cookie), uint64(st.NowMs))
				if err != nil || found != (e.LogID != nil) || logID != strOr(e.LogID) {
					t.Errorf("%s: Logout = %q, %t, %v; want %v", where, logID, found, err, strOr(e.LogID))
				}
			case "revoke_all":
				n, err := s.RevokeAll(st.Subject.id16(t), uint64(st.NowMs))
				if err != nil || e.Count == nil || n != *e.Count {
					t.Errorf("%s: RevokeAll = %d, %v; want %v", where, n, err, e.Count)
				}
			default:
				t.Errorf("%s: unknown op", where)
			}
		}
		s.Close()
	}
}
