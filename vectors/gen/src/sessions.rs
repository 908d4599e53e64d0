//! Sequences of operations on the request façade (`sessions::Sessions`) over a
//! `MemoryStore<64>` and a `MemoryDenyList<64>`, both empty at the start.

use rolltoken::Error;
use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::policy::Policy;
use rolltoken::sessions::{Kind, Outcome, Request, SessionView, Sessions};
use rolltoken::store::{MemoryDenyList, MemoryStore};
use rolltoken::token::{SessionId, Subject};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::enc::{self, hx, u};
use crate::fixtures::{IP_A, IP_B, Key, T0, UA_A, UA_B, ip, k1, k2, ring, sid};

const HOUR: u64 = 3_600_000;
const MIN: u64 = 60_000;
const SEC: u64 = 1_000;

type Facade<'k> = Sessions<&'k Keyring, MemoryStore<64>, MemoryDenyList<64>>;

struct Story<'k> {
    sessions: Facade<'k>,
    steps: Vec<Value>,
    test: Map<String, Value>,
}

fn view(v: &SessionView) -> Value {
    json!({
        "session_id": hx(&v.session_id.0),
        "log_id": v.log_id.as_str(),
        "subject": hx(&v.subject.0),
        "authenticated": v.authenticated,
        "counter": u(v.counter),
        "parent": v.parent.map_or(Value::Null, |p| hx(&p.0)),
        "expires_at": u(v.expires_at),
    })
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Advance => "advance",
        Kind::Read => "read",
    }
}

fn error_name(e: &Error) -> &'static str {
    match e {
        Error::AnonymousSubject => "anonymous_subject",
        other => panic!("no vector name for {other:?}"),
    }
}

/// The default `new_session_id` of requests that are not meant to start a session.
fn spare_id() -> SessionId {
    sid(7)
}

impl<'k> Story<'k> {
    fn new(
        ctx: &mut Ctx,
        comment: &str,
        flags: &[&'static str],
        keys: &'k Keyring,
        key_list: &[Key],
        minting: u8,
        policy: Policy,
    ) -> Story<'k> {
        assert_eq!(keys.minting_id(), minting);
        let mut test = ctx.test(comment, flags);
        test.insert("keyring".into(), enc::keyring(key_list, minting));
        test.insert("policy".into(), enc::policy(&policy));
        let sessions =
            Sessions::new(keys, policy, MemoryStore::new(), MemoryDenyList::new()).unwrap();
        Story {
            sessions,
            steps: Vec::new(),
            test,
        }
    }

