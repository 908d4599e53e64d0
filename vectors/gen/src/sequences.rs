//! Request sequences on the pure engine (`engine::decide`), one record carried from step to
//! step as if every save succeeded.

use std::collections::BTreeMap;

use rolltoken::engine::{self, Kind};
use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::policy::{BindingPolicy, Grace, Policy};
use rolltoken::record::{Record, RevokeReason, State};
use rolltoken::token::{self, Claims, Form, Subject};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::enc::{self, hx, u};
use crate::fixtures::{
    IP_A, IP_A2, IP_B, IP6_A, Key, T0, T1, UA_A, UA_B, binding, ip, k1, k2, ring, sid, wrong_secret,
};

const HOUR: u64 = 3_600_000;
const MIN: u64 = 60_000;
const SEC: u64 = 1_000;

/// Which token a step presents.
enum Tok {
    /// The session's token at this counter: the one last handed out for it, or else the one
    /// the session would have been issued (see [`Seq::token_at`]).
    At(u64),
    /// This exact text.
    Text(String),
}

struct Seq {
    keys: Keyring,
    policy: Policy,
    record: Record,
    issued: BTreeMap<u64, String>,
    steps: Vec<Value>,
    test: Map<String, Value>,
    name: String,
}

impl Seq {
    #[allow(clippy::too_many_arguments)]
    fn new(
        ctx: &mut Ctx,
        comment: &str,
        flags: &[&'static str],
        key_list: &[Key],
        minting: u8,
        policy: Policy,
        record: Record,
    ) -> Seq {
        policy.validate().unwrap();
        let mut test = ctx.test(comment, flags);
        test.insert("keyring".into(), enc::keyring(key_list, minting));
        test.insert("policy".into(), enc::policy(&policy));
        let bytes = record.encode();
        assert_eq!(
            Record::decode(&bytes),
            Ok(record),
            "{comment}: initial record"
        );
        test.insert(
            "initial_record".into(),
            json!({"fields": enc::record(&record), "hex": hx(&bytes)}),
        );
        Seq {
            keys: ring(key_list, minting),
            policy,
            record,
            issued: BTreeMap::new(),
            steps: Vec::new(),
            test,
            name: comment.to_owned(),
        }
    }

    /// The token of counter `k` as the client holds it: the one handed out last for it, else
    /// the first one synthesized for it (and remembered): a token the session was issued
    /// before the sequence started (`k <= counter`: minted one minute per step before the last
    /// advance, with the record's binding and key), or one the store never saw (`k > counter`:
    /// one second per step after it).
    fn token_at(&mut self, k: u64) -> String {
        if let Some(t) = self.issued.get(&k) {
            return t.clone();
        }
        let t = self.synthesize(k);
        self.issued.insert(k, t.clone());
        t
    }

    fn synthesize(&self, k: u64) -> String {
        let r = &self.record;
        let kid = r.binding_key_id;
        match r.form {
            Form::Compact => token::mint_compact(&self.keys, kid, &r.session_id, k)
                .unwrap()
                .as_str()
                .to_owned(),
            Form::Full => {
                let issued_at = if k <= r.counter {
                    r.last_advance_at - (r.counter - k) * MIN
                } else {
                    r.last_advance_at + (k - r.counter) * SEC
                };
                let claims = Claims {
                    key_id: kid,
                    session_id: r.session_id,
                    counter: k,
                    issued_at,
                    expires_at: r.expires_at,
                    subject: r.subject,
                    binding: r.binding,
                    authenticated: r.authenticated,
                };
                token::mint_full(&self.keys, &claims)
                    .unwrap()
                    .as_str()
                    .to_owned()
            }
        }
    }

    /// One request; panics unless the engine applies the rule `want`.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        comment: &str,
        kind: Kind,
        tok: Tok,
        now: u64,
        ua: &str,
        addr: Option<&str>,
        want: &str,
    ) {
        let text = match tok {
            Tok::At(k) => self.token_at(k),
            Tok::Text(t) => t,
        };
        let parsed = token::parse(text.as_bytes()).unwrap();
        let client = BindingInput::new(ua.as_bytes(), ip(addr));
        let d = engine::decide(
            &self.keys,
            &self.policy,
            &self.record,
            &parsed,
            kind,
            &client,
            now,
        );
        assert_eq!(
            d.verdict.rule().name(),
            want,
            "{} / {comment}: {:?}",
            self.name,
            d.verdict
        );
        let mut expect = Map::new();
        enc::verdict(&d.verdict, &mut expect);
        expect.insert("binding".into(), enc::binding_match(&d.binding));
        expect.insert("clear_cookie".into(), d.verdict.clears_cookie().into());
        expect.insert(
            "token_out".into(),
            d.token.as_ref().map_or(Value::Null, |t| t.as_str().into()),
        );
        expect.insert(
            "record_out".into(),
            d.save.as_ref().map_or(Value::Null, |r| hx(&r.encode())),
        );
        let step = json!({
            "comment": comment,
            "kind": match kind { Kind::Advance => "advance", Kind::Read => "read" },
            "token": text,
            "now_ms": u(now),
            "user_agent": ua,
            "ip": addr,
            "expect": expect,
        });
        self.steps.push(step);
        if let Some(save) = &d.save {
            let back = Record::decode(&save.encode()).unwrap();
            assert_eq!(
                back, *save,
                "{} / {comment}: saved record round trip",
                self.name
            );
            assert_eq!(save.version, self.record.version + 1);
            self.record = back;
        }
        if let Some(t) = &d.token {
            let c = self.record.counter;
            if let Some(prev) = self.issued.get(&c) {
                assert_eq!(
                    prev,
                    t.as_str(),
                    "{} / {comment}: a re-issue is the same token",
                    self.name
                );
            }
            self.issued.insert(c, t.as_str().to_owned());
        }
    }

