//! A whole request sequence, driven by fuzz bytes, through the request façade
//! (`sessions::Sessions` over a `MemoryStore<8>` and a `MemoryDenyList<4>`, both small so that
//! eviction and a full deny list happen), with the invariants of `core/tests/model.rs` checked
//! after every step.
//!
//! Input: 4 policy bytes, then up to 64 operations of 3 bytes `[op, a, b]` (some read more):
//!
//! | op % 16 | operation |
//! |---|---|
//! | 0–5 | request with a token from the history (`b` picks, newest first); `a`: bit 0 advance, bits 1–2 client, bits 3–5 a small time step |
//! | 6 | clock step: `a` picks the size (1 ms … 1 h); `b` bit 0: backwards (never more than `MAX_CLOCK_SKEW_MS` below the latest time seen) |
//! | 7 | login (client `a & 3`, subject `1 + (a >> 2) % 3`) with the cookie `b` picks (none when `b >= 0x80`) |
//! | 8 | logout with the cookie `b` picks |
//! | 9 | a history token with one bit flipped (one more byte: bit index), presented |
//! | 10 | a history token re-minted under a foreign keyring (same claims/counter, other secret; or key id 200, unknown here) |
//! | 11 | arbitrary cookie bytes (`a % 120` bytes follow) |
//! | 12 | a request without a cookie |
//! | 13 | store failover: a session's record is replaced by an older snapshot (lost writes; never a revocation) |
//! | 14 | revoke all sessions of subject `1 + a % 3` |
//! | 15 | key rotation: ring A {1 mints, 2}, B {2 mints, 1}, C {2} (key 1 retired) |
//!
//! Invariants (each failure names the one broken):
//! * the verdict decides the direction: `Proceed` only for proceeding rules; a refusal clears
//!   the cookie exactly for reuse, revoked, expired, forged, malformed and unknown session
//!   (listed here independently of `Verdict::clears_cookie`);
//! * only a token the server handed out proceeds (bit-flipped, foreign-key and arbitrary
//!   cookies never do), and it proceeds as its own session and subject, never another;
//! * once a session is revoked (reuse, logout, login upgrade, revoke-all), no request with any
//!   of its tokens proceeds again, in strict and cached mode, across clock steps within the
//!   allowed skew, eviction and key rotation; a revoked record never becomes active;
//! * every token handed out verifies under the current keyring for the session, counter,
//!   subject and form of the answer; a login's token too;
//! * the chain never forks: one token per (session, counter, key); a store failover to an
//!   older record starts a new history from that record's counter (the lost writes' tokens
//!   are forgotten: a full token re-minted for a lost counter legitimately differs);
//! * the stored counter never goes back during a request; it moves by exactly 1 on `fresh`,
//!   only up to a counter actually handed out on `store_behind`, and not at all otherwise;
//!   without failovers it equals the number of winning advances;
//! * refusals other than reuse, and the cache path, write nothing; a request never changes
//!   another session's record;
//! * logout and revoke-all leave the sessions they name revoked.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolltoken::keys::{BindingInput, KeyMaterial, Keyring};
use rolltoken::policy::{BindingPolicy, Grace, Mode, Policy};
use rolltoken::record::{Record, RevokeReason, State};
use rolltoken::sessions::{Kind, Outcome, Request, Sessions, MAX_CLOCK_SKEW_MS};
use rolltoken::store::{MemoryDenyList, MemoryStore, Store};
use rolltoken::token::{self, Form, Parsed, SessionId, Subject};
use rolltoken::verdict::Verdict;
use rolltoken_fuzz::Src;

const T0: u64 = 1_700_000_000_000;
const MAX_OPS: usize = 64;
const MAX_SESSIONS: usize = 10;
const HISTORY: usize = 48;

struct Rings {
    /// A {1 mints, 2}, B {2 mints, 1}, C {2}.
    live: [Keyring; 3],
    /// Ids 1, 2 with other secrets, and 200 (unknown to the live rings).
    foreign: Keyring,
}

