//! Model-based property tests of the rolling rules (DESIGN §6) and the request façade (§7).
//!
//! A small reference model of one session's chain ([`Model`], written from the design, not
//! from the engine) is stepped next to the real [`Sessions`] façade over a `MemoryStore`
//! (wrapped in [`RacyStore`], which can inject lost compare-and-swaps, racing writers and
//! failed saves) and a `MemoryDenyList`. Every request checks, in this order:
//!
//! * invariant 2: a rejection clears the cookie exactly for reuse, revoked, expired, forged,
//!   malformed and unknown session; never for grace exhaustion, contention, outages or
//!   binding mismatches;
//! * invariant 5: once the session is revoked, no request with any of its tokens proceeds;
//! * invariant 3 (honest runs): no reuse, no revocation, no cleared cookie;
//! * the model: same rule, same counter handed out, same record fields afterwards;
//! * invariant 1: one distinct token per counter, the stored counter never decreases, a
//!   revoked record stays revoked.
//!
//! The honest browser is a discrete-event simulation: requests carry the cookie jar's token at
//! send time, responses land later (so they can land out of order), responses of page loads
//! can be lost and are retried, several page loads can be in flight at once (tabs share the
//! jar), the server clock can step. Time is always an input (`now_ms`).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::expect_used
)]

use core::cmp::Reverse;
use core::net::{IpAddr, Ipv4Addr};
use std::collections::{BinaryHeap, HashMap};

use proptest::prelude::*;

use rolltoken::engine;
use rolltoken::keys::{BindingInput, KeyMaterial, Keyring};
use rolltoken::policy::{BindingPolicy, Grace, Mode, Policy};
use rolltoken::record::Record;
use rolltoken::sessions::{Kind, MAX_ATTEMPTS, Outcome, Request, Sessions};
use rolltoken::store::{MemoryDenyList, MemoryStore, Store, StoreError};
use rolltoken::token::{self, Claims, Form, Parsed, SessionId, Subject, TokenError};
use rolltoken::verdict::{Rule, Verdict};

// ------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------

const T0: u64 = 1_700_000_000_000;
const KEY_ID: u8 = 1;
const SID: SessionId = SessionId([0x5a; 16]);
const SUBJECT: u64 = 42;

/// A client identity: indexes into [`UAS`] and [`IPS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Who {
    ua: usize,
    ip: usize,
}

const USER: Who = Who { ua: 0, ip: 0 };
/// A thief on another user agent and another network.
const THIEF: Who = Who { ua: 1, ip: 1 };
/// A thief that copied the user agent string too (only the address differs).
const SAME_UA_THIEF: Who = Who { ua: 0, ip: 1 };
/// The user's browser on another network (Wi-Fi to LTE).
const MOVED_USER: Who = Who { ua: 0, ip: 1 };

const UAS: [&[u8]; 2] = [
    b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    b"python-requests/2.32.3",
];
const IPS: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
];

fn input(w: Who) -> BindingInput<'static> {
    BindingInput::new(UAS[w.ua], Some(IPS[w.ip]))
}

fn keyring() -> Keyring {
    Keyring::new(&[KeyMaterial::new(KEY_ID, [0x42; 32])], KEY_ID).unwrap()
}

fn strict_compact() -> Policy {
    Policy {
        anonymous: false,
        ..Policy::default()
    }
}

fn strict_full() -> Policy {
    Policy {
        form: Form::Full,
        anonymous: false,
        ..Policy::default()
    }
}

fn cached() -> Policy {
    Policy {
        anonymous: false,
        ..Policy::cached()
    }
}

/// 0: strict/compact (the default), 1: strict/full, 2: cached (full).
fn policy_of(i: u8) -> Policy {
    match i % 3 {
        0 => strict_compact(),
        1 => strict_full(),
        _ => cached(),
    }
}

fn bytes(t: &token::TokenBuf) -> Vec<u8> {
    t.as_bytes().to_vec()
}

// ------------------------------------------------------------------------------------------
// The reference model of one session's chain (DESIGN §6, §7)
// ------------------------------------------------------------------------------------------

/// What the model knows about a handed-out token.
#[derive(Clone, Copy, Debug)]
struct TokInfo {
    counter: u64,
    /// Full tokens: when the counter was minted (starts the fresh window).
    issued_at: u64,
    /// Whose request minted the counter (the binding the token carries).
    minted_by: Who,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    rule: Rule,
    /// The counter of the token handed out, if any.
    token: Option<u64>,
}

fn refuse(rule: Rule) -> Expect {
    Expect { rule, token: None }
}

#[derive(Clone, Debug)]
struct Model {
    p: Policy,
    /// The newest counter issued.
    c: u64,
    /// The lowest counter accepted inside the window.
    floor: u64,
    grace_until: u64,
    last_adv: u64,
    last_seen: u64,
    expires: u64,
    /// The holder of `c` has presented it (on a read).
    confirmed: bool,
    answers: u8,
    /// The binding of the last advancing request.
    bind: Who,
    revoked_at: Option<u64>,
    /// Cached mode: the deny-list entry.
    deny_until: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pos {
    Current,
    Stale,
    /// `floor <= t < c` after the window: a rule 3 candidate.
    AfterWindow,
    Behind,
    Ahead,
}

impl Model {
    fn new(p: Policy, who: Who, now: u64) -> Model {
        Model {
            p,
            c: 0,
            floor: 0,
            grace_until: now,
            last_adv: now,
            last_seen: now,
            expires: now + p.session_lifetime_ms,
            confirmed: false,
            answers: 0,
            bind: who,
            revoked_at: None,
            deny_until: 0,
        }
    }

    fn grace(&self) -> u64 {
        match self.p.grace {
            Grace::Fixed { ms } => u64::from(ms),
            Grace::Adaptive { .. } => panic!("the model covers fixed grace only"),
        }
    }

    fn revoke(&mut self, now: u64) {
        if self.revoked_at.is_none() {
            self.revoked_at = Some(now.max(1));
            if self.p.mode == Mode::Cached {
                // The newest token was minted at the last advance, which may be after `now`, and
                // an older one up to the clock skew later still.
                self.deny_until = self.deny_until.max(
                    now.max(self.last_adv)
                        + self.p.fresh_ms
                        + rolltoken::sessions::MAX_CLOCK_SKEW_MS,
                );
            }
        }
    }

    fn touch(&mut self, now: u64) {
        if now.saturating_sub(self.last_seen) >= self.p.idle_timeout_ms / 4 {
            self.last_seen = now.max(self.last_adv);
        }
    }

    /// Rule 1: mint `c+1`.
    fn mint(&mut self, who: Who, now: u64) {
        let in_window = now < self.grace_until;
        let c1 = self.c + 1;
        self.floor = if in_window {
            self.floor
                .max(c1.saturating_sub(u64::from(self.p.span_cap)))
        } else {
            self.c
        };
        self.c = c1;
        self.last_adv = now;
        self.last_seen = now;
        self.grace_until = now + self.grace();
        self.answers = 0;
        self.confirmed = false;
        self.bind = who;
    }

    /// Rules 2 and 3 on an advance: hand out `c` again, reopening the window (capped).
    fn reissue(&mut self, now: u64, rule: Rule) -> Expect {
        if self.answers >= self.p.answer_cap {
            return refuse(Rule::GraceExhausted);
        }
        self.answers += 1;
        self.grace_until = self.grace_until.max(now + self.grace()).max(self.last_adv);
        self.touch(now);
        Expect {
            rule,
            token: Some(self.c),
        }
    }

    /// If a reuse revocation of `who` presenting `tok` at `now` is one of the design's known
    /// false-logout classes (see `design_gap_*` tests), names it.
    fn design_gap(&self, tok: &TokInfo, who: Who, now: u64) -> Option<&'static str> {
        let (t, c) = (tok.counter, self.c);
        if self.revoked_at.is_some() || now < self.grace_until || t >= c || who != self.bind {
            return None;
        }
        if t + 1 == c && self.confirmed && now.saturating_sub(self.last_adv) >= self.p.jar_behind_ms
        {
            return Some(
                "GAP-2: jar one step behind, current confirmed, last advance older than jar_behind_ms",
            );
        }
        if t + 1 < c && t >= self.floor {
            return Some(
                "GAP-1: jar more than one step behind after the window (out-of-order responses)",
            );
        }
        None
    }

    fn required(&self, who: Who) -> bool {
        match self.p.binding {
            BindingPolicy::Evidence => true,
            BindingPolicy::RequireUserAgent => who.ua == self.bind.ua,
            BindingPolicy::RequireFull => who == self.bind,
        }
    }

    /// One request through the façade: the cache path (cached mode), then the store.
    fn step(&mut self, tok: &TokInfo, kind: Kind, who: Who, now: u64) -> Expect {
        let mut kind = kind;
        if self.p.mode == Mode::Cached {
            let f = self.p.fresh_ms;
            let fresh = now < tok.issued_at + f
                && now
                    >= tok
                        .issued_at
                        .saturating_sub(rolltoken::sessions::MAX_CLOCK_SKEW_MS);
            let trusted =
                fresh && tok.minted_by == who && now < self.expires && now >= self.deny_until;
            if trusted {
                return refuse(Rule::Cached);
            }
            if !fresh {
                kind = Kind::Advance;
            }
        }
        self.step_store(tok, kind, who, now)
    }

