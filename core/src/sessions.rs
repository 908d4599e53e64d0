//! The request façade: [`Sessions`] over a keyring, a policy, a store and a deny list.
//!
//! [`Sessions::handle`] takes a request's cookie value, whether it advances or reads, the time
//! and the client's binding input, and answers [`Outcome::Proceed`] (with the session view and
//! maybe a token to set) or [`Outcome::Reject`] (with whether to clear the cookie and an event
//! to log). With a shared store, an advance is load → decide → compare-and-swap save; on a
//! conflict it reloads and decides again, at most [`MAX_ATTEMPTS`] times, which is safe
//! because the decision is idempotent.
//!
//! Modes (see [`Policy`]): *strict* consults the store on every authenticated request;
//! *cached* trusts a full token inside its fresh window when its binding matches and its
//! session is not on the deny list; *anonymous* sessions are full tokens that are neither
//! stored nor rolled.

use core::borrow::Borrow;
use core::fmt;

use crate::engine::{self, Decision};
use crate::error::Error;
use crate::keys::{BindingInput, BindingMatch, Keyring};
use crate::policy::{Mode, Policy};
use crate::record::{Record, RecordError, RevokeReason, State};
use crate::store::{DenyList, Store, StoreError};
use crate::token::{self, Claims, LogId, Parsed, SessionId, Subject, TokenBuf, TokenError, log_id};
use crate::verdict::{Expiry, Verdict};

pub use crate::engine::Kind;

/// How many times one request loads, decides and tries to save before answering
/// [`Verdict::Busy`].
pub const MAX_ATTEMPTS: usize = 8;

/// How far apart two servers' clocks (or one clock across a backward step) may be. An older
/// token can carry a later issued-at than the record's last advance by up to this much, so
/// deny-list entries outlast the newest token's fresh window by it, and the cache never
/// trusts a token issued further in the future.
pub const MAX_CLOCK_SKEW_MS: u64 = 60_000;

/// One request, as the façade needs it. `Debug` leaves out the cookie and the new id.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The session cookie's value, if the request carried one.
    pub cookie: Option<&'a [u8]>,
    /// Advance (page load) or read (API call).
    pub kind: Kind,
    /// The time, ms since the Unix epoch.
    pub now_ms: u64,
    /// The client's user agent and address.
    pub binding: &'a BindingInput<'a>,
    /// 16 fresh bytes from a CSPRNG, used only if this request starts an anonymous session.
    pub new_session_id: [u8; 16],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("cookie", &self.cookie.map(|c| c.len()))
            .field("kind", &self.kind)
            .field("now_ms", &self.now_ms)
            .field("binding", self.binding)
            .finish_non_exhaustive()
    }
}

/// What the application may know about the session of a request that proceeds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionView {
    /// The session id (prefer [`log_id`](SessionView::log_id) in logs).
    pub session_id: SessionId,
    /// The non-bearer handle for logs.
    pub log_id: LogId,
    /// The user; [`Subject::ANONYMOUS`] for anonymous sessions.
    pub subject: Subject,
    /// True once a subject has logged in.
    pub authenticated: bool,
    /// The counter of the newest token (the one just issued, if any).
    pub counter: u64,
    /// The anonymous session this one replaced at login (unknown on the cache path).
    pub parent: Option<SessionId>,
    /// Absolute expiry (ms); the cookie's `Max-Age` is derived from it.
    pub expires_at: u64,
}

impl fmt::Debug for SessionView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionView")
            .field("log_id", &self.log_id)
            .field("subject", &self.subject)
            .field("authenticated", &self.authenticated)
            .field("counter", &self.counter)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SessionView {
    /// The view of a stored session.
    pub fn of_record(r: &Record) -> SessionView {
        SessionView {
            log_id: log_id(&r.session_id),
            ..SessionView::of_record_without_log_id(r)
        }
    }

    /// The view of a stored session with a placeholder log id, for a caller that has the
    /// real one at hand.
    fn of_record_without_log_id(r: &Record) -> SessionView {
        SessionView {
            session_id: r.session_id,
            log_id: LogId::PLACEHOLDER,
            subject: r.subject,
            authenticated: r.authenticated,
            counter: r.counter,
            parent: r.parent,
            expires_at: r.expires_at,
        }
    }

    fn of_claims(c: &Claims) -> SessionView {
        SessionView {
            session_id: c.session_id,
            log_id: log_id(&c.session_id),
            subject: c.subject,
            authenticated: c.authenticated,
            counter: c.counter,
            parent: None,
            expires_at: c.expires_at,
        }
    }

    /// Seconds from `now_ms` until expiry, rounded up: the cookie's `Max-Age`.
    pub fn max_age_secs(&self, now_ms: u64) -> u64 {
        self.expires_at.saturating_sub(now_ms).div_ceil(1000)
    }
}

/// A refusal worth logging: what happened, to which session (as a log id), when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The rule that refused the request.
    pub verdict: Verdict,
    /// The session the cookie named, if any (its `Debug` prints only the log id).
    pub session_id: Option<SessionId>,
    /// The session's log id: log this, never the token.
    pub log_id: Option<LogId>,
    /// When (ms).
    pub at_ms: u64,
    /// How the client's binding compared with the session's last advancing request.
    pub binding: BindingMatch,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Outcome {
    /// Serve the request as this session.
    Proceed {
        /// The session.
        view: SessionView,
        /// Set this as the cookie (the token rolled, or a new anonymous session started).
        token: Option<TokenBuf>,
        /// The rule that let the request through.
        verdict: Verdict,
        /// How the binding compared (for logs).
        binding: BindingMatch,
    },
    /// Refuse the request.
    Reject {
        /// The rule that refused it.
        verdict: Verdict,
        /// Clear the cookie in the response (never for races, contention or outages).
        clear_cookie: bool,
        /// What to log.
        event: Event,
    },
}

impl Outcome {
    /// The verdict, whichever way the request went.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Proceed { verdict, .. } | Outcome::Reject { verdict, .. } => *verdict,
        }
    }
}