fn rings() -> &'static Rings {
    static R: OnceLock<Rings> = OnceLock::new();
    R.get_or_init(|| {
        let k1 = || KeyMaterial::new(1, [0x11; 32]);
        let k2 = || KeyMaterial::new(2, [0x22; 32]);
        Rings {
            live: [
                Keyring::new(&[k1(), k2()], 1).unwrap(),
                Keyring::new(&[k1(), k2()], 2).unwrap(),
                Keyring::new(&[k2()], 2).unwrap(),
            ],
            foreign: Keyring::new(
                &[
                    KeyMaterial::new(1, [0x12; 32]),
                    KeyMaterial::new(2, [0x23; 32]),
                    KeyMaterial::new(200, [0x11; 32]),
                ],
                1,
            )
            .unwrap(),
        }
    })
}

const UAS: [&[u8]; 2] = [
    b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
    b"curl/8.5.0",
];
const IPS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9)),
];
/// user, user on another network, thief, thief with the user's user agent.
fn client(i: u8) -> BindingInput<'static> {
    match i & 3 {
        0 => BindingInput::new(UAS[0], Some(IPS[0])),
        1 => BindingInput::new(UAS[0], Some(IPS[1])),
        2 => BindingInput::new(UAS[1], Some(IPS[1])),
        _ => BindingInput::new(UAS[0], None),
    }
}

const SMALL: [u64; 8] = [0, 1, 50, 300, 1_500, 4_000, 9_000, 12_000];
const TICKS: [u64; 16] = [
    1, 999, 1_000, 5_000, 9_999, 10_000, 10_001, 30_000, 59_999, 60_000, 299_999, 300_000, 600_000,
    900_000, 1_800_000, 3_600_000,
];

fn policy(src: &mut Src<'_>) -> Policy {
    let (b0, b1, b2, b3) = (src.u8(), src.u8(), src.u8(), src.u8());
    let base = match b0 % 3 {
        0 => Policy::default(),
        1 => Policy {
            form: Form::Full,
            ..Policy::default()
        },
        _ => Policy::cached(),
    };
    Policy {
        anonymous: b1 & 4 != 0,
        binding: BindingPolicy::ALL[usize::from(b1 % 3)],
        reissue_one_behind: b1 & 8 == 0,
        jar_behind_ms: if b1 & 16 == 0 { 30_000 } else { 1_800_000 },
        grace: if b2 & 1 == 1 {
            Grace::Adaptive {
                min_ms: 1_000 + u32::from((b2 >> 1) & 7) * 500,
                max_ms: 20_000,
            }
        } else {
            Grace::Fixed {
                ms: [1, 1_000, 5_000, 10_000][usize::from((b2 >> 1) & 3)],
            }
        },
        span_cap: [1, 2, 3, 8, 255][usize::from(b3 % 5)],
        answer_cap: [1, 2, 4, 16][usize::from((b3 >> 4) & 3)],
        fresh_ms: 60_000,
        idle_timeout_ms: 600_000,
        session_lifetime_ms: 3_600_000,
        anonymous_lifetime_ms: 1_800_000,
        ..base
    }
}

#[derive(Clone)]
struct Tok {
    bytes: Vec<u8>,
    sid: SessionId,
    authenticated: bool,
}

#[derive(Default)]
struct Sess {
    subject: Subject,
    revoked: bool,
    /// The store failed over (lost writes) at least once.
    failed_over: bool,
    /// A `store_behind` repair moved the counter.
    jumped: bool,
    wins: u64,
    max_issued: u64,
    /// (counter, key id) -> the one token handed out for it in the current history.
    chain: HashMap<(u64, u8), Vec<u8>>,
    snapshots: Vec<Record>,
}

struct World {
    s: Sessions<&'static Keyring, MemoryStore<8>, MemoryDenyList<4>>,
    ring: usize,
    p: Policy,
    now: u64,
    max_now: u64,
    /// The most recent tokens, to pick from.
    toks: Vec<Tok>,
    /// Every token ever handed out (whether a cookie is genuine).
    issued: HashMap<Vec<u8>, Tok>,
    sess: HashMap<SessionId, Sess>,
    order: Vec<SessionId>,
    anon: Vec<SessionId>,
    ids: u32,
    trace: Vec<Entry>,
}