    /// One decision against the store (DESIGN §6 rules 1–5).
    fn step_store(&mut self, tok: &TokInfo, kind: Kind, who: Who, now: u64) -> Expect {
        if self.revoked_at.is_some() {
            return refuse(Rule::Revoked);
        }
        if now >= self.expires || now >= self.last_seen + self.p.idle_timeout_ms {
            return refuse(Rule::Expired);
        }
        let (t, c) = (tok.counter, self.c);
        let in_window = now < self.grace_until;
        let span = u64::from(self.p.span_cap);
        let pos = if t == c {
            Pos::Current
        } else if t > c {
            // Compact tokens are searched only up to the span cap ahead.
            if self.p.form == Form::Compact && t - c > span {
                Pos::Behind
            } else {
                Pos::Ahead
            }
        } else if in_window && t >= self.floor {
            Pos::Stale
        } else if t >= self.floor {
            Pos::AfterWindow
        } else {
            Pos::Behind
        };
        // Rule 4 (and rule 3's refusals): reuse revokes, whatever the binding policy.
        if pos == Pos::Behind {
            self.revoke(now);
            return refuse(Rule::Reuse);
        }
        // Rule 3 forgives only the client of the last advance (full binding): one step behind
        // with the current token never presented (lost response), or anywhere in floor..c
        // while the last advance is recent (cookie jar went back).
        let lost = t + 1 == c && !self.confirmed && who == self.bind;
        if pos == Pos::AfterWindow {
            let jar = who == self.bind && now.saturating_sub(self.last_adv) < self.p.jar_behind_ms;
            if !self.p.reissue_one_behind || !(lost || jar) {
                self.revoke(now);
                return refuse(Rule::Reuse);
            }
        }
        if !self.required(who) {
            return refuse(Rule::BindingMismatch);
        }
        let one_behind = if lost {
            Rule::LostResponse
        } else {
            Rule::CookieJarBehind
        };
        match (pos, kind) {
            (Pos::Current, Kind::Read) => {
                self.touch(now);
                self.confirmed = true;
                refuse(Rule::Current)
            }
            (Pos::Current, Kind::Advance) => {
                self.mint(who, now);
                Expect {
                    rule: Rule::Fresh,
                    token: Some(self.c),
                }
            }
            (Pos::Stale, Kind::Read) => refuse(Rule::ConcurrentInGrace),
            (Pos::AfterWindow, Kind::Read) => refuse(one_behind),
            (Pos::Stale, Kind::Advance) => self.reissue(now, Rule::ConcurrentInGrace),
            (Pos::AfterWindow, Kind::Advance) => self.reissue(now, one_behind),
            (Pos::Ahead, _) => {
                // Rule 5: repair forward, never backward. A full token says how `t` was
                // minted (time, binding): keep that, so a re-issue of `t` is the same token.
                self.c = t;
                self.floor = t;
                self.last_adv = now;
                if self.p.form == Form::Full {
                    self.last_adv = tok.issued_at.min(now);
                    self.bind = tok.minted_by;
                }
                self.grace_until = self.last_adv;
                self.last_seen = now.max(self.last_adv);
                self.answers = 0;
                self.confirmed = true;
                if kind == Kind::Advance {
                    self.mint(who, now);
                    return Expect {
                        rule: Rule::StoreBehind,
                        token: Some(self.c),
                    };
                }
                refuse(Rule::StoreBehind)
            }
            (Pos::Behind, _) => unreachable!(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// A store that can lose races and saves on purpose
// ------------------------------------------------------------------------------------------

/// What the store does to the next save the façade attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interfere {
    /// Another process advances with the same token between the load and the save.
    RaceAdvance,
    /// Another process reads with the same token between the load and the save.
    RaceRead,
    /// The save fails (`Unavailable`), nothing is written.
    FailSave,
    /// The save is written but its acknowledgement is lost (`Unavailable`).
    AckLost,
    /// A benign concurrent write bumps the version before each of the next `n` saves.
    Bump(u8),
}

#[derive(Debug)]
enum Fired {
    Race {
        kind: Kind,
        verdict: Verdict,
        token: Option<Vec<u8>>,
    },
    FailSave,
    AckLost {
        loaded: u64,
        saved: u64,
    },
    Bump(u8),
}

struct RacyStore<'k> {
    inner: MemoryStore<8>,
    keys: &'k Keyring,
    policy: Policy,
    plan: Option<Interfere>,
    /// The token and client of the racing request.
    interloper: Option<(Vec<u8>, Who)>,
    fired: Option<Fired>,
}

impl Store for RacyStore<'_> {
    fn load(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
        self.inner.load(id)
    }

    fn save(
        &mut self,
        record: &Record,
        expected_version: Option<u64>,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        match self.plan.take() {
            None => self.inner.save(record, expected_version, now_ms),
            Some(Interfere::FailSave) => {
                self.fired = Some(Fired::FailSave);
                Err(StoreError::Unavailable)
            }
            Some(Interfere::AckLost) => {
                let loaded = self
                    .inner
                    .load(&record.session_id)?
                    .map_or(0, |r| r.counter);
                self.inner.save(record, expected_version, now_ms)?;
                self.fired = Some(Fired::AckLost {
                    loaded,
                    saved: record.counter,
                });
                Err(StoreError::Unavailable)
            }
            Some(Interfere::Bump(n)) => {
                let mut cur = self
                    .inner
                    .load(&record.session_id)?
                    .ok_or(StoreError::Unavailable)?;
                let old = cur.version;
                cur.version = cur.version.wrapping_add(1);
                self.inner.save(&cur, Some(old), now_ms)?;
                let count = match self.fired {
                    Some(Fired::Bump(k)) => k + 1,
                    _ => 1,
                };
                self.fired = Some(Fired::Bump(count));
                if n > 1 {
                    self.plan = Some(Interfere::Bump(n - 1));
                }
                self.inner.save(record, expected_version, now_ms)
            }
            Some(race @ (Interfere::RaceAdvance | Interfere::RaceRead)) => {
                let kind = if race == Interfere::RaceAdvance {
                    Kind::Advance
                } else {
                    Kind::Read
                };
                let (tok, who) = self.interloper.clone().ok_or(StoreError::Unavailable)?;
                let parsed = token::parse(&tok).map_err(|_| StoreError::Unavailable)?;
                let cur = self
                    .inner
                    .load(&record.session_id)?
                    .ok_or(StoreError::Unavailable)?;
                let d = engine::decide(
                    self.keys,
                    &self.policy,
                    &cur,
                    &parsed,
                    kind,
                    &input(who),
                    now_ms,
                );
                if let Some(s) = &d.save {
                    self.inner.save(s, Some(cur.version), now_ms)?;
                }
                self.fired = Some(Fired::Race {
                    kind,
                    verdict: d.verdict,
                    token: d.token.as_ref().map(bytes),
                });
                self.inner.save(record, expected_version, now_ms)
            }
        }
    }

    fn delete(&mut self, id: &SessionId) -> Result<(), StoreError> {
        self.inner.delete(id)
    }
}

// ------------------------------------------------------------------------------------------
// The harness: façade + model + invariant checks on every request
// ------------------------------------------------------------------------------------------

/// The verdicts that may clear the cookie (DESIGN §6, §7), listed independently of
/// `Verdict::clears_cookie`.
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

struct Harness<'k> {
    keys: &'k Keyring,
    s: Sessions<&'k Keyring, RacyStore<'k>, MemoryDenyList<8>>,
    m: Model,
    /// Every token of the session handed out so far.
    info: HashMap<Vec<u8>, TokInfo>,
    /// Invariant 1: the one token handed out per counter.
    by_counter: HashMap<u64, Vec<u8>>,
    /// Advances that won (committed `Fresh` decisions).
    wins: u64,
    /// Set when the record was moved by something other than rule 1 (restore, rule 5).
    jumped: bool,
    /// Invariant 3 is checked while set.
    honest: bool,
    last_counter: u64,
    engine_revoked: bool,
    login_token: Vec<u8>,
    trace: Vec<String>,
    /// Honest logouts of a known design-gap class, tolerated (and counted) when
    /// `tolerate_gaps` is set; any other honest logout fails.
    tolerate_gaps: bool,
    gaps: Vec<&'static str>,
}