    /// One request; panics unless the façade answers with the rule `want`.
    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        comment: &str,
        cookie: Option<&str>,
        kind: Kind,
        now: u64,
        client: (&str, Option<&str>),
        new_id: SessionId,
        want: &str,
    ) -> Option<String> {
        let (ua, addr) = client;
        let binding = BindingInput::new(ua.as_bytes(), ip(addr));
        let req = Request {
            cookie: cookie.map(str::as_bytes),
            kind,
            now_ms: now,
            binding: &binding,
            new_session_id: new_id.0,
        };
        let outcome = self.sessions.handle(&req);
        assert_eq!(
            outcome.verdict().rule().name(),
            want,
            "{comment}: {outcome:?}"
        );
        let mut expect = Map::new();
        let token_out;
        match &outcome {
            Outcome::Proceed {
                view: v,
                token,
                verdict,
                binding,
            } => {
                expect.insert("outcome".into(), "proceed".into());
                enc::verdict(verdict, &mut expect);
                expect.insert("binding".into(), enc::binding_match(binding));
                expect.insert("clear_cookie".into(), false.into());
                token_out = token.as_ref().map(|t| t.as_str().to_owned());
                expect.insert("token_out".into(), token_out.clone().into());
                expect.insert("view".into(), view(v));
                expect.insert("event".into(), Value::Null);
            }
            Outcome::Reject {
                verdict,
                clear_cookie,
                event,
            } => {
                expect.insert("outcome".into(), "reject".into());
                enc::verdict(verdict, &mut expect);
                expect.insert("binding".into(), enc::binding_match(&event.binding));
                expect.insert("clear_cookie".into(), (*clear_cookie).into());
                token_out = None;
                expect.insert("token_out".into(), Value::Null);
                expect.insert("view".into(), Value::Null);
                expect.insert(
                    "event".into(),
                    json!({
                        "log_id": event.log_id.as_ref().map(|l| l.as_str()),
                        "at_ms": u(event.at_ms),
                    }),
                );
            }
        }
        self.steps.push(json!({
            "op": "request",
            "comment": comment,
            "cookie": cookie,
            "kind": kind_name(kind),
            "now_ms": u(now),
            "user_agent": ua,
            "ip": addr,
            "new_session_id": hx(&new_id.0),
            "expect": expect,
        }));
        token_out
    }

    #[allow(clippy::too_many_arguments)]
    fn login_result(
        &mut self,
        comment: &str,
        cookie: Option<&str>,
        new_id: SessionId,
        subject: Subject,
        now: u64,
        client: (&str, Option<&str>),
    ) -> Result<String, Error> {
        let (ua, addr) = client;
        let binding = BindingInput::new(ua.as_bytes(), ip(addr));
        let result = self.sessions.login(
            cookie.map(str::as_bytes),
            new_id.0,
            subject.0,
            now,
            &binding,
        );
        let expect = match &result {
            Ok(login) => json!({"token_out": login.token.as_str(), "view": view(&login.view)}),
            Err(e) => json!({"error": error_name(e)}),
        };
        self.steps.push(json!({
            "op": "login",
            "comment": comment,
            "cookie": cookie,
            "new_session_id": hx(&new_id.0),
            "subject": hx(&subject.0),
            "now_ms": u(now),
            "user_agent": ua,
            "ip": addr,
            "expect": expect,
        }));
        result.map(|l| l.token.as_str().to_owned())
    }

    fn login(
        &mut self,
        comment: &str,
        cookie: Option<&str>,
        new_id: SessionId,
        subject: Subject,
        now: u64,
        client: (&str, Option<&str>),
    ) -> String {
        self.login_result(comment, cookie, new_id, subject, now, client)
            .unwrap()
    }

    fn logout(&mut self, comment: &str, cookie: &str, now: u64, found: bool) {
        let log_id = self.sessions.logout(cookie.as_bytes(), now).unwrap();
        assert_eq!(log_id.is_some(), found, "{comment}");
        self.steps.push(json!({
            "op": "logout",
            "comment": comment,
            "cookie": cookie,
            "now_ms": u(now),
            "expect": {"log_id": log_id.as_ref().map(|l| l.as_str())},
        }));
    }

    fn revoke_all(&mut self, comment: &str, subject: Subject, now: u64, want: usize) {
        let count = self.sessions.revoke_all(&subject, now).unwrap();
        assert_eq!(count, want, "{comment}");
        self.steps.push(json!({
            "op": "revoke_all",
            "comment": comment,
            "subject": hx(&subject.0),
            "now_ms": u(now),
            "expect": {"count": count},
        }));
    }

    fn finish(mut self) -> Value {
        self.test.insert("steps".into(), Value::Array(self.steps));
        self.test.into()
    }
}

const A: (&str, Option<&str>) = (UA_A, Some(IP_A));
const THIEF: (&str, Option<&str>) = (UA_B, Some(IP_B));

pub fn section(ctx: &mut Ctx) -> Value {
    let keys = ring(&[k1(), k2()], 1);
    let keys2 = ring(&[k1(), k2()], 2);
    let list = [k1(), k2()];
    Value::Array(vec![
        anonymous(ctx, &keys, &list),
        anonymous_to_login(ctx, &keys, &list),
        strict_rolling(ctx, &keys, &list),
        cached(ctx, &keys, &list),
        cached_reuse(ctx, &keys, &list),
        logout_cached(ctx, &keys, &list),
        logout_strict(ctx, &keys, &list),
        revoke_all(ctx, &keys, &list),
        relogin(ctx, &keys2, &list),
        no_anonymous(ctx, &keys, &list),
    ])
}

