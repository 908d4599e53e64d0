//! Token text (full `rtf1_` and compact `rtc1_`): the input is the cookie value, byte for byte.
//!
//! Checks, for every input:
//! * `token::parse` never panics, and agrees with a reference parser written from the
//!   format's documentation (prefix rules, lengths, canonical unpadded base64url, the claims'
//!   byte layout, reserved flags): same accept/reject, same error, same claims;
//! * a parsed full token verifies under the fixed keyring (the golden vectors' keys) only if
//!   re-minting its claims gives back the very same text; otherwise the error is `bad_tag`
//!   (known key id) or `unknown_key`; it never verifies under a keyring with other secrets;
//! * a parsed compact token matches a counter only if minting that counter gives the same
//!   text; an unknown key id is `unknown_key`;
//! * minting the parsed claims and parsing the result gives the same claims back.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolltoken::keys::{Binding, Keyring};
use rolltoken::token::{
    self, Claims, Parsed, SessionId, Subject, TokenError, COMPACT_TOKEN_LEN, FULL_TOKEN_LEN,
    MAX_TOKEN_LEN,
};
use rolltoken_fuzz::{b64url_decode, foreign_keyring, show, vector_keyring};

fn keys() -> &'static (Keyring, Keyring) {
    static K: OnceLock<(Keyring, Keyring)> = OnceLock::new();
    K.get_or_init(|| (vector_keyring(), foreign_keyring()))
}

/// What the documentation says parsing gives.
#[derive(Debug, PartialEq)]
enum Want {
    Full(Claims, [u8; 16]),
    Compact(u8, [u8; 16], [u8; 16]),
    Err(TokenError),
}

fn reference(text: &[u8]) -> Want {
    if text.is_empty() {
        return Want::Err(TokenError::Empty);
    }
    if text.len() > MAX_TOKEN_LEN {
        return Want::Err(TokenError::TooLong);
    }
    if text.len() < 5 {
        return Want::Err(TokenError::WrongPrefix);
    }
    let (p, body) = text.split_at(5);
    let full = match p {
        b"rtf1_" => true,
        b"rtc1_" => false,
        [b'r', b't', b'f' | b'c', d, b'_'] if d.is_ascii_digit() => {
            return Want::Err(TokenError::UnsupportedVersion)
        }
        _ => return Want::Err(TokenError::WrongPrefix),
    };
    let want_len = if full {
        FULL_TOKEN_LEN
    } else {
        COMPACT_TOKEN_LEN
    };
    if text.len() != want_len {
        return Want::Err(TokenError::WrongLength);
    }
    let Some(raw) = b64url_decode(body) else {
        return Want::Err(TokenError::BadBase64);
    };
    let arr16 = |s: &[u8]| -> [u8; 16] { s.try_into().unwrap() };
    let u64at = |s: &[u8]| u64::from_be_bytes(s.try_into().unwrap());
    if full {
        assert_eq!(raw.len(), 82, "full body length");
        let flags = raw[65];
        if flags & !1 != 0 {
            return Want::Err(TokenError::BadFlags);
        }
        let claims = Claims {
            key_id: raw[0],
            session_id: SessionId(arr16(&raw[1..17])),
            counter: u64at(&raw[17..25]),
            issued_at: u64at(&raw[25..33]),
            expires_at: u64at(&raw[33..41]),
            subject: Subject(arr16(&raw[41..57])),
            binding: Binding::from_bytes(raw[57..65].try_into().unwrap()),
            authenticated: flags == 1,
        };
        Want::Full(claims, arr16(&raw[66..82]))
    } else {
        assert_eq!(raw.len(), 33, "compact body length");
        Want::Compact(raw[0], arr16(&raw[1..17]), arr16(&raw[17..33]))
    }
}

/// Counters tried against a compact token: the vectors' and the edges.
const COUNTERS: [u64; 8] = [0, 1, 2, 4, 5, 6, 1 << 32, u64::MAX];

