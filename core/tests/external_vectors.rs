//! Vectors rolltoken did not write: RFC 4231 and Project Wycheproof's HMAC-SHA256 cases
//! (`vectors/hmac-sha256-external.json`, see vectors/README.md), run through the core's HMAC:
//! `keys::PrekeyedMac`, the precomputed-state code that the keyring keys with each 32-byte
//! secret. Then a sweep that flips every bit of a valid full and a valid compact token.
//!
//! The C, Go and Python tests read the same file and run the same checks through their
//! bindings (`rt_hmac_sha256`, `HMACSHA256`, `hmac_sha256`), which take exactly 32-byte keys
//! as a rolltoken secret is: there each case runs with its `keyringKey`, the 32-byte key with
//! the same HMAC (RFC 2104 §2). Here every case runs both ways: with its own key, of any
//! length, and with its `keyringKey`.
//!
//! Run with `-- --nocapture` to see the counts.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use rolltoken::keys::{Binding, KEY_LEN, KeyMaterial, Keyring, PrekeyedMac};
use rolltoken::token::{self, Claims, Parsed, SessionId, Subject};
use serde_json::Value;

const VECTORS: &str = include_str!("../../vectors/hmac-sha256-external.json");

fn h(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("not hex: {v}"))).unwrap()
}