fn anonymous(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "anonymous visitors get a full token without any store write",
        &["Anonymous", "Strict"],
        keys,
        list,
        1,
        Policy::default(),
    );
    let a = s
        .request(
            "first visit, no cookie: a new anonymous session",
            None,
            Kind::Advance,
            T0,
            A,
            sid(0),
            "new_anonymous",
        )
        .unwrap();
    s.request(
        "an API call with the anonymous token",
        Some(&a),
        Kind::Read,
        T0 + SEC,
        A,
        spare_id(),
        "anonymous",
    );
    s.request(
        "a page load from another client: anonymous tokens are not rolled",
        Some(&a),
        Kind::Advance,
        T0 + 2 * SEC,
        THIEF,
        spare_id(),
        "anonymous",
    );
    s.request(
        "an empty cookie counts as none",
        Some(""),
        Kind::Advance,
        T0 + 3 * SEC,
        A,
        sid(2),
        "new_anonymous",
    );
    s.request(
        "a cookie that is not a token",
        Some("session=abc"),
        Kind::Read,
        T0 + 4 * SEC,
        A,
        spare_id(),
        "malformed",
    );
    s.request(
        "the anonymous token after its lifetime: a new anonymous session",
        Some(&a),
        Kind::Advance,
        T0 + 24 * HOUR,
        A,
        sid(3),
        "new_anonymous",
    );
    s.finish()
}

fn anonymous_to_login(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "login upgrades an anonymous session: new id, parent link, the anonymous id refused afterwards",
        &["Login", "Anonymous", "Strict", "Fresh"],
        keys,
        list,
        1,
        Policy::default(),
    );
    let a = s
        .request(
            "first visit",
            None,
            Kind::Advance,
            T0,
            A,
            sid(0),
            "new_anonymous",
        )
        .unwrap();
    let l0 = s.login(
        "log in from the anonymous session",
        Some(&a),
        sid(1),
        Subject::from_u64(1001),
        T0 + MIN,
        A,
    );
    s.request(
        "the anonymous token after login: refused, cookie cleared",
        Some(&a),
        Kind::Read,
        T0 + MIN + SEC,
        A,
        spare_id(),
        "revoked",
    );
    let l1 = s
        .request(
            "the login token advances",
            Some(&l0),
            Kind::Advance,
            T0 + MIN + 2 * SEC,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.request(
        "a read with the new token",
        Some(&l1),
        Kind::Read,
        T0 + MIN + 3 * SEC,
        A,
        spare_id(),
        "current",
    );
    let err = s.login_result(
        "login needs a non-zero subject",
        None,
        sid(2),
        Subject::ANONYMOUS,
        T0 + 2 * MIN,
        A,
    );
    assert!(err.is_err());
    s.finish()
}