    fn advance(&mut self, comment: &str, tok: Tok, now: u64, want: &str) {
        self.step(comment, Kind::Advance, tok, now, UA_A, Some(IP_A), want)
    }

    fn read(&mut self, comment: &str, tok: Tok, now: u64, want: &str) {
        self.step(comment, Kind::Read, tok, now, UA_A, Some(IP_A), want)
    }

    fn finish(mut self) -> Value {
        assert!(!self.steps.is_empty());
        self.test.insert("steps".into(), Value::Array(self.steps));
        self.test.into()
    }
}

fn form_flag(form: Form) -> &'static str {
    match form {
        Form::Full => "FullForm",
        Form::Compact => "CompactForm",
    }
}

fn form_name(form: Form) -> &'static str {
    enc::form(form)
}

/// The session every sequence starts from unless it says otherwise: authenticated (subject
/// 1001), created at T0, expiring 12 h later, last advanced at T1 to counter 5 (floor 4,
/// window until T1 + 10 s, not yet confirmed), by UA_A from IP_A, binding under `kid`.
fn base(keys: &Keyring, form: Form, kid: u8) -> Record {
    let mut r = Record::new(
        sid(1),
        None,
        Subject::from_u64(1001),
        form,
        T0,
        T0 + 12 * HOUR,
        binding(keys, kid, UA_A, Some(IP_A)),
        kid,
    );
    r.counter = 5;
    r.floor = 4;
    r.version = 9;
    r.last_advance_at = T1;
    r.grace_until = T1 + 10 * SEC;
    r.last_seen_at = T1;
    r
}

fn k1_ring() -> Keyring {
    ring(&[k1()], 1)
}

pub fn section(ctx: &mut Ctx) -> Value {
    let mut out = Vec::new();
    for form in [Form::Compact, Form::Full] {
        out.push(fresh_and_reads(ctx, form));
        out.push(concurrent(ctx, form));
        out.push(grace_exhausted(ctx, form));
        out.push(lost_response(ctx, form));
        out.push(lost_response_other_network(ctx, form));
        out.push(cookie_jar(ctx, form));
        out.push(jar_two_behind(ctx, form));
        out.push(one_behind_other_ua(ctx, form));
        out.push(two_behind(ctx, form));
        out.push(below_floor(ctx, form));
        out.push(below_floor_after_window(ctx, form));
        out.push(unknown_key(ctx, form));
        out.push(revoked(ctx, form));
        out.push(expired_absolute(ctx, form));
        out.push(expired_idle(ctx, form));
        out.push(require_user_agent(ctx, form));
        out.push(require_full(ctx, form));
        out.push(span_cap(ctx, form));
        out.push(rotation(ctx, form));
        out.push(reopen(ctx, form));
    }
    out.push(confirmed_other_ip(ctx));
    out.push(jar_too_late(ctx));
    out.push(jar_too_late_two_behind(ctx));
    out.push(rule3_off(ctx));
    out.push(store_behind_full(ctx));
    out.push(store_behind_compact(ctx));
    out.push(compact_beyond_span(ctx));
    out.push(forged(ctx));
    out.push(compact_bad_tag(ctx));
    out.push(unknown_session(ctx));
    out.push(counter_exhausted(ctx));
    out.push(adaptive(ctx));
    out.push(rotation_old_key_dropped(ctx));
    out.push(read_one_behind(ctx));
    Value::Array(out)
}