/// A login prepared by [`Sessions::plan_login`]: insert `record`, revoke `retire` if set,
/// then hand out `login.token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPlan {
    /// The new session's record, to insert.
    pub record: Record,
    /// An authenticated session the current cookie named, to revoke (upgraded at login); it
    /// may no longer be stored, which is fine.
    pub retire: Option<SessionId>,
    /// The token and the view of the new session.
    pub login: Login,
}

/// The first half of a request, from [`Sessions::begin`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// The answer: no record needed.
    Done(Outcome),
    /// Load the record of [`Pending::session_id`] and call [`Sessions::finish`].
    Load(Pending),
}

/// A request waiting for its session's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    parsed: Parsed,
    kind: Kind,
    /// A read that cached mode turned into an advance (revalidation past the fresh window).
    revalidated_read: bool,
}

impl Pending {
    /// The session whose record to load.
    pub fn session_id(&self) -> SessionId {
        self.parsed.session_id()
    }

    /// Whether the request advances (cached mode turns a stale read into an advance).
    pub fn kind(&self) -> Kind {
        self.kind
    }
}

/// The second half of a request, from [`Sessions::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Finish {
    /// The answer; nothing to save.
    Done(Outcome),
    /// Save `record` if the stored write version is still `expected_version`, then answer
    /// `outcome`. On a conflict, load again and call [`Sessions::finish`] again; on a store
    /// failure, call it with the error.
    Save {
        /// The record to store.
        record: Record,
        /// The write version the store must still hold.
        expected_version: u64,
        /// The answer once saved.
        outcome: Outcome,
    },
    /// The token is ahead of this copy of the store: load from the primary and call
    /// [`Sessions::finish`] again with `from_primary` set.
    LoadPrimary,
}

/// A new authenticated session from [`Sessions::login`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Set this as the cookie.
    pub token: TokenBuf,
    /// The new session.
    pub view: SessionView,
}

/// The façade. Not `Sync`: one instance per thread, or behind a mutex; the store and deny
/// list it owns decide how state is shared between instances.
///
/// `K` holds the keyring: `&Keyring` for a borrowed one, or an owning handle such as
/// `Arc<Keyring>` (the C ABI and the Python binding share one keyring between façades).
pub struct Sessions<K: Borrow<Keyring>, S: Store, D: DenyList> {
    keys: K,
    policy: Policy,
    store: S,
    deny: D,
    /// Cached mode falls back to the store until then: the deny list had no room for a
    /// revocation, whose tokens' fresh windows all end by this time.
    strict_until: u64,
}

impl<K: Borrow<Keyring>, S: Store, D: DenyList> fmt::Debug for Sessions<K, S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("keys", self.keys().borrow())
            .field("policy", &self.policy)
            .field("strict_until", &self.strict_until)
            .finish_non_exhaustive()
    }
}

impl<K: Borrow<Keyring>, S: Store, D: DenyList> Sessions<K, S, D> {
    /// A façade over `keys`, `policy`, `store` and `deny`.
    ///
    /// # Errors
    /// [`Error::Policy`] when the policy is inconsistent.
    pub fn new(keys: K, policy: Policy, store: S, deny: D) -> Result<Self, Error> {
        policy.validate()?;
        Ok(Sessions {
            keys,
            policy,
            store,
            deny,
            strict_until: 0,
        })
    }