fn strict_rolling(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "strict mode: every request consults the store; a stolen old token revokes the session",
        &["Strict", "Fresh", "ConcurrentInGrace", "Reuse", "Login"],
        keys,
        list,
        1,
        Policy::default(),
    );
    let l0 = s.login(
        "log in without a previous session",
        None,
        sid(1),
        Subject::from_u64(1001),
        T0,
        A,
    );
    let l1 = s
        .request(
            "page load: token 1",
            Some(&l0),
            Kind::Advance,
            T0 + 5 * MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.request(
        "API call with token 1",
        Some(&l1),
        Kind::Read,
        T0 + 5 * MIN + SEC,
        A,
        spare_id(),
        "current",
    );
    s.request(
        "a parallel page load with token 0: gets token 1",
        Some(&l0),
        Kind::Advance,
        T0 + 5 * MIN + 2 * SEC,
        A,
        spare_id(),
        "concurrent_in_grace",
    );
    let l2 = s
        .request(
            "page load: token 2",
            Some(&l1),
            Kind::Advance,
            T0 + 10 * MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.request(
        "a thief replays token 0 from another browser: reuse",
        Some(&l0),
        Kind::Advance,
        T0 + 11 * MIN,
        THIEF,
        spare_id(),
        "reuse",
    );
    s.request(
        "the user's token 2: the session is over",
        Some(&l2),
        Kind::Read,
        T0 + 11 * MIN + SEC,
        A,
        spare_id(),
        "revoked",
    );
    s.finish()
}

fn cached(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "cached mode: fresh full tokens skip the store; past the window they are revalidated and rolled",
        &[
            "Cached",
            "Fresh",
            "ReadCurrent",
            "ConcurrentInGrace",
            "Login",
        ],
        keys,
        list,
        1,
        Policy::cached(),
    );
    let c0 = s.login("log in", None, sid(1), Subject::from_u64(1001), T0, A);
    s.request(
        "an API call inside the fresh window: trusted without the store",
        Some(&c0),
        Kind::Read,
        T0 + MIN,
        A,
        spare_id(),
        "cached",
    );
    s.request(
        "a page load inside the fresh window: trusted, not rolled",
        Some(&c0),
        Kind::Advance,
        T0 + 2 * MIN,
        A,
        spare_id(),
        "cached",
    );
    s.request(
        "another network inside the fresh window: goes through the store, passes",
        Some(&c0),
        Kind::Read,
        T0 + 3 * MIN,
        (UA_A, Some(IP_B)),
        spare_id(),
        "current",
    );
    let c1 = s
        .request(
            "an API call past the fresh window: revalidated and rolled even on a read",
            Some(&c0),
            Kind::Read,
            T0 + 16 * MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.request(
        "a racing API call with the old token: gets the same successor",
        Some(&c0),
        Kind::Read,
        T0 + 16 * MIN + 2 * SEC,
        A,
        spare_id(),
        "concurrent_in_grace",
    );
    s.request(
        "the new token is fresh: cached again",
        Some(&c1),
        Kind::Read,
        T0 + 17 * MIN,
        A,
        spare_id(),
        "cached",
    );
    s.finish()
}

fn cached_reuse(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "cached mode: reuse revokes, and the deny list refuses the revoked session's fresh token",
        &["Cached", "Reuse", "DenyList", "Login"],
        keys,
        list,
        1,
        Policy::cached(),
    );
    let c0 = s.login("log in", None, sid(1), Subject::from_u64(1001), T0, A);
    let c1 = s
        .request(
            "page load past the fresh window: token 1",
            Some(&c0),
            Kind::Advance,
            T0 + 16 * MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.request(
        "a thief replays token 0 from another browser: reuse, revoked",
        Some(&c0),
        Kind::Advance,
        T0 + 17 * MIN,
        THIEF,
        spare_id(),
        "reuse",
    );
    s.request(
        "the user's token 1 is inside its fresh window, but denied: refused through the store",
        Some(&c1),
        Kind::Read,
        T0 + 18 * MIN,
        A,
        spare_id(),
        "revoked",
    );
    s.finish()
}

fn logout_cached(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "cached mode: after logout, late tokens are refused even inside their fresh window",
        &["Cached", "Logout", "DenyList", "Login"],
        keys,
        list,
        1,
        Policy::cached(),
    );
    let c0 = s.login("log in", None, sid(1), Subject::from_u64(1001), T0, A);
    let c1 = s
        .request(
            "page load past the fresh window: token 1",
            Some(&c0),
            Kind::Advance,
            T0 + 16 * MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.logout("log out", &c1, T0 + 17 * MIN, true);
    s.request(
        "a late request with token 1 inside its fresh window",
        Some(&c1),
        Kind::Read,
        T0 + 18 * MIN,
        A,
        spare_id(),
        "revoked",
    );
    s.request(
        "a late request with token 0",
        Some(&c0),
        Kind::Advance,
        T0 + 19 * MIN,
        A,
        spare_id(),
        "revoked",
    );
    s.logout(
        "logging out again finds no active session",
        &c1,
        T0 + 20 * MIN,
        false,
    );
    s.logout(
        "logging out with a cookie that is not a token",
        "garbage",
        T0 + 20 * MIN,
        false,
    );
    s.finish()
}

fn logout_strict(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "strict mode: logout with any token of the session ends it for every holder",
        &["Strict", "Logout", "Login"],
        keys,
        list,
        1,
        Policy::default(),
    );
    let l0 = s.login("log in", None, sid(1), Subject::from_u64(1001), T0, A);
    let l1 = s
        .request(
            "page load: token 1",
            Some(&l0),
            Kind::Advance,
            T0 + MIN,
            A,
            spare_id(),
            "fresh",
        )
        .unwrap();
    s.logout(
        "log out with the older token 0 (a compact token's id is enough)",
        &l0,
        T0 + 2 * MIN,
        true,
    );
    s.request(
        "token 1 after logout",
        Some(&l1),
        Kind::Advance,
        T0 + 3 * MIN,
        A,
        spare_id(),
        "revoked",
    );
    s.finish()
}