impl<'k> Harness<'k> {
    fn new(keys: &'k Keyring, p: Policy, who: Who, now: u64) -> Harness<'k> {
        let store = RacyStore {
            inner: MemoryStore::new(),
            keys,
            policy: p,
            plan: None,
            interloper: None,
            fired: None,
        };
        let mut s = Sessions::new(keys, p, store, MemoryDenyList::new()).unwrap();
        let login = s
            .login(None, SID.0, Subject::from_u64(SUBJECT).0, now, &input(who))
            .unwrap();
        let t = bytes(&login.token);
        let mut h = Harness {
            keys,
            s,
            m: Model::new(p, who, now),
            info: HashMap::new(),
            by_counter: HashMap::new(),
            wins: 0,
            jumped: false,
            honest: true,
            last_counter: 0,
            engine_revoked: false,
            login_token: t.clone(),
            trace: Vec::new(),
            tolerate_gaps: false,
            gaps: Vec::new(),
        };
        h.note_token(&t, 0);
        h.check_store();
        h
    }

    fn fail(&self, msg: &str) -> ! {
        let from = self.trace.len().saturating_sub(40);
        panic!(
            "{msg}\npolicy: {:?} {:?} {:?}\nmodel: {:?}\nlast requests (server ms since T0, who, kind, presented counter -> verdict):\n{}",
            self.m.p.mode,
            self.m.p.form,
            self.m.p.binding,
            ModelView(&self.m),
            self.trace[from..].join("\n")
        )
    }

    fn record(&mut self) -> Record {
        self.s.store_mut().inner.load(&SID).unwrap().unwrap()
    }

    /// Invariant 1 for a token handed out with counter `n`, and the token's own claims.
    fn note_token(&mut self, t: &[u8], n: u64) {
        match self.by_counter.get(&n) {
            Some(prev) if prev.as_slice() != t => self.fail(&format!(
                "invariant 1 (the chain never forks): a second distinct token was handed out for counter {n}"
            )),
            Some(_) => {}
            None => {
                self.by_counter.insert(n, t.to_vec());
            }
        }
        let issued_at = match token::parse(t).unwrap() {
            Parsed::Full(f) => {
                let claims = f.verify(self.keys).unwrap();
                if claims.counter != n {
                    self.fail(&format!(
                        "token handed out as counter {n} carries counter {}",
                        claims.counter
                    ));
                }
                claims.issued_at
            }
            Parsed::Compact(c) => {
                if !c.matches(self.keys, n).unwrap() {
                    self.fail(&format!(
                        "compact token handed out as counter {n} does not match it"
                    ));
                }
                self.m.last_adv
            }
        };
        self.info.entry(t.to_vec()).or_insert(TokInfo {
            counter: n,
            issued_at,
            minted_by: self.m.bind,
        });
    }

    fn check_store(&mut self) {
        let rec = self.record();
        if self.engine_revoked && rec.is_active() {
            self.fail("invariant 5: a revoked record became active again");
        }
        if !rec.is_active() {
            self.engine_revoked = true;
        } else if rec.counter < self.last_counter {
            self.fail(&format!(
                "invariant 1: the stored counter went back from {} to {}",
                self.last_counter, rec.counter
            ));
        }
        self.last_counter = self.last_counter.max(rec.counter);
        let m = &self.m;
        let want_binding = self.keys.binding(KEY_ID, &input(m.bind)).unwrap();
        let same = rec.counter == m.c
            && rec.floor == m.floor
            && rec.grace_until == m.grace_until
            && rec.last_advance_at == m.last_adv
            && rec.last_seen_at == m.last_seen
            && rec.confirmed == m.confirmed
            && rec.grace_answers == m.answers
            && rec.is_active() == m.revoked_at.is_none()
            && rec.binding == want_binding;
        if !same {
            self.fail(&format!(
                "model: the stored record differs from the model\nrecord: counter {} floor {} grace_until {:+} last_advance {:+} last_seen {:+} confirmed {} answers {} active {}",
                rec.counter,
                rec.floor,
                rec.grace_until as i64 - T0 as i64,
                rec.last_advance_at as i64 - T0 as i64,
                rec.last_seen_at as i64 - T0 as i64,
                rec.confirmed,
                rec.grace_answers,
                rec.is_active()
            ));
        }
    }

    /// Compares an engine decision with the model's and records the token it handed out.
    fn compare(&mut self, what: &str, verdict: Verdict, token: Option<&[u8]>, want: Expect) {
        if verdict.rule() != want.rule {
            self.fail(&format!(
                "model: {what} got {verdict:?}, the model (DESIGN §6) expects {:?}",
                want.rule
            ));
        }
        match (token, want.token) {
            (None, None) => {}
            (Some(t), Some(n)) => self.note_token(t, n),
            (t, n) => self.fail(&format!(
                "model: {what} handed out {:?}, the model expects a token for counter {n:?}",
                t.map(|_| "a token")
            )),
        }
        if verdict == Verdict::Fresh {
            self.wins += 1;
        }
        if matches!(verdict, Verdict::StoreBehind { .. }) {
            self.jumped = true;
        }
    }

    fn request(&mut self, who: Who, cookie: Option<&[u8]>, kind: Kind, now: u64) -> Outcome {
        let tok = cookie.map(|c| match self.info.get(c) {
            Some(t) => *t,
            None => self.fail("the driver presented a token that was never handed out"),
        });
        let was_revoked = self.m.revoked_at.is_some();
        let gap = tok.and_then(|t| self.m.design_gap(&t, who, now));
        let binding = input(who);
        let out = self.s.handle(&Request {
            cookie,
            kind,
            now_ms: now,
            binding: &binding,
            new_session_id: [0xee; 16],
        });
        let fired = {
            let st = self.s.store_mut();
            st.plan = None;
            st.fired.take()
        };
        self.trace.push(format!(
            "{:>12} {who:?} {kind:?} t={:?}{} -> {:?}",
            now as i64 - T0 as i64,
            tok.map(|t| t.counter),
            fired
                .as_ref()
                .map_or(String::new(), |f| format!(" [store: {f:?}]")),
            out.verdict()
        ));

        // Invariant 2.
        if let Outcome::Reject {
            verdict,
            clear_cookie,
            ..
        } = &out
            && *clear_cookie != must_clear(verdict)
        {
            self.fail(&format!(
                "invariant 2: {verdict:?} answered clear_cookie = {clear_cookie}"
            ));
        }
        // Invariant 5.
        if was_revoked && matches!(out, Outcome::Proceed { .. }) {
            self.fail("invariant 5: a request of a revoked session proceeded");
        }
        // Invariant 3.
        if self.honest {
            let v = out.verdict();
            let logout = matches!(v, Verdict::Reuse { .. } | Verdict::Revoked(_))
                || matches!(
                    out,
                    Outcome::Reject {
                        clear_cookie: true,
                        ..
                    }
                );
            if logout {
                match gap {
                    Some(g) if self.tolerate_gaps => {
                        self.gaps.push(g);
                        self.honest = false;
                    }
                    _ => self.fail(&format!(
                        "invariant 3: honest traffic was logged out ({v:?}; {})",
                        gap.unwrap_or("not a known design gap")
                    )),
                }
            }
        }

        let Some(tok) = tok else {
            if out.verdict() != Verdict::NoSession {
                self.fail("a request without a cookie was not refused as NoSession");
            }
            return out;
        };
        let (verdict, handed) = match &out {
            Outcome::Proceed { view, token, .. } => {
                if view.session_id != SID {
                    self.fail("a request proceeded as another session");
                }
                (out.verdict(), token.as_ref().map(bytes))
            }
            Outcome::Reject { .. } => (out.verdict(), None),
        };

        // Grace paths always answer an advance with the current token.
        if kind == Kind::Advance
            && matches!(
                verdict,
                Verdict::ConcurrentInGrace { .. }
                    | Verdict::LostResponse
                    | Verdict::CookieJarBehind
            )
            && handed.is_none()
        {
            self.fail("a grace answer to an advance carried no token");
        }

        match fired {
            None => {
                let want = self.m.step(&tok, kind, who, now);
                self.compare("request", verdict, handed.as_deref(), want);
            }
            Some(Fired::Bump(n)) => {
                let mut m = self.m.clone();
                let want = m.step(&tok, kind, who, now);
                if usize::from(n) >= MAX_ATTEMPTS {
                    self.compare(
                        "request under contention",
                        verdict,
                        None,
                        refuse(Rule::Busy),
                    );
                } else {
                    self.m = m;
                    self.compare("request after lost CAS", verdict, handed.as_deref(), want);
                }
            }
            Some(Fired::FailSave) => {
                // A failed save changes nothing: the model is not stepped.
                self.compare(
                    "request whose save failed",
                    verdict,
                    None,
                    refuse(Rule::StoreUnavailable),
                );
            }
            Some(Fired::AckLost { loaded, saved }) => {
                let want = self.m.step(&tok, kind, who, now);
                if want.rule == Rule::Fresh && saved == loaded + 1 {
                    self.wins += 1;
                }
                self.compare(
                    "request whose save ack was lost",
                    verdict,
                    None,
                    refuse(Rule::StoreUnavailable),
                );
            }
            Some(Fired::Race {
                kind: ikind,
                verdict: iverdict,
                token: itoken,
            }) => {
                let (itok, iwho) = self.s.store_mut().interloper.clone().unwrap();
                let itok = self.info[&itok];
                let want = self.m.step_store(&itok, ikind, iwho, now);
                self.compare("racing request", iverdict, itoken.as_deref(), want);
                let want = self.m.step(&tok, kind, who, now);
                self.compare(
                    "request that lost the race",
                    verdict,
                    handed.as_deref(),
                    want,
                );
            }
        }
        self.check_store();
        out
    }

    fn logout(&mut self, cookie: &[u8], now: u64) {
        let was_active = self.m.revoked_at.is_none();
        let found = self.s.logout(cookie, now).unwrap();
        self.trace.push(format!(
            "{:>12} logout -> {found:?}",
            now as i64 - T0 as i64
        ));
        if found.is_some() != was_active {
            self.fail("logout did not report the active session it ended");
        }
        self.m.revoke(now);
        self.honest = false;
        self.check_store();
    }

    /// Invariant 5: every token of a revoked session, at the edges of every window that could
    /// still trust it (fresh windows, the deny-list entry), from both clients, is refused.
    fn probe_revoked(&mut self, from: u64) {
        assert!(self.m.revoked_at.is_some());
        let f = self.m.p.fresh_ms;
        let mut toks: Vec<(Vec<u8>, TokInfo)> =
            self.info.iter().map(|(k, v)| (k.clone(), *v)).collect();
        toks.sort_by_key(|(_, i)| i.counter);
        let newest = toks.last().map_or(0, |(_, i)| i.counter);
        toks.retain(|(_, i)| i.counter == 0 || i.counter + 6 >= newest);
        let mut times = vec![
            from,
            from + 1,
            self.m.deny_until.saturating_sub(1),
            self.m.deny_until,
        ];
        for (_, i) in &toks {
            times.push(i.issued_at + f - 1);
        }
        times.retain(|&t| t >= from);
        times.sort_unstable();
        times.dedup();
        for &now in &times {
            for (t, _) in &toks {
                for who in [USER, THIEF] {
                    for kind in [Kind::Read, Kind::Advance] {
                        let _ = self.request(who, Some(t), kind, now);
                    }
                }
            }
        }
    }
}

struct ModelView<'a>(&'a Model);

impl core::fmt::Debug for ModelView<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        let rel = |t: u64| t as i64 - T0 as i64;
        write!(
            f,
            "c {} floor {} grace_until {:+} last_advance {:+} last_seen {:+} confirmed {} answers {} bind {:?} revoked_at {:?} deny_until {:+}",
            m.c,
            m.floor,
            rel(m.grace_until),
            rel(m.last_adv),
            rel(m.last_seen),
            m.confirmed,
            m.answers,
            m.bind,
            m.revoked_at.map(rel),
            rel(m.deny_until)
        )
    }
}

// ------------------------------------------------------------------------------------------
// The honest browser: a discrete-event simulation
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ReadSpec {
    delay: u32,
    up: u32,
    down: u32,
}