    /// The keyring.
    pub fn keys(&self) -> &Keyring {
        self.keys.borrow()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (for maintenance such as purging).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The deny list, mutably (to feed it revocations from other processes).
    pub fn deny_list_mut(&mut self) -> &mut D {
        &mut self.deny
    }

    /// Refuses `session_id` until `until_ms` in cached mode: how revocations made by other
    /// processes reach this one inside the fresh window. A full deny list drops nothing: the
    /// façade then trusts no cached token until `until_ms`.
    pub fn deny(&mut self, session_id: &SessionId, until_ms: u64, now_ms: u64) {
        // A full list evicts what has lapsed; the clock that later asks may run up to
        // MAX_CLOCK_SKEW_MS behind this one (another server, a step back), so an entry is
        // kept that much longer (found by fuzz/engine_sequence: a logged-out session's
        // fresh token served from the cache after a step back).
        let evict_at = now_ms.saturating_sub(MAX_CLOCK_SKEW_MS);
        if self.deny.deny(session_id, until_ms, evict_at).is_err() {
            self.strict_until = self.strict_until.max(until_ms);
        }
    }

    /// True while cached mode is falling back to the store because the deny list was full.
    pub fn is_degraded(&self, now_ms: u64) -> bool {
        now_ms < self.strict_until
    }

    /// Decides one request through the façade's own store: [`begin`](Self::begin), then
    /// load → [`finish`](Self::finish) → compare-and-swap save, reloading on a conflict at most
    /// [`MAX_ATTEMPTS`] times. Never panics; every outcome names its rule.
    pub fn handle(&mut self, req: &Request<'_>) -> Outcome {
        let pending = match self.begin(req) {
            Step::Done(outcome) => return outcome,
            Step::Load(pending) => pending,
        };
        let sid = pending.session_id();
        // The log id depends on the session id alone: hashing it first lets its SHA-256 run
        // while the record loads instead of at the end, on the answer's critical path.
        let log = (sid, log_id(&sid));
        let mut from_primary = false;
        // `finish` with the store in hand: the same steps, but the decision is saved from
        // where it lies and turned into the answer once, with no `Finish` to move around.
        for _ in 0..MAX_ATTEMPTS {
            let loaded = if from_primary {
                self.store.load_primary(&sid)
            } else {
                self.store.load(&sid)
            };
            let record = match loaded {
                Ok(Some(r)) => r,
                Ok(None) => {
                    return reject(
                        Verdict::UnknownSession,
                        Some(sid),
                        req.now_ms,
                        BindingMatch::NONE,
                    );
                }
                Err(e) => return self.store_failed(&pending, req, e),
            };
            let mut decision = self.decide_first(&pending, req, &record);
            if reload_primary(&decision, from_primary) {
                from_primary = true;
                continue;
            }
            self.decide_again(&pending, req, &record, &mut decision);
            if let Some(save) = &decision.save {
                match self.store.save(save, Some(record.version), req.now_ms) {
                    Ok(()) => {}
                    // Someone wrote first: the copy we read may lag, so ask the primary.
                    Err(StoreError::Conflict) => {
                        from_primary = true;
                        continue;
                    }
                    Err(e) => return self.store_failed(&pending, req, e),
                }
            }
            return self.outcome(decision, &record, req.now_ms, Some(log));
        }
        reject(Verdict::Busy, Some(sid), req.now_ms, BindingMatch::NONE)
    }

    /// The half of a request that needs no store: parsing, anonymous sessions and, in cached
    /// mode, the fresh-window check. Either the answer, or which record to load for
    /// [`finish`](Self::finish). For callers that keep records in their own database.
    pub fn begin(&self, req: &Request<'_>) -> Step {
        let now = req.now_ms;
        let Some(cookie) = req.cookie.filter(|c| !c.is_empty()) else {
            return Step::Done(self.no_session(req, Verdict::NoSession));
        };
        let parsed = match token::parse(cookie) {
            Ok(p) => p,
            Err(e) => {
                return Step::Done(reject(Verdict::Malformed(e), None, now, BindingMatch::NONE));
            }
        };
        let sid = parsed.session_id();
        if !self.keys().contains(parsed.key_id()) {
            let verdict = Verdict::Malformed(TokenError::UnknownKey);
            return Step::Done(reject(verdict, Some(sid), now, BindingMatch::NONE));
        }
        let mut kind = req.kind;
        if let Parsed::Full(full) = &parsed {
            let Ok(claims) = full.verify(self.keys()) else {
                return Step::Done(reject(Verdict::Forged, Some(sid), now, BindingMatch::NONE));
            };
            if !claims.authenticated {
                return Step::Done(self.anonymous(req, &claims));
            }
            if self.policy.mode == Mode::Cached {
                let binding = self
                    .keys()
                    .binding(claims.key_id, req.binding)
                    .map_or(BindingMatch::NONE, |b| b.compare(&claims.binding));
                let fresh = now < claims.issued_at.saturating_add(self.policy.fresh_ms)
                    && now >= claims.issued_at.saturating_sub(MAX_CLOCK_SKEW_MS);
                let trusted = fresh
                    && binding.full()
                    && now < claims.expires_at
                    && now >= self.strict_until
                    && !self.deny.is_denied(&sid, now);
                if trusted {
                    let view = SessionView::of_claims(&claims);
                    return Step::Done(Outcome::Proceed {
                        view,
                        token: None,
                        verdict: Verdict::Cached,
                        binding,
                    });
                }
                // Past the fresh window the token is revalidated through the store and rolled,
                // reads included: its racers all get the same successor.
                if !fresh {
                    kind = Kind::Advance;
                }
            }
        }
        let revalidated_read = req.kind == Kind::Read && kind == Kind::Advance;
        Step::Load(Pending {
            parsed,
            kind,
            revalidated_read,
        })
    }

    /// No cookie (or an anonymous one that has lapsed): start an anonymous session, or refuse.
    fn no_session(&self, req: &Request<'_>, otherwise: Verdict) -> Outcome {
        if !self.policy.anonymous {
            return reject(otherwise, None, req.now_ms, BindingMatch::NONE);
        }
        let kid = self.keys().minting_id();
        let claims = Claims {
            key_id: kid,
            session_id: SessionId(req.new_session_id),
            counter: 0,
            issued_at: req.now_ms,
            expires_at: req.now_ms.saturating_add(self.policy.anonymous_lifetime_ms),
            subject: Subject::ANONYMOUS,
            binding: self.keys().binding(kid, req.binding).unwrap_or_default(),
            authenticated: false,
        };
        let token = token::mint_full(self.keys(), &claims).ok();
        let view = SessionView::of_claims(&claims);
        Outcome::Proceed {
            view,
            token,
            verdict: Verdict::NewAnonymous,
            binding: BindingMatch::FULL,
        }
    }

    /// A verified anonymous token: valid until it expires or its id is retired at login.
    fn anonymous(&self, req: &Request<'_>, claims: &Claims) -> Outcome {
        let now = req.now_ms;
        if self.deny.is_denied(&claims.session_id, now) {
            let verdict = Verdict::Revoked(RevokeReason::UpgradedAtLogin);
            return reject(verdict, Some(claims.session_id), now, BindingMatch::NONE);
        }
        if now >= claims.expires_at {
            return self.no_session(req, Verdict::Expired(Expiry::Absolute));
        }
        let binding = self
            .keys()
            .binding(claims.key_id, req.binding)
            .map_or(BindingMatch::NONE, |b| b.compare(&claims.binding));
        let view = SessionView::of_claims(claims);
        Outcome::Proceed {
            view,
            token: None,
            verdict: Verdict::Anonymous,
            binding,
        }
    }

    /// The half of a request that needs its record: `loaded` is what the caller's store
    /// returned for [`Pending::session_id`] (from the primary when `from_primary`). Returns
    /// the answer, or the record to save with compare-and-swap on `expected_version` before
    /// answering (on a conflict: load again and call `finish` again), or a request to reload
    /// from the primary (a token ahead of the store: repair forward only if the primary is
    /// behind too). A revocation goes on the deny list here: should its save fail, the entry
    /// only sends that session's cached requests to the store, which then decides.
    pub fn finish(
        &mut self,
        pending: &Pending,
        req: &Request<'_>,
        loaded: Result<Option<Record>, StoreError>,
        from_primary: bool,
    ) -> Finish {
        let now = req.now_ms;
        let sid = pending.session_id();
        let record = match loaded {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Finish::Done(reject(
                    Verdict::UnknownSession,
                    Some(sid),
                    now,
                    BindingMatch::NONE,
                ));
            }
            Err(e) => return Finish::Done(self.store_failed(pending, req, e)),
        };
        let mut decision = self.decide_first(pending, req, &record);
        if reload_primary(&decision, from_primary) {
            return Finish::LoadPrimary;
        }
        self.decide_again(pending, req, &record, &mut decision);
        let save = decision.save;
        let outcome = self.outcome(decision, &record, now, None);
        match save {
            None => Finish::Done(outcome),
            Some(save) => Finish::Save {
                record: save,
                expected_version: record.version,
                outcome,
            },
        }
    }