fn fresh_and_reads(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let policy = Policy::default();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: advances roll the token; the first read of a step confirms it, later reads write nothing",
            form_name(form)
        ),
        &["Fresh", "ReadCurrent", form_flag(form)],
        &[k1()],
        1,
        policy,
        base(&keys, form, 1),
    );
    s.advance(
        "advance with the current token after the window: token 6, floor 5",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.read(
        "read with token 6: confirms it (a write)",
        Tok::At(6),
        T1 + 31 * SEC,
        "current",
    );
    s.read(
        "read again: nothing to write",
        Tok::At(6),
        T1 + 32 * SEC,
        "current",
    );
    s.advance(
        "advance with token 6 inside the window: token 7, floor stays 5",
        Tok::At(6),
        T1 + 35 * SEC,
        "fresh",
    );
    s.advance(
        "advance with token 7: token 8",
        Tok::At(7),
        T1 + 50 * SEC,
        "fresh",
    );
    s.step("a read from another network confirms token 8; the binding evidence shows the address changed", Kind::Read, Tok::At(8), T1 + 51 * SEC, UA_A, Some(IP_B), "current");
    s.finish()
}

fn concurrent(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: parallel requests with the previous token inside the grace window",
            form_name(form)
        ),
        &["ConcurrentInGrace", "Fresh", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "the winner advances: token 6",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.advance(
        "a racer with token 5 advances: gets token 6 again, one grace answer",
        Tok::At(5),
        T1 + 31 * SEC,
        "concurrent_in_grace",
    );
    s.step(
        "another racer from another client: the grace path ignores the binding",
        Kind::Advance,
        Tok::At(5),
        T1 + 32 * SEC,
        UA_B,
        Some(IP_B),
        "concurrent_in_grace",
    );
    s.read(
        "a read with token 5: passes, hands out nothing, writes nothing",
        Tok::At(5),
        T1 + 33 * SEC,
        "concurrent_in_grace",
    );
    s.read(
        "the winner reads with token 6",
        Tok::At(6),
        T1 + 34 * SEC,
        "current",
    );
    s.advance(
        "the winner advances again with token 6: token 7, floor stays 5, answers reset",
        Tok::At(6),
        T1 + 36 * SEC,
        "fresh",
    );
    s.advance(
        "token 5 is still inside the (extended) window: two behind, gets token 7",
        Tok::At(5),
        T1 + 37 * SEC,
        "concurrent_in_grace",
    );
    s.finish()
}

fn grace_exhausted(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        answer_cap: 2,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: the grace-answer cap (2) bounds the writes one step can cause",
            form_name(form)
        ),
        &["GraceExhausted", "ConcurrentInGrace", form_flag(form)],
        &[k1()],
        1,
        policy,
        base(&keys, form, 1),
    );
    s.advance("advance: token 6", Tok::At(5), T1 + 30 * SEC, "fresh");
    s.advance(
        "first grace answer",
        Tok::At(5),
        T1 + 31 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "second grace answer",
        Tok::At(5),
        T1 + 32 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "third: refused, retryable, cookie kept, nothing written",
        Tok::At(5),
        T1 + 33 * SEC,
        "grace_exhausted",
    );
    s.read(
        "reads are not answers: a read with token 5 still passes",
        Tok::At(5),
        T1 + 34 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "the next step resets the count: token 7",
        Tok::At(6),
        T1 + 35 * SEC,
        "fresh",
    );
    s.advance(
        "a grace answer in the new step",
        Tok::At(6),
        T1 + 36 * SEC,
        "concurrent_in_grace",
    );
    s.finish()
}

fn lost_response(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: the response carrying token 6 was lost; the retry with token 5 after the window gets it again",
            form_name(form)
        ),
        &[
            "LostResponse",
            "ReopenOnHandOut",
            "SamePrefix",
            form_flag(form),
        ],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "advance: token 6 (its response is lost)",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.step(
        "retry with token 5 after the window, same user agent, another address in the same /24 (the full binding): token 6 again",
        Kind::Advance,
        Tok::At(5),
        T1 + 90 * SEC,
        UA_A,
        Some(IP_A2),
        "lost_response",
    );
    s.advance(
        "a racing copy of the retry: the hand-out reopened the window",
        Tok::At(5),
        T1 + 95 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "the client now holds token 6: token 7",
        Tok::At(6),
        T1 + 120 * SEC,
        "fresh",
    );
    s.finish()
}

fn lost_response_other_network(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: one behind after the window, token 6 never presented, same user agent but another /24: reuse (many browsers share one user agent string)",
            form_name(form)
        ),
        &["Reuse", "Revoked", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "the user advances: token 6 (its response may have been lost)",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.step(
        "token 5 after the window with the same user agent from another /24: not the client of the last advance, revoked",
        Kind::Advance,
        Tok::At(5),
        T1 + 90 * SEC,
        UA_A,
        Some(IP_B),
        "reuse",
    );
    s.advance(
        "the user's token 6: the session is over",
        Tok::At(6),
        T1 + 91 * SEC,
        "revoked",
    );
    s.finish()
}

