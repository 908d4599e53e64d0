//! Key derivation checks: compact tags, binding hashes, log ids.

use base64ct::{Base64UrlUnpadded, Encoding};
use rolltoken::token::{self, SessionId};
use serde_json::{Value, json};

use crate::Ctx;
use crate::enc::{binding, hx, u};
use crate::fixtures::{
    IP_A, IP_A_MAPPED, IP_A2, IP_B, IP6_A, IP6_A2, IP6_B, Key, UA_A, UA_B, UA_CURL, k1, k2, k200,
    ring, sid,
};

pub fn section(ctx: &mut Ctx) -> Value {
    let mut groups = Vec::new();
    for key in [k1(), k2(), k200()] {
        groups.push(compact_tags(ctx, key));
    }
    for key in [k1(), k2(), k200()] {
        groups.push(bindings(ctx, key));
    }
    groups.push(log_ids(ctx));
    json!({"testGroups": groups})
}

fn key_json(key: &Key) -> Value {
    json!({"id": key.id, "secret": hx(&key.secret)})
}

fn compact_tags(ctx: &mut Ctx, key: Key) -> Value {
    let keys = ring(&[key], key.id);
    let cases: [(SessionId, u64, &str, &[&'static str]); 5] = [
        (
            sid(0),
            0,
            "first token of a session",
            &["Valid", "EdgeCase"],
        ),
        (sid(0), 1, "second token of the same session", &["Valid"]),
        (sid(1), 5, "another session", &["Valid"]),
        (
            sid(2),
            1 << 32,
            "counter past 32 bits",
            &["Valid", "EdgeCase"],
        ),
        (
            SessionId([0xff; 16]),
            u64::MAX,
            "last counter, all-ones id",
            &["EdgeCase"],
        ),
    ];
    let tests: Vec<Value> = cases
        .iter()
        .map(|(id, counter, comment, flags)| {
            let text = token::mint_compact(&keys, key.id, id, *counter).unwrap();
            let raw = Base64UrlUnpadded::decode_vec(&text.as_str()[token::PREFIX_LEN..]).unwrap();
            let tag = &raw[raw.len() - token::TAG_LEN..];
            let mut t = ctx.test(comment, flags);
            t.insert("session_id".into(), hx(&id.0));
            t.insert("counter".into(), u(*counter));
            t.insert("tag".into(), hx(tag));
            t.insert("token".into(), text.as_str().into());
            t.into()
        })
        .collect();
    json!({"type": "compact_tag", "key": key_json(&key), "tests": tests})
}

fn bindings(ctx: &mut Ctx, key: Key) -> Value {
    let keys = ring(&[key], key.id);
    let cases: [(&str, Option<&str>, &str, &[&'static str]); 14] = [
        (UA_A, None, "no address", &["NoAddress"]),
        (UA_A, Some(IP_A), "IPv4", &["Ipv4"]),
        (
            UA_A,
            Some(IP_A2),
            "IPv4 in the same /24: same hash as the previous",
            &["Ipv4", "SamePrefix"],
        ),
        (UA_A, Some(IP_B), "IPv4 in another /24", &["Ipv4"]),
        (
            UA_A,
            Some(IP_A_MAPPED),
            "IPv4-mapped IPv6: same hash as the IPv4 address",
            &["Ipv4Mapped", "SamePrefix"],
        ),
        (UA_A, Some(IP6_A), "IPv6", &["Ipv6"]),
        (
            UA_A,
            Some(IP6_A2),
            "IPv6 in the same /64: same hash as the previous",
            &["Ipv6", "SamePrefix"],
        ),
        (UA_A, Some(IP6_B), "IPv6 in another /64", &["Ipv6"]),
        (
            UA_A,
            Some("::"),
            "the unspecified IPv6 address: not the same as no address",
            &["Ipv6", "EdgeCase"],
        ),
        (
            UA_A,
            Some("0.0.0.0"),
            "the unspecified IPv4 address",
            &["Ipv4", "EdgeCase"],
        ),
        (
            UA_B,
            Some(IP_A),
            "another user agent, same address: the address part is unchanged",
            &["Ipv4"],
        ),
        (
            "",
            None,
            "empty user agent, no address",
            &["NoAddress", "EdgeCase"],
        ),
        (UA_CURL, Some("192.0.2.1"), "a short user agent", &["Ipv4"]),
        (
            "Mözilla/5.0 (テスト)",
            Some("192.0.2.1"),
            "non-ASCII user agent",
            &["Utf8UserAgent", "Ipv4"],
        ),
    ];
    let tests: Vec<Value> = cases
        .iter()
        .map(|(ua, ip, comment, flags)| {
            let b = crate::fixtures::binding(&keys, key.id, ua, *ip);
            let mut t = ctx.test(comment, flags);
            t.insert("user_agent".into(), (*ua).into());
            t.insert("ip".into(), ip.map_or(Value::Null, Value::from));
            t.insert("binding".into(), binding(&b));
            t.into()
        })
        .collect();
    json!({"type": "binding", "key": key_json(&key), "tests": tests})
}

fn log_ids(ctx: &mut Ctx) -> Value {
    let cases: [(SessionId, &str, &[&'static str]); 5] = [
        (sid(0), "a session id", &["Valid"]),
        (sid(1), "another session id", &["Valid"]),
        (sid(2), "a third session id", &["Valid"]),
        (SessionId([0; 16]), "all zeros", &["EdgeCase"]),
        (SessionId([0xff; 16]), "all ones", &["EdgeCase"]),
    ];
    let tests: Vec<Value> = cases
        .iter()
        .map(|(id, comment, flags)| {
            let mut t = ctx.test(comment, flags);
            t.insert("session_id".into(), hx(&id.0));
            t.insert("log_id".into(), token::log_id(id).as_str().into());
            t.into()
        })
        .collect();
    json!({"type": "log_id", "tests": tests})
}