/// One step of the trace, formatted only when an invariant fails.
#[derive(Clone, Copy)]
struct Entry {
    at: u64,
    what: &'static str,
    kind: Option<Kind>,
    who: u8,
    sid: Option<u32>,
    verdict: Option<Verdict>,
    n: (u64, u64),
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>10} {}", self.at as i64 - T0 as i64, self.what)?;
        if let Some(k) = self.kind {
            write!(f, " {k:?} client {} session {:?}", self.who & 3, self.sid)?;
        }
        if let Some(v) = self.verdict {
            write!(f, " -> {v:?}")?;
        }
        if self.n != (0, 0) {
            write!(f, " ({}, {})", self.n.0, self.n.1)?;
        }
        Ok(())
    }
}

/// The verdicts that clear the cookie, listed independently of `Verdict::clears_cookie`.
fn must_clear(v: &Verdict) -> bool {
    matches!(
        v,
        Verdict::Reuse { .. }
            | Verdict::Revoked(_)
            | Verdict::Expired(_)
            | Verdict::Forged
            | Verdict::Malformed(_)
            | Verdict::UnknownSession
    )
}

/// Refusals and paths that must not write the store.
fn writes_nothing(v: &Verdict) -> bool {
    matches!(
        v,
        Verdict::Forged
            | Verdict::Malformed(_)
            | Verdict::UnknownSession
            | Verdict::NoSession
            | Verdict::BindingMismatch
            | Verdict::GraceExhausted
            | Verdict::Revoked(_)
            | Verdict::Expired(_)
            | Verdict::Cached
            | Verdict::Anonymous
            | Verdict::NewAnonymous
            | Verdict::StoreUnavailable
            | Verdict::Busy
    )
}