fn cookie_jar(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: out-of-order responses pushed the cookie jar back one step after token 6 was shown",
            form_name(form)
        ),
        &["CookieJarBehind", "ReadCurrent", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance("advance: token 6", Tok::At(5), T1 + 30 * SEC, "fresh");
    s.read(
        "read with token 6: confirmed",
        Tok::At(6),
        T1 + 31 * SEC,
        "current",
    );
    s.step("token 5 after the window, same user agent, same /24, 60 s after the advance: token 6 again", Kind::Advance, Tok::At(5), T1 + 90 * SEC, UA_A, Some(IP_A2), "cookie_jar_behind");
    s.read(
        "a read with token 5 in the reopened window passes",
        Tok::At(5),
        T1 + 91 * SEC,
        "concurrent_in_grace",
    );
    s.finish()
}

fn jar_two_behind(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: rapid page loads inside the window leave the floor at 4; after the window the cookie jar goes back two steps and gets the current token",
            form_name(form)
        ),
        &[
            "CookieJarBehind",
            "Fresh",
            "ReadCurrent",
            "SamePrefix",
            form_flag(form),
        ],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "page load inside the window: token 6, floor stays 4",
        Tok::At(5),
        T1 + 2 * SEC,
        "fresh",
    );
    s.advance(
        "page load: token 7, floor stays 4",
        Tok::At(6),
        T1 + 4 * SEC,
        "fresh",
    );
    s.advance(
        "page load: token 8, floor stays 4",
        Tok::At(7),
        T1 + 6 * SEC,
        "fresh",
    );
    s.read(
        "read with token 8: confirmed",
        Tok::At(8),
        T1 + 7 * SEC,
        "current",
    );
    s.step(
        "token 6 after the window (two behind, above the floor), same user agent, same /24, 54 s after the advance: token 8 again",
        Kind::Advance,
        Tok::At(6),
        T1 + 60 * SEC,
        UA_A,
        Some(IP_A2),
        "cookie_jar_behind",
    );
    s.read(
        "token 4 (the floor, four behind) after the reopened window, 5 min after the advance: passes, nothing handed out or written",
        Tok::At(4),
        T1 + 5 * MIN,
        "cookie_jar_behind",
    );
    s.advance(
        "the client now holds token 8: token 9, floor 8",
        Tok::At(8),
        T1 + 6 * MIN,
        "fresh",
    );
    s.finish()
}

fn one_behind_other_ua(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: one step behind after the window from another user agent is reuse",
            form_name(form)
        ),
        &["Reuse", "Revoked", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "the user advances: token 6",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.step(
        "a copy of token 5 from another browser after the window: revoked",
        Kind::Advance,
        Tok::At(5),
        T1 + 90 * SEC,
        UA_B,
        Some(IP_B),
        "reuse",
    );
    s.advance(
        "the user's token 6: the session is over",
        Tok::At(6),
        T1 + 91 * SEC,
        "revoked",
    );
    s.read("and for reads too", Tok::At(6), T1 + 92 * SEC, "revoked");
    s.finish()
}

fn two_behind(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: two steps behind after the window (above the floor) from another network is reuse",
            form_name(form)
        ),
        &["Reuse", "Revoked", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "advance inside the window: token 6, floor stays 4",
        Tok::At(5),
        T1 + SEC,
        "fresh",
    );
    s.step(
        "read with token 4 after the window, same user agent, another /24, within jar_behind_ms: revoked even on a read (a compact token is found by the search down to the floor)",
        Kind::Read,
        Tok::At(4),
        T1 + 90 * SEC,
        UA_A,
        Some(IP_B),
        "reuse",
    );
    s.advance(
        "the user's token 6: the session is over",
        Tok::At(6),
        T1 + 91 * SEC,
        "revoked",
    );
    s.finish()
}

fn below_floor(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: a token below the floor inside the window is reuse",
            form_name(form)
        ),
        &["Reuse", "ConcurrentInGrace", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "advance inside the window: token 6, floor stays 4",
        Tok::At(5),
        T1 + SEC,
        "fresh",
    );
    s.advance(
        "token 4 (the floor) inside the window: two behind, gets token 6",
        Tok::At(4),
        T1 + 2 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "token 3, below the floor: revoked",
        Tok::At(3),
        T1 + 3 * SEC,
        "reuse",
    );
    s.finish()
}

fn below_floor_after_window(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: a token below the floor after the window is reuse, even from the client of the last advance",
            form_name(form)
        ),
        &["Reuse", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "advance after the window: token 6, floor 5",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.read(
        "read with token 4 after the window, same client, 60 s after the advance: below the floor, revoked even on a read",
        Tok::At(4),
        T1 + 90 * SEC,
        "reuse",
    );
    s.finish()
}

