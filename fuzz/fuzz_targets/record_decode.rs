//! Session record bytes, as a store hands them back.
//!
//! The input's first bytes are decoded as they are. Then, so that the fuzzer reaches the field
//! checks behind the checksum, its first 128 bytes are re-framed (magic `RT`, layout version 1,
//! the FNV-1a checksum recomputed) and decoded again; the bytes after the first 128 choose how
//! an accepted record is then driven through the engine.
//!
//! Checks:
//! * `Record::decode` never panics; its error is the documented one for what is wrong
//!   (length, magic, version, checksum, else `invalid`);
//! * every accepted record re-encodes to exactly the input bytes, and decoding that gives the
//!   same record (decode ∘ encode and encode ∘ decode are identities on accepted input);
//! * `engine::decide` on any accepted record (a token at, below or above its counter, either
//!   kind, one of several policies, a time around its windows) never panics, and when it asks for a
//!   save, the saved record has version + 1, survives encode/decode unchanged, never has a
//!   lower counter, stays revoked when it was revoked, and a token it hands out verifies for
//!   the saved counter.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolltoken::engine::{self, Kind};
use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::policy::{BindingPolicy, Grace, Policy};
use rolltoken::record::{Record, RecordError, RECORD_LEN};
use rolltoken::token::{self, Claims, Form, Parsed};
use rolltoken::verdict::Verdict;
use rolltoken_fuzz::{vector_keyring, Src};

fn keys() -> &'static Keyring {
    static K: OnceLock<Keyring> = OnceLock::new();
    K.get_or_init(vector_keyring)
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Decodes `bytes`, checks the error class and the round trips; returns the accepted record.
fn decode_checked(bytes: &[u8]) -> Option<Record> {
    match Record::decode(bytes) {
        Ok(r) => {
            assert_eq!(r.encode().as_slice(), bytes, "encode(decode(b)) != b");
            assert_eq!(Record::decode(&r.encode()), Ok(r), "decode(encode(r)) != r");
            assert!(r.counter >= r.floor && r.counter - r.floor <= 255, "span");
            assert_eq!(r.is_active(), r.revoked_at == 0);
            assert!(r.created_at <= r.expires_at);
            Some(r)
        }
        Err(e) => {
            let want = if bytes.len() != RECORD_LEN {
                RecordError::WrongLength
            } else if &bytes[..2] != b"RT" {
                RecordError::Foreign
            } else if bytes[2] != 1 {
                RecordError::UnsupportedVersion
            } else if fnv1a(&bytes[..124]).to_be_bytes() != bytes[124..] {
                RecordError::Corrupt
            } else {
                RecordError::Invalid
            };
            assert_eq!(e, want, "decode error");
            None
        }
    }
}

fn policy(sel: u8) -> Policy {
    let mut p = match sel % 3 {
        0 => Policy::default(),
        1 => Policy::cached(),
        _ => Policy {
            form: Form::Full,
            binding: BindingPolicy::RequireFull,
            grace: Grace::Adaptive {
                min_ms: 2_000,
                max_ms: 30_000,
            },
            ..Policy::default()
        },
    };
    p.span_cap = [1, 8, 255][usize::from(sel / 3 % 3)];
    p.answer_cap = [1, 16, 255][usize::from(sel / 9 % 3)];
    p.reissue_one_behind = sel & 0x80 == 0;
    p
}

fn drive(r: &Record, mut src: Src<'_>) {
    let keys = keys();
    let p = policy(src.u8());
    let ua: &[u8] = if src.bool() {
        b"Mozilla/5.0"
    } else {
        b"curl/8"
    };
    let client = BindingInput::new(ua, None);
    let kid = [1u8, 2, 200, 9][usize::from(src.u8() % 4)];
    let base = match src.u8() % 6 {
        0 => r.last_advance_at,
        1 => r.grace_until,
        2 => r.last_seen_at,
        3 => r.expires_at,
        4 => r.created_at,
        _ => src.u64(),
    };
    let delta = i64::from(src.u16() as i16) * i64::from(src.u8());
    let now = base.saturating_add_signed(delta);
    {
        let step = [0i64, -1, 1, 2][usize::from(src.u8() % 4)];
        let ctr = r.counter.saturating_add_signed(step);
        let tok = match r.form {
            Form::Compact => token::mint_compact(keys, kid, &r.session_id, ctr),
            Form::Full => token::mint_full(
                keys,
                &Claims {
                    key_id: kid,
                    session_id: r.session_id,
                    counter: ctr,
                    issued_at: r.last_advance_at,
                    expires_at: r.expires_at,
                    subject: r.subject,
                    binding: r.binding,
                    authenticated: r.authenticated,
                },
            ),
        };
        let Ok(tok) = tok else {
            assert!(!keys.contains(kid));
            return;
        };
        let parsed = token::parse(tok.as_bytes()).unwrap();
        {
            let kind = if src.bool() {
                Kind::Advance
            } else {
                Kind::Read
            };
            let d = engine::decide(keys, &p, r, &parsed, kind, &client, now);
            assert_eq!(
                d.token.is_some() && !d.verdict.proceeds(),
                false,
                "a refusal carried a token"
            );
            if let Some(s) = &d.save {
                assert_eq!(
                    s.version,
                    r.version.wrapping_add(1),
                    "save bumps the version"
                );
                assert_eq!(
                    Record::decode(&s.encode()),
                    Ok(*s),
                    "saved record does not survive encode/decode: {s:?}"
                );
                assert!(s.counter >= r.counter, "the counter went back");
                assert!(
                    s.counter - r.counter <= 1 || matches!(d.verdict, Verdict::StoreBehind { .. }),
                    "counter jumped: {:?}",
                    d.verdict
                );
                if !r.is_active() {
                    assert!(!s.is_active(), "a revoked record became active");
                }
                assert_eq!(s.session_id, r.session_id);
            }
            if let Some(t) = &d.token {
                let s = d.save.as_ref().unwrap_or(r);
                match token::parse(t.as_bytes()).unwrap() {
                    Parsed::Full(f) => {
                        let c = f.verify(keys).unwrap();
                        assert_eq!((c.session_id, c.counter), (s.session_id, s.counter));
                    }
                    Parsed::Compact(c) => {
                        assert_eq!(c.session_id(), s.session_id);
                        assert_eq!(c.matches(keys, s.counter), Ok(true));
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    decode_checked(data);
    if data.len() < RECORD_LEN {
        return;
    }
    let mut framed = [0u8; RECORD_LEN];
    framed.copy_from_slice(&data[..RECORD_LEN]);
    framed[..3].copy_from_slice(b"RT\x01");
    let sum = fnv1a(&framed[..124]);
    framed[124..].copy_from_slice(&sum.to_be_bytes());
    if let Some(r) = decode_checked(&framed) {
        drive(&r, Src::new(&data[RECORD_LEN..]));
    }
});