#[derive(Clone, Debug)]
enum Act {
    /// A page load (in whichever tab: all tabs share the jar). Its response may be lost, in
    /// which case the browser retries once; once it lands, the page fires its reads.
    Nav {
        wait: u32,
        up: u32,
        down: u32,
        lost: bool,
        retry_after: u32,
        reads: Vec<ReadSpec>,
    },
    /// A background API call.
    Read { wait: u32, up: u32, down: u32 },
    /// A small step of the server clock (either way).
    Step { wait: u32, delta: i32 },
    /// A forward jump of the server clock, applied when nothing is in flight.
    Jump { wait: u32, ms: u32 },
    /// The user logs out with the jar's token; the response clears the jar.
    Logout { wait: u32 },
}

impl Act {
    fn wait(&self) -> u32 {
        match self {
            Act::Nav { wait, .. }
            | Act::Read { wait, .. }
            | Act::Step { wait, .. }
            | Act::Jump { wait, .. }
            | Act::Logout { wait } => *wait,
        }
    }
}

#[derive(Debug)]
enum Ev {
    Send {
        kind: Kind,
        up: u32,
        down: u32,
        lost: bool,
        retry_after: u32,
        retry: bool,
        reads: Vec<ReadSpec>,
    },
    Arrive {
        cookie: Option<Vec<u8>>,
        kind: Kind,
        up: u32,
        down: u32,
        lost: bool,
        retry_after: u32,
        retry: bool,
        reads: Vec<ReadSpec>,
    },
    Deliver {
        set: Option<Vec<u8>>,
        clear: bool,
        reads: Vec<ReadSpec>,
    },
    Step(i64),
    Jump(u64),
    Logout,
}

struct Sim<'k> {
    h: Harness<'k>,
    jar: Option<Vec<u8>>,
    skew: i64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    evs: HashMap<u64, Ev>,
    seq: u64,
    in_flight: usize,
    pending_jump: u64,
    /// Real time of the last event processed.
    clock: u64,
}

impl<'k> Sim<'k> {
    fn new(keys: &'k Keyring, p: Policy) -> Sim<'k> {
        let h = Harness::new(keys, p, USER, T0);
        let jar = Some(h.login_token.clone());
        Sim {
            h,
            jar,
            skew: 0,
            queue: BinaryHeap::new(),
            evs: HashMap::new(),
            seq: 0,
            in_flight: 0,
            pending_jump: 0,
            clock: T0,
        }
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.evs.insert(self.seq, ev);
        self.queue.push(Reverse((t, self.seq)));
    }

    fn server(&self, t: u64) -> u64 {
        (t as i64 + self.skew) as u64
    }

    fn settle(&mut self) {
        if self.in_flight == 0 && self.pending_jump > 0 {
            self.skew += self.pending_jump as i64;
            self.pending_jump = 0;
        }
    }

    fn run(&mut self, acts: &[Act]) {
        let mut t = T0 + 1_000;
        for a in acts {
            t += u64::from(a.wait());
            let ev = match a.clone() {
                Act::Nav {
                    up,
                    down,
                    lost,
                    retry_after,
                    reads,
                    ..
                } => Ev::Send {
                    kind: Kind::Advance,
                    up,
                    down,
                    lost,
                    retry_after,
                    retry: false,
                    reads,
                },
                Act::Read { up, down, .. } => Ev::Send {
                    kind: Kind::Read,
                    up,
                    down,
                    lost: false,
                    retry_after: 0,
                    retry: false,
                    reads: Vec::new(),
                },
                Act::Step { delta, .. } => Ev::Step(i64::from(delta)),
                Act::Jump { ms, .. } => Ev::Jump(u64::from(ms)),
                Act::Logout { .. } => Ev::Logout,
            };
            self.at(t, ev);
        }
        while let Some(Reverse((now, id))) = self.queue.pop() {
            let ev = self.evs.remove(&id).unwrap();
            self.clock = now;
            self.process(now, ev);
        }
    }

    fn process(&mut self, now: u64, ev: Ev) {
        match ev {
            Ev::Send {
                kind,
                up,
                down,
                lost,
                retry_after,
                retry,
                reads,
            } => {
                if !retry {
                    self.in_flight += 1;
                }
                // A browser without the cookie (after logout) sends nothing of this session.
                let Some(cookie) = self.jar.clone() else {
                    self.in_flight -= 1;
                    self.settle();
                    return;
                };
                self.at(
                    now + u64::from(up),
                    Ev::Arrive {
                        cookie: Some(cookie),
                        kind,
                        up,
                        down,
                        lost,
                        retry_after,
                        retry,
                        reads,
                    },
                );
            }
            Ev::Arrive {
                cookie,
                kind,
                up,
                down,
                lost,
                retry_after,
                retry,
                reads,
            } => {
                let out = self
                    .h
                    .request(USER, cookie.as_deref(), kind, self.server(now));
                if lost {
                    if kind == Kind::Advance && !retry {
                        // The browser notices after a timeout and sends the page load again,
                        // with whatever the jar holds then.
                        self.at(
                            now + u64::from(down) + u64::from(retry_after),
                            Ev::Send {
                                kind,
                                up,
                                down,
                                lost: false,
                                retry_after,
                                retry: true,
                                reads,
                            },
                        );
                    } else {
                        self.in_flight -= 1;
                        self.settle();
                    }
                    return;
                }
                let (set, clear, reads) = match out {
                    Outcome::Proceed { token, .. } => (token.as_ref().map(bytes), false, reads),
                    Outcome::Reject { clear_cookie, .. } => (None, clear_cookie, Vec::new()),
                };
                self.at(now + u64::from(down), Ev::Deliver { set, clear, reads });
            }
            Ev::Deliver { set, clear, reads } => {
                if clear {
                    self.jar = None;
                } else if let Some(s) = set {
                    self.jar = Some(s);
                }
                for r in reads {
                    self.at(
                        now + u64::from(r.delay),
                        Ev::Send {
                            kind: Kind::Read,
                            up: r.up,
                            down: r.down,
                            lost: false,
                            retry_after: 0,
                            retry: false,
                            reads: Vec::new(),
                        },
                    );
                }
                self.in_flight -= 1;
                self.settle();
            }
            Ev::Step(d) => self.skew = (self.skew + d).max(-5_000),
            Ev::Jump(ms) => {
                self.pending_jump += ms;
                self.settle();
            }
            Ev::Logout => {
                if let Some(c) = self.jar.take() {
                    let now = self.server(now);
                    self.h.logout(&c, now);
                }
            }
        }
    }

    /// Checks that hold at the end of every run.
    fn finish(&mut self) {
        let rec = self.h.record();
        if !self.h.jumped && self.h.wins != rec.counter {
            self.h.fail(&format!(
                "the advances that won ({}) differ from the final counter ({})",
                self.h.wins, rec.counter
            ));
        }
        if let Some(r) = self.h.m.revoked_at {
            self.h.probe_revoked(r);
        }
    }
}

/// One leg of an honest request: mostly fast, sometimes slow, always well under the grace.
fn leg() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..300, 2 => 300u32..2_500]
}

/// Think time before the next action: bursts, pauses, and idle stretches up to four minutes
/// (below the five minutes of rule 3's "recent advance"; see `design_limit_*` below).
fn think() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..500, 3 => 500u32..8_000, 2 => 8_000u32..30_000, 1 => 30_000u32..240_000]
}

fn read_spec() -> impl Strategy<Value = ReadSpec> {
    (0u32..400, leg(), leg()).prop_map(|(delay, up, down)| ReadSpec { delay, up, down })
}

fn nav() -> impl Strategy<Value = Act> {
    (
        think(),
        leg(),
        leg(),
        proptest::bool::weighted(0.12),
        500u32..4_000,
        proptest::collection::vec(read_spec(), 0..4),
    )
        .prop_map(|(wait, up, down, lost, retry_after, reads)| Act::Nav {
            wait,
            up,
            down,
            lost,
            retry_after,
            reads,
        })
}

fn honest_act() -> impl Strategy<Value = Act> {
    prop_oneof![
        12 => nav(),
        4 => (think(), leg(), leg()).prop_map(|(wait, up, down)| Act::Read { wait, up, down }),
        1 => (think(), -2_000i32..=2_000).prop_map(|(wait, delta)| Act::Step { wait, delta }),
        1 => (think(), 10_000u32..60_000).prop_map(|(wait, ms)| Act::Jump { wait, ms }),
    ]
}

/// Runs one honest schedule; returns the known design-gap logouts it hit (only when
/// `tolerate_gaps`; otherwise any honest logout fails the run).
fn honest_run(policy: u8, acts: &[Act], tolerate_gaps: bool) -> Vec<&'static str> {
    let keys = keyring();
    let mut sim = Sim::new(&keys, policy_of(policy));
    sim.h.tolerate_gaps = tolerate_gaps;
    sim.run(acts);
    sim.finish();
    sim.h.gaps
}

// ------------------------------------------------------------------------------------------
// Two parties: the user and a thief who copied the cookie
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct TAct {
    wait: u32,
    thief: bool,
    kind: Kind,
    /// A server clock step (≤ 0) just before the request.
    delta: i32,
}

#[derive(Debug, Default, Clone, Copy)]
struct TheftStats {
    /// Requests after the thief's first use up to and including the one that revoked.
    user_requests: u32,
    thief_requests: u32,
    /// Server ms from the copy to the revocation.
    detect_ms: Option<u64>,
    /// The largest number of store-path requests the other party made after a winning
    /// advance (`Fresh`) of one party (the chains diverged), up to the revocation. The
    /// request that revokes counts.
    k: u32,
}

/// Runs the user and a thief on one session (instant responses, no losses). Checks the
/// detection theorem: after the thief's first use, an *exposed* store-path request (more than
/// the grace after every earlier request, so the window is closed) by one party that follows an
/// exposed advance by the other party that won (`Fresh`), with no store-path request of the
/// first party in between, leaves the session revoked. `tail` adds such a pair at the end
/// (past the fresh window in cached mode).
fn theft_run(
    p: Policy,
    thief: Who,
    acts: &[TAct],
    copy_at: usize,
    tail: bool,
    probe: bool,
) -> TheftStats {
    theft_run_with_logout(p, thief, acts, copy_at, tail, probe, None)
}