fn unknown_key(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let record = base(&keys, form, 1);
    let k9 = ring(
        &[Key {
            id: 9,
            secret: k1().secret,
        }],
        9,
    );
    let text = match form {
        Form::Compact => token::mint_compact(&k9, 9, &record.session_id, 5).unwrap(),
        Form::Full => {
            let claims = Claims {
                key_id: 9,
                session_id: record.session_id,
                counter: 5,
                issued_at: record.last_advance_at,
                expires_at: record.expires_at,
                subject: record.subject,
                binding: record.binding,
                authenticated: true,
            };
            token::mint_full(&k9, &claims).unwrap()
        }
    };
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: a token naming a key id the keyring does not hold is malformed, not theft",
            form_name(form)
        ),
        &["UnknownKey", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.advance(
        "token 5 under key 9 (same secret as key 1): refused, nothing written",
        Tok::Text(text.as_str().to_owned()),
        T1 + 30 * SEC,
        "malformed",
    );
    s.advance(
        "the real token 5 still works",
        Tok::At(5),
        T1 + 31 * SEC,
        "fresh",
    );
    s.finish()
}

fn revoked(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut record = base(&keys, form, 1);
    let reason = match form {
        Form::Compact => RevokeReason::Admin,
        Form::Full => RevokeReason::Logout,
    };
    record.state = State::Revoked(reason);
    record.revoked_at = T1 + 5 * SEC;
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: a revoked session refuses every token before looking at counters",
            form_name(form)
        ),
        &["Revoked", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.advance("the current token", Tok::At(5), T1 + 6 * SEC, "revoked");
    s.read(
        "a stale token inside the window",
        Tok::At(4),
        T1 + 7 * SEC,
        "revoked",
    );
    s.advance(
        "an old token after the window: no second revocation",
        Tok::At(2),
        T1 + 60 * SEC,
        "revoked",
    );
    s.finish()
}

fn expired_absolute(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut record = base(&keys, form, 1);
    record.expires_at = T1 + 20 * SEC;
    let mut s = Seq::new(
        ctx,
        &format!("{}: absolute expiry", form_name(form)),
        &["Expired", "ReadCurrent", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.read(
        "one millisecond before expiry: passes",
        Tok::At(5),
        T1 + 20 * SEC - 1,
        "current",
    );
    s.advance(
        "at expiry: refused, cookie cleared",
        Tok::At(5),
        T1 + 20 * SEC,
        "expired",
    );
    s.advance(
        "a stale token after expiry: expired, not reuse",
        Tok::At(3),
        T1 + 21 * SEC,
        "expired",
    );
    s.finish()
}

fn expired_idle(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: idle expiry, extended by reads at most once per quarter of the timeout",
            form_name(form)
        ),
        &["Expired", "ReadCurrent", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.read(
        "a read 29 min after the last activity: confirms and counts as activity",
        Tok::At(5),
        T1 + 29 * MIN,
        "current",
    );
    s.read(
        "a read 5 min later: under a quarter of the timeout since the last write, nothing written",
        Tok::At(5),
        T1 + 34 * MIN,
        "current",
    );
    s.read(
        "30 min after the last counted activity: idle",
        Tok::At(5),
        T1 + 59 * MIN,
        "expired",
    );
    s.finish()
}

fn require_user_agent(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        binding: BindingPolicy::RequireUserAgent,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        &format!("{}: binding policy require_user_agent", form_name(form)),
        &["BindingMismatch", "Fresh", form_flag(form)],
        &[k1()],
        1,
        policy,
        base(&keys, form, 1),
    );
    s.step(
        "another user agent with the current token: refused, nothing revoked, cookie kept",
        Kind::Advance,
        Tok::At(5),
        T1 + 30 * SEC,
        UA_B,
        Some(IP_A),
        "binding_mismatch",
    );
    s.step(
        "a read from another user agent: refused too",
        Kind::Read,
        Tok::At(5),
        T1 + 31 * SEC,
        UA_B,
        Some(IP_A),
        "binding_mismatch",
    );
    s.step(
        "same user agent from another network: allowed",
        Kind::Advance,
        Tok::At(5),
        T1 + 32 * SEC,
        UA_A,
        Some(IP6_A),
        "fresh",
    );
    s.step(
        "a stale racer from another user agent inside the window: this policy refuses it",
        Kind::Advance,
        Tok::At(5),
        T1 + 33 * SEC,
        UA_B,
        Some(IP6_A),
        "binding_mismatch",
    );
    s.finish()
}

fn require_full(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        binding: BindingPolicy::RequireFull,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        &format!("{}: binding policy require_full", form_name(form)),
        &["BindingMismatch", "Fresh", "SamePrefix", form_flag(form)],
        &[k1()],
        1,
        policy,
        base(&keys, form, 1),
    );
    s.step(
        "same user agent, another network: refused",
        Kind::Advance,
        Tok::At(5),
        T1 + 30 * SEC,
        UA_A,
        Some(IP_B),
        "binding_mismatch",
    );
    s.step(
        "no address at all: refused",
        Kind::Read,
        Tok::At(5),
        T1 + 31 * SEC,
        UA_A,
        None,
        "binding_mismatch",
    );
    s.step(
        "same user agent, same /24: allowed",
        Kind::Advance,
        Tok::At(5),
        T1 + 32 * SEC,
        UA_A,
        Some(IP_A2),
        "fresh",
    );
    s.finish()
}