/// Every test of the file, with its group.
fn tests(file: &Value) -> Vec<&Value> {
    file["testGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["tests"].as_array().unwrap())
        .collect()
}

/// True when the leftmost `tag.len()` bytes of `full` are `tag`: the verifier's answer.
fn accepts(full: &[u8; 32], tag: &[u8]) -> bool {
    !tag.is_empty() && tag.len() <= 32 && full[..tag.len()] == *tag
}

#[test]
fn external_hmac_vectors_through_the_keyring_hmac() {
    let file: Value = serde_json::from_str(VECTORS).unwrap();
    let all = tests(&file);
    assert_eq!(all.len() as u64, file["numberOfTests"].as_u64().unwrap());

    // (source, result) -> passed; key forms; truncated tags.
    let mut passed: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut forms: BTreeMap<String, u32> = BTreeMap::new();
    let mut truncated = 0;
    let mut skipped = 0;
    for t in &all {
        let id = &t["tcId"];
        let (key, msg, tag) = (h(&t["key"]), h(&t["msg"]), h(&t["tag"]));
        let tag_size = t["tagSize"].as_u64().unwrap() as usize;
        assert_eq!(tag.len() * 8, tag_size, "tcId {id}");
        assert_eq!(
            key.len() * 8,
            t["keySize"].as_u64().unwrap() as usize,
            "tcId {id}"
        );
        let valid = match t["result"].as_str().unwrap() {
            "valid" => true,
            "invalid" => false,
            other => panic!("tcId {id}: result {other}"),
        };

        // 1. With the case's own key (any length): PrekeyedMac as RFC 2104 defines it.
        let own = PrekeyedMac::new(&key);
        let full = own.mac(&[&msg]);
        assert_eq!(accepts(&full, &tag), valid, "tcId {id}, own key");
        // The precomputed state is reused, and a message split in two gives the same MAC.
        let (a, b) = msg.split_at(msg.len() / 2);
        assert_eq!(own.mac(&[a, b]), full, "tcId {id}, split message");
        if tag.len() == 16 {
            truncated += 1;
            // The truncation the tokens use (tag16) gives the same answer.
            assert_eq!(own.tag16(&[&msg])[..] == tag[..], valid, "tcId {id}, tag16");
        }

        // 2. With the 32-byte key of the keyring path: the same function (RFC 2104 §2).
        match t["keyringKey"] {
            Value::Null => {
                assert_eq!(t["keyForm"], "none");
                skipped += 1;
                continue;
            }
            ref k => {
                let k32: [u8; KEY_LEN] = h(k).try_into().unwrap();
                let form = t["keyForm"].as_str().unwrap();
                match form {
                    "as_is" => assert_eq!(k32[..], key[..], "tcId {id}"),
                    "zero_padded" => {
                        assert!(key.len() < KEY_LEN && k32[..key.len()] == key[..]);
                        assert!(k32[key.len()..].iter().all(|&x| x == 0), "tcId {id}");
                    }
                    "hashed" => assert!(key.len() > 64, "tcId {id}"),
                    other => panic!("tcId {id}: keyForm {other}"),
                }
                let via = PrekeyedMac::new(&k32).mac(&[&msg]);
                assert_eq!(via, full, "tcId {id}: keyringKey is not an equivalent key");
                assert_eq!(accepts(&via, &tag), valid, "tcId {id}, keyring key");
                *forms.entry(form.to_owned()).or_default() += 1;
            }
        }
        *passed
            .entry((
                t["source"].as_str().unwrap().to_owned(),
                t["result"].as_str().unwrap().to_owned(),
            ))
            .or_default() += 1;
    }

    let count = |source: &str, result: &str| {
        passed
            .get(&(source.to_owned(), result.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    let rfc = count("rfc4231", "valid") + count("rfc4231", "invalid");
    let wp_valid = count("wycheproof", "valid");
    let wp_invalid = count("wycheproof", "invalid");
    let total = rfc + wp_valid + wp_invalid;
    println!(
        "external vectors: {total} passed, {skipped} skipped (rfc4231 {rfc}/{}, wycheproof {}/{}: \
         {wp_valid} valid accepted, {wp_invalid} invalid rejected; {truncated} with 128-bit tags)",
        file["sources"]["rfc4231"]["numberOfTests"],
        wp_valid + wp_invalid,
        file["sources"]["wycheproof"]["numberOfTests"],
    );
    println!(
        "external vectors: every case also with its own key (any length); keyring-path keys: \
         {} as-is, {} zero-padded, {} hashed",
        forms.get("as_is").unwrap_or(&0),
        forms.get("zero_padded").unwrap_or(&0),
        forms.get("hashed").unwrap_or(&0),
    );
    assert_eq!(skipped, 0);
    assert_eq!(u64::from(total), file["numberOfTests"].as_u64().unwrap());
    assert_eq!(
        u64::from(rfc),
        file["sources"]["rfc4231"]["numberOfTests"]
            .as_u64()
            .unwrap()
    );
    assert_eq!(
        u64::from(wp_valid + wp_invalid),
        file["sources"]["wycheproof"]["numberOfTests"]
            .as_u64()
            .unwrap()
    );
    assert!(wp_invalid > 0 && truncated > 0);
}

/// The keyring keys `PrekeyedMac` with its 32-byte secret and derives the token subkey from
/// it: a keyring built from each 32-byte Wycheproof key tags tokens with exactly the HMAC the
/// vectors above check (HMAC(HMAC(secret, "rolltoken/v1/token-tag"), "rtc1" ‖ key id ‖
/// session id ‖ counter), truncated to 16 bytes).
#[test]
fn the_keyring_tags_with_the_hmac_the_vectors_check() {
    let file: Value = serde_json::from_str(VECTORS).unwrap();
    let mut keys = 0;
    for t in tests(&file) {
        if t["keyForm"] != "as_is" {
            continue;
        }
        let secret: [u8; KEY_LEN] = h(&t["key"]).try_into().unwrap();
        let ring = Keyring::new(&[KeyMaterial::new(1, secret)], 1).unwrap();
        let sid = SessionId(*b"external vectors");
        let counter = t["tcId"].as_u64().unwrap();
        let text = token::mint_compact(&ring, 1, &sid, counter).unwrap();
        let mut body = [0u8; 33];
        Base64UrlUnpadded::decode(&text.as_bytes()[5..], &mut body).unwrap();
        let subkey = PrekeyedMac::new(&secret).mac(&[b"rolltoken/v1/token-tag"]);
        let want =
            PrekeyedMac::new(&subkey).tag16(&[b"rtc1", &[1], &sid.0, &counter.to_be_bytes()]);
        assert_eq!(body[17..], want, "tcId {}", t["tcId"]);
        keys += 1;
    }
    println!("external vectors: {keys} keyrings built from the 32-byte keys tag with that HMAC");
    assert!(keys > 0);
}

// ---- the bit-flip sweep -----------------------------------------------------------------

/// The sweep's inputs, the same on every surface: two keys (ids 1 and 3, so that flipping bit
/// 1 of the key id names a key the ring holds), a full token and a compact token of key 1.
fn sweep_ring() -> Keyring {
    let k1: [u8; 32] = core::array::from_fn(|i| i as u8);
    let k3: [u8; 32] = core::array::from_fn(|i| 0x20 + i as u8);
    Keyring::new(&[KeyMaterial::new(1, k1), KeyMaterial::new(3, k3)], 1).unwrap()
}

const SWEEP_SID: [u8; 16] = [
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
];
const SWEEP_COUNTER: u64 = 7;

fn sweep_claims() -> Claims {
    Claims {
        key_id: 1,
        session_id: SessionId(SWEEP_SID),
        counter: SWEEP_COUNTER,
        issued_at: 1_700_000_000_000,
        expires_at: 1_700_086_400_000,
        subject: Subject::from_u64(42),
        binding: Binding::from_bytes([1, 2, 3, 4, 5, 6, 7, 8]),
        authenticated: true,
    }
}

/// Parse and verify as a server does: a full token on its own, a compact one against the
/// store's counter. `Ok` is acceptance; `Err` names the refusal.
fn verdict(ring: &Keyring, text: &[u8]) -> Result<(), &'static str> {
    match token::parse(text).map_err(|e| e.name())? {
        Parsed::Full(t) => t.verify(ring).map(|_| ()).map_err(|e| e.name()),
        Parsed::Compact(t) => match t.matches(ring, SWEEP_COUNTER).map_err(|e| e.name())? {
            true => Ok(()),
            false => Err("bad_tag"),
        },
    }
}

#[test]
fn every_bit_flip_of_a_valid_token_is_refused() {
    let ring = sweep_ring();
    let full = token::mint_full(&ring, &sweep_claims()).unwrap();
    let compact = token::mint_compact(&ring, 1, &SessionId(SWEEP_SID), SWEEP_COUNTER).unwrap();
    let mut reasons: BTreeMap<&str, u32> = BTreeMap::new();
    let mut lines = Vec::new();
    let mut total = 0;
    for (name, t) in [("full", full.as_bytes()), ("compact", compact.as_bytes())] {
        assert_eq!(
            verdict(&ring, t),
            Ok(()),
            "the unmodified {name} token verifies"
        );
        // 1. Every bit of the text.
        let mut text_flips = 0;
        for i in 0..t.len() {
            for bit in 0..8 {
                let mut m = t.to_vec();
                m[i] ^= 1 << bit;
                let r = verdict(&ring, &m);
                assert!(
                    r.is_err(),
                    "{name}: bit {bit} of text byte {i} flipped and accepted"
                );
                *reasons.entry(r.unwrap_err()).or_default() += 1;
                text_flips += 1;
            }
        }
        // 2. Every bit of the decoded body, re-encoded canonically, so that each flip gets
        //    past the base64url layer to the key lookup, the flags or the tag.
        let mut body = vec![0u8; (t.len() - 5) * 3 / 4];
        let n = Base64UrlUnpadded::decode(&t[5..], &mut body).unwrap().len();
        body.truncate(n);
        let mut body_flips = 0;
        for i in 0..body.len() {
            for bit in 0..8 {
                let mut b = body.clone();
                b[i] ^= 1 << bit;
                let mut enc = [0u8; 128];
                let mut m = t[..5].to_vec();
                m.extend_from_slice(Base64UrlUnpadded::encode(&b, &mut enc).unwrap().as_bytes());
                let r = verdict(&ring, &m);
                assert!(
                    r.is_err(),
                    "{name}: bit {bit} of body byte {i} flipped and accepted"
                );
                *reasons.entry(r.unwrap_err()).or_default() += 1;
                body_flips += 1;
            }
        }
        assert_eq!(text_flips, t.len() * 8);
        assert_eq!(body_flips, body.len() * 8);
        total += text_flips + body_flips;
        lines.push(format!(
            "{name} {} chars: {text_flips} text flips, {} body bytes: {body_flips} body flips",
            t.len(),
            body.len()
        ));
    }
    println!(
        "bit-flip sweep: {total} flips, {total} refused, 0 accepted ({})",
        lines.join("; ")
    );
    let shown: Vec<String> = reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("bit-flip sweep refusals: {}", shown.join(", "));
    assert_eq!(total, (115 + 49) * 8 + (82 + 33) * 8);
}