fn revoke_all(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "revoke every session of a subject; other subjects are untouched",
        &["Strict", "RevokeAll", "Login"],
        keys,
        list,
        1,
        Policy::default(),
    );
    let x = s.login(
        "subject 7 logs in on one browser",
        None,
        sid(1),
        Subject::from_u64(7),
        T0,
        A,
    );
    let y = s.login(
        "subject 7 logs in on another",
        None,
        sid(2),
        Subject::from_u64(7),
        T0 + SEC,
        THIEF,
    );
    let z = s.login(
        "subject 8 logs in",
        None,
        sid(3),
        Subject::from_u64(8),
        T0 + 2 * SEC,
        A,
    );
    s.revoke_all(
        "revoke all of subject 7",
        Subject::from_u64(7),
        T0 + 10 * SEC,
        2,
    );
    s.request(
        "subject 7's first session",
        Some(&x),
        Kind::Advance,
        T0 + 11 * SEC,
        A,
        spare_id(),
        "revoked",
    );
    s.request(
        "subject 7's second session",
        Some(&y),
        Kind::Read,
        T0 + 12 * SEC,
        THIEF,
        spare_id(),
        "revoked",
    );
    s.request(
        "subject 8's session goes on",
        Some(&z),
        Kind::Advance,
        T0 + 13 * SEC,
        A,
        spare_id(),
        "fresh",
    );
    s.revoke_all(
        "nothing left to revoke for subject 7",
        Subject::from_u64(7),
        T0 + 14 * SEC,
        0,
    );
    s.finish()
}

fn relogin(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let mut s = Story::new(
        ctx,
        "logging in again from an authenticated session revokes it and links it as parent",
        &["Strict", "Login", "Revoked"],
        keys,
        list,
        2,
        Policy::default(),
    );
    let x = s.login("log in", None, sid(4), Subject::from_u64(5), T0, A);
    let y = s.login(
        "log in again with the first session's cookie",
        Some(&x),
        sid(5),
        Subject::from_u64(5),
        T0 + MIN,
        A,
    );
    s.request(
        "the first session's token",
        Some(&x),
        Kind::Advance,
        T0 + 2 * MIN,
        A,
        spare_id(),
        "revoked",
    );
    s.request(
        "the new session advances; its parent is the first one",
        Some(&y),
        Kind::Advance,
        T0 + 3 * MIN,
        A,
        spare_id(),
        "fresh",
    );
    s.finish()
}

fn no_anonymous(ctx: &mut Ctx, keys: &Keyring, list: &[Key]) -> Value {
    let policy = Policy {
        anonymous: false,
        ..Policy::default()
    };
    let mut s = Story::new(
        ctx,
        "anonymous sessions off: no cookie is no session; unknown and malformed cookies are refused",
        &["Strict", "UnknownSession", "Malformed"],
        keys,
        list,
        1,
        policy,
    );
    s.request(
        "no cookie",
        None,
        Kind::Advance,
        T0,
        A,
        sid(0),
        "no_session",
    );
    let stray = rolltoken::token::mint_compact(keys, 1, &sid(6), 3).unwrap();
    s.request(
        "a valid token of a session the store does not hold",
        Some(stray.as_str()),
        Kind::Read,
        T0 + SEC,
        A,
        spare_id(),
        "unknown_session",
    );
    s.request(
        "a token with a bad character",
        Some(&format!("rtc1_{}", "*".repeat(44))),
        Kind::Read,
        T0 + 2 * SEC,
        A,
        spare_id(),
        "malformed",
    );
    s.finish()
}