fn span_cap(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        span_cap: 2,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: span cap 2 pushes the floor up on repeated advances inside the window",
            form_name(form)
        ),
        &["SpanCap", "Fresh", "Reuse", form_flag(form)],
        &[k1()],
        1,
        policy,
        base(&keys, form, 1),
    );
    s.advance(
        "advance inside the window: token 6, floor 4",
        Tok::At(5),
        T1 + SEC,
        "fresh",
    );
    s.advance(
        "token 7, floor raised to 5",
        Tok::At(6),
        T1 + 2 * SEC,
        "fresh",
    );
    s.advance(
        "token 8, floor raised to 6",
        Tok::At(7),
        T1 + 3 * SEC,
        "fresh",
    );
    s.advance(
        "token 6 (the floor): two behind, gets token 8",
        Tok::At(6),
        T1 + 4 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "token 5, now below the floor: revoked",
        Tok::At(5),
        T1 + 5 * SEC,
        "reuse",
    );
    s.finish()
}

fn rotation(ctx: &mut Ctx, form: Form) -> Value {
    let old = ring(&[k1(), k2()], 2);
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: key rotation, key 2 mints while key 1 still verifies",
            form_name(form)
        ),
        &["KeyRotation", "ConcurrentInGrace", "Fresh", form_flag(form)],
        &[k1(), k2()],
        2,
        Policy::default(),
        base(&old, form, 1),
    );
    s.advance(
        "token 4 (key 1) inside the window: token 5 again, still under key 1 (the very same token)",
        Tok::At(4),
        T1 + 2 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "token 5 (key 1) advances: token 6 under key 2, binding rehashed under key 2",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.advance(
        "token 5 (key 1) racing: gets token 6 under key 2",
        Tok::At(5),
        T1 + 31 * SEC,
        "concurrent_in_grace",
    );
    s.read(
        "token 6 (key 2) reads",
        Tok::At(6),
        T1 + 32 * SEC,
        "current",
    );
    s.advance(
        "token 6 (key 2) advances",
        Tok::At(6),
        T1 + 60 * SEC,
        "fresh",
    );
    s.finish()
}

fn reopen(ctx: &mut Ctx, form: Form) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        &format!(
            "{}: a grace answer reopens the window, so a later racer still gets grace",
            form_name(form)
        ),
        &["ReopenOnHandOut", "ConcurrentInGrace", form_flag(form)],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, form, 1),
    );
    s.advance(
        "advance: token 6, window until +40 s",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.read(
        "token 6 is shown: confirmed (after the window, rule 3 helps only the full binding anyway)",
        Tok::At(6),
        T1 + 31 * SEC,
        "current",
    );
    s.advance(
        "token 5 at +39 s: token 6 again; the window reopens until +49 s",
        Tok::At(5),
        T1 + 39 * SEC,
        "concurrent_in_grace",
    );
    s.step(
        "token 5 at +45 s from another network: past the first window, inside the reopened one",
        Kind::Advance,
        Tok::At(5),
        T1 + 45 * SEC,
        UA_A,
        Some(IP_B),
        "concurrent_in_grace",
    );
    s.step(
        "token 5 at +70 s from another network: the window is over and this is not the full binding",
        Kind::Advance,
        Tok::At(5),
        T1 + 70 * SEC,
        UA_A,
        Some(IP_B),
        "reuse",
    );
    s.finish()
}

fn confirmed_other_ip(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "full: one behind after the window, current token confirmed, same user agent but another network: reuse",
        &["Reuse", "ReadCurrent", "FullForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Full, 1),
    );
    s.advance("advance: token 6", Tok::At(5), T1 + 30 * SEC, "fresh");
    s.read("token 6 confirmed", Tok::At(6), T1 + 31 * SEC, "current");
    s.step(
        "token 5 after the window from another /24: not a regressed cookie jar",
        Kind::Advance,
        Tok::At(5),
        T1 + 60 * SEC,
        UA_A,
        Some(IP_B),
        "reuse",
    );
    s.finish()
}