/// As [`theft_run`]; with `logout: Some(step)`, the user logs out right after the acts, the
/// server clock having stepped by `step` ms.
fn theft_run_with_logout(
    p: Policy,
    thief: Who,
    acts: &[TAct],
    copy_at: usize,
    tail: bool,
    probe: bool,
    logout: Option<i32>,
) -> TheftStats {
    let keys = keyring();
    let mut h = Harness::new(&keys, p, USER, T0);
    h.honest = false;
    let who = [USER, thief];
    let mut jars: [Option<Vec<u8>>; 2] = [Some(h.login_token.clone()), None];
    let mut copied = false;
    let mut copy_time = 0;
    let mut t = T0 + 1_000;
    let mut skew: i64 = 0;
    let mut max_seen = T0;
    let mut thief_used = false;
    let mut armed: Option<usize> = None;
    let mut diverged: Option<(usize, u32)> = None;
    let mut stats = TheftStats::default();
    let grace = match p.grace {
        Grace::Fixed { ms } => u64::from(ms),
        Grace::Adaptive { max_ms, .. } => u64::from(max_ms),
    };
    let check_theorem = thief.ua != USER.ua && p.binding == BindingPolicy::Evidence;

    let mut tail_acts = Vec::new();
    if tail {
        // Past every token's fresh window (and any backward clock step) in cached mode.
        let wait = if p.mode == Mode::Cached {
            p.fresh_ms + 10_000
        } else {
            grace + 1_000
        } as u32;
        tail_acts.push(TAct {
            wait,
            thief: true,
            kind: Kind::Advance,
            delta: 0,
        });
        tail_acts.push(TAct {
            wait,
            thief: false,
            kind: Kind::Advance,
            delta: 0,
        });
    }
    for (i, a) in acts.iter().chain(tail_acts.iter()).enumerate() {
        if i == acts.len()
            && let (Some(step), Some(jar)) = (logout, jars[0].clone())
        {
            skew += i64::from(step);
            let now = (t as i64 + skew) as u64;
            h.logout(&jar, now);
            jars[0] = None;
        }
        if i == copy_at.min(acts.len()) && !copied {
            jars[1] = jars[0].clone();
            copied = true;
            copy_time = (t as i64 + skew) as u64;
        }
        t += u64::from(a.wait);
        skew = (skew + i64::from(a.delta)).max(-5_000);
        let party = usize::from(a.thief);
        let Some(cookie) = jars[party].clone() else {
            continue;
        };
        let now = (t as i64 + skew) as u64;
        let exposed = now > max_seen + grace;
        max_seen = max_seen.max(now);
        let revoked_before = h.m.revoked_at.is_some();
        let out = h.request(who[party], Some(&cookie), a.kind, now);
        match &out {
            Outcome::Proceed {
                token: Some(tk), ..
            } => jars[party] = Some(bytes(tk)),
            Outcome::Reject {
                clear_cookie: true, ..
            } => jars[party] = None,
            _ => {}
        }
        if party == 1 {
            thief_used = true;
            // A binding policy that requires the thief's user agent keeps it out entirely.
            if p.binding != BindingPolicy::Evidence
                && thief.ua != USER.ua
                && matches!(out, Outcome::Proceed { .. })
            {
                h.fail("a thief on another user agent proceeded under a binding-requiring policy");
            }
        }
        // Cached mode: a request trusted from the cookie alone never meets the chain (DESIGN
        // §7); collisions happen on the store path only.
        let via_store = out.verdict() != Verdict::Cached;
        if copied && !revoked_before && via_store {
            match diverged {
                Some((p_fresh, ref mut n)) if p_fresh != party => {
                    *n += 1;
                    stats.k = stats.k.max(*n);
                }
                _ => {}
            }
            if out.verdict() == Verdict::Fresh {
                diverged = Some((party, 0));
            }
        }
        if thief_used && !revoked_before && via_store {
            if party == 0 {
                stats.user_requests += 1;
            } else {
                stats.thief_requests += 1;
            }
            if h.m.revoked_at.is_some() {
                stats.detect_ms = Some(now.saturating_sub(copy_time));
            }
            if let Some(p_armed) = armed
                && p_armed != party
            {
                let ended =
                    h.m.revoked_at.is_some() || matches!(out.verdict(), Verdict::Expired(_));
                if exposed && check_theorem && !ended {
                    h.fail(&format!(
                        "invariant 4: party {party} made an exposed request after the other party's exposed winning advance, and the session was not revoked"
                    ));
                }
                armed = None;
            }
            if exposed && a.kind == Kind::Advance && out.verdict() == Verdict::Fresh {
                armed = Some(party);
            }
        }
    }
    if tail && check_theorem && jars.iter().all(Option::is_some) && h.m.revoked_at.is_none() {
        h.fail("invariant 4: both parties kept using the session and it was never revoked");
    }
    if probe && h.m.revoked_at.is_some() {
        // From the revocation on (the engine holds no clock: probing "back in time" after the
        // run is the same as probing then).
        let from = h.m.revoked_at.unwrap();
        h.probe_revoked(from);
    }
    if !h.jumped && h.wins != h.record().counter {
        h.fail("the advances that won differ from the final counter");
    }
    stats
}

fn theft_wait() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..10_000, 3 => 10_001u32..60_000, 1 => 60_000u32..600_000]
}

fn theft_act() -> impl Strategy<Value = TAct> {
    (
        theft_wait(),
        proptest::bool::weighted(0.4),
        proptest::bool::weighted(0.8),
        prop_oneof![9 => Just(0i32), 1 => -2_000i32..=0],
    )
        .prop_map(|(wait, thief, adv, delta)| TAct {
            wait,
            thief,
            kind: if adv { Kind::Advance } else { Kind::Read },
            delta,
        })
}

fn binding_policy() -> impl Strategy<Value = BindingPolicy> {
    prop_oneof![
        6 => Just(BindingPolicy::Evidence),
        1 => Just(BindingPolicy::RequireUserAgent),
        1 => Just(BindingPolicy::RequireFull),
    ]
}

// ------------------------------------------------------------------------------------------
// Properties
// ------------------------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(1_000))]

    /// Invariants 1, 2, 3 and the model, over honest browsing: page loads and their parallel
    /// reads, several tabs in flight at once, lost responses with retries, out-of-order
    /// responses (the jar goes back), background reads, small clock steps both ways and forward
    /// jumps between bursts. No reuse, no revocation, no cleared cookie, ever.
    #[test]
    fn honest_traffic_is_never_logged_out(
        policy in 0u8..3,
        acts in proptest::collection::vec(honest_act(), 1..50),
    ) {
        let _ = honest_run(policy, &acts, tolerate_design_gaps());
    }
}

/// Since rule 3 was amended (see `design_gap_*`), every honest logout fails the property.
/// `ROLLTOKEN_TOLERATE_GAPS=1` instead counts the known classes (to measure a changed policy).
fn tolerate_design_gaps() -> bool {
    std::env::var_os("ROLLTOKEN_TOLERATE_GAPS").is_some()
}

