//! Token encodings: full and compact tokens from their inputs, and invalid token texts.

use base64ct::{Base64UrlUnpadded, Encoding};
use rolltoken::keys::{Binding, Keyring};
use rolltoken::token::{self, Claims, Parsed, SessionId, Subject, TokenError};
use serde_json::{Value, json};

use crate::Ctx;
use crate::enc::{self, hx, u};
use crate::fixtures::{
    IP_A, IP6_A, Key, T0, T1, UA_A, UA_B, binding, k1, k2, k200, ring, sid, wrong_secret,
};

const HOUR: u64 = 3_600_000;

pub fn section(ctx: &mut Ctx) -> Value {
    let keys_list = [k1(), k2(), k200()];
    let keys = ring(&keys_list, 1);
    let keyring = enc::keyring(&keys_list, 1);
    json!({"testGroups": [
        {"type": "full", "keyring": keyring, "tests": full(ctx, &keys)},
        {"type": "compact", "keyring": keyring, "tests": compact(ctx, &keys)},
        {"type": "invalid", "keyring": keyring, "tests": invalid(ctx, &keys)},
    ]})
}

fn claims_json(c: &Claims) -> Value {
    json!({
        "key_id": c.key_id,
        "session_id": hx(&c.session_id.0),
        "counter": u(c.counter),
        "issued_at": u(c.issued_at),
        "expires_at": u(c.expires_at),
        "subject": hx(&c.subject.0),
        "binding": enc::binding(&c.binding),
        "authenticated": c.authenticated,
    })
}

fn sample_claims(keys: &Keyring) -> Claims {
    Claims {
        key_id: 1,
        session_id: sid(1),
        counter: 1,
        issued_at: T1,
        expires_at: T0 + 12 * HOUR,
        subject: Subject::from_u64(42),
        binding: binding(keys, 1, UA_A, Some(IP_A)),
        authenticated: true,
    }
}

