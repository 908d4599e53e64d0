//! How core values are written to the file. Language-neutral on purpose: u64 values are
//! decimal strings, bytes are lowercase hex, enums are snake_case strings.

use rolltoken::keys::{Binding, BindingMatch};
use rolltoken::policy::{Grace, Policy};
use rolltoken::record::{Record, RecordError, RevokeReason, State};
use rolltoken::token::{Form, TokenError};
use rolltoken::verdict::{Expiry, Verdict};
use serde_json::{Map, Value, json};

use crate::fixtures::Key;

/// A u64 as a decimal string (exact in every JSON parser).
pub fn u(x: u64) -> Value {
    Value::String(x.to_string())
}

/// Bytes as lowercase hex.
pub fn hx(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

pub fn token_error(e: TokenError) -> &'static str {
    e.name()
}

pub fn record_error(e: RecordError) -> &'static str {
    e.name()
}

pub fn revoke_reason(r: RevokeReason) -> &'static str {
    r.name()
}

pub fn expiry(e: Expiry) -> &'static str {
    e.name()
}

pub fn form(f: Form) -> &'static str {
    f.name()
}

pub fn keyring(keys: &[Key], minting: u8) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| json!({"id": k.id, "secret": hx(&k.secret)}))
        .collect();
    json!({"keys": keys, "minting_id": minting})
}

pub fn policy(p: &Policy) -> Value {
    let grace = match p.grace {
        Grace::Fixed { ms } => json!({"kind": "fixed", "ms": ms}),
        Grace::Adaptive { min_ms, max_ms } => {
            json!({"kind": "adaptive", "min_ms": min_ms, "max_ms": max_ms})
        }
    };
    json!({
        "mode": p.mode.name(),
        "form": form(p.form),
        "anonymous": p.anonymous,
        "grace": grace,
        "span_cap": p.span_cap,
        "answer_cap": p.answer_cap,
        "reissue_one_behind": p.reissue_one_behind,
        "jar_behind_ms": u(p.jar_behind_ms),
        "binding": p.binding.name(),
        "fresh_ms": u(p.fresh_ms),
        "session_lifetime_ms": u(p.session_lifetime_ms),
        "idle_timeout_ms": u(p.idle_timeout_ms),
        "anonymous_lifetime_ms": u(p.anonymous_lifetime_ms),
    })
}

pub fn binding(b: &Binding) -> Value {
    hx(&b.to_bytes())
}

/// The record's logical fields (as the core's `Record` holds them).
pub fn record(r: &Record) -> Value {
    let (state, reason) = match r.state {
        State::Active => ("active", Value::Null),
        State::Revoked(reason) => ("revoked", Value::from(revoke_reason(reason))),
    };
    json!({
        "session_id": hx(&r.session_id.0),
        "parent": r.parent.map_or(Value::Null, |p| hx(&p.0)),
        "subject": hx(&r.subject.0),
        "state": state,
        "revoke_reason": reason,
        "authenticated": r.authenticated,
        "form": form(r.form),
        "counter": u(r.counter),
        "floor": u(r.floor),
        "version": u(r.version),
        "created_at": u(r.created_at),
        "expires_at": u(r.expires_at),
        "last_advance_at": u(r.last_advance_at),
        "grace_until": u(r.grace_until),
        "last_seen_at": u(r.last_seen_at),
        "grace_answers": r.grace_answers,
        "confirmed": r.confirmed,
        "lateness_ms": r.lateness_ms,
        "binding": binding(&r.binding),
        "binding_key_id": r.binding_key_id,
        "revoked_at": u(r.revoked_at),
    })
}

/// `verdict` (the rule name) and `details` (the variant's fields; `{}` when it has none).
pub fn verdict(v: &Verdict, out: &mut Map<String, Value>) {
    let details = match *v {
        Verdict::ConcurrentInGrace { behind } => json!({"behind": u(behind)}),
        Verdict::StoreBehind { ahead } => json!({"ahead": u(ahead)}),
        Verdict::Reuse { presented, current } => json!({
            "presented": presented.map_or(Value::Null, u),
            "current": u(current),
        }),
        Verdict::Revoked(reason) => json!({"reason": revoke_reason(reason)}),
        Verdict::Expired(e) => json!({"expiry": expiry(e)}),
        Verdict::Malformed(e) => json!({"reason": token_error(e)}),
        _ => json!({}),
    };
    out.insert("verdict".into(), v.rule().name().into());
    out.insert("details".into(), details);
}

pub fn binding_match(m: &BindingMatch) -> Value {
    json!({"user_agent": m.user_agent, "ip": m.ip})
}