    /// The decision of [`finish`](Self::finish) on a loaded record, before
    /// [`reload_primary`] and [`decide_again`](Self::decide_again). (The steps take the
    /// decision by reference so that it is built once, where the caller keeps it.)
    fn decide_first(&self, pending: &Pending, req: &Request<'_>, record: &Record) -> Decision {
        engine::decide(
            self.keys(),
            &self.policy,
            record,
            &pending.parsed,
            pending.kind,
            req.binding,
            req.now_ms,
        )
    }

    /// The rest of [`finish`](Self::finish)'s decision: a revalidating read past the answer
    /// cap is decided again as a read, and a revocation goes on the deny list.
    fn decide_again(
        &mut self,
        pending: &Pending,
        req: &Request<'_>,
        record: &Record,
        decision: &mut Decision,
    ) {
        let now = req.now_ms;
        // A revalidating read past the answer cap still reads: a dashboard's many parallel
        // calls after the fresh window must not be refused; it just gets no new token.
        if pending.revalidated_read && decision.verdict == Verdict::GraceExhausted {
            *decision = engine::decide(
                self.keys(),
                &self.policy,
                record,
                &pending.parsed,
                Kind::Read,
                req.binding,
                now,
            );
        }
        if let Some(save) = &decision.save
            && !save.is_active()
            && record.is_active()
        {
            self.deny_fresh_tokens(save, now);
        }
    }

    /// Refuses a retired anonymous id for one fresh window, best effort: it carries no
    /// authority (the browser's cookie is replaced at login or cleared at logout), and a
    /// day-long entry per login would crowd revocations out of the deny list.
    fn retire_anonymous(&mut self, claims: &Claims, now_ms: u64) {
        let until = claims
            .expires_at
            .min(now_ms.saturating_add(self.policy.fresh_ms));
        let _ = self.deny.deny(&claims.session_id, until, now_ms);
    }

    /// The answer when the store failed for this request: a damaged record ends the session
    /// (it can never be trusted again); anything else is `store_unavailable`, which keeps the
    /// cookie — an outage never logs anyone out. `busy` is for conflicts past the retry bound.
    pub fn store_failed(&self, pending: &Pending, req: &Request<'_>, error: StoreError) -> Outcome {
        let verdict = match error {
            // A layout written by a newer version (a rolling upgrade): keep the session.
            StoreError::Corrupt(RecordError::UnsupportedVersion) => Verdict::StoreUnavailable,
            StoreError::Corrupt(_) => Verdict::UnknownSession,
            StoreError::Conflict => Verdict::Busy,
            StoreError::Full | StoreError::Unavailable | StoreError::Unsupported => {
                Verdict::StoreUnavailable
            }
        };
        reject(
            verdict,
            Some(pending.session_id()),
            req.now_ms,
            BindingMatch::NONE,
        )
    }

    /// Cached mode: refuse the session's tokens for the rest of their fresh windows. The
    /// newest token was minted at the record's last advance, which another server's clock
    /// (or a clock that stepped back) may put after `now`: the later of the two counts.
    fn deny_fresh_tokens(&mut self, record: &Record, now: u64) {
        if let Some(until) = self.deny_until(record, now) {
            // Never dropped: a full deny list trusts no cached token until this one would lapse.
            self.deny(&record.session_id, until, now);
        }
    }

    /// In cached mode, until when other processes must refuse `record`'s session after it
    /// was revoked at `now_ms`: the last token it handed out stays fresh until then (clock
    /// skew included). Publish `(session id, this)` with each revocation and feed it to
    /// [`deny`](Self::deny) everywhere. `None` in strict mode: nothing is cached.
    pub fn deny_until(&self, record: &Record, now_ms: u64) -> Option<u64> {
        (self.policy.mode == Mode::Cached).then(|| {
            now_ms
                .max(record.last_advance_at)
                .saturating_add(self.policy.fresh_ms)
                .saturating_add(MAX_CLOCK_SKEW_MS)
        })
    }

    /// The answer to a decision on `loaded`; `log` is a log id already computed, with its
    /// session id.
    fn outcome(
        &self,
        decision: Decision,
        loaded: &Record,
        now: u64,
        log: Option<(SessionId, LogId)>,
    ) -> Outcome {
        let Decision {
            verdict,
            binding,
            save,
            token,
        } = decision;
        if verdict.proceeds() {
            let record = save.as_ref().unwrap_or(loaded);
            let view = match log {
                Some((sid, log_id)) if sid == record.session_id => SessionView {
                    log_id,
                    ..SessionView::of_record_without_log_id(record)
                },
                _ => SessionView::of_record(record),
            };
            Outcome::Proceed {
                view,
                token,
                verdict,
                binding,
            }
        } else {
            reject(verdict, Some(loaded.session_id), now, binding)
        }
    }

    /// Starts an authenticated session for `subject` with the id `new_id` (16 bytes from a
    /// CSPRNG). When `current_cookie` holds a valid token, that session becomes the new one's
    /// parent and is retired: an anonymous id goes on the deny list until it expires, an
    /// authenticated session is revoked in the store (reason: upgraded at login).
    ///
    /// # Errors
    /// [`Error::AnonymousSubject`] for the zero subject; [`Error::Store`] when the store
    /// cannot save the new record (a colliding id is [`StoreError::Conflict`]).
    pub fn login(
        &mut self,
        current_cookie: Option<&[u8]>,
        new_id: [u8; 16],
        subject: [u8; 16],
        now_ms: u64,
        client: &BindingInput<'_>,
    ) -> Result<Login, Error> {
        let plan = self.plan_login(current_cookie, new_id, subject, now_ms, client)?;
        // The new session first: if its save fails, the old one still works.
        self.store.save(&plan.record, None, now_ms)?;
        if let Some(old) = plan.retire {
            self.revoke(&old, RevokeReason::UpgradedAtLogin, now_ms)?;
        }
        Ok(plan.login)
    }