fn jar_too_late(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "compact: one behind, confirmed, full binding, but the last advance is jar_behind_ms (default 30 min) old: reuse",
        &["Reuse", "ReadCurrent", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Compact, 1),
    );
    s.advance("advance: token 6", Tok::At(5), T1 + 30 * SEC, "fresh");
    s.read("token 6 confirmed", Tok::At(6), T1 + 31 * SEC, "current");
    s.read(
        "reads with token 6 keep the session from going idle (30 min): 10 min after the advance",
        Tok::At(6),
        T1 + 30 * SEC + 10 * MIN,
        "current",
    );
    s.read(
        "and 20 min after the advance",
        Tok::At(6),
        T1 + 30 * SEC + 20 * MIN,
        "current",
    );
    s.advance(
        "token 5 exactly 30 min after the advance: too late for the cookie-jar case",
        Tok::At(5),
        T1 + 30 * SEC + 30 * MIN,
        "reuse",
    );
    s.finish()
}

fn jar_too_late_two_behind(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        jar_behind_ms: 2 * MIN,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        "full: jar_behind_ms set to 2 min; two behind from the same client is forgiven before it and reuse at it",
        &["CookieJarBehind", "Reuse", "FullForm"],
        &[k1()],
        1,
        policy,
        base(&keys, Form::Full, 1),
    );
    s.advance(
        "advance inside the window: token 6, floor stays 4",
        Tok::At(5),
        T1 + SEC,
        "fresh",
    );
    s.advance(
        "token 4 after the window, 100 s after the advance: token 6 again, the window reopens for 10 s",
        Tok::At(4),
        T1 + 101 * SEC,
        "cookie_jar_behind",
    );
    s.advance(
        "token 4 exactly 2 min after the advance, after the reopened window: reuse",
        Tok::At(4),
        T1 + SEC + 2 * MIN,
        "reuse",
    );
    s.finish()
}

fn rule3_off(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        reissue_one_behind: false,
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        "full: with reissue_one_behind off, a lost response is reuse",
        &["Rule3Off", "Reuse", "FullForm"],
        &[k1()],
        1,
        policy,
        base(&keys, Form::Full, 1),
    );
    s.advance(
        "advance: token 6 (lost)",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.advance(
        "retry with token 5 after the window, same client",
        Tok::At(5),
        T1 + 60 * SEC,
        "reuse",
    );
    s.finish()
}

fn store_behind_full(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "full: tokens ahead of the store repair the record forward",
        &["StoreBehind", "Fresh", "FullForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Full, 1),
    );
    s.read("a read with token 7 (the store lost two advances): repaired to counter 7, confirmed, nothing handed out", Tok::At(7), T1 + 30 * SEC, "store_behind");
    s.advance(
        "token 7 advances: token 8",
        Tok::At(7),
        T1 + 31 * SEC,
        "fresh",
    );
    s.advance(
        "token 11 (three advances lost again): repaired to 11, token 12",
        Tok::At(11),
        T1 + 50 * SEC,
        "store_behind",
    );
    s.advance("token 12 advances", Tok::At(12), T1 + 70 * SEC, "fresh");
    s.finish()
}

fn store_behind_compact(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "compact: tokens ahead of the store within the span cap (8) repair the record forward",
        &["StoreBehind", "SpanCap", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Compact, 1),
    );
    s.read(
        "token 6 on a read: one ahead",
        Tok::At(6),
        T1 + 30 * SEC,
        "store_behind",
    );
    s.advance(
        "token 14, eight ahead (the span cap): repaired, token 15",
        Tok::At(14),
        T1 + 40 * SEC,
        "store_behind",
    );
    s.advance("token 15 advances", Tok::At(15), T1 + 60 * SEC, "fresh");
    s.finish()
}

fn compact_beyond_span(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "compact: a token nine ahead is beyond the search: it matches no candidate, and is reuse",
        &["SpanCap", "Reuse", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Compact, 1),
    );
    s.advance(
        "token 14 (nine ahead of 5)",
        Tok::At(14),
        T1 + 30 * SEC,
        "reuse",
    );
    s.finish()
}