/// Positive control for `checks/fuzz.sh`: with `ROLLTOKEN_FUZZ_CONTROL=1` in the environment,
/// any well-formed full token is reported as a crash, so the script's crash path (non-zero
/// exit, artifact kept, panic message shown) can be checked without a real bug.
fn control() -> bool {
    static C: OnceLock<bool> = OnceLock::new();
    *C.get_or_init(|| std::env::var_os("ROLLTOKEN_FUZZ_CONTROL").is_some())
}

fuzz_target!(|data: &[u8]| {
    if control() && data.len() == FULL_TOKEN_LEN && data.starts_with(b"rtf1_") {
        panic!("ROLLTOKEN_FUZZ_CONTROL: deliberate crash on a full token");
    }
    let (keys, foreign) = keys();
    let got = token::parse(data);
    let want = reference(data);
    match (&got, &want) {
        (Ok(Parsed::Full(t)), Want::Full(claims, _tag)) => {
            assert_eq!(t.unverified_claims(), claims, "claims of {}", show(data));
            let kid = claims.key_id;
            match t.verify(keys) {
                Ok(c) => {
                    assert_eq!(&c, claims);
                    let again = token::mint_full(keys, &c).unwrap();
                    assert_eq!(
                        again.as_bytes(),
                        data,
                        "a verified token is the mint of its claims"
                    );
                }
                Err(e) => {
                    let expect = if keys.contains(kid) {
                        TokenError::BadTag
                    } else {
                        TokenError::UnknownKey
                    };
                    assert_eq!(e, expect, "verify error of {}", show(data));
                    if keys.contains(kid) {
                        let again = token::mint_full(keys, claims).unwrap();
                        assert_ne!(
                            again.as_bytes(),
                            data,
                            "a token that fails verify equals its own mint"
                        );
                    }
                }
            }
            assert!(
                t.verify(foreign).is_err(),
                "verified under another keyring: {}",
                show(data)
            );
            if keys.contains(kid) {
                // mint ∘ parse keeps the claims.
                let minted = token::mint_full(keys, claims).unwrap();
                match token::parse(minted.as_bytes()) {
                    Ok(Parsed::Full(f)) => assert_eq!(f.verify(keys), Ok(*claims)),
                    other => panic!("re-minted full token parsed as {other:?}"),
                }
            }
        }
        (Ok(Parsed::Compact(c)), Want::Compact(kid, sid, _tag)) => {
            assert_eq!(c.key_id(), *kid);
            assert_eq!(c.session_id(), SessionId(*sid));
            if keys.contains(*kid) {
                for ctr in COUNTERS {
                    if c.matches(keys, ctr) == Ok(true) {
                        let again = token::mint_compact(keys, *kid, &SessionId(*sid), ctr).unwrap();
                        assert_eq!(
                            again.as_bytes(),
                            data,
                            "a matching compact token is the mint of its counter"
                        );
                        assert_ne!(
                            c.matches(foreign, ctr),
                            Ok(true),
                            "matched under another keyring"
                        );
                    }
                }
                let minted = token::mint_compact(keys, *kid, &SessionId(*sid), 7).unwrap();
                match token::parse(minted.as_bytes()) {
                    Ok(Parsed::Compact(m)) => {
                        assert_eq!((m.key_id(), m.session_id()), (*kid, SessionId(*sid)));
                        assert_eq!(m.matches(keys, 7), Ok(true));
                        assert_eq!(m.matches(keys, 8), Ok(false));
                    }
                    other => panic!("re-minted compact token parsed as {other:?}"),
                }
            } else {
                assert_eq!(c.matches(keys, 0), Err(TokenError::UnknownKey));
            }
        }
        (Err(e), Want::Err(w)) => assert_eq!(e, w, "error for {}", show(data)),
        _ => panic!("parse({}) = {got:?}, the format says {want:?}", show(data)),
    }
    if let Ok(p) = &got {
        let _ = rolltoken::log_id(&p.session_id());
    }
});