fn full(ctx: &mut Ctx, keys: &Keyring) -> Vec<Value> {
    let uuid: [u8; 16] = hex::decode("0b6e4d1a5c2f4e3a9d8b7c6f5e4d3c2b")
        .unwrap()
        .try_into()
        .unwrap();
    let cases: [(Claims, &str, &[&'static str]); 6] = [
        (
            Claims {
                key_id: 1,
                session_id: sid(0),
                counter: 0,
                issued_at: T0,
                expires_at: T0 + 24 * HOUR,
                subject: Subject::ANONYMOUS,
                binding: binding(keys, 1, UA_A, Some(IP_A)),
                authenticated: false,
            },
            "anonymous session token",
            &["Valid", "Anonymous"],
        ),
        (
            sample_claims(keys),
            "authenticated, numeric subject",
            &["Valid"],
        ),
        (
            Claims {
                counter: 0,
                issued_at: T0,
                ..sample_claims(keys)
            },
            "authenticated, counter 0 (the token handed out at login)",
            &["Valid", "EdgeCase"],
        ),
        (
            Claims {
                key_id: 2,
                session_id: sid(2),
                counter: u64::MAX,
                issued_at: 0,
                expires_at: u64::MAX,
                subject: Subject(uuid),
                binding: Binding::default(),
                authenticated: true,
            },
            "key 2, last counter, UUID subject, zero binding, extreme times",
            &["EdgeCase"],
        ),
        (
            Claims {
                key_id: 200,
                session_id: SessionId([0xff; 16]),
                counter: 1 << 32,
                issued_at: T1,
                expires_at: T1 + 1,
                subject: Subject([0xff; 16]),
                binding: binding(keys, 200, UA_B, Some(IP6_A)),
                authenticated: true,
            },
            "key 200, counter past 32 bits, all-ones ids",
            &["EdgeCase", "Ipv6"],
        ),
        (
            Claims {
                key_id: 2,
                session_id: SessionId([0; 16]),
                counter: 7,
                issued_at: T1,
                expires_at: T1 + HOUR,
                subject: Subject::ANONYMOUS,
                binding: binding(keys, 2, UA_A, None),
                authenticated: false,
            },
            "anonymous, all-zero session id, no address",
            &["EdgeCase", "Anonymous", "NoAddress"],
        ),
    ];
    cases
        .iter()
        .map(|(claims, comment, flags)| {
            let text = token::mint_full(keys, claims).unwrap();
            let mut t = ctx.test(comment, flags);
            t.insert("claims".into(), claims_json(claims));
            t.insert("token".into(), text.as_str().into());
            t.insert("result".into(), "valid".into());
            t.into()
        })
        .collect()
}

fn compact(ctx: &mut Ctx, keys: &Keyring) -> Vec<Value> {
    let cases: [(u8, SessionId, u64, &str, &[&'static str]); 5] = [
        (1, sid(0), 0, "counter 0", &["Valid", "EdgeCase"]),
        (1, sid(0), 1, "counter 1 of the same session", &["Valid"]),
        (1, sid(3), 5, "another session", &["Valid"]),
        (
            2,
            sid(1),
            1 << 32,
            "key 2, counter past 32 bits",
            &["EdgeCase"],
        ),
        (
            200,
            sid(2),
            u64::MAX,
            "key 200, last counter",
            &["EdgeCase"],
        ),
    ];
    cases
        .iter()
        .map(|(kid, id, counter, comment, flags)| {
            let text = token::mint_compact(keys, *kid, id, *counter).unwrap();
            let mut t = ctx.test(comment, flags);
            t.insert("key_id".into(), (*kid).into());
            t.insert("session_id".into(), hx(&id.0));
            t.insert("counter".into(), u(*counter));
            t.insert("token".into(), text.as_str().into());
            t.insert("result".into(), "valid".into());
            t.into()
        })
        .collect()
}

/// The decoded body of a token text.
fn body(text: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(&text[token::PREFIX_LEN..]).unwrap()
}

fn text(prefix: &str, body: &[u8]) -> String {
    format!("{prefix}{}", Base64UrlUnpadded::encode_string(body))
}

/// How the core itself classifies a text under `keys` (full: verify; compact: match `counter`).
fn classify(keys: &Keyring, text: &str, counter: Option<u64>) -> Result<(), TokenError> {
    match token::parse(text.as_bytes())? {
        Parsed::Full(f) => f.verify(keys).map(|_| ()),
        Parsed::Compact(c) => {
            if c.matches(keys, counter.unwrap())? {
                Ok(())
            } else {
                Err(TokenError::BadTag)
            }
        }
    }
}

/// An invalid token: text, counter to check a compact token against, error, comment, flags.
type Case<'a> = (String, Option<u64>, TokenError, &'a str, &'a [&'static str]);

fn invalid(ctx: &mut Ctx, keys: &Keyring) -> Vec<Value> {
    let claims = sample_claims(keys);
    let full = token::mint_full(keys, &claims).unwrap().as_str().to_owned();
    let fbody = &full[token::PREFIX_LEN..];
    let compact = token::mint_compact(keys, 1, &sid(3), 5)
        .unwrap()
        .as_str()
        .to_owned();
    let cbody = &compact[token::PREFIX_LEN..];
    let flags_at = 1 + 16 + 8 + 8 + 8 + 16 + 8;

    let with_flags = |flags: u8| {
        let mut b = body(&full);
        b[flags_at] = flags;
        text("rtf1_", &b)
    };
    let replace_at = |s: &str, i: usize, c: char| {
        let mut v: Vec<char> = s.chars().collect();
        v[i] = c;
        v.into_iter().collect::<String>()
    };
    // The last character of a full token encodes 2 bits of data and 4 unused bits.
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = full.chars().last().unwrap();
    let v = ALPHABET.find(last).unwrap();
    assert_eq!(v & 0x0f, 0);
    let noncanonical = replace_at(&full, full.len() - 1, ALPHABET.as_bytes()[v | 1] as char);
    let unicode = format!("{}é{}", &compact[..20], &compact[22..]);
    let key9 = ring(
        &[Key {
            id: 9,
            secret: k1().secret,
        }],
        9,
    );
    let wrong = ring(
        &[Key {
            id: 1,
            secret: wrong_secret(),
        }],
        1,
    );
    let tampered_counter = {
        let mut b = body(&full);
        b[1 + 16 + 7] ^= 0x01; // counter 1 -> 0
        text("rtf1_", &b)
    };
    let flipped_tag = {
        let mut b = body(&full);
        let n = b.len();
        b[n - 1] ^= 0x80;
        text("rtf1_", &b)
    };
    let compact_flipped = {
        let mut b = body(&compact);
        b[20] ^= 0x01;
        text("rtc1_", &b)
    };
    let compact_relabeled = {
        let other = token::mint_compact(keys, 2, &sid(3), 5).unwrap();
        let mut b = body(other.as_str());
        b[0] = 1;
        text("rtc1_", &b)
    };
    let key0 = {
        let mut b = body(&full);
        b[0] = 0;
        text("rtf1_", &b)
    };

    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (String::new(), None, TokenError::Empty, "empty text", &["Malformed"]),
        ("a".repeat(116), None, TokenError::TooLong, "116 characters, one more than a full token", &["Malformed"]),
        (format!("{full}A"), None, TokenError::TooLong, "a valid full token with one character appended", &["Malformed"]),
        (format!("rtf1_{}", "A".repeat(200)), None, TokenError::TooLong, "length is checked before the prefix", &["Malformed"]),
        ("rtf".into(), None, TokenError::WrongPrefix, "shorter than a prefix", &["Malformed"]),
        ("rtf1".into(), None, TokenError::WrongPrefix, "prefix without its underscore", &["Malformed"]),
        (format!("xtf1_{fbody}"), None, TokenError::WrongPrefix, "first prefix character changed", &["Malformed"]),
        (format!("RTF1_{fbody}"), None, TokenError::WrongPrefix, "prefixes are lowercase", &["Malformed"]),
        (format!("rtx1_{fbody}"), None, TokenError::WrongPrefix, "unknown form letter", &["Malformed"]),
        (format!("rtf1-{fbody}"), None, TokenError::WrongPrefix, "dash instead of underscore", &["Malformed"]),
        (format!("Bearer {}", &compact[..40]), None, TokenError::WrongPrefix, "an Authorization header value", &["Malformed"]),
        (format!("rtf2_{fbody}"), None, TokenError::UnsupportedVersion, "full token, version 2", &["Malformed"]),
        (format!("rtc0_{cbody}"), None, TokenError::UnsupportedVersion, "compact token, version 0", &["Malformed"]),
        ("rtf9_".into(), None, TokenError::UnsupportedVersion, "a bare prefix of version 9: the version is checked before the length", &["Malformed", "EdgeCase"]),
        (full[..full.len() - 1].to_owned(), None, TokenError::WrongLength, "full token missing its last character", &["Malformed"]),
        ("rtf1_".into(), None, TokenError::WrongLength, "full prefix, empty body", &["Malformed", "EdgeCase"]),
        (format!("{compact}A"), None, TokenError::WrongLength, "compact token with one character appended", &["Malformed"]),
        (compact[..compact.len() - 1].to_owned(), None, TokenError::WrongLength, "compact token missing its last character", &["Malformed"]),
        (format!("rtc1_{fbody}"), None, TokenError::WrongLength, "a full body behind the compact prefix", &["Malformed"]),
        (replace_at(&full, 20, '+'), None, TokenError::BadBase64, "standard base64 '+' instead of base64url", &["Malformed"]),
        (replace_at(&compact, 30, '/'), None, TokenError::BadBase64, "standard base64 '/' instead of base64url", &["Malformed"]),
        (replace_at(&full, full.len() - 1, '='), None, TokenError::BadBase64, "padding character", &["Malformed"]),
        (noncanonical, None, TokenError::BadBase64, "unused bits of the last character set", &["NonCanonical"]),
        (unicode, None, TokenError::BadBase64, "a non-ASCII character (2 UTF-8 bytes) in place of two characters", &["Malformed"]),
        (with_flags(0x02), None, TokenError::BadFlags, "reserved flag bit 1", &["Modified"]),
        (with_flags(0x80), None, TokenError::BadFlags, "reserved flag bit 7", &["Modified"]),
        (with_flags(0xff), None, TokenError::BadFlags, "every flag bit", &["Modified"]),
        (token::mint_full(&key9, &Claims { key_id: 9, ..claims }).unwrap().as_str().to_owned(), None, TokenError::UnknownKey, "full token of key 9, which the keyring does not hold", &["WrongKey"]),
        (token::mint_compact(&key9, 9, &sid(3), 5).unwrap().as_str().to_owned(), Some(5), TokenError::UnknownKey, "compact token of key 9", &["WrongKey"]),
        (key0, None, TokenError::UnknownKey, "key id byte set to 0", &["WrongKey", "Modified"]),
        (tampered_counter, None, TokenError::BadTag, "counter changed after minting", &["Modified"]),
        (flipped_tag, None, TokenError::BadTag, "last tag bit flipped", &["Modified"]),
        (token::mint_full(&wrong, &claims).unwrap().as_str().to_owned(), None, TokenError::BadTag, "key id 1 with a secret the keyring does not hold", &["WrongKey"]),
        (compact_flipped, Some(5), TokenError::BadTag, "compact token with a tag bit flipped", &["Modified"]),
        (compact.clone(), Some(6), TokenError::BadTag, "a valid compact token checked against the next counter", &["Valid"]),
        (compact.clone(), Some(4), TokenError::BadTag, "a valid compact token checked against the previous counter", &["Valid"]),
        (compact_relabeled, Some(5), TokenError::BadTag, "key 2's compact token relabelled as key 1", &["Modified", "WrongKey"]),
    ];
    cases
        .into_iter()
        .map(|(txt, counter, err, comment, flags)| {
            assert_eq!(classify(keys, &txt, counter), Err(err), "{comment}");
            let mut t = ctx.test(comment, flags);
            t.insert("token".into(), txt.into());
            t.insert("counter".into(), counter.map_or(Value::Null, u));
            t.insert("error".into(), enc::token_error(err).into());
            t.insert("result".into(), "invalid".into());
            t.into()
        })
        .collect()
}