fn forged(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let record = base(&keys, Form::Full, 1);
    let wrong = ring(
        &[Key {
            id: 1,
            secret: wrong_secret(),
        }],
        1,
    );
    let claims = Claims {
        key_id: 1,
        session_id: record.session_id,
        counter: 6,
        issued_at: T1 + 20 * SEC,
        expires_at: record.expires_at,
        subject: record.subject,
        binding: record.binding,
        authenticated: true,
    };
    let forged = token::mint_full(&wrong, &claims).unwrap();
    let mut s = Seq::new(
        ctx,
        "full: a forged token is refused and changes nothing",
        &["Forged", "WrongKey", "FullForm"],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.advance(
        "token 6 tagged with a secret the server does not hold",
        Tok::Text(forged.as_str().to_owned()),
        T1 + 30 * SEC,
        "forged",
    );
    s.advance(
        "the real token 5 still advances",
        Tok::At(5),
        T1 + 31 * SEC,
        "fresh",
    );
    s.finish()
}

fn compact_bad_tag(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let record = base(&keys, Form::Compact, 1);
    let wrong = ring(
        &[Key {
            id: 1,
            secret: wrong_secret(),
        }],
        1,
    );
    let bad = token::mint_compact(&wrong, 1, &record.session_id, 5).unwrap();
    let mut s = Seq::new(
        ctx,
        "compact: a well-formed token of a live session whose tag matches no candidate counter is reuse",
        &["Reuse", "WrongKey", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.advance(
        "a compact token for session 1 with a tag made under another secret",
        Tok::Text(bad.as_str().to_owned()),
        T1 + 30 * SEC,
        "reuse",
    );
    s.finish()
}

fn unknown_session(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let record = base(&keys, Form::Compact, 1);
    let other = token::mint_compact(&keys, 1, &sid(2), 5).unwrap();
    let mut s = Seq::new(
        ctx,
        "compact: a valid token of another session than the loaded record",
        &["UnknownSession", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.advance(
        "session 2's token against session 1's record",
        Tok::Text(other.as_str().to_owned()),
        T1 + 30 * SEC,
        "unknown_session",
    );
    s.finish()
}

fn counter_exhausted(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut record = base(&keys, Form::Compact, 1);
    record.counter = u64::MAX;
    record.floor = u64::MAX - 1;
    record.version = u64::MAX - 1;
    let mut s = Seq::new(
        ctx,
        "compact: the last counter cannot advance",
        &["Expired", "EdgeCase", "ReadCurrent", "CompactForm"],
        &[k1()],
        1,
        Policy::default(),
        record,
    );
    s.read(
        "a read with the last token passes",
        Tok::At(u64::MAX),
        T1 + SEC,
        "current",
    );
    s.advance(
        "advancing it: the counter is exhausted",
        Tok::At(u64::MAX),
        T1 + 2 * SEC,
        "expired",
    );
    s.finish()
}

fn adaptive(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let policy = Policy {
        grace: Grace::Adaptive {
            min_ms: 5_000,
            max_ms: 60_000,
        },
        ..Policy::default()
    };
    let mut s = Seq::new(
        ctx,
        "compact: adaptive grace (5 s to 60 s) grows with the lateness of stale arrivals",
        &["AdaptiveGrace", "ConcurrentInGrace", "CompactForm"],
        &[k1()],
        1,
        policy,
        base(&keys, Form::Compact, 1),
    );
    s.advance(
        "advance at +30 s: no lateness seen yet, window 5 s (until +35 s)",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.advance(
        "token 5 at +34 s: 4 s late, window reopened for 8 s (until +42 s)",
        Tok::At(5),
        T1 + 34 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "token 5 at +41 s: 11 s late, window reopened for 22 s (until +63 s)",
        Tok::At(5),
        T1 + 41 * SEC,
        "concurrent_in_grace",
    );
    s.advance(
        "token 6 at +90 s: the next window is 22 s (until +112 s)",
        Tok::At(6),
        T1 + 90 * SEC,
        "fresh",
    );
    s.advance(
        "token 6 at +110 s: inside the wider window (a fixed 5 s one would have ended at +95 s)",
        Tok::At(6),
        T1 + 110 * SEC,
        "concurrent_in_grace",
    );
    s.finish()
}

fn rotation_old_key_dropped(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let record = base(&keys, Form::Compact, 1);
    let mut s = Seq::new(
        ctx,
        "compact: once key 1 leaves the ring, its tokens are malformed (unknown key), not reuse",
        &["KeyRotation", "UnknownKey", "CompactForm"],
        &[k2()],
        2,
        Policy::default(),
        record,
    );
    let old = token::mint_compact(&keys, 1, &record.session_id, 5).unwrap();
    s.advance(
        "token 5 under the dropped key 1",
        Tok::Text(old.as_str().to_owned()),
        T1 + 30 * SEC,
        "malformed",
    );
    s.finish()
}

fn read_one_behind(ctx: &mut Ctx) -> Value {
    let keys = k1_ring();
    let mut s = Seq::new(
        ctx,
        "full: a read one step behind after the window passes under rule 3 and hands out nothing",
        &["LostResponse", "FullForm"],
        &[k1()],
        1,
        Policy::default(),
        base(&keys, Form::Full, 1),
    );
    s.advance(
        "advance: token 6 (its response is lost)",
        Tok::At(5),
        T1 + 30 * SEC,
        "fresh",
    );
    s.read(
        "a read with token 5 after the window: passes, nothing handed out or written",
        Tok::At(5),
        T1 + 60 * SEC,
        "lost_response",
    );
    s.advance(
        "then the page load with token 5: token 6 again",
        Tok::At(5),
        T1 + 61 * SEC,
        "lost_response",
    );
    s.finish()
}
