//! Every parser fed arbitrary bytes returns a value or a typed error, never panics, and what
//! it accepts round-trips.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use proptest::prelude::*;
use rolltoken::cookie::{self, CookieConfig, CookieError};
use rolltoken::keys::{KeyMaterial, Keyring};
use rolltoken::record::{RECORD_LEN, Record, RecordError};
use rolltoken::token::{self, Parsed, TokenError};

fn ring() -> Keyring {
    Keyring::new(&[KeyMaterial::new(1, [1; 32])], 1).unwrap()
}

/// Token-looking text: a real prefix half of the time, then base64url-ish characters.
fn token_text() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(b"rtf1_".to_vec()),
        Just(b"rtc1_".to_vec()),
        Just(b"rtf9_".to_vec()),
        Just(Vec::new())
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..130),
        "[A-Za-z0-9_-]{0,120}".prop_map(String::into_bytes),
        "[A-Za-z0-9_-]{44}".prop_map(String::into_bytes),
        "[A-Za-z0-9_-]{110}".prop_map(String::into_bytes),
    ];
    (prefix, body).prop_map(|(mut p, b)| {
        p.extend(b);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn token_parse_is_total(text in token_text()) {
        let keys = ring();
        match token::parse(&text) {
            Ok(Parsed::Full(t)) => {
                // Random bytes never carry a valid tag.
                let want = if t.unverified_claims().key_id == 1 { TokenError::BadTag } else { TokenError::UnknownKey };
                prop_assert_eq!(t.verify(&keys).err(), Some(want));
            }
            Ok(Parsed::Compact(c)) => {
                prop_assert!(!c.matches(&keys, 0).unwrap_or(false));
                prop_assert_eq!(text.len(), token::COMPACT_TOKEN_LEN);
            }
            Err(e) => {
                // Each error is about what is actually wrong with the text.
                match e {
                    TokenError::Empty => prop_assert!(text.is_empty()),
                    TokenError::TooLong => prop_assert!(text.len() > token::MAX_TOKEN_LEN),
                    TokenError::UnsupportedVersion => prop_assert!(text.starts_with(b"rtf9_")),
                    TokenError::WrongLength => {
                        let want = if text.starts_with(b"rtf1_") { token::FULL_TOKEN_LEN } else { token::COMPACT_TOKEN_LEN };
                        prop_assert!(text.starts_with(b"rtf1_") || text.starts_with(b"rtc1_"));
                        prop_assert_ne!(text.len(), want);
                    }
                    TokenError::WrongPrefix => prop_assert!(!text.starts_with(b"rtf1_") && !text.starts_with(b"rtc1_")),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn record_decode_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        match Record::decode(&bytes) {
            Ok(r) => prop_assert_eq!(r.encode().to_vec(), bytes),
            Err(RecordError::WrongLength) => prop_assert_ne!(bytes.len(), RECORD_LEN),
            Err(RecordError::Foreign) => prop_assert_ne!(&bytes[..2], b"RT"),
            Err(_) => prop_assert_eq!(bytes.len(), RECORD_LEN),
        }
    }

    #[test]
    fn record_with_valid_frame_and_random_fields_is_total(fields in proptest::collection::vec(any::<u8>(), 121)) {
        // A well-framed record (magic, version, checksum) with random fields: decodes to a
        // record that re-encodes identically, or to `Invalid`.
        let mut bytes = vec![b'R', b'T', 1];
        bytes.extend_from_slice(&fields);
        let sum = bytes.iter().fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
        bytes.extend_from_slice(&sum.to_be_bytes());
        match Record::decode(&bytes) {
            Ok(r) => prop_assert_eq!(r.encode().to_vec(), bytes),
            Err(e) => prop_assert_eq!(e, RecordError::Invalid),
        }
    }

    #[test]
    fn cookie_header_lookup_is_total(header in proptest::collection::vec(any::<u8>(), 0..300), name in "[a-zA-Z_-]{1,12}") {
        match cookie::find_cookie(&header, &name) {
            Ok(Some(v)) => prop_assert!(v.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b',' && b != b';' && b != b'\\')),
            Ok(None) => {}
            Err(e) => prop_assert!(matches!(e, CookieError::Duplicate | CookieError::Malformed | CookieError::InvalidValue | CookieError::TooLong)),
        }
    }

    #[test]
    fn set_cookie_round_trips_through_lookup(value in "[A-Za-z0-9_-]{1,120}", max_age in any::<u64>(), cap in 0usize..400) {
        let config = CookieConfig::default();
        let mut buf = vec![0u8; cap];
        match cookie::write_set_cookie(&mut buf, &config, &value, max_age) {
            Ok(line) => {
                prop_assert_eq!(line.len(), cookie::set_cookie_len(&config, value.len(), max_age));
                let pair = line.split(';').next().unwrap();
                prop_assert_eq!(cookie::find_cookie_str(pair, config.name), Ok(Some(value.as_str())));
            }
            Err(e) => {
                prop_assert_eq!(e, CookieError::BufferTooSmall);
                prop_assert!(cap < cookie::set_cookie_len(&config, value.len(), max_age));
            }
        }
    }
}

#[test]
fn minted_tokens_parse_back_to_their_claims() {
    let keys = ring();
    let t = token::mint_compact(&keys, 1, &rolltoken::SessionId([7; 16]), u64::MAX).unwrap();
    let Ok(Parsed::Compact(c)) = token::parse(t.as_bytes()) else {
        panic!()
    };
    assert!(c.matches(&keys, u64::MAX).unwrap());
}