proptest! {
    #![proptest_config(config(200))]

    /// Invariant 5 (logout) and the field case "a late response after logout never works":
    /// honest browsing with a logout at a random moment; responses still in flight land after
    /// it and re-set the jar; every later request and every token at the edges of its fresh
    /// window (cached mode: the deny list) is refused. Strict and cached.
    #[test]
    fn logout_is_a_fence_late_responses_never_work(
        policy in 0u8..3,
        before in proptest::collection::vec(honest_act(), 1..20),
        after in proptest::collection::vec(honest_act(), 0..12),
        wait in 0u32..3_000,
        step_back in prop_oneof![3 => Just(0i32), 1 => -3_000i32..0],
    ) {
        let mut acts = before;
        // Sometimes the server clock has just stepped back when the logout comes.
        acts.push(Act::Step { wait, delta: step_back });
        acts.push(Act::Logout { wait: 0 });
        acts.extend(after);
        let _ = honest_run(policy, &acts, tolerate_design_gaps());
    }

    /// Invariants 4 and 5, and the model, for a thief on another user agent and network: the
    /// detection theorem holds at every step, the tail (thief, then user, each after the
    /// window) always ends in a revocation, and afterwards every token is refused.
    #[test]
    fn a_thief_is_detected_and_revoked_stays_revoked(
        policy in 0u8..3,
        binding in binding_policy(),
        acts in proptest::collection::vec(theft_act(), 1..40),
        copy_at in 0usize..40,
    ) {
        let p = Policy { binding, ..policy_of(policy) };
        let _ = theft_run(p, THIEF, &acts, copy_at, true, true);
    }

    /// Invariant 4 with a bound: when every request comes more than the grace after the one
    /// before (each party's next request "after the grace window has passed"), the session is
    /// revoked by the other party's first store-path request after one party's winning
    /// advance (K = 1): the thief's first use if the user rolled after the copy, else the
    /// user's next store-path request after the thief rolled. (Reads alone never roll, so two
    /// readers of the current token never collide.)
    #[test]
    fn a_slow_thief_is_caught_by_the_next_request_of_the_other_party(
        policy in 0u8..3,
        acts in proptest::collection::vec(
            (10_001u32..600_000, proptest::bool::weighted(0.5), proptest::bool::weighted(0.8)),
            1..30,
        ),
        copy_at in 0usize..30,
    ) {
        let acts: Vec<TAct> = acts
            .into_iter()
            .map(|(wait, thief, adv)| TAct {
                wait,
                thief,
                kind: if adv { Kind::Advance } else { Kind::Read },
                delta: 0,
            })
            .collect();
        let p = policy_of(policy);
        let stats = theft_run(p, THIEF, &acts, copy_at, true, false);
        prop_assert!(
            stats.k <= 1,
            "not revoked by the other party's first store-path request after one party's winning advance: {stats:?}"
        );
    }

    /// Invariant 5 across clock steps, cached mode: the user rolls (waits around the fresh
    /// window, so the cookie is revalidated and rolled), the server clock steps back now and
    /// then, a thief's copy collides and revokes, or the user logs out at the end (maybe just
    /// after a backward step); afterwards every token is refused, including at the end of each
    /// token's fresh window (the deny list must cover it).
    #[test]
    fn revoked_stays_revoked_across_clock_steps(
        acts in proptest::collection::vec(
            (
                prop_oneof![1 => 0u32..3_000, 1 => 895_000u32..905_000],
                proptest::bool::weighted(0.3),
                proptest::bool::weighted(0.7),
                prop_oneof![1 => Just(0i32), 1 => -3_000i32..0],
            ),
            1..12,
        ),
        copy_at in 0usize..12,
        logout in prop_oneof![1 => Just(None), 2 => (-3_000i32..=0).prop_map(Some)],
    ) {
        let acts: Vec<TAct> = acts
            .into_iter()
            .map(|(wait, thief, adv, delta)| TAct {
                wait,
                thief,
                kind: if adv { Kind::Advance } else { Kind::Read },
                delta,
            })
            .collect();
        let _ = theft_run_with_logout(cached(), THIEF, &acts, copy_at, true, true, logout);
    }

    /// Field cases "race loser" and "failed save" as a property: random honest requests whose
    /// compare-and-swap is lost to a racing request with the same token (advance or read), to
    /// benign concurrent writes (up to and past the retry bound: `Busy`), or whose save fails
    /// before or after being written (`StoreUnavailable`). The chain never forks, nobody is
    /// logged out, no counter is consumed by a failed save, and the advances that won equal
    /// the final counter.
    #[test]
    fn lost_races_and_failed_saves_consume_no_counter(
        policy in 0u8..3,
        ops in proptest::collection::vec(
            (
                prop_oneof![3 => 0u32..3_000, 1 => 3_000u32..60_000],
                proptest::bool::weighted(0.7),
                prop_oneof![
                    4 => Just(None),
                    2 => Just(Some(Interfere::RaceAdvance)),
                    1 => Just(Some(Interfere::RaceRead)),
                    1 => Just(Some(Interfere::FailSave)),
                    1 => Just(Some(Interfere::AckLost)),
                    1 => (1u8..12).prop_map(|n| Some(Interfere::Bump(n))),
                ],
            ),
            1..40,
        ),
    ) {
        let keys = keyring();
        let p = policy_of(policy);
        let mut h = Harness::new(&keys, p, USER, T0);
        let mut jar = h.login_token.clone();
        let mut t = T0 + 1_000;
        for (wait, adv, plan) in ops {
            t += u64::from(wait);
            let kind = if adv { Kind::Advance } else { Kind::Read };
            {
                let st = h.s.store_mut();
                st.plan = plan;
                // The racing request is a second tab of the same browser: same jar, same time.
                st.interloper = Some((jar.clone(), USER));
            }
            let out = h.request(USER, Some(&jar), kind, t);
            if let Outcome::Proceed { token: Some(tk), .. } = &out {
                jar = bytes(tk);
            }
        }
        let counter = h.record().counter;
        prop_assert_eq!(h.wins, counter, "advances that won vs final counter");
    }

    /// Field case "token ahead of the store": the store loses acknowledged (non-revocation)
    /// writes, as after a failover; the client's newer token is `StoreBehind`, the record is
    /// repaired forward (never backward), nothing is revoked, and honest traffic goes on.
    #[test]
    fn a_token_ahead_of_the_store_repairs_forward(
        policy in 0u8..3,
        before in 0usize..6,
        ahead in 1usize..=8,
        first in proptest::bool::weighted(0.5),
        acts in proptest::collection::vec(honest_act(), 0..20),
    ) {
        let keys = keyring();
        // (The restored record forgets the activity in between: no idle expiry here.)
        let p = Policy {
            idle_timeout_ms: Policy::default().session_lifetime_ms,
            ..policy_of(policy)
        };
        let mut sim = Sim::new(&keys, p);
        let mut t = T0 + 1_000;
        // Cached mode rolls only past the fresh window.
        let step = if p.mode == Mode::Cached { p.fresh_ms + 1 } else { 20_000 };
        // Sequential page loads, responses received: the jar always holds the newest token.
        let mut snapshot = None;
        for i in 0..before + ahead {
            if i == before {
                snapshot = Some((sim.h.record(), sim.h.m.clone()));
            }
            t += step;
            let jar = sim.jar.clone().unwrap();
            if let Outcome::Proceed { token: Some(tk), .. } =
                sim.h.request(USER, Some(&jar), Kind::Advance, t)
            {
                sim.jar = Some(bytes(&tk));
            }
        }
        // The failover: the store comes back with the old record.
        let (old, model) = snapshot.unwrap();
        let cur = sim.h.record();
        sim.h.s.store_mut().inner.save(&old, Some(cur.version), t).unwrap();
        sim.h.m = model;
        sim.h.last_counter = old.counter;
        t += 1_000;
        let jar = sim.jar.clone().unwrap();
        let kind = if first { Kind::Advance } else { Kind::Read };
        // Cached mode would trust the fresh token without the store: the user has just moved
        // to another network, so the request goes through the store.
        let who = if p.mode == Mode::Cached { MOVED_USER } else { USER };
        let out = sim.h.request(who, Some(&jar), kind, t);
        prop_assert!(
            matches!(out.verdict(), Verdict::StoreBehind { .. }),
            "{:?}",
            out.verdict()
        );
        if let Outcome::Proceed { token: Some(tk), .. } = &out {
            sim.jar = Some(bytes(tk));
        }
        prop_assert!(sim.h.record().counter >= old.counter + ahead as u64);
        // Honest browsing goes on, over the repaired record.
        sim.skew = (t - T0) as i64;
        sim.run(&acts);
        prop_assert!(sim.h.m.revoked_at.is_none());
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// Invariant 6: a tag never verifies under another key (other secret, or the same secret
    /// under another key id), another session id or another counter. Compact tokens through
    /// `matches`, full tokens through `verify`.
    #[test]
    fn a_tag_binds_key_session_and_counter(
        secret_a in any::<[u8; 32]>(),
        secret_b in any::<[u8; 32]>(),
        kid_a in any::<u8>(),
        kid_b in any::<u8>(),
        sid in any::<[u8; 16]>(),
        sid2 in any::<[u8; 16]>(),
        ctr in any::<u64>(),
        ctr2 in any::<u64>(),
        iat in any::<u64>(),
        subject in any::<u64>(),
    ) {
        prop_assume!(secret_a != secret_b && kid_a != kid_b && sid != sid2 && ctr != ctr2);
        let ring_a = Keyring::new(&[KeyMaterial::new(kid_a, secret_a)], kid_a).unwrap();
        let ring_a_other = Keyring::new(&[KeyMaterial::new(kid_a, secret_b)], kid_a).unwrap();
        let ring_b_same = Keyring::new(&[KeyMaterial::new(kid_b, secret_a)], kid_b).unwrap();
        let ring_both = Keyring::new(
            &[KeyMaterial::new(kid_a, secret_b), KeyMaterial::new(kid_b, secret_a)],
            kid_b,
        )
        .unwrap();

        // Compact.
        let t = token::mint_compact(&ring_a, kid_a, &SessionId(sid), ctr).unwrap();
        let Parsed::Compact(c) = token::parse(t.as_bytes()).unwrap() else { panic!() };
        prop_assert_eq!(c.matches(&ring_a, ctr), Ok(true));
        prop_assert_eq!(c.matches(&ring_a, ctr2), Ok(false));
        prop_assert_eq!(c.matches(&ring_a_other, ctr), Ok(false));
        prop_assert_eq!(c.matches(&ring_b_same, ctr), Err(TokenError::UnknownKey));
        let raw = b64_decode(&t.as_bytes()[5..]);
        let mut other_kid = raw.clone();
        other_kid[0] = kid_b;
        let Parsed::Compact(ck) = reparse("rtc1_", &other_kid) else { panic!() };
        prop_assert_eq!(ck.matches(&ring_both, ctr), Ok(false));
        prop_assert_eq!(ck.matches(&ring_b_same, ctr), Ok(false));
        let mut other_sid = raw;
        other_sid[1..17].copy_from_slice(&sid2);
        let Parsed::Compact(cs) = reparse("rtc1_", &other_sid) else { panic!() };
        prop_assert_eq!(cs.matches(&ring_a, ctr), Ok(false));
        prop_assert_eq!(cs.matches(&ring_a, ctr2), Ok(false));

        // Full.
        let claims = Claims {
            key_id: kid_a,
            session_id: SessionId(sid),
            counter: ctr,
            issued_at: iat,
            expires_at: iat.saturating_add(1),
            subject: Subject::from_u64(subject),
            binding: ring_a.binding(kid_a, &input(USER)).unwrap(),
            authenticated: true,
        };
        let t = token::mint_full(&ring_a, &claims).unwrap();
        let Parsed::Full(f) = token::parse(t.as_bytes()).unwrap() else { panic!() };
        prop_assert_eq!(f.verify(&ring_a), Ok(claims));
        prop_assert_eq!(f.verify(&ring_a_other), Err(TokenError::BadTag));
        prop_assert_eq!(f.verify(&ring_b_same), Err(TokenError::UnknownKey));
        let raw = b64_decode(&t.as_bytes()[5..]);
        let mut muts = Vec::new();
        let mut m = raw.clone();
        m[0] = kid_b;
        muts.push((m, &ring_both));
        let mut m = raw.clone();
        m[1..17].copy_from_slice(&sid2);
        muts.push((m, &ring_a));
        let mut m = raw;
        m[17..25].copy_from_slice(&ctr2.to_be_bytes());
        muts.push((m, &ring_a));
        for (m, ring) in muts {
            let Parsed::Full(g) = reparse("rtf1_", &m) else { panic!() };
            prop_assert_eq!(g.verify(ring), Err(TokenError::BadTag));
        }
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64_encode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

fn b64_decode(text: &[u8]) -> Vec<u8> {
    let val = |c: u8| B64.iter().position(|&b| b == c).unwrap() as u32;
    let mut out = Vec::new();
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn reparse(prefix: &str, raw: &[u8]) -> Parsed {
    let mut text = prefix.as_bytes().to_vec();
    text.extend(b64_encode(raw));
    token::parse(&text).unwrap()
}

// ------------------------------------------------------------------------------------------
// Deterministic field cases (DESIGN §6, "field lessons")
// ------------------------------------------------------------------------------------------

fn all_policies() -> [Policy; 3] {
    [strict_compact(), strict_full(), cached()]
}

#[test]
fn b64_helpers_round_trip() {
    let keys = keyring();
    let t = token::mint_compact(&keys, KEY_ID, &SID, 7).unwrap();
    let raw = b64_decode(&t.as_bytes()[5..]);
    assert_eq!(raw.len(), 33);
    assert_eq!(reparse("rtc1_", &raw), token::parse(t.as_bytes()).unwrap());
}

/// A race loser: two page loads with the same token; the second gets the very same successor,
/// never a revocation, and only one counter is consumed.
#[test]
fn race_loser_gets_the_same_successor() {
    for p in all_policies() {
        let keys = keyring();
        let mut h = Harness::new(&keys, p, USER, T0);
        let c0 = h.login_token.clone();
        let now = T0 + 20 * 60 * 1000; // past the fresh window: cached mode goes to the store
        // Sequential: the second request arrives after the first committed.
        let Outcome::Proceed {
            token: Some(a),
            verdict: Verdict::Fresh,
            ..
        } = h.request(USER, Some(&c0), Kind::Advance, now)
        else {
            panic!("first advance")
        };
        let Outcome::Proceed {
            token: Some(b),
            verdict,
            ..
        } = h.request(USER, Some(&c0), Kind::Advance, now + 5)
        else {
            panic!("second advance")
        };
        assert_eq!(verdict, Verdict::ConcurrentInGrace { behind: 1 });
        assert_eq!(a, b, "{:?}: the race loser gets the same successor", p.mode);
        // Interleaved: both load counter 1, the other one saves first; this one's CAS loses.
        {
            let st = h.s.store_mut();
            st.plan = Some(Interfere::RaceAdvance);
            st.interloper = Some((bytes(&a), USER));
        }
        // Past token a's fresh window, so cached mode goes to the store too.
        let now = now + p.fresh_ms + 1;
        let out = h.request(USER, Some(a.as_bytes()), Kind::Advance, now);
        let Outcome::Proceed {
            token: Some(c),
            verdict,
            ..
        } = out
        else {
            panic!("race loser refused: {out:?}")
        };
        assert_eq!(verdict, Verdict::ConcurrentInGrace { behind: 1 });
        assert_eq!(h.record().counter, 2, "one counter per step");
        assert_eq!(h.by_counter[&2], bytes(&c));
        assert_eq!(h.wins, 2);
    }
}

/// A token ahead of the store: save the record, advance, restore the old record; the newer
/// token is accepted as `StoreBehind` and repairs forward, never revokes.
#[test]
fn token_ahead_of_the_store_is_accepted_and_repairs_forward() {
    for p in [strict_compact(), strict_full()] {
        for kind in [Kind::Advance, Kind::Read] {
            let keys = keyring();
            let mut h = Harness::new(&keys, p, USER, T0);
            let old = h.record();
            let model = h.m.clone();
            let Outcome::Proceed {
                token: Some(t1), ..
            } = h.request(
                USER,
                Some(&h.login_token.clone()),
                Kind::Advance,
                T0 + 1_000,
            )
            else {
                panic!()
            };
            let cur = h.record();
            h.s.store_mut()
                .inner
                .save(&old, Some(cur.version), T0 + 2_000)
                .unwrap();
            h.m = model;
            h.last_counter = 0;
            let out = h.request(USER, Some(t1.as_bytes()), kind, T0 + 3_000);
            assert_eq!(
                out.verdict(),
                Verdict::StoreBehind { ahead: 1 },
                "{p:?} {kind:?}"
            );
            let rec = h.record();
            assert!(rec.is_active());
            assert_eq!(rec.counter, if kind == Kind::Advance { 2 } else { 1 });
        }
    }
    // Cached mode: the fresh token is trusted without the store; once past the fresh window
    // it goes to the store, which is behind, and is repaired forward.
    // (A longer idle timeout: the restored record forgot the activity in between.)
    let keys = keyring();
    let p = Policy {
        idle_timeout_ms: 2 * 60 * 60 * 1000,
        ..cached()
    };
    let mut h = Harness::new(&keys, p, USER, T0);
    let old = h.record();
    let model = h.m.clone();
    let past = T0 + p.fresh_ms + 1;
    let Outcome::Proceed {
        token: Some(t1), ..
    } = h.request(USER, Some(&h.login_token.clone()), Kind::Read, past)
    else {
        panic!()
    };
    let cur = h.record();
    h.s.store_mut()
        .inner
        .save(&old, Some(cur.version), past)
        .unwrap();
    h.m = model;
    h.last_counter = 0;
    let out = h.request(USER, Some(t1.as_bytes()), Kind::Read, past + p.fresh_ms + 1);
    assert_eq!(out.verdict(), Verdict::StoreBehind { ahead: 1 });
    assert_eq!(h.record().counter, 2);
}

/// A failed save consumes no counter: a save that fails (nothing written) leaves the chain
/// where it was, and the retry mints the same counter; a save whose acknowledgement is lost is
/// recovered by the grace path with the very token that was written.
#[test]
fn failed_save_consumes_no_counter() {
    for p in [strict_compact(), strict_full()] {
        let keys = keyring();
        let mut h = Harness::new(&keys, p, USER, T0);
        let c0 = h.login_token.clone();
        h.s.store_mut().plan = Some(Interfere::FailSave);
        let out = h.request(USER, Some(&c0), Kind::Advance, T0 + 1_000);
        assert_eq!(
            out,
            Outcome::Reject {
                verdict: Verdict::StoreUnavailable,
                clear_cookie: false,
                event: match &out {
                    Outcome::Reject { event, .. } => *event,
                    Outcome::Proceed { .. } => panic!(),
                }
            }
        );
        assert_eq!(h.record().counter, 0);
        let Outcome::Proceed {
            token: Some(t1),
            verdict: Verdict::Fresh,
            view,
            ..
        } = h.request(USER, Some(&c0), Kind::Advance, T0 + 2_000)
        else {
            panic!()
        };
        assert_eq!(view.counter, 1);
        // The save is written but its acknowledgement is lost: the client keeps t1.
        h.s.store_mut().plan = Some(Interfere::AckLost);
        let out = h.request(USER, Some(t1.as_bytes()), Kind::Advance, T0 + 3_000);
        assert_eq!(out.verdict(), Verdict::StoreUnavailable);
        assert_eq!(h.record().counter, 2);
        // The retry with t1 is in grace and gets the counter-2 token that was written.
        let Outcome::Proceed {
            token: Some(t2),
            verdict,
            ..
        } = h.request(USER, Some(t1.as_bytes()), Kind::Advance, T0 + 4_000)
        else {
            panic!()
        };
        assert_eq!(verdict, Verdict::ConcurrentInGrace { behind: 1 });
        assert_eq!(h.by_counter[&2], bytes(&t2));
        assert_eq!(h.record().counter, 2);
        // Past the retry bound: Busy, nothing changed, nothing cleared.
        h.s.store_mut().plan = Some(Interfere::Bump(8));
        let out = h.request(USER, Some(t2.as_bytes()), Kind::Advance, T0 + 5_000);
        assert!(matches!(
            out,
            Outcome::Reject {
                verdict: Verdict::Busy,
                clear_cookie: false,
                ..
            }
        ));
        assert_eq!(h.record().counter, 2);
    }
}

/// A late response after logout: a page load sent with the current token is answered (the
/// chain rolls), the user logs out from another tab before the response lands, then the
/// late token is used. It never works, in strict and in cached mode (the deny list).
#[test]
fn late_response_after_logout_never_works() {
    for p in all_policies() {
        let keys = keyring();
        let mut h = Harness::new(&keys, p, USER, T0);
        let c0 = h.login_token.clone();
        let now = T0 + p.fresh_ms + 1;
        // A page load in flight, answered by the server...
        let Outcome::Proceed {
            token: Some(late), ..
        } = h.request(USER, Some(&c0), Kind::Advance, now)
        else {
            panic!()
        };
        // ...another tab logs out with the jar's (older) token...
        h.logout(&c0, now + 100);
        // ...and the late Set-Cookie lands: every use of it is refused and clears the cookie.
        for (who, kind, at) in [
            (USER, Kind::Read, now + 200),
            (USER, Kind::Advance, now + 300),
            (USER, Kind::Read, now + p.fresh_ms - 1),
        ] {
            let out = h.request(who, Some(late.as_bytes()), kind, at);
            assert!(
                matches!(
                    out,
                    Outcome::Reject {
                        verdict: Verdict::Revoked(_),
                        clear_cookie: true,
                        ..
                    }
                ),
                "{:?}: {out:?}",
                p.mode
            );
        }
        // A page load that reaches the server only after the logout gets nothing either.
        let out = h.request(USER, Some(&c0), Kind::Advance, now + 400);
        assert!(matches!(
            out,
            Outcome::Reject {
                clear_cookie: true,
                ..
            }
        ));
    }
}

// ------------------------------------------------------------------------------------------
// Measurements
// ------------------------------------------------------------------------------------------

/// A deterministic xorshift generator for the measurement below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Invariant 4, measured in the design's scenario (§6): a user browsing (page loads 2 s to
/// 2 min apart, each followed by up to 6 reads within a second) and a thief on another
/// binding who copies the cookie in the first 10 minutes and replays it every 30 s. Every
/// run is detected; the detection theorem is checked on every step by `theft_run`. Prints the
/// distribution (run with `--nocapture`).
#[test]
fn detection_bound_in_the_designs_scenario() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut times = Vec::new();
    let mut ks = Vec::new();
    for _ in 0..200 {
        // Build a merged, time-ordered schedule of 30 minutes.
        let mut events: Vec<(u64, bool, Kind)> = Vec::new();
        let mut t = 0;
        while t < 30 * 60 * 1000 {
            t += rng.range(2_000, 120_000);
            events.push((t, false, Kind::Advance));
            for _ in 0..rng.range(0, 7) {
                events.push((t + rng.range(1, 1_000), false, Kind::Read));
            }
        }
        let copy = rng.range(0, 10 * 60 * 1000);
        let mut tt = copy + rng.range(1_000, 30_000);
        while tt < 30 * 60 * 1000 {
            events.push((tt, true, Kind::Advance));
            tt += 30_000;
        }
        events.sort_by_key(|e| e.0);
        let copy_at = events
            .iter()
            .position(|e| e.0 > copy)
            .unwrap_or(events.len());
        let mut prev = 0;
        let acts: Vec<TAct> = events
            .iter()
            .map(|&(at, thief, kind)| {
                let wait = (at - prev) as u32;
                prev = at;
                TAct {
                    wait,
                    thief,
                    kind,
                    delta: 0,
                }
            })
            .collect();
        let stats = theft_run(strict_compact(), THIEF, &acts, copy_at, false, false);
        let detect = stats
            .detect_ms
            .expect("the thief was not detected within 30 minutes");
        times.push(detect);
        ks.push(stats.k);
    }
    times.sort_unstable();
    ks.sort_unstable();
    let pct = |v: &[u64], q: usize| v[(v.len() - 1) * q / 100];
    eprintln!(
        "detection after the copy (s): median {} p90 {} p99 {} max {}; K (other party's store-path requests after a winning advance, until revoked): median {} max {}",
        pct(&times, 50) / 1000,
        pct(&times, 90) / 1000,
        pct(&times, 99) / 1000,
        times.last().unwrap() / 1000,
        ks[ks.len() / 2],
        ks.last().unwrap()
    );
    assert!(*times.last().unwrap() < 30 * 60 * 1000);
    // In this scenario the slower party (the thief, every 30 s, always after the grace of its
    // own previous request) is caught within a few of the faster party's grace-covered
    // requests; the measured bound, asserted so a regression shows:
    assert!(*ks.last().unwrap() <= 8, "K = {}", ks.last().unwrap());
}

/// ENGINE BUG (invariant 5, cached mode; DESIGN §6 "revocation is a fence that only moves
/// forward", §7 "revocations must still bite inside the window"): the deny-list entry is kept
/// until `revocation time + fresh_ms`, but a token minted shortly *before* a backward step of
/// the server clock is fresh until `issued_at + fresh_ms`, which is later. In between, a
/// logged-out session's token is trusted from the cookie (`Verdict::Cached`).
#[test]
fn revoked_stays_revoked_in_cached_mode_across_a_backward_clock_step() {
    let keys = keyring();
    let p = cached();
    let mut s = Sessions::new(
        &keys,
        p,
        MemoryStore::<8>::new(),
        MemoryDenyList::<8>::new(),
    )
    .unwrap();
    let client = input(USER);
    let login = s
        .login(None, SID.0, Subject::from_u64(SUBJECT).0, T0, &client)
        .unwrap();
    // Past the fresh window the read is revalidated and rolled: token 1, issued at t1.
    let t1 = T0 + p.fresh_ms + 1;
    fn req<'a>(cookie: &'a [u8], now_ms: u64, client: &'a BindingInput<'a>) -> Request<'a> {
        Request {
            cookie: Some(cookie),
            kind: Kind::Read,
            now_ms,
            binding: client,
            new_session_id: [0xee; 16],
        }
    }
    let Outcome::Proceed {
        token: Some(tok1), ..
    } = s.handle(&req(login.token.as_bytes(), t1, &client))
    else {
        panic!()
    };
    // The server clock steps back 2 s (NTP correction) and the user logs out.
    let logout_at = t1 - 2_000;
    assert!(s.logout(tok1.as_bytes(), logout_at).unwrap().is_some());
    // Refused right after the logout (deny list)...
    assert!(matches!(
        s.handle(&req(tok1.as_bytes(), logout_at + 1, &client)),
        Outcome::Reject { .. }
    ));
    // ...but in the last 2 s of token 1's fresh window the deny entry has lapsed.
    let out = s.handle(&req(tok1.as_bytes(), t1 + p.fresh_ms - 1, &client));
    assert!(
        matches!(out, Outcome::Reject { .. }),
        "a logged-out session's token proceeded: {:?}",
        out.verdict()
    );
}

/// How often the honest generator meets each known design gap (run with `--nocapture`).
/// Fails on any honest logout that is not a known design gap.
#[test]
fn honest_false_logout_rate() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (0u8..3, proptest::collection::vec(honest_act(), 1..50));
    let runs = std::env::var("ROLLTOKEN_RATE_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut by_class: HashMap<&'static str, u32> = HashMap::new();
    for _ in 0..runs {
        let (policy, acts) = strategy.new_tree(&mut runner).unwrap().current();
        for g in honest_run(policy, &acts, true) {
            *by_class.entry(g).or_default() += 1;
        }
    }
    eprintln!("honest runs: {runs}; false logouts by known design gap: {by_class:?}");
    // Since rule 3 was amended, none of the known classes may occur.
    assert!(
        by_class.is_empty(),
        "honest sessions were logged out: {by_class:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Design gaps this model found in DESIGN §6 as first written: the brief logged honest users
// out or missed a thief here. Rule 3 was amended (docs/design.md, "Rule 3"): it now forgives
// only the client of the last advance (full binding), anywhere in floor..c while the last
// advance is recent (default 30 minutes), and one step behind when the current token was
// never presented. Each test asserts what invariants 3/4 ask for.
// ------------------------------------------------------------------------------------------

/// GAP-1 (invariant 3; DESIGN §6 rules 3 and 4): four page loads within 300 ms (tabs opened
/// from links), one response slow (1.7 s, well under the grace): the cookie jar ends *two*
/// steps behind (c = 3, jar = 1). The next page load, ~10 s after the last advance (the window
/// just closed), is `Reuse`: the session is revoked and the cookie cleared. Rule 3's jar case
/// covers only `c-1`; accepting `floor <= t < c` after the window for the same full binding
/// and a recent advance (the same trust rule 3 already extends to `c-1`) would fix it.
#[test]
fn design_gap_1_jar_two_steps_behind_after_the_window() {
    let nav = |wait, up, down| Act::Nav {
        wait,
        up,
        down,
        lost: false,
        retry_after: 500,
        reads: Vec::new(),
    };
    // Real ms after T0+1000: A1 sent at 0 (jar 0) -> Fresh 1, lands at 269; A2 sent at 101
    // (jar 0) -> grace, token 1, lands at 1764; A3 sent at 270 (jar 1) -> Fresh 2; A4 sent at
    // 273 (jar 2) -> Fresh 3, lands at 275; A2 lands: jar = 1; A5 sent at 10120 (jar 1),
    // arrives at 10274, the window (last advance 274 + 10 s) has just closed.
    let acts = [
        nav(0, 23, 246),
        nav(101, 1, 1_662),
        nav(169, 1, 1),
        nav(3, 1, 1),
        nav(9_847, 154, 1),
    ];
    let _ = honest_run(0, &acts, false);
}

/// GAP-2 (invariant 3; DESIGN §6 rule 3, "recent (default 5 minutes)"): the jar goes one step
/// back through out-of-order responses after a read confirmed the newest token; the user then
/// reads for a while and comes back to a page load more than 5 minutes after the last advance
/// with the jar's token: `Reuse`.
#[test]
fn design_gap_2_jar_one_step_behind_after_five_minutes() {
    let nav = |wait, up, down, reads| Act::Nav {
        wait,
        up,
        down,
        lost: false,
        retry_after: 500,
        reads,
    };
    let read = ReadSpec {
        delay: 10,
        up: 10,
        down: 10,
    };
    let acts = [
        // A1 (jar 0) -> Fresh 1, lands at 210.
        nav(0, 10, 200, Vec::new()),
        // A2 sent at 150 (jar 0) -> grace, token 1, lands late at 2160.
        nav(150, 10, 2_000, Vec::new()),
        // A3 sent at 300 (jar 1) -> Fresh 2, lands at 320; its read confirms 2.
        nav(150, 10, 10, vec![read]),
        // A2 lands: jar = 1. Six minutes later, a page load with token 1.
        nav(360_000, 10, 10, Vec::new()),
    ];
    let _ = honest_run(0, &acts, false);
}

/// GAP-3 (invariant 4; DESIGN §6 rule 3 vs. its threat model): a thief who copied the user
/// agent string too (only the address differs) and stays one step behind is answered as a
/// lost response (`!confirmed && user agent matches`) each time, as long as the user only
/// navigates (no read confirms the current token). The threat model says "any other binding
/// … is reuse"; rule 3's lost-response case needs only the user agent, which is not secret.
#[test]
fn design_gap_3_same_user_agent_thief_one_step_behind() {
    let mut acts = Vec::new();
    for _ in 0..20 {
        for thief in [false, true] {
            acts.push(TAct {
                wait: 15_000,
                thief,
                kind: Kind::Advance,
                delta: 0,
            });
        }
    }
    let stats = theft_run(strict_compact(), SAME_UA_THIEF, &acts, 0, false, false);
    assert!(
        stats.detect_ms.is_some(),
        "20 rounds of user and same-user-agent thief, never revoked: {stats:?}"
    );
}