    /// The store-free half of [`login`](Self::login), for callers that keep records in their
    /// own database: the record to insert (insert-only: `expected_version` none), the token,
    /// and the authenticated session, if any, to revoke with [`revoke_record`](Self::revoke_record)
    /// (reason: upgraded at login). An anonymous current session is retired here (deny list).
    ///
    /// # Errors
    /// [`Error::AnonymousSubject`] for the zero subject.
    pub fn plan_login(
        &mut self,
        current_cookie: Option<&[u8]>,
        new_id: [u8; 16],
        subject: [u8; 16],
        now_ms: u64,
        client: &BindingInput<'_>,
    ) -> Result<LoginPlan, Error> {
        let subject = Subject(subject);
        if subject.is_anonymous() {
            return Err(Error::AnonymousSubject);
        }
        // The parent is the anonymous session this browser had: logs keyed by its id join the
        // user. An authenticated session the cookie names is retired, not linked (it may be
        // another user's). A compact cookie always names an authenticated session.
        let (parent, retire) = match current_cookie.map(token::parse) {
            Some(Ok(Parsed::Full(full))) => match full.verify(self.keys()) {
                Ok(c) if !c.authenticated => {
                    self.retire_anonymous(&c, now_ms);
                    (Some(c.session_id), None)
                }
                Ok(c) => (None, Some(c.session_id)),
                Err(_) => (None, None),
            },
            Some(Ok(Parsed::Compact(c))) if self.keys().contains(c.key_id()) => {
                (None, Some(c.session_id()))
            }
            _ => (None, None),
        };
        let kid = self.keys().minting_id();
        let binding = self.keys().binding(kid, client).unwrap_or_default();
        let expires_at = now_ms.saturating_add(self.policy.session_lifetime_ms);
        let record = Record::new(
            SessionId(new_id),
            parent,
            subject,
            self.policy.form,
            now_ms,
            expires_at,
            binding,
            kid,
        );
        let token =
            engine::mint(self.keys(), &record, kid).ok_or(Error::Token(TokenError::UnknownKey))?;
        let view = SessionView::of_record(&record);
        Ok(LoginPlan {
            record,
            retire,
            login: Login { token, view },
        })
    }

    /// Ends the session named by `cookie` for every holder. Returns its log id, or `None` when
    /// the cookie names no stored session (anonymous, unknown or malformed): the caller clears
    /// the cookie either way.
    ///
    /// # Errors
    /// [`Error::Store`] when the store cannot be reached or stays contended.
    pub fn logout(&mut self, cookie: &[u8], now_ms: u64) -> Result<Option<LogId>, Error> {
        let Some(sid) = self.logout_target(cookie, now_ms) else {
            return Ok(None);
        };
        let found = self.revoke(&sid, RevokeReason::Logout, now_ms)?;
        Ok(found.then(|| log_id(&sid)))
    }

    /// The store-free half of [`logout`](Self::logout): the stored session the cookie names,
    /// to revoke with [`revoke_record`](Self::revoke_record) (reason: logout), or `None`. An
    /// anonymous session is retired here (deny list) and needs nothing stored.
    pub fn logout_target(&mut self, cookie: &[u8], now_ms: u64) -> Option<SessionId> {
        match token::parse(cookie) {
            Ok(Parsed::Full(full)) => match full.verify(self.keys()) {
                Ok(c) if c.authenticated => Some(c.session_id),
                Ok(c) => {
                    self.retire_anonymous(&c, now_ms);
                    None
                }
                Err(_) => None,
            },
            // A compact token's id only ever travels inside tokens: holding it is enough.
            Ok(Parsed::Compact(c)) if self.keys().contains(c.key_id()) => Some(c.session_id()),
            _ => None,
        }
    }

    /// Revokes every active session of `subject` (e.g. after a password change) and returns
    /// how many were revoked.
    ///
    /// # Errors
    /// [`Error::Store`]: [`StoreError::Unsupported`] when the store cannot list by subject.
    pub fn revoke_all(&mut self, subject: &Subject, now_ms: u64) -> Result<usize, Error> {
        let mut revoked = 0usize;
        let mut batch = [SessionId::default(); 32];
        // Each round revokes what it lists, so the listing shrinks; the bound stops a store
        // that keeps listing revoked sessions.
        for _ in 0..1024 {
            let total = self.store.list_by_subject(subject, &mut batch)?;
            if total == 0 {
                break;
            }
            for sid in batch.iter().take(total) {
                if self.revoke(sid, RevokeReason::Admin, now_ms)? {
                    revoked = revoked.saturating_add(1);
                }
            }
        }
        Ok(revoked)
    }

    /// Revokes one stored session (compare-and-swap, retried). Returns whether it was active.
    /// A revoked session stays revoked: the first reason is kept.
    fn revoke(
        &mut self,
        sid: &SessionId,
        reason: RevokeReason,
        now_ms: u64,
    ) -> Result<bool, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(record) = self.store.load(sid)? else {
                return Ok(false);
            };
            let Some(next) = self.revoke_record(&record, reason, now_ms) else {
                return Ok(false);
            };
            match self.store.save(&next, Some(record.version), now_ms) {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(StoreError::Conflict))
    }

    /// The store-free revocation, for callers that keep records in their own database: the
    /// record to save (compare-and-swap on `record.version`; on a conflict, reload and call
    /// again), or `None` when it is already revoked (the first reason is kept). In cached
    /// mode the session goes on the deny list now: should the save fail, the entry only sends
    /// its cached requests to the store.
    pub fn revoke_record(
        &mut self,
        record: &Record,
        reason: RevokeReason,
        now_ms: u64,
    ) -> Option<Record> {
        if !record.is_active() {
            return None;
        }
        let mut next = *record;
        next.state = State::Revoked(reason);
        next.revoked_at = now_ms.max(1);
        next.version = next.version.wrapping_add(1);
        self.deny_fresh_tokens(&next, now_ms);
        Some(next)
    }
}

/// The token is ahead of this copy of the store: decide again on the primary's record before
/// repairing forward. (Such a decision is never a revocation, so deciding it had no effect.)
fn reload_primary(decision: &Decision, from_primary: bool) -> bool {
    matches!(decision.verdict, Verdict::StoreBehind { .. }) && !from_primary
}