impl World {
    fn keys(&self) -> &'static Keyring {
        &rings().live[self.ring]
    }

    fn fail(&self, msg: &str) -> ! {
        let from = self.trace.len().saturating_sub(30);
        panic!(
            "invariant broken: {msg}\npolicy: {:?}\nring: {}\nlast steps (ms since T0):\n{}",
            self.p,
            self.ring,
            self.trace[from..]
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn note(
        &mut self,
        what: &'static str,
        kind: Option<Kind>,
        who: u8,
        sid: Option<u32>,
        verdict: Option<Verdict>,
        n: (u64, u64),
    ) {
        if self.trace.len() >= 256 {
            self.trace.drain(..128);
        }
        self.trace.push(Entry {
            at: self.now,
            what,
            kind,
            who,
            sid,
            verdict,
            n,
        });
    }

    fn new_id(&mut self, tag: u8) -> [u8; 16] {
        self.ids += 1;
        let mut id = [tag; 16];
        id[12..].copy_from_slice(&self.ids.to_be_bytes());
        id
    }

    fn load(&mut self, sid: &SessionId) -> Option<Record> {
        self.s.store_mut().load(sid).unwrap()
    }

    fn records(&mut self) -> Vec<(SessionId, Option<Record>)> {
        let ids = self.order.clone();
        ids.into_iter().map(|id| (id, self.load(&id))).collect()
    }

    fn pick(&self, b: u8) -> Option<Tok> {
        if self.toks.is_empty() {
            return None;
        }
        let i = self.toks.len() - 1 - usize::from(b) % self.toks.len();
        Some(self.toks[i].clone())
    }

    fn remember(&mut self, t: Tok) {
        if self.toks.len() >= HISTORY {
            self.toks.remove(0);
        }
        self.toks.push(t);
    }

    /// Checks a token handed out for `sid` at `counter` and records it.
    fn handed_out(
        &mut self,
        bytes: &[u8],
        sid: SessionId,
        counter: u64,
        authenticated: bool,
        subject: Subject,
    ) {
        let keys = self.keys();
        let kid = match token::parse(bytes) {
            Ok(Parsed::Full(f)) => {
                let c = match f.verify(keys) {
                    Ok(c) => c,
                    Err(e) => self.fail(&format!("a token handed out does not verify: {e:?}")),
                };
                if (c.session_id, c.counter, c.authenticated, c.subject)
                    != (sid, counter, authenticated, subject)
                {
                    self.fail("a full token handed out carries other claims than the answer's");
                }
                if authenticated && self.p.form != Form::Full {
                    self.fail("a full token for a compact-form policy");
                }
                c.key_id
            }
            Ok(Parsed::Compact(c)) => {
                if c.session_id() != sid || c.matches(keys, counter) != Ok(true) || !authenticated {
                    self.fail("a compact token handed out does not match the answer's session and counter");
                }
                if self.p.form != Form::Compact {
                    self.fail("a compact token for a full-form policy");
                }
                c.key_id()
            }
            Err(e) => self.fail(&format!("a token handed out does not parse: {e:?}")),
        };
        if kid != keys.minting_id() && !keys.contains(kid) {
            self.fail("a token handed out under a key not in the ring");
        }
        if authenticated {
            let Some(s) = self.sess.get_mut(&sid) else {
                self.fail("a token for an authenticated session never logged in");
            };
            s.max_issued = s.max_issued.max(counter);
            match s.chain.get(&(counter, kid)) {
                Some(prev) if prev.as_slice() != bytes => {
                    let msg = format!(
                        "the chain forked: a second distinct token for counter {counter} (key {kid})"
                    );
                    self.fail(&msg);
                }
                Some(_) => {}
                None => {
                    s.chain.insert((counter, kid), bytes.to_vec());
                }
            }
        }
        let t = Tok {
            bytes: bytes.to_vec(),
            sid,
            authenticated,
        };
        self.issued
            .entry(t.bytes.clone())
            .or_insert_with(|| t.clone());
        self.remember(t);
    }

    /// After every operation: revoked records stay revoked; snapshots for failovers.
    fn sweep(&mut self) {
        for (sid, rec) in self.records() {
            let Some(r) = rec else { continue };
            let s = self.sess.get_mut(&sid).unwrap();
            if !r.is_active() {
                s.revoked = true;
            } else if s.revoked {
                self.fail("a revoked record became active again");
            }
            if s.snapshots.last() != Some(&r) {
                if s.snapshots.len() >= 6 {
                    s.snapshots.remove(0);
                }
                s.snapshots.push(r);
            }
            if !s.jumped && !s.failed_over && r.counter != s.wins {
                let msg = format!(
                    "the stored counter {} differs from the advances that won ({})",
                    r.counter, s.wins
                );
                self.fail(&msg);
            }
        }
    }

    fn request(&mut self, cookie: Option<&[u8]>, kind: Kind, who: u8, what: &'static str) {
        let keys = self.keys();
        let binding = client(who);
        let new_id = self.new_id(0xA0);
        let before = self.records();
        let presented = cookie.and_then(|c| token::parse(c).ok());
        let psid = presented.map(|p| p.session_id());
        let genuine = cookie.and_then(|c| self.issued.get(c).cloned());
        let out = self.s.handle(&Request {
            cookie,
            kind,
            now_ms: self.now,
            binding: &binding,
            new_session_id: new_id,
        });
        let sid_tag = psid.map(|s| u32::from_be_bytes([s.0[12], s.0[13], s.0[14], s.0[15]]));
        self.note(what, Some(kind), who, sid_tag, Some(out.verdict()), (0, 0));
        let verdict = out.verdict();
        match &out {
            Outcome::Reject {
                verdict,
                clear_cookie,
                event,
            } => {
                if verdict.proceeds() {
                    self.fail("a proceeding verdict was refused");
                }
                if *clear_cookie != must_clear(verdict) {
                    self.fail(&format!(
                        "{verdict:?} answered clear_cookie = {clear_cookie}"
                    ));
                }
                if event.verdict != *verdict {
                    self.fail("the event names another verdict");
                }
            }
            Outcome::Proceed {
                view,
                token,
                verdict,
                ..
            } => {
                if !verdict.proceeds() {
                    self.fail("a refusing verdict proceeded");
                }
                if view.expires_at <= self.now {
                    self.fail("an expired session proceeded");
                }
                if *verdict == Verdict::NewAnonymous {
                    let anon_cookie = genuine.as_ref().is_some_and(|t| !t.authenticated);
                    if !(cookie.is_none_or(<[u8]>::is_empty) || anon_cookie) {
                        self.fail("a cookie that was not an anonymous token started a new anonymous session");
                    }
                    if view.session_id != SessionId(new_id)
                        || view.authenticated
                        || !view.subject.is_anonymous()
                    {
                        self.fail("a new anonymous session is not the fresh anonymous id");
                    }
                    let Some(t) = token else {
                        self.fail("a new anonymous session without a token")
                    };
                    self.anon.push(view.session_id);
                    let b = t.as_bytes().to_vec();
                    self.handed_out(&b, view.session_id, 0, false, Subject::ANONYMOUS);
                } else {
                    let Some(g) = &genuine else {
                        self.fail("a cookie the server never handed out proceeded (forged, bit-flipped, foreign key or arbitrary bytes)");
                    };
                    if Some(view.session_id) != psid || g.sid != view.session_id {
                        self.fail("a token proceeded as another session");
                    }
                    if view.authenticated {
                        let Some(s) = self.sess.get(&view.session_id) else {
                            self.fail("an authenticated view of a session never logged in");
                        };
                        if s.revoked {
                            self.fail("a request of a revoked session proceeded");
                        }
                        if view.subject != s.subject {
                            self.fail("a session proceeded as another subject");
                        }
                    } else if *verdict != Verdict::Anonymous
                        || token.is_some()
                        || !self.anon.contains(&view.session_id)
                    {
                        self.fail("an unauthenticated view outside the anonymous path");
                    }
                    if let Some(t) = token {
                        let b = t.as_bytes().to_vec();
                        self.handed_out(
                            &b,
                            view.session_id,
                            view.counter,
                            view.authenticated,
                            view.subject,
                        );
                    } else if kind == Kind::Advance
                        && matches!(
                            verdict,
                            Verdict::ConcurrentInGrace { .. }
                                | Verdict::LostResponse
                                | Verdict::CookieJarBehind
                        )
                    {
                        self.fail("a grace answer to an advance carried no token");
                    }
                }
            }
        }
        let _ = keys;
        // Store effects.
        let after = self.records();
        for ((sid, b), (_, a)) in before.iter().zip(after.iter()) {
            if Some(*sid) != psid {
                if a != b {
                    self.fail("a request changed another session's record");
                }
                continue;
            }
            let (Some(b), Some(a)) = (b, a) else {
                if b.is_some() != a.is_some() {
                    self.fail("a request inserted or deleted its own record");
                }
                continue;
            };
            if writes_nothing(&verdict) && a != b {
                self.fail(&format!("{verdict:?} wrote the store"));
            }
            if !b.is_active() && a != b {
                self.fail("a revoked record was written");
            }
            if a.counter < b.counter {
                self.fail("the stored counter went back");
            }
            let s = self.sess.get_mut(sid).unwrap();
            match verdict {
                Verdict::Fresh => {
                    if a.counter != b.counter + 1 {
                        self.fail("a winning advance did not move the counter by exactly one");
                    }
                    s.wins += 1;
                }
                Verdict::StoreBehind { ahead } => {
                    let t = b.counter.saturating_add(ahead);
                    if !(a.counter == t || a.counter == t + 1) || t > s.max_issued {
                        let msg = format!(
                            "store_behind moved the counter {} -> {} (ahead {ahead}, highest handed out {})",
                            b.counter, a.counter, s.max_issued
                        );
                        self.fail(&msg);
                    }
                    s.jumped = true;
                }
                Verdict::Reuse { .. } => {
                    if a.state != State::Revoked(RevokeReason::Reuse) || a.counter != b.counter {
                        self.fail("reuse did not revoke the session (or moved its counter)");
                    }
                }
                _ => {
                    if a.counter != b.counter {
                        self.fail(&format!("{verdict:?} moved the counter"));
                    }
                }
            }
        }
        self.sweep();
    }

    fn login(&mut self, who: u8, subject: u8, cookie: Option<Tok>) {
        if self.order.len() >= MAX_SESSIONS {
            return;
        }
        let id = self.new_id(0x5A);
        let subject = Subject::from_u64(1 + u64::from(subject % 3));
        let binding = client(who);
        // The authenticated session the cookie names, if this keyring can still read it.
        let keys = self.keys();
        let named = cookie
            .as_ref()
            .filter(|t| {
                t.authenticated && token::parse(&t.bytes).is_ok_and(|p| keys.contains(p.key_id()))
            })
            .map(|t| t.sid);
        let res = self.s.login(
            cookie.as_ref().map(|t| t.bytes.as_slice()),
            id,
            subject.0,
            self.now,
            &binding,
        );
        self.note("login", None, who, None, None, (u64::from(res.is_ok()), 0));
        match res {
            Ok(login) => {
                if login.view.session_id != SessionId(id)
                    || !login.view.authenticated
                    || login.view.subject != subject
                    || login.view.counter != 0
                {
                    self.fail("login answered another session");
                }
                self.order.push(SessionId(id));
                self.sess.insert(
                    SessionId(id),
                    Sess {
                        subject,
                        ..Sess::default()
                    },
                );
                let b = login.token.as_bytes().to_vec();
                self.handed_out(&b, SessionId(id), 0, true, subject);
                if let Some(old) = named {
                    if let Some(r) = self.load(&old) {
                        if r.is_active() {
                            self.fail(
                                "login with an authenticated cookie left that session active",
                            );
                        }
                    }
                }
            }
            Err(rolltoken::Error::Store(rolltoken::store::StoreError::Full)) => {}
            Err(e) => self.fail(&format!("login failed: {e:?}")),
        }
        self.sweep();
    }

    fn logout(&mut self, t: Tok) {
        let res = self.s.logout(&t.bytes, self.now);
        self.note(
            "logout",
            None,
            0,
            None,
            None,
            (u64::from(matches!(res, Ok(Some(_)))), 0),
        );
        match res {
            Ok(Some(log)) => {
                if log != rolltoken::log_id(&t.sid) {
                    self.fail("logout reported another session");
                }
                match self.load(&t.sid) {
                    Some(r) if !r.is_active() => {}
                    _ => self.fail("logout reported a session it did not revoke"),
                }
            }
            Ok(None) => {
                if t.authenticated
                    && self
                        .keys()
                        .contains(token::parse(&t.bytes).unwrap().key_id())
                {
                    if let Some(r) = self.load(&t.sid) {
                        if r.is_active() {
                            self.fail("logout with a valid token left its session active");
                        }
                    }
                }
            }
            Err(e) => self.fail(&format!("logout failed: {e:?}")),
        }
        self.sweep();
    }

    fn failover(&mut self, b: u8, a: u8) {
        if self.order.is_empty() {
            return;
        }
        let sid = self.order[usize::from(b) % self.order.len()];
        let Some(cur) = self.load(&sid) else { return };
        let s = &self.sess[&sid];
        if !cur.is_active() || s.revoked || s.snapshots.is_empty() {
            return;
        }
        let old = s.snapshots[usize::from(a) % s.snapshots.len()];
        if !old.is_active() || old == cur {
            return;
        }
        self.s
            .store_mut()
            .save(&old, Some(cur.version), self.now)
            .unwrap();
        let s = self.sess.get_mut(&sid).unwrap();
        s.failed_over = true;
        // The writes after `old` are lost: their counters start a new history.
        s.chain.retain(|&(counter, _), _| counter < old.counter);
        self.note(
            "failover (counter from, to)",
            None,
            0,
            None,
            None,
            (cur.counter, old.counter),
        );
        self.sweep();
    }

    fn revoke_all(&mut self, a: u8) {
        let subject = Subject::from_u64(1 + u64::from(a % 3));
        let res = self.s.revoke_all(&subject, self.now);
        self.note("revoke_all", None, 0, None, None, (u64::from(a % 3) + 1, 0));
        if let Err(e) = res {
            self.fail(&format!("revoke_all failed: {e:?}"));
        }
        for (sid, rec) in self.records() {
            if let Some(r) = rec {
                if r.subject == subject && r.is_active() {
                    self.fail("revoke_all left a session of the subject active");
                }
                let _ = sid;
            }
        }
        self.sweep();
    }

    fn rotate(&mut self, a: u8) {
        // Rebuilding the façade resets its degraded-mode deadline: only when none is pending
        // for any time the clock can still step back to.
        if self
            .s
            .is_degraded(self.max_now.saturating_sub(MAX_CLOCK_SKEW_MS))
        {
            return;
        }
        let ring = usize::from(a % 3);
        let store = std::mem::take(self.s.store_mut());
        let deny = std::mem::take(self.s.deny_list_mut());
        self.s = Sessions::new(&rings().live[ring], self.p, store, deny).unwrap();
        self.ring = ring;
        self.note("rotate to ring", None, 0, None, None, (ring as u64, 0));
    }

    fn step(&mut self, dt: u64, back: bool) {
        if back {
            let floor = self.max_now.saturating_sub(MAX_CLOCK_SKEW_MS);
            self.now = self.now.saturating_sub(dt).max(floor);
        } else {
            self.now = self.now.saturating_add(dt);
            self.max_now = self.max_now.max(self.now);
        }
    }
}

fn kind_of(bit: u8) -> Kind {
    if bit & 1 == 1 {
        Kind::Advance
    } else {
        Kind::Read
    }
}

fuzz_target!(|data: &[u8]| {
    let mut src = Src::new(data);
    let p = policy(&mut src);
    let rings = rings();
    let Ok(s) = Sessions::new(
        &rings.live[0],
        p,
        MemoryStore::<8>::new(),
        MemoryDenyList::<4>::new(),
    ) else {
        return;
    };
    let mut w = World {
        s,
        ring: 0,
        p,
        now: T0,
        max_now: T0,
        toks: Vec::new(),
        issued: HashMap::new(),
        sess: HashMap::new(),
        order: Vec::new(),
        anon: Vec::new(),
        ids: 0,
        trace: Vec::new(),
    };
    w.login(0, 0, None);
    for _ in 0..MAX_OPS {
        if src.is_empty() {
            break;
        }
        let (op, a, b) = (src.u8(), src.u8(), src.u8());
        match op % 16 {
            0..=5 => {
                let Some(t) = w.pick(b) else { continue };
                w.step(SMALL[usize::from((a >> 3) & 7)], false);
                w.request(Some(&t.bytes), kind_of(a), a >> 1, "token");
            }
            6 => w.step(TICKS[usize::from(a % 16)], b & 1 == 1),
            7 => {
                let cookie = if b >= 0x80 { None } else { w.pick(b) };
                w.login(a, a >> 2, cookie);
            }
            8 => {
                if let Some(t) = w.pick(b) {
                    w.logout(t);
                }
            }
            9 => {
                let Some(t) = w.pick(b) else { continue };
                let mut bytes = t.bytes.clone();
                let bit = (usize::from(src.u8()) << 8 | usize::from(a)) % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
                w.request(Some(&bytes), kind_of(b >> 7), b >> 5, "bit-flipped");
            }
            10 => {
                let Some(t) = w.pick(b) else { continue };
                let Ok(parsed) = token::parse(&t.bytes) else {
                    continue;
                };
                let kid = [1u8, 2, 200][usize::from(a % 3)];
                let minted = match parsed {
                    Parsed::Full(f) => {
                        let mut c = *f.unverified_claims();
                        c.key_id = kid;
                        token::mint_full(&rings.foreign, &c)
                    }
                    Parsed::Compact(c) => {
                        // The counter the genuine token matches, if the live ring still knows it.
                        let ctr = (0..=64u64)
                            .find(|&n| c.matches(w.keys(), n) == Ok(true))
                            .unwrap_or(0);
                        token::mint_compact(&rings.foreign, kid, &c.session_id(), ctr)
                    }
                };
                let bytes = minted.unwrap().as_bytes().to_vec();
                w.request(Some(&bytes), kind_of(a >> 2), a >> 3, "foreign-key");
            }
            11 => {
                let bytes = src.bytes(usize::from(a) % 120).to_vec();
                w.request(Some(&bytes), kind_of(b), b >> 1, "arbitrary");
            }
            12 => w.request(None, kind_of(a), a >> 1, "no cookie"),
            13 => w.failover(b, a),
            14 => w.revoke_all(a),
            _ => w.rotate(a),
        }
    }
    let _ = Mode::Strict;
});
