//! Checks the golden vectors (`vectors/rolltoken-v1.json`) against the core.
//!
//! This is the check every language does: read the file, rebuild each input from its JSON,
//! call the library, compare with the expected output. It shares no code with the generator
//! (`vectors/gen`), so a mistake in one is caught by the other.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use core::net::IpAddr;
use std::collections::BTreeSet;

use base64ct::{Base64UrlUnpadded, Encoding};
use rolltoken::engine::{self, Kind};
use rolltoken::keys::{Binding, BindingInput, BindingMatch, KeyMaterial, Keyring};
use rolltoken::policy::{BindingPolicy, Grace, Mode, Policy};
use rolltoken::record::{Record, RecordError, RevokeReason, State};
use rolltoken::sessions::{Outcome, Request, SessionView, Sessions};
use rolltoken::store::{MemoryDenyList, MemoryStore};
use rolltoken::token::{self, Claims, Form, Parsed, SessionId, Subject, TokenError};
use rolltoken::verdict::{Expiry, Verdict};
use rolltoken::{Error, log_id};
use serde_json::{Value, json};

const VECTORS: &str = include_str!("../../vectors/rolltoken-v1.json");

fn file() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

// ---- reading JSON ------------------------------------------------------------------------

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn u64_(v: &Value) -> u64 {
    s(v).parse()
        .unwrap_or_else(|_| panic!("expected a decimal u64, got {v}"))
}

fn u32_(v: &Value) -> u32 {
    u32::try_from(v.as_u64().unwrap()).unwrap()
}

fn u8_(v: &Value) -> u8 {
    u8::try_from(v.as_u64().unwrap()).unwrap()
}

fn b(v: &Value) -> bool {
    v.as_bool().unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(s(v)).unwrap()
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    bytes(v).try_into().unwrap()
}

fn opt_str(v: &Value) -> Option<&str> {
    if v.is_null() { None } else { Some(s(v)) }
}

fn ip(v: &Value) -> Option<IpAddr> {
    opt_str(v).map(|t| t.parse().unwrap())
}

fn tests(group: &Value) -> &Vec<Value> {
    group["tests"].as_array().unwrap()
}

fn groups<'a>(file: &'a Value, section: &str) -> &'a Vec<Value> {
    file[section]["testGroups"].as_array().unwrap()
}

fn keyring(v: &Value) -> Keyring {
    let keys: Vec<KeyMaterial> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| KeyMaterial::from_slice(u8_(&k["id"]), &bytes(&k["secret"])).unwrap())
        .collect();
    Keyring::new(&keys, u8_(&v["minting_id"])).unwrap()
}

fn single_key(v: &Value) -> Keyring {
    keyring(&json!({"keys": [v], "minting_id": v["id"]}))
}

/// The variant of `all` whose core name is `name` (the names are the core's contract).
fn by_name<T: Copy>(all: &[T], name: fn(T) -> &'static str, wanted: &str) -> T {
    *all.iter()
        .find(|x| name(**x) == wanted)
        .unwrap_or_else(|| panic!("unknown name {wanted}"))
}

fn form(v: &Value) -> Form {
    by_name(&Form::ALL, Form::name, s(v))
}

fn policy(v: &Value) -> Policy {
    let g = &v["grace"];
    let grace = match s(&g["kind"]) {
        "fixed" => Grace::Fixed { ms: u32_(&g["ms"]) },
        "adaptive" => Grace::Adaptive {
            min_ms: u32_(&g["min_ms"]),
            max_ms: u32_(&g["max_ms"]),
        },
        other => panic!("grace {other}"),
    };
    let p = Policy {
        mode: by_name(&Mode::ALL, Mode::name, s(&v["mode"])),
        form: form(&v["form"]),
        anonymous: b(&v["anonymous"]),
        grace,
        span_cap: u8_(&v["span_cap"]),
        answer_cap: u8_(&v["answer_cap"]),
        reissue_one_behind: b(&v["reissue_one_behind"]),
        jar_behind_ms: u64_(&v["jar_behind_ms"]),
        binding: by_name(&BindingPolicy::ALL, BindingPolicy::name, s(&v["binding"])),
        fresh_ms: u64_(&v["fresh_ms"]),
        session_lifetime_ms: u64_(&v["session_lifetime_ms"]),
        idle_timeout_ms: u64_(&v["idle_timeout_ms"]),
        anonymous_lifetime_ms: u64_(&v["anonymous_lifetime_ms"]),
    };
    assert_eq!(
        v.as_object().unwrap().len(),
        13,
        "every policy field, no more"
    );
    p.validate().unwrap();
    p
}