fn reject(verdict: Verdict, sid: Option<SessionId>, now: u64, binding: BindingMatch) -> Outcome {
    Outcome::Reject {
        verdict,
        clear_cookie: verdict.clears_cookie(),
        event: Event {
            verdict,
            session_id: sid,
            log_id: sid.as_ref().map(log_id),
            at_ms: now,
            binding,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::panic,
        clippy::expect_used,
        clippy::unwrap_used,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use crate::keys::KeyMaterial;
    use crate::store::{MemoryDenyList, MemoryStore};
    use crate::token::Form;

    const T0: u64 = 1_700_000_000_000;
    const UA: BindingInput<'static> = BindingInput::new(b"Firefox", None);
    const THIEF: BindingInput<'static> = BindingInput::new(b"curl", None);

    fn keys() -> Keyring {
        Keyring::new(&[KeyMaterial::new(1, [1; 32])], 1).unwrap()
    }

    fn req<'a>(
        cookie: Option<&'a [u8]>,
        kind: Kind,
        now_ms: u64,
        binding: &'a BindingInput<'a>,
    ) -> Request<'a> {
        Request {
            cookie,
            kind,
            now_ms,
            binding,
            new_session_id: [0xa0; 16],
        }
    }

    fn token_of(o: &Outcome) -> TokenBuf {
        match o {
            Outcome::Proceed { token: Some(t), .. } => t.clone(),
            other => panic!("expected a token, got {other:?}"),
        }
    }

    type Mem<'k> = Sessions<&'k Keyring, MemoryStore<16>, MemoryDenyList<4>>;

    fn sessions(keys: &Keyring, policy: Policy) -> Mem<'_> {
        Sessions::new(keys, policy, MemoryStore::new(), MemoryDenyList::new()).unwrap()
    }

    #[test]
    fn anonymous_visit_login_roll_and_reuse() {
        let k = keys();
        let mut s = sessions(&k, Policy::default());
        let anon = s.handle(&req(None, Kind::Advance, T0, &UA));
        assert_eq!(anon.verdict(), Verdict::NewAnonymous);
        let anon_tok = token_of(&anon);
        assert_eq!(anon_tok.form(), Form::Full);
        // The anonymous token is valid, not stored, not rolled.
        let o = s.handle(&req(Some(anon_tok.as_bytes()), Kind::Advance, T0 + 1, &UA));
        assert!(matches!(
            o,
            Outcome::Proceed {
                verdict: Verdict::Anonymous,
                token: None,
                ..
            }
        ));
        assert!(s.store().is_empty());
        // Login: new id, parent link, the anonymous id retired.
        let login = s
            .login(
                Some(anon_tok.as_bytes()),
                [0xb0; 16],
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
                T0 + 2,
                &UA,
            )
            .unwrap();
        assert_eq!(login.view.parent, Some(SessionId([0xa0; 16])));
        assert_ne!(login.view.session_id, SessionId([0xa0; 16]));
        let o = s.handle(&req(Some(anon_tok.as_bytes()), Kind::Read, T0 + 3, &UA));
        assert_eq!(o.verdict(), Verdict::Revoked(RevokeReason::UpgradedAtLogin));
        // Page loads roll the compact token.
        let t1 = token_of(&s.handle(&req(
            Some(login.token.as_bytes()),
            Kind::Advance,
            T0 + 1_000,
            &UA,
        )));
        assert_eq!(t1.form(), Form::Compact);
        let t2 = token_of(&s.handle(&req(Some(t1.as_bytes()), Kind::Advance, T0 + 60_000, &UA)));
        // A copy of t1 used elsewhere after the window: reuse, the session ends for everyone.
        let o = s.handle(&req(Some(t1.as_bytes()), Kind::Read, T0 + 120_000, &THIEF));
        let Outcome::Reject {
            verdict: Verdict::Reuse { current: 2, .. },
            clear_cookie: true,
            event,
        } = o
        else {
            panic!("{o:?}")
        };
        assert_eq!(event.log_id, Some(login.view.log_id));
        let o = s.handle(&req(Some(t2.as_bytes()), Kind::Advance, T0 + 121_000, &UA));
        assert_eq!(o.verdict(), Verdict::Revoked(RevokeReason::Reuse));
    }

    #[test]
    fn cached_mode_trusts_fresh_tokens_and_revalidates_after_the_window() {
        let k = keys();
        let p = Policy::cached();
        let mut s = sessions(&k, p);
        let login = s
            .login(None, [1; 16], Subject::from_u64(3).0, T0, &UA)
            .unwrap();
        let t0 = login.token;
        // Inside the fresh window: trusted without the store, even for a page load.
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Advance, T0 + 1_000, &UA));
        assert!(
            matches!(
                o,
                Outcome::Proceed {
                    verdict: Verdict::Cached,
                    token: None,
                    ..
                }
            ),
            "{o:?}"
        );
        // A different client inside the window goes through the store (a read: no roll).
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Read, T0 + 2_000, &THIEF));
        assert!(
            matches!(
                o,
                Outcome::Proceed {
                    verdict: Verdict::Current,
                    token: None,
                    ..
                }
            ),
            "{o:?}"
        );
        // Past the window even a read revalidates and rolls.
        let after = T0 + p.fresh_ms + 1;
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Read, after, &UA));
        assert_eq!(o.verdict(), Verdict::Fresh);
        let t1 = token_of(&o);
        // Its racer gets the same successor.
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Read, after + 5, &UA));
        assert_eq!(token_of(&o), t1);
    }

    #[test]
    fn revocations_bite_inside_the_fresh_window() {
        let k = keys();
        let mut s = sessions(&k, Policy::cached());
        let login = s
            .login(None, [1; 16], Subject::from_u64(3).0, T0, &UA)
            .unwrap();
        assert_eq!(
            s.logout(login.token.as_bytes(), T0 + 10).unwrap(),
            Some(login.view.log_id)
        );
        // The token is still fresh and well bound, but the deny list refuses it.
        let o = s.handle(&req(Some(login.token.as_bytes()), Kind::Read, T0 + 20, &UA));
        assert_eq!(o.verdict(), Verdict::Revoked(RevokeReason::Logout));
        assert!(matches!(
            o,
            Outcome::Reject {
                clear_cookie: true,
                ..
            }
        ));
    }

    #[test]
    fn a_full_deny_list_keeps_entries_through_a_clock_step_back() {
        // fuzz/regressions/engine_sequence/deny-list-clock-step, through the public API.
        use core::net::{IpAddr, Ipv4Addr};
        let k = keys();
        let p = Policy {
            anonymous: false,
            fresh_ms: 60_000,
            idle_timeout_ms: 600_000,
            session_lifetime_ms: 3_600_000,
            ..Policy::cached()
        };
        let mut s = sessions(&k, p);
        let user = BindingInput::new(b"Firefox", Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))));
        let moved = BindingInput::new(b"Firefox", Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 9))));
        let x0 = s.login(None, [1; 16], [9; 16], T0, &user).unwrap().token;
        let x1 = token_of(&s.handle(&req(Some(x0.as_bytes()), Kind::Advance, T0 + 60_000, &user)));
        // The clock steps back 60 s; the user, on another network, advances with x1.
        let x2 = token_of(&s.handle(&req(Some(x1.as_bytes()), Kind::Advance, T0, &moved)));
        for i in 2..5u8 {
            let t = s.login(None, [i; 16], [9; 16], T0, &user).unwrap().token;
            s.logout(t.as_bytes(), T0).unwrap();
        }
        assert!(s.logout(x2.as_bytes(), T0).unwrap().is_some()); // the list (4) is now full
        let e = s
            .login(None, [6; 16], [9; 16], T0 + 120_000, &user)
            .unwrap()
            .token;
        s.logout(e.as_bytes(), T0 + 120_000).unwrap();
        // The clock steps back 60 s: x1 is fresh again and well bound, but logged out.
        let o = s.handle(&req(Some(x1.as_bytes()), Kind::Read, T0 + 60_000, &user));
        assert_eq!(o.verdict(), Verdict::Revoked(RevokeReason::Logout));
    }

    #[test]
    fn a_full_deny_list_falls_back_to_the_store() {
        let k = keys();
        let mut s = sessions(&k, Policy::cached());
        let mut tokens = [None, None, None, None, None, None];
        for (i, slot) in tokens.iter_mut().enumerate() {
            let id = [u8::try_from(i).unwrap() + 1; 16];
            *slot = Some(
                s.login(None, id, Subject::from_u64(9).0, T0, &UA)
                    .unwrap()
                    .token,
            );
        }
        // Four revocations fill the deny list; the fifth cannot be recorded there.
        for t in tokens.iter().take(5).flatten() {
            s.logout(t.as_bytes(), T0 + 1).unwrap();
        }
        assert!(s.is_degraded(T0 + 2));
        let fifth = tokens[4].as_ref().unwrap();
        let o = s.handle(&req(Some(fifth.as_bytes()), Kind::Read, T0 + 2, &UA));
        assert_eq!(
            o.verdict(),
            Verdict::Revoked(RevokeReason::Logout),
            "refused through the store"
        );
        // The sixth, still active, is served through the store meanwhile, not from the cache.
        let sixth = tokens[5].as_ref().unwrap();
        let o = s.handle(&req(Some(sixth.as_bytes()), Kind::Read, T0 + 3, &UA));
        assert_eq!(o.verdict(), Verdict::Current);
        assert!(s.is_degraded(T0 + Policy::cached().fresh_ms + MAX_CLOCK_SKEW_MS));
        assert!(!s.is_degraded(T0 + 1 + Policy::cached().fresh_ms + MAX_CLOCK_SKEW_MS));
    }

    #[test]
    fn revoke_all_ends_every_session_of_a_subject() {
        let k = keys();
        let mut s = sessions(&k, Policy::default());
        let a = s
            .login(None, [1; 16], Subject::from_u64(5).0, T0, &UA)
            .unwrap();
        let _b = s
            .login(None, [2; 16], Subject::from_u64(5).0, T0, &UA)
            .unwrap();
        let other = s
            .login(None, [3; 16], Subject::from_u64(6).0, T0, &UA)
            .unwrap();
        assert_eq!(s.revoke_all(&Subject::from_u64(5), T0 + 1), Ok(2));
        assert_eq!(s.revoke_all(&Subject::from_u64(5), T0 + 1), Ok(0));
        let o = s.handle(&req(Some(a.token.as_bytes()), Kind::Read, T0 + 2, &UA));
        assert_eq!(o.verdict(), Verdict::Revoked(RevokeReason::Admin));
        let o = s.handle(&req(Some(other.token.as_bytes()), Kind::Read, T0 + 2, &UA));
        assert_eq!(o.verdict(), Verdict::Current);
        assert_eq!(
            s.login(None, [9; 16], [0; 16], T0, &UA).err(),
            Some(Error::AnonymousSubject)
        );
        assert_eq!(
            s.login(None, [1; 16], [1; 16], T0, &UA).err(),
            Some(Error::Store(StoreError::Conflict))
        );
    }

    #[test]
    fn no_cookie_without_anonymous_sessions_is_refused_without_clearing() {
        let k = keys();
        let mut s = sessions(
            &k,
            Policy {
                anonymous: false,
                ..Policy::default()
            },
        );
        let o = s.handle(&req(None, Kind::Advance, T0, &UA));
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::NoSession,
                clear_cookie: false,
                ..
            }
        ));
        let o = s.handle(&req(Some(b"rtc1_nope"), Kind::Advance, T0, &UA));
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::Malformed(TokenError::WrongLength),
                clear_cookie: true,
                ..
            }
        ));
    }

    #[test]
    fn begin_and_finish_serve_a_callers_own_database() {
        let k = keys();
        // Two façades: one drives its own store with `handle`, the other is driven by a caller
        // that keeps records elsewhere (here a second MemoryStore) through begin/finish.
        let mut own = sessions(&k, Policy::default());
        let mut split = sessions(&k, Policy::default());
        let mut db = MemoryStore::<16>::new();
        let login = own
            .login(None, [1; 16], Subject::from_u64(5).0, T0, &UA)
            .unwrap();
        let record = own.store_mut().load(&SessionId([1; 16])).unwrap().unwrap();
        db.save(&record, None, T0).unwrap();
        let mut jar_own = login.token.clone();
        let mut jar_split = login.token;
        for (i, (kind, who)) in [
            (Kind::Advance, UA),
            (Kind::Read, UA),
            (Kind::Advance, UA),
            (Kind::Read, THIEF),
        ]
        .into_iter()
        .enumerate()
        {
            let now = T0 + 60_000 * (i as u64 + 1);
            let a = own.handle(&req(Some(jar_own.as_bytes()), kind, now, &who));
            let r = req(Some(jar_split.as_bytes()), kind, now, &who);
            let Step::Load(pending) = split.begin(&r) else {
                panic!("needs the record")
            };
            let loaded = db.load(&pending.session_id());
            let b = match split.finish(&pending, &r, loaded, false) {
                Finish::Done(o) => o,
                Finish::Save {
                    record,
                    expected_version,
                    outcome,
                } => {
                    db.save(&record, Some(expected_version), now).unwrap();
                    outcome
                }
                Finish::LoadPrimary => panic!("no replica here"),
            };
            assert_eq!(a, b, "step {i}");
            if let Outcome::Proceed { token: Some(t), .. } = &a {
                jar_own = t.clone();
                jar_split = t.clone();
            }
        }
        assert_eq!(
            db.load(&SessionId([1; 16])).unwrap(),
            own.store_mut().load(&SessionId([1; 16])).unwrap()
        );
        // A store failure keeps the cookie; a damaged record ends the session.
        let r = req(Some(jar_split.as_bytes()), Kind::Read, T0, &UA);
        let Step::Load(pending) = split.begin(&r) else {
            panic!()
        };
        let o = split.store_failed(&pending, &r, StoreError::Unavailable);
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::StoreUnavailable,
                clear_cookie: false,
                ..
            }
        ));
        let corrupt = Err(StoreError::Corrupt(RecordError::Corrupt));
        let Finish::Done(o) = split.finish(&pending, &r, corrupt, false) else {
            panic!()
        };
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::UnknownSession,
                clear_cookie: true,
                ..
            }
        ));
    }

    /// A store that fails in scripted ways around a real `MemoryStore`: the failure injection
    /// the façade's loop must survive.
    struct Flaky {
        inner: MemoryStore<16>,
        conflicts: usize,
        down: bool,
        /// Served by `load` (a lagging replica) while `load_primary` reads `inner`.
        replica: Option<Record>,
    }

    impl Store for Flaky {
        fn load(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
            if self.down {
                return Err(StoreError::Unavailable);
            }
            match self.replica {
                Some(r) => Ok(Some(r)),
                None => self.inner.load(id),
            }
        }
        fn load_primary(&mut self, id: &SessionId) -> Result<Option<Record>, StoreError> {
            self.inner.load(id)
        }
        fn save(
            &mut self,
            record: &Record,
            expected: Option<u64>,
            now_ms: u64,
        ) -> Result<(), StoreError> {
            if self.down {
                return Err(StoreError::Unavailable);
            }
            if self.conflicts > 0 && expected.is_some() {
                self.conflicts -= 1;
                return Err(StoreError::Conflict);
            }
            self.inner.save(record, expected, now_ms)
        }
        fn delete(&mut self, id: &SessionId) -> Result<(), StoreError> {
            self.inner.delete(id)
        }
    }

    #[test]
    fn outages_and_contention_never_log_anyone_out() {
        let k = keys();
        let flaky = Flaky {
            inner: MemoryStore::new(),
            conflicts: 0,
            down: false,
            replica: None,
        };
        let mut s =
            Sessions::new(&k, Policy::default(), flaky, MemoryDenyList::<4>::new()).unwrap();
        let t0 = s
            .login(None, [1; 16], Subject::from_u64(5).0, T0, &UA)
            .unwrap()
            .token;
        s.store_mut().down = true;
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Advance, T0 + 1, &UA));
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::StoreUnavailable,
                clear_cookie: false,
                ..
            }
        ));
        s.store_mut().down = false;
        // Conflicts below the bound are retried; a lost compare-and-swap consumes no counter.
        s.store_mut().conflicts = MAX_ATTEMPTS - 1;
        let o = s.handle(&req(Some(t0.as_bytes()), Kind::Advance, T0 + 2, &UA));
        assert_eq!(o.verdict(), Verdict::Fresh);
        assert!(matches!(
            o,
            Outcome::Proceed {
                view: SessionView { counter: 1, .. },
                ..
            }
        ));
        s.store_mut().conflicts = MAX_ATTEMPTS;
        let t1 = token_of(&o);
        let o = s.handle(&req(Some(t1.as_bytes()), Kind::Advance, T0 + 3, &UA));
        assert!(matches!(
            o,
            Outcome::Reject {
                verdict: Verdict::Busy,
                clear_cookie: false,
                ..
            }
        ));
        assert_eq!(
            s.store_mut()
                .inner
                .load(&SessionId([1; 16]))
                .unwrap()
                .unwrap()
                .counter,
            1
        );
    }

    #[test]
    fn a_lagging_replica_is_checked_against_the_primary_first() {
        let k = keys();
        let flaky = Flaky {
            inner: MemoryStore::new(),
            conflicts: 0,
            down: false,
            replica: None,
        };
        let mut s =
            Sessions::new(&k, Policy::default(), flaky, MemoryDenyList::<4>::new()).unwrap();
        let t0 = s
            .login(None, [1; 16], Subject::from_u64(5).0, T0, &UA)
            .unwrap()
            .token;
        let stale = s.store_mut().inner.load(&SessionId([1; 16])).unwrap();
        let t1 = token_of(&s.handle(&req(Some(t0.as_bytes()), Kind::Advance, T0 + 1, &UA)));
        // The replica still serves the record before the advance: the primary is current, so
        // the token is simply current there, not "ahead".
        s.store_mut().replica = stale;
        let o = s.handle(&req(Some(t1.as_bytes()), Kind::Read, T0 + 2, &UA));
        assert_eq!(o.verdict(), Verdict::Current);
    }
}
