//! The generator of `vectors/rolltoken-v1.json`, the golden vectors that the Rust, C, Go and
//! Python tests all check byte for byte.
//!
//! Everything is fixed (keys, session ids, times, user agents, addresses), so [`generate`]
//! always returns the same text. Each sequence step states the rule it is meant to exercise,
//! and generation panics if the core decides otherwise: a change in the core's behaviour
//! cannot silently turn a vector into a test of something else.
//!
//! [`external`] writes the second file set, `vectors/hmac-sha256-external.json` (RFC 4231 and
//! Project Wycheproof HMAC-SHA256 cases), in the same run.
//!
//! Regenerate with `cargo run -p rolltoken-vectors`.

mod enc;
pub mod external;
mod fixtures;
mod keys;
mod records;
mod sequences;
mod sessions;
pub mod text;
mod tokens;

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// The file's `generatorVersion`; bump it when the generator's output shape changes.
pub const GENERATOR_VERSION: &str = "1.0";

/// Where the binary writes the vectors, relative to this crate.
pub const OUTPUT: &str = "../rolltoken-v1.json";

/// Hands out test case ids and remembers which flags were used.
pub(crate) struct Ctx {
    next_id: u64,
    used: BTreeSet<&'static str>,
}

impl Ctx {
    /// A new test case: `tcId`, `comment` and `flags`, in that order.
    pub(crate) fn test(&mut self, comment: &str, flags: &[&'static str]) -> Map<String, Value> {
        self.next_id += 1;
        for f in flags {
            assert!(
                FLAGS.iter().any(|(name, _, _)| name == f),
                "flag {f} has no note"
            );
            self.used.insert(f);
        }
        let mut m = Map::new();
        m.insert("tcId".into(), self.next_id.into());
        m.insert("comment".into(), comment.into());
        m.insert("flags".into(), json!(flags));
        m
    }
}

/// Every flag: name, Wycheproof-style bug type, description.
const FLAGS: &[(&str, &str, &str)] = &[
    (
        "Valid",
        "BASIC",
        "A well-formed input built from ordinary values.",
    ),
    (
        "EdgeCase",
        "EDGE_CASE",
        "Extreme values: counter 0 or 2^64-1, zero or all-ones ids, times at the ends of their range.",
    ),
    (
        "Ipv4",
        "FUNCTIONALITY",
        "An IPv4 client: only the /24 prefix enters the binding hash.",
    ),
    (
        "Ipv6",
        "FUNCTIONALITY",
        "An IPv6 client: only the /64 prefix enters the binding hash.",
    ),
    (
        "Ipv4Mapped",
        "FUNCTIONALITY",
        "An IPv4-mapped IPv6 address (::ffff:a.b.c.d) hashes as the IPv4 address it maps.",
    ),
    (
        "NoAddress",
        "FUNCTIONALITY",
        "No client address known (ip is null): hashed as its own value, distinct from every address.",
    ),
    (
        "SamePrefix",
        "FUNCTIONALITY",
        "Two addresses in one prefix give the same binding hash.",
    ),
    (
        "Utf8UserAgent",
        "FUNCTIONALITY",
        "A user agent with non-ASCII characters: its UTF-8 bytes are hashed.",
    ),
    (
        "Anonymous",
        "FUNCTIONALITY",
        "An anonymous session (subject all zeros, not authenticated).",
    ),
    (
        "Modified",
        "MODIFIED_PARAMETER",
        "A valid token or record with bytes changed after minting or encoding.",
    ),
    (
        "Malformed",
        "MODIFIED_PARAMETER",
        "Text or bytes that are not a well-formed token or record.",
    ),
    (
        "NonCanonical",
        "MALLEABILITY",
        "A second base64url spelling of valid bytes (unused bits set): refused so that a token has one text.",
    ),
    (
        "WrongKey",
        "AUTH_BYPASS",
        "Tagged with a secret the keyring does not hold, or naming a key id it does not hold.",
    ),
    (
        "Clamped",
        "EDGE_CASE",
        "Fields outside what the 128-byte layout stores: encoding narrows them (floor raised, offsets clamped); the decoded record is given separately.",
    ),
    (
        "CompactForm",
        "FUNCTIONALITY",
        "The session uses compact tokens: the engine searches the counter by tag.",
    ),
    (
        "FullForm",
        "FUNCTIONALITY",
        "The session uses full tokens: the counter is read from the verified claims.",
    ),
    (
        "Fresh",
        "BASIC",
        "Rule 1: the current token advances and a new one is minted.",
    ),
    (
        "ReadCurrent",
        "BASIC",
        "A read with the current token: the first one per step confirms it (a write), later ones write nothing.",
    ),
    (
        "ConcurrentInGrace",
        "FUNCTIONALITY",
        "Rule 2: a stale token inside the grace window; an advance gets the current token again, a read passes.",
    ),
    (
        "GraceExhausted",
        "FUNCTIONALITY",
        "The grace-answer cap of the step is reached: retryable refusal, no revocation, cookie kept.",
    ),
    (
        "LostResponse",
        "FUNCTIONALITY",
        "Rule 3: one step behind after the window, current token never presented, full binding (user agent and address prefix) of the last advance.",
    ),
    (
        "CookieJarBehind",
        "FUNCTIONALITY",
        "Rule 3: floor <= t < c after the window and not a lost response, full binding of the last advance, which is less than jar_behind_ms old.",
    ),
    (
        "Reuse",
        "AUTH_BYPASS",
        "Rule 4: a token out of sequence; the session is revoked and the cookie cleared.",
    ),
    (
        "StoreBehind",
        "FUNCTIONALITY",
        "Rule 5: a valid token ahead of the store; the record is repaired forward.",
    ),
    (
        "SpanCap",
        "EDGE_CASE",
        "The accepted stale range is capped: repeated advances in the window raise the floor, and compact tokens are searched at most span_cap ahead.",
    ),
    (
        "Forged",
        "AUTH_BYPASS",
        "A full token whose tag does not verify.",
    ),
    (
        "UnknownKey",
        "AUTH_BYPASS",
        "A token naming a key id the keyring does not hold: invalid, no other key is tried.",
    ),
    (
        "UnknownSession",
        "FUNCTIONALITY",
        "A valid token of a session other than the record's.",
    ),
    (
        "Revoked",
        "FUNCTIONALITY",
        "The session was revoked earlier: refused before any counter check.",
    ),
    (
        "Expired",
        "FUNCTIONALITY",
        "Absolute or idle expiry, or an exhausted counter: refused before any counter check.",
    ),
    (
        "BindingMismatch",
        "FUNCTIONALITY",
        "A binding policy that requires a match refuses a request whose binding differs (no revocation, cookie kept).",
    ),
    (
        "AdaptiveGrace",
        "FUNCTIONALITY",
        "Adaptive grace: the window follows the lateness observed for stale arrivals, within min and max.",
    ),
    (
        "KeyRotation",
        "FUNCTIONALITY",
        "Tokens of an old key verify while it is in the ring; new tokens are minted under the minting key.",
    ),
    (
        "ReopenOnHandOut",
        "FUNCTIONALITY",
        "Every hand-out of the current token to a stale presenter reopens the grace window.",
    ),
    (
        "Rule3Off",
        "FUNCTIONALITY",
        "The policy switch reissue_one_behind is off: any token behind the current one after the window is reuse.",
    ),
    (
        "Strict",
        "FUNCTIONALITY",
        "Façade in strict mode: every authenticated request consults the store.",
    ),
    (
        "Cached",
        "FUNCTIONALITY",
        "Façade in cached mode: a fresh full token with a matching binding is trusted without the store.",
    ),
    (
        "Login",
        "FUNCTIONALITY",
        "Login: a new session id, the previous session retired and linked as parent.",
    ),
    (
        "Logout",
        "FUNCTIONALITY",
        "Logout: the session is revoked for every holder.",
    ),
    (
        "RevokeAll",
        "FUNCTIONALITY",
        "Revoke every session of a subject.",
    ),
    (
        "DenyList",
        "FUNCTIONALITY",
        "Cached mode: a revoked session's tokens are refused inside their fresh window through the deny list.",
    ),
];

/// What each field of the file means and how it is encoded.
const FIELDS: &[(&str, &str)] = &[
    (
        "encoding",
        "Every u64 value (counters, times, versions, durations, behind/ahead) is a decimal string, so that no JSON parser rounds it; u8 and u32 values are JSON numbers. Bytes are lowercase hex. Times are milliseconds since the Unix epoch. Text (tokens, user agents) is UTF-8; a user agent is hashed as its UTF-8 bytes.",
    ),
    (
        "tcId",
        "Unique across the file; numberOfTests counts every entry that has one (keys, tokens and records tests, sequences and sessions sequences; a sequence counts once).",
    ),
    (
        "keyring",
        "keys: [{id (u8), secret (32 bytes hex)}], minting_id: the key that mints new tokens.",
    ),
    (
        "ip",
        "A client address as text (IPv4 dotted quad or IPv6), or null when unknown.",
    ),
    (
        "binding",
        "In keys tests and records: the 8-byte binding hash (Keyring::binding(key_id, user agent, ip).to_bytes(): 4 bytes user agent part, 4 bytes address part). In expectations: {user_agent, ip} booleans, which parts of the request's binding matched the session's last advancing request (or the token's claims on the cached path).",
    ),
    (
        "keys.compact_tag",
        "Keyring of the one key; mint_compact(key id, session_id, counter) gives token; tag is its last 16 bytes (HMAC-SHA256 truncated).",
    ),
    (
        "keys.binding",
        "Keyring of the one key; binding(key id, user_agent, ip).",
    ),
    (
        "keys.log_id",
        "log_id(session_id): 16 lowercase hex characters.",
    ),
    (
        "tokens.full",
        "claims {key_id, session_id, counter, issued_at, expires_at, subject (16 bytes hex), binding (8 bytes hex), authenticated}; mint_full under the group's keyring gives token; parsing and verifying token gives the claims back.",
    ),
    (
        "tokens.compact",
        "mint_compact(key_id, session_id, counter) under the group's keyring gives token; the parsed token matches counter (and not counter-1 / counter+1).",
    ),
    (
        "tokens.invalid",
        "Parse token; a full token is then verified under the group's keyring; a compact token is checked against counter (unknown_key when its key id is not in the ring, bad_tag when its tag is not the one of counter). error is the first failure: empty, too_long, wrong_prefix, unsupported_version, wrong_length, bad_base64, bad_flags, unknown_key, bad_tag.",
    ),
    (
        "records.valid",
        "fields encode to hex (128 bytes) and hex decodes to fields (or to decoded, when given).",
    ),
    (
        "records.invalid",
        "hex fails to decode with error: wrong_length, foreign, unsupported_version, corrupt (checksum mismatch), invalid (checksum matches, a field is impossible).",
    ),
    (
        "record fields",
        "session_id, parent (hex or null), subject, state (active|revoked), revoke_reason (null|logout|reuse|upgraded_at_login|admin), authenticated, form (full|compact), counter, floor, version, created_at, expires_at, last_advance_at, grace_until, last_seen_at, grace_answers, confirmed, lateness_ms, binding, binding_key_id, revoked_at.",
    ),
    (
        "policy",
        "Every field of the policy: mode (strict|cached), form (full|compact), anonymous, grace ({kind: fixed, ms} or {kind: adaptive, min_ms, max_ms}), span_cap, answer_cap, reissue_one_behind, jar_behind_ms, binding (evidence|require_user_agent|require_full), fresh_ms, session_lifetime_ms, idle_timeout_ms, anonymous_lifetime_ms.",
    ),
    (
        "sequences",
        "The pure engine: for each step, parse token, decide(keyring, policy, record, token, kind, {user_agent, ip}, now_ms) and compare with expect. The record of the next step is record_out decoded when it is not null (the save succeeded), else the same record. The first record is initial_record (its fields and hex agree).",
    ),
    (
        "verdict",
        "The rule name (Rule::name): fresh, current, concurrent_in_grace, lost_response, cookie_jar_behind, store_behind, cached, anonymous, new_anonymous, reuse, grace_exhausted, revoked, expired, forged, malformed, unknown_session, binding_mismatch, no_session, store_unavailable, busy.",
    ),
    (
        "details",
        "The verdict's fields, {} when it has none: behind (concurrent_in_grace), ahead (store_behind), presented (string, or null for a compact token that matched no counter) and current (reuse), reason (revoked: a revoke reason; malformed: a token error), expiry (expired: absolute|idle|counter_exhausted).",
    ),
    (
        "clear_cookie",
        "Verdict::clears_cookie: the response must clear the cookie.",
    ),
    (
        "token_out",
        "The token to set as the cookie, or null (leave the cookie as it is).",
    ),
    (
        "record_out",
        "The record to save (compare-and-swap on the loaded version), as 128 bytes hex, or null (nothing to write).",
    ),
    (
        "sessions",
        "The façade over an empty MemoryStore<64> and MemoryDenyList<64> with the sequence's keyring and policy. Ops: request {cookie (text or null), kind, now_ms, user_agent, ip, new_session_id} -> handle(); login {cookie, new_session_id, subject, now_ms, user_agent, ip}; logout {cookie, now_ms} -> log_id or null; revoke_all {subject, now_ms} -> count.",
    ),
    (
        "sessions.expect",
        "request: outcome (proceed|reject), verdict, details, binding, clear_cookie (false on proceed), token_out, view (proceed: session_id, log_id, subject, authenticated, counter, parent, expires_at; null on reject), event (reject: log_id or null, at_ms; null on proceed). login: token_out and view, or error (anonymous_subject).",
    ),
];

/// The vectors file, pretty-printed with a trailing newline.
///
/// # Panics
/// When the core no longer decides a sequence step by the rule the step was written for, or
/// when a vector stops being what its group says (an invalid token that parses, a record
/// that does not round-trip): the generator refuses to write a vector that tests something
/// else than it claims.
pub fn generate() -> String {
    let mut ctx = Ctx {
        next_id: 0,
        used: BTreeSet::new(),
    };
    let keys = keys::section(&mut ctx);
    let tokens = tokens::section(&mut ctx);
    let records = records::section(&mut ctx);
    let sequences = sequences::section(&mut ctx);
    let sessions = sessions::section(&mut ctx);

    let mut notes = Map::new();
    for (name, bug_type, description) in FLAGS {
        assert!(ctx.used.contains(name), "flag {name} is never used");
        notes.insert(
            (*name).into(),
            json!({"bugType": bug_type, "description": description}),
        );
    }
    let mut fields = Map::new();
    for (name, description) in FIELDS {
        fields.insert((*name).into(), (*description).into());
    }
    let file = json!({
        "algorithm": "rolltoken-v1",
        "schema": "rolltoken_vectors_v1",
        "generatorVersion": GENERATOR_VERSION,
        "numberOfTests": ctx.next_id,
        "header": [
            "Golden vectors of rolltoken v1: key derivation, token and record encodings, the rolling engine and the request facade.",
            "Generated by vectors/gen (cargo run -p rolltoken-vectors); do not edit by hand. See vectors/README.md.",
        ],
        "notes": notes,
        "fields": fields,
        "keys": keys,
        "tokens": tokens,
        "records": records,
        "sequences": sequences,
        "sessions": sessions,
    });
    let mut text = serde_json::to_string_pretty(&file).unwrap();
    text.push('\n');
    text
}