fn revoke_reason(name: &str) -> RevokeReason {
    by_name(&RevokeReason::ALL, RevokeReason::name, name)
}

fn record(v: &Value) -> Record {
    assert_eq!(
        v.as_object().unwrap().len(),
        21,
        "every record field, no more"
    );
    let state = match s(&v["state"]) {
        "active" => {
            assert!(v["revoke_reason"].is_null());
            State::Active
        }
        "revoked" => State::Revoked(revoke_reason(s(&v["revoke_reason"]))),
        other => panic!("state {other}"),
    };
    Record {
        session_id: SessionId(arr(&v["session_id"])),
        parent: if v["parent"].is_null() {
            None
        } else {
            Some(SessionId(arr(&v["parent"])))
        },
        subject: Subject(arr(&v["subject"])),
        state,
        authenticated: b(&v["authenticated"]),
        form: form(&v["form"]),
        counter: u64_(&v["counter"]),
        floor: u64_(&v["floor"]),
        version: u64_(&v["version"]),
        created_at: u64_(&v["created_at"]),
        expires_at: u64_(&v["expires_at"]),
        last_advance_at: u64_(&v["last_advance_at"]),
        grace_until: u64_(&v["grace_until"]),
        last_seen_at: u64_(&v["last_seen_at"]),
        grace_answers: u8_(&v["grace_answers"]),
        confirmed: b(&v["confirmed"]),
        lateness_ms: u32_(&v["lateness_ms"]),
        binding: Binding::from_bytes(arr(&v["binding"])),
        binding_key_id: u8_(&v["binding_key_id"]),
        revoked_at: u64_(&v["revoked_at"]),
    }
}

fn claims(v: &Value) -> Claims {
    Claims {
        key_id: u8_(&v["key_id"]),
        session_id: SessionId(arr(&v["session_id"])),
        counter: u64_(&v["counter"]),
        issued_at: u64_(&v["issued_at"]),
        expires_at: u64_(&v["expires_at"]),
        subject: Subject(arr(&v["subject"])),
        binding: Binding::from_bytes(arr(&v["binding"])),
        authenticated: b(&v["authenticated"]),
    }
}

fn kind(v: &Value) -> Kind {
    match s(v) {
        "advance" => Kind::Advance,
        "read" => Kind::Read,
        other => panic!("kind {other}"),
    }
}

// ---- naming core values: the names are the core's (`name()`), checked unique in the core ----

fn token_error_name(e: TokenError) -> &'static str {
    e.name()
}

fn record_error_name(e: RecordError) -> &'static str {
    e.name()
}

fn reason_name(r: RevokeReason) -> &'static str {
    r.name()
}

fn expiry_name(e: Expiry) -> &'static str {
    e.name()
}

/// The verdict's details as the file spells them.
fn details(v: &Verdict) -> Value {
    let n = |x: u64| Value::String(x.to_string());
    match *v {
        Verdict::ConcurrentInGrace { behind } => json!({"behind": n(behind)}),
        Verdict::StoreBehind { ahead } => json!({"ahead": n(ahead)}),
        Verdict::Reuse { presented, current } => {
            json!({"presented": presented.map(n), "current": n(current)})
        }
        Verdict::Revoked(r) => json!({"reason": reason_name(r)}),
        Verdict::Expired(e) => json!({"expiry": expiry_name(e)}),
        Verdict::Malformed(e) => json!({"reason": token_error_name(e)}),
        _ => json!({}),
    }
}

fn binding_match(m: &BindingMatch) -> Value {
    json!({"user_agent": m.user_agent, "ip": m.ip})
}

fn view(v: &SessionView) -> Value {
    json!({
        "session_id": hex::encode(v.session_id.0),
        "log_id": v.log_id.as_str(),
        "subject": hex::encode(v.subject.0),
        "authenticated": v.authenticated,
        "counter": v.counter.to_string(),
        "parent": v.parent.map(|p| hex::encode(p.0)),
        "expires_at": v.expires_at.to_string(),
    })
}

fn check_verdict(expect: &Value, v: &Verdict, at: &str) {
    assert_eq!(
        s(&expect["verdict"]),
        v.rule().name(),
        "{at}: verdict {v:?}"
    );
    assert_eq!(expect["details"], details(v), "{at}: details of {v:?}");
}

// ---- the file as a whole -----------------------------------------------------------------

#[test]
fn header_and_test_ids() {
    let f = file();
    assert_eq!(f["algorithm"], "rolltoken-v1");
    assert!(f["schema"].is_string() && f["generatorVersion"].is_string());
    let notes = f["notes"].as_object().unwrap();
    let mut ids = Vec::new();
    let mut visit = |t: &Value| {
        ids.push(t["tcId"].as_u64().unwrap());
        for flag in t["flags"].as_array().unwrap() {
            assert!(notes.contains_key(s(flag)), "flag {flag} has no note");
        }
    };
    for section in ["keys", "tokens", "records"] {
        for g in groups(&f, section) {
            tests(g).iter().for_each(&mut visit);
        }
    }
    for section in ["sequences", "sessions"] {
        f[section].as_array().unwrap().iter().for_each(&mut visit);
    }
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "tcIds are unique");
    assert_eq!(f["numberOfTests"].as_u64().unwrap(), ids.len() as u64);
    assert!(f["sequences"].as_array().unwrap().len() >= 24);
    assert!(f["sessions"].as_array().unwrap().len() >= 6);
    for (name, note) in notes {
        assert!(
            note["bugType"].is_string() && note["description"].is_string(),
            "{name}"
        );
    }
}

// ---- keys --------------------------------------------------------------------------------

#[test]
fn keys() {
    let f = file();
    let mut seen = BTreeSet::new();
    for g in groups(&f, "keys") {
        let ty = s(&g["type"]);
        seen.insert(ty.to_owned());
        for t in tests(g) {
            let id = &t["tcId"];
            match ty {
                "compact_tag" => {
                    let keys = single_key(&g["key"]);
                    let kid = u8_(&g["key"]["id"]);
                    let sid = SessionId(arr(&t["session_id"]));
                    let text = token::mint_compact(&keys, kid, &sid, u64_(&t["counter"])).unwrap();
                    assert_eq!(text.as_str(), s(&t["token"]), "tcId {id}");
                    let mut buf = [0u8; 33];
                    let body = Base64UrlUnpadded::decode(&text.as_str()[5..], &mut buf).unwrap();
                    assert_eq!(body[0], kid, "tcId {id}");
                    assert_eq!(&body[1..17], &sid.0[..], "tcId {id}");
                    assert_eq!(hex::encode(&body[17..]), s(&t["tag"]), "tcId {id}");
                }
                "binding" => {
                    let keys = single_key(&g["key"]);
                    let input = BindingInput::new(s(&t["user_agent"]).as_bytes(), ip(&t["ip"]));
                    let got = keys.binding(u8_(&g["key"]["id"]), &input).unwrap();
                    assert_eq!(hex::encode(got.to_bytes()), s(&t["binding"]), "tcId {id}");
                }
                "log_id" => {
                    let sid = SessionId(arr(&t["session_id"]));
                    assert_eq!(log_id(&sid).as_str(), s(&t["log_id"]), "tcId {id}");
                }
                other => panic!("keys group type {other}"),
            }
        }
    }
    assert_eq!(seen.len(), 3);
}

// ---- tokens ------------------------------------------------------------------------------

/// The first error of a text under `keys`: parse, then verify (full) or match `counter`
/// (compact).
fn token_error(keys: &Keyring, text: &str, counter: Option<u64>) -> Option<TokenError> {
    match token::parse(text.as_bytes()) {
        Err(e) => Some(e),
        Ok(Parsed::Full(full)) => full.verify(keys).err(),
        Ok(Parsed::Compact(c)) => {
            let Some(counter) = counter else {
                panic!("{text}: a compact token that parses needs a counter to check")
            };
            match c.matches(keys, counter) {
                Err(e) => Some(e),
                Ok(true) => None,
                Ok(false) => Some(TokenError::BadTag),
            }
        }
    }
}

#[test]
fn tokens() {
    let f = file();
    let mut errors = BTreeSet::new();
    for g in groups(&f, "tokens") {
        let keys = keyring(&g["keyring"]);
        for t in tests(g) {
            let id = &t["tcId"];
            let text = s(&t["token"]);
            match s(&g["type"]) {
                "full" => {
                    assert_eq!(t["result"], "valid");
                    let c = claims(&t["claims"]);
                    let minted = token::mint_full(&keys, &c).unwrap();
                    assert_eq!(minted.as_str(), text, "tcId {id}");
                    assert_eq!(text.len(), token::FULL_TOKEN_LEN);
                    let Ok(Parsed::Full(p)) = token::parse(text.as_bytes()) else {
                        panic!("tcId {id}: does not parse as a full token")
                    };
                    assert_eq!(p.verify(&keys), Ok(c), "tcId {id}");
                }
                "compact" => {
                    assert_eq!(t["result"], "valid");
                    let kid = u8_(&t["key_id"]);
                    let sid = SessionId(arr(&t["session_id"]));
                    let counter = u64_(&t["counter"]);
                    let minted = token::mint_compact(&keys, kid, &sid, counter).unwrap();
                    assert_eq!(minted.as_str(), text, "tcId {id}");
                    assert_eq!(text.len(), token::COMPACT_TOKEN_LEN);
                    let Ok(Parsed::Compact(p)) = token::parse(text.as_bytes()) else {
                        panic!("tcId {id}: does not parse as a compact token")
                    };
                    assert_eq!((p.key_id(), p.session_id()), (kid, sid), "tcId {id}");
                    assert_eq!(p.matches(&keys, counter), Ok(true), "tcId {id}");
                    for other in [counter.checked_sub(1), counter.checked_add(1)]
                        .into_iter()
                        .flatten()
                    {
                        assert_eq!(p.matches(&keys, other), Ok(false), "tcId {id}");
                    }
                }
                "invalid" => {
                    assert_eq!(t["result"], "invalid");
                    let counter = opt_str(&t["counter"]).map(|c| c.parse().unwrap());
                    let got = token_error(&keys, text, counter)
                        .unwrap_or_else(|| panic!("tcId {id}: accepted"));
                    assert_eq!(token_error_name(got), s(&t["error"]), "tcId {id}");
                    errors.insert(token_error_name(got));
                }
                other => panic!("tokens group type {other}"),
            }
        }
    }
    assert_eq!(
        errors.len(),
        9,
        "every token error has a vector: {errors:?}"
    );
}

// ---- records -----------------------------------------------------------------------------

#[test]
fn records() {
    let f = file();
    let mut errors = BTreeSet::new();
    for g in groups(&f, "records") {
        for t in tests(g) {
            let id = &t["tcId"];
            let raw = bytes(&t["hex"]);
            match s(&g["type"]) {
                "valid" => {
                    let fields = record(&t["fields"]);
                    assert_eq!(hex::encode(fields.encode()), s(&t["hex"]), "tcId {id}");
                    let want = if t.get("decoded").is_some() {
                        record(&t["decoded"])
                    } else {
                        fields
                    };
                    assert_eq!(Record::decode(&raw), Ok(want), "tcId {id}");
                }
                "invalid" => {
                    let err = Record::decode(&raw).expect_err("an invalid record");
                    assert_eq!(record_error_name(err), s(&t["error"]), "tcId {id}");
                    errors.insert(record_error_name(err));
                }
                other => panic!("records group type {other}"),
            }
        }
    }
    assert_eq!(
        errors.len(),
        5,
        "every record error has a vector: {errors:?}"
    );
}

// ---- engine sequences --------------------------------------------------------------------

#[test]
fn sequences() {
    let f = file();
    let mut rules = BTreeSet::new();
    for seq in f["sequences"].as_array().unwrap() {
        let id = &seq["tcId"];
        let keys = keyring(&seq["keyring"]);
        let policy = policy(&seq["policy"]);
        let initial = &seq["initial_record"];
        let mut rec = record(&initial["fields"]);
        assert_eq!(hex::encode(rec.encode()), s(&initial["hex"]), "tcId {id}");
        assert_eq!(
            Record::decode(&bytes(&initial["hex"])),
            Ok(rec),
            "tcId {id}"
        );
        for (i, step) in seq["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("tcId {id} step {i}");
            let text = s(&step["token"]);
            let parsed = token::parse(text.as_bytes()).unwrap();
            let ua = s(&step["user_agent"]);
            let client = BindingInput::new(ua.as_bytes(), ip(&step["ip"]));
            let d = engine::decide(
                &keys,
                &policy,
                &rec,
                &parsed,
                kind(&step["kind"]),
                &client,
                u64_(&step["now_ms"]),
            );
            let e = &step["expect"];
            check_verdict(e, &d.verdict, &at);
            rules.insert(d.verdict.rule().name());
            assert_eq!(e["binding"], binding_match(&d.binding), "{at}: binding");
            assert_eq!(b(&e["clear_cookie"]), d.verdict.clears_cookie(), "{at}");
            assert_eq!(
                opt_str(&e["token_out"]),
                d.token.as_ref().map(|t| t.as_str()),
                "{at}: token_out"
            );
            let saved = d.save.map(|r| hex::encode(r.encode()));
            assert_eq!(
                opt_str(&e["record_out"]),
                saved.as_deref(),
                "{at}: record_out"
            );
            if let Some(out) = opt_str(&e["record_out"]) {
                // Carry the record as every binding must: through its bytes.
                rec = Record::decode(&hex::decode(out).unwrap()).unwrap();
                assert_eq!(rec, d.save.unwrap(), "{at}: record round trip");
            }
        }
    }
    for rule in [
        "fresh",
        "current",
        "concurrent_in_grace",
        "lost_response",
        "cookie_jar_behind",
        "store_behind",
        "reuse",
        "grace_exhausted",
        "revoked",
        "expired",
        "forged",
        "malformed",
        "unknown_session",
        "binding_mismatch",
    ] {
        assert!(rules.contains(rule), "no sequence step ends in {rule}");
    }
}

// ---- façade sequences --------------------------------------------------------------------

fn error_name(e: &Error) -> String {
    match e {
        Error::AnonymousSubject => "anonymous_subject".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn sessions() {
    let f = file();
    let mut rules = BTreeSet::new();
    for seq in f["sessions"].as_array().unwrap() {
        let id = &seq["tcId"];
        let keys = keyring(&seq["keyring"]);
        let mut sessions = Sessions::new(
            &keys,
            policy(&seq["policy"]),
            MemoryStore::<64>::new(),
            MemoryDenyList::<64>::new(),
        )
        .unwrap();
        for (i, step) in seq["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("tcId {id} step {i}");
            let e = &step["expect"];
            let now = u64_(&step["now_ms"]);
            match s(&step["op"]) {
                "request" => {
                    let ua = s(&step["user_agent"]);
                    let client = BindingInput::new(ua.as_bytes(), ip(&step["ip"]));
                    let req = Request {
                        cookie: opt_str(&step["cookie"]).map(str::as_bytes),
                        kind: kind(&step["kind"]),
                        now_ms: now,
                        binding: &client,
                        new_session_id: arr(&step["new_session_id"]),
                    };
                    let outcome = sessions.handle(&req);
                    check_verdict(e, &outcome.verdict(), &at);
                    rules.insert(outcome.verdict().rule().name());
                    let got = match &outcome {
                        Outcome::Proceed {
                            view: v,
                            token,
                            binding,
                            ..
                        } => json!({
                            "outcome": "proceed",
                            "binding": binding_match(binding),
                            "clear_cookie": false,
                            "token_out": token.as_ref().map(|t| t.as_str()),
                            "view": view(v),
                            "event": null,
                        }),
                        Outcome::Reject {
                            clear_cookie,
                            event,
                            ..
                        } => json!({
                            "outcome": "reject",
                            "binding": binding_match(&event.binding),
                            "clear_cookie": clear_cookie,
                            "token_out": null,
                            "view": null,
                            "event": {
                                "log_id": event.log_id.as_ref().map(|l| l.as_str()),
                                "at_ms": event.at_ms.to_string(),
                            },
                        }),
                    };
                    for (k, v) in got.as_object().unwrap() {
                        assert_eq!(&e[k], v, "{at}: {k}");
                    }
                }
                "login" => {
                    let ua = s(&step["user_agent"]);
                    let client = BindingInput::new(ua.as_bytes(), ip(&step["ip"]));
                    let result = sessions.login(
                        opt_str(&step["cookie"]).map(str::as_bytes),
                        arr(&step["new_session_id"]),
                        arr(&step["subject"]),
                        now,
                        &client,
                    );
                    let got = match result {
                        Ok(l) => json!({"token_out": l.token.as_str(), "view": view(&l.view)}),
                        Err(err) => json!({"error": error_name(&err)}),
                    };
                    assert_eq!(e, &got, "{at}: login");
                }
                "logout" => {
                    let got = sessions.logout(s(&step["cookie"]).as_bytes(), now).unwrap();
                    assert_eq!(
                        opt_str(&e["log_id"]),
                        got.as_ref().map(|l| l.as_str()),
                        "{at}: logout"
                    );
                }
                "revoke_all" => {
                    let subject = Subject(arr(&step["subject"]));
                    let got = sessions.revoke_all(&subject, now).unwrap();
                    assert_eq!(e["count"].as_u64(), Some(got as u64), "{at}: revoke_all");
                }
                other => panic!("{at}: op {other}"),
            }
        }
    }
    for rule in [
        "new_anonymous",
        "anonymous",
        "cached",
        "fresh",
        "current",
        "reuse",
        "revoked",
        "no_session",
        "malformed",
        "unknown_session",
    ] {
        assert!(rules.contains(rule), "no façade step ends in {rule}");
    }
}
