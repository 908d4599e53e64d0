//! The rolling rules as one pure decision over a loaded record.
//!
//! [`decide`] takes the record, the presented token, whether the request advances or reads,
//! the client's binding input and the time, and returns a [`Decision`]: the verdict, whether
//! the binding matched, the record to save (compare-and-swap on the loaded record's write
//! version) and the token to hand out. It reads no clock, no RNG and no store, so the same
//! inputs always give the same bytes; a store wrapper (the façade, the C ABI's decision call,
//! the Python stores) loads, calls it, and saves.
//!
//! With `c` the record's counter (the newest token issued) and `t` the presented one:
//!
//! 1. `t == c`, advance: issue `c+1`, open (or, inside the window, extend) the grace window.
//! 2. `floor <= t < c` inside the window: advance gets `c` again (capped per step, and each
//!    hand-out reopens the window); read passes and gets nothing.
//! 3. `floor <= t < c` after the window, from the client of the last advance (same user agent
//!    *and* address prefix): re-issue `c` when `t == c-1` and `c` was never presented (lost
//!    response), or while the last advance is recent (the cookie jar went back). A read
//!    passes and gets nothing.
//! 4. any other `t < c`: reuse; the session is revoked.
//! 5. `t > c` with a valid tag: the store is behind; repair forward to `t` and go on.
//!
//! Revoked state and expiry are checked before the counter.

use crate::keys::{Binding, BindingInput, BindingMatch, Keyring};
use crate::policy::{BindingPolicy, Policy};
use crate::record::{Record, RevokeReason, State, offset};
use crate::token::{self, Claims, Form, Parsed, TokenBuf};
use crate::verdict::{Expiry, Verdict};

/// Whether a request advances the chain (a page load) or only reads (an API call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A top-level navigation: rolls the token.
    Advance,
    /// Any other request: verifies without rolling.
    Read,
}

impl Kind {
    /// Every variant, in declaration order.
    pub const ALL: [Kind; 2] = [Kind::Advance, Kind::Read];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Advance => "advance",
            Kind::Read => "read",
        }
    }
}

/// What the engine decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// The rule that applied.
    pub verdict: Verdict,
    /// How the request's binding compared with the session's last advancing request.
    pub binding: BindingMatch,
    /// The record to save, with compare-and-swap on the loaded record's `version`
    /// (`save.version` is one higher). `None`: nothing changed.
    pub save: Option<Record>,
    /// The token to set as the cookie. `None`: leave the cookie as it is.
    pub token: Option<TokenBuf>,
}

/// How a presented token relates to the record's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Current,
    /// Inside the grace window, `floor <= t < c`.
    Stale(u64),
    /// `floor <= t < c` after the window: a rule 3 candidate (how many steps behind).
    AfterWindow(u64),
    /// Anything else below `c` (`None`: a compact token that matched no candidate).
    Behind(Option<u64>),
    Ahead(u64),
}

/// Applies the rolling rules to one request. See the module docs for the rules.
///
/// The caller has loaded `record` by the token's session id; a record of another session
/// gives [`Verdict::UnknownSession`].
pub fn decide(
    keys: &Keyring,
    policy: &Policy,
    record: &Record,
    token: &Parsed,
    kind: Kind,
    client: &BindingInput<'_>,
    now_ms: u64,
) -> Decision {
    let (binding, hashed) = evidence(keys, record, client);
    let refuse = |verdict| Decision {
        verdict,
        binding,
        save: None,
        token: None,
    };
    if token.session_id() != record.session_id {
        return refuse(Verdict::UnknownSession);
    }
    if !keys.contains(token.key_id()) {
        return refuse(Verdict::Malformed(token::TokenError::UnknownKey));
    }
    // A full token proves itself; a compact one is checked by the counter search below.
    if let Parsed::Full(full) = token
        && full.verify(keys).is_err()
    {
        return refuse(Verdict::Forged);
    }
    if let State::Revoked(reason) = record.state {
        return refuse(Verdict::Revoked(reason));
    }
    if let Some(expiry) = expired(policy, record, now_ms) {
        return refuse(Verdict::Expired(expiry));
    }
    let in_window = now_ms < record.grace_until;
    let position = match token {
        Parsed::Full(full) => position_of(record, full.unverified_claims().counter, in_window),
        Parsed::Compact(compact) => search(policy, record, in_window, |ctr| {
            compact.matches(keys, ctr).unwrap_or(false)
        }),
    };
    // Revocation is evidence, whatever the binding policy says.
    if let Position::Behind(presented) = position {
        return revoke_for_reuse(record, presented, binding, now_ms);
    }
    // Rule 3, after the window: only the client that made the last advance (full binding) is
    // forgiven; the user agent alone is shared by too many browsers to be evidence.
    let behind_verdict = match position {
        Position::AfterWindow(behind) => {
            let lost = behind == 1 && !record.confirmed && binding.full();
            let recent = now_ms.saturating_sub(record.last_advance_at) < policy.jar_behind_ms;
            let jar = binding.full() && recent;
            if !policy.reissue_one_behind || !(lost || jar) {
                let presented = record.counter.checked_sub(behind);
                return revoke_for_reuse(record, presented, binding, now_ms);
            }
            if lost {
                Verdict::LostResponse
            } else {
                Verdict::CookieJarBehind
            }
        }
        _ => Verdict::CookieJarBehind,
    };
    let required = match policy.binding {
        BindingPolicy::Evidence => true,
        BindingPolicy::RequireUserAgent => binding.user_agent,
        BindingPolicy::RequireFull => binding.full(),
    };
    if !required {
        return refuse(Verdict::BindingMismatch);
    }
    // Rule 1, the common case, builds its record in the decision it returns (no copy here).
    if let (Position::Current, Kind::Advance) = (position, kind) {
        return advance(
            keys,
            policy,
            record,
            (client, hashed),
            now_ms,
            Verdict::Fresh,
            binding,
        );
    }
    let mut next = *record;
    let verdict = match (position, kind) {
        // (An advance of the current token returned above.)
        (Position::Current, _) => {
            touch(policy, &mut next, now_ms);
            // Confirm once per step, so rule 3 cannot later hand a stale copy the current token.
            next.confirmed = true;
            Verdict::Current
        }
        (Position::Stale(behind), Kind::Read) => Verdict::ConcurrentInGrace { behind },
        (Position::AfterWindow(_), Kind::Read) => behind_verdict,
        (Position::Stale(behind), Kind::Advance) => {
            return reissue(
                keys,
                policy,
                record,
                now_ms,
                Verdict::ConcurrentInGrace { behind },
                binding,
            );
        }
        (Position::AfterWindow(_), Kind::Advance) => {
            return reissue(keys, policy, record, now_ms, behind_verdict, binding);
        }
        (Position::Ahead(t), _) => {
            let ahead = t.saturating_sub(record.counter);
            // Repair forward: the token at `t` was minted and presented, so it is confirmed.
            next.counter = t;
            next.floor = t;
            next.last_advance_at = now_ms;
            // A full token tells exactly how `t` was minted: keep that, so a later re-issue of
            // `t` reproduces the very token the client holds.
            if let Parsed::Full(full) = token {
                let claims = full.unverified_claims();
                next.last_advance_at = claims.issued_at.min(now_ms);
                next.binding = claims.binding;
                next.binding_key_id = claims.key_id;
            }
            next.grace_until = next.last_advance_at;
            next.last_seen_at = clamp_offset(next.last_advance_at, now_ms);
            next.grace_answers = 0;
            next.confirmed = true;
            if kind == Kind::Advance {
                return advance(
                    keys,
                    policy,
                    &next,
                    (client, hashed),
                    now_ms,
                    Verdict::StoreBehind { ahead },
                    binding,
                );
            }
            Verdict::StoreBehind { ahead }
        }
        (Position::Behind(_), _) => Verdict::Reuse {
            presented: None,
            current: record.counter,
        },
    };
    let save = (next != *record).then(|| bump(next));
    Decision {
        verdict,
        binding,
        save,
        token: None,
    }
}

/// The request's binding compared with the session's last advancing request, under the key
/// that hash was made with; also the hash itself (with its key id), so an advance under the
/// same key does not hash the client twice.
fn evidence(
    keys: &Keyring,
    record: &Record,
    client: &BindingInput<'_>,
) -> (BindingMatch, Option<(u8, Binding)>) {
    match keys.binding(record.binding_key_id, client) {
        Some(b) => (b.compare(&record.binding), Some((record.binding_key_id, b))),
        None => (BindingMatch::NONE, None),
    }
}

/// The expiry that applies at `now_ms`, if any.
pub(crate) fn expired(policy: &Policy, record: &Record, now_ms: u64) -> Option<Expiry> {
    if now_ms >= record.expires_at {
        return Some(Expiry::Absolute);
    }
    if now_ms >= record.last_seen_at.saturating_add(policy.idle_timeout_ms) {
        return Some(Expiry::Idle);
    }
    None
}

fn position_of(record: &Record, t: u64, in_window: bool) -> Position {
    let c = record.counter;
    if t == c {
        Position::Current
    } else if t > c {
        Position::Ahead(t)
    } else if in_window && t >= record.floor {
        Position::Stale(c.saturating_sub(t))
    } else if t >= record.floor {
        Position::AfterWindow(c.saturating_sub(t))
    } else {
        Position::Behind(Some(t))
    }
}

/// The compact-token counter search: the current counter, then down to the floor (the stale
/// range inside the window, rule 3's range after it), then up to the span cap ahead. A token
/// of a live session matching none of them is reuse: its session id only ever travelled
/// inside tokens, so whoever presents it has held one.
fn search(
    policy: &Policy,
    record: &Record,
    in_window: bool,
    matches: impl Fn(u64) -> bool,
) -> Position {
    let c = record.counter;
    if matches(c) {
        return Position::Current;
    }
    let lowest = record.floor;
    let mut t = c;
    while t > lowest {
        t = t.saturating_sub(1);
        if matches(t) {
            return position_of(record, t, in_window);
        }
    }
    for step in 1..=u64::from(policy.span_cap) {
        match c.checked_add(step) {
            Some(t) if matches(t) => return Position::Ahead(t),
            Some(_) => {}
            None => break,
        }
    }
    Position::Behind(None)
}

fn revoke_for_reuse(
    record: &Record,
    presented: Option<u64>,
    binding: BindingMatch,
    now_ms: u64,
) -> Decision {
    let mut next = *record;
    next.state = State::Revoked(RevokeReason::Reuse);
    next.revoked_at = now_ms.max(1);
    Decision {
        verdict: Verdict::Reuse {
            presented,
            current: record.counter,
        },
        binding,
        save: Some(bump(next)),
        token: None,
    }
}

/// Counts activity for the idle timeout, writing at most once per quarter of it.
fn touch(policy: &Policy, next: &mut Record, now_ms: u64) {
    if now_ms.saturating_sub(next.last_seen_at) >= policy.idle_timeout_ms / 4 {
        next.last_seen_at = clamp_offset(next.last_advance_at, now_ms);
    }
}

/// Keeps a time within the range the record encodes relative to the last advance.
fn clamp_offset(base: u64, at: u64) -> u64 {
    base.saturating_add(u64::from(offset(base, at)))
}

/// Rule 1 (and the tail of rule 5): mint `c+1` from the record `base`.
///
/// The record to save is built in place, inside the decision returned, rather than built
/// here and copied into it (likewise in [`reissue`]).
fn advance(
    keys: &Keyring,
    policy: &Policy,
    base: &Record,
    (client, hashed): (&BindingInput<'_>, Option<(u8, Binding)>),
    now_ms: u64,
    verdict: Verdict,
    binding: BindingMatch,
) -> Decision {
    let Some(c1) = base.counter.checked_add(1) else {
        let verdict = Verdict::Expired(Expiry::CounterExhausted);
        return Decision {
            verdict,
            binding,
            save: None,
            token: None,
        };
    };
    let mut decision = Decision {
        verdict,
        binding,
        save: Some(*base),
        token: None,
    };
    if let Some(next) = &mut decision.save {
        let in_window = now_ms < next.grace_until;
        // Inside the window the floor stays (older racers are still in flight), capped by span.
        next.floor = if in_window {
            next.floor
                .max(c1.saturating_sub(u64::from(policy.span_cap)))
        } else {
            next.counter
        };
        next.counter = c1;
        next.last_advance_at = now_ms;
        next.last_seen_at = now_ms;
        next.grace_until = clamp_offset(
            now_ms,
            now_ms.saturating_add(policy.grace_ms(next.lateness_ms)),
        );
        next.grace_answers = 0;
        next.confirmed = false;
        // Each step forgets 1/8 of the remembered lateness, so one slow moment fades.
        next.lateness_ms = next.lateness_ms.saturating_sub(next.lateness_ms / 8);
        let kid = keys.minting_id();
        next.binding_key_id = kid;
        next.binding = match hashed {
            Some((hashed_kid, b)) if hashed_kid == kid => b,
            _ => keys.binding(kid, client).unwrap_or_default(),
        };
        bump_in_place(next);
        decision.token = mint(keys, next, kid);
    }
    decision
}

/// Rules 2 and 3 on an advance: hand out the current token again, reopening the window.
fn reissue(
    keys: &Keyring,
    policy: &Policy,
    base: &Record,
    now_ms: u64,
    verdict: Verdict,
    binding: BindingMatch,
) -> Decision {
    if base.grace_answers >= policy.answer_cap {
        return Decision {
            verdict: Verdict::GraceExhausted,
            binding,
            save: None,
            token: None,
        };
    }
    let mut decision = Decision {
        verdict,
        binding,
        save: Some(*base),
        token: None,
    };
    if let Some(next) = &mut decision.save {
        next.grace_answers = next.grace_answers.saturating_add(1);
        // Adaptive grace follows the lateness of stale arrivals inside the window only: a rule 3
        // arrival (a lost response found minutes later) says nothing about propagation delay.
        // Only the client of the last advance counts, and never past what the window can use:
        // a stale copy elsewhere must not be able to widen the window it hides in.
        if let Verdict::ConcurrentInGrace { .. } = verdict
            && binding.full()
        {
            let observed =
                u32::try_from(now_ms.saturating_sub(next.last_advance_at)).unwrap_or(u32::MAX);
            next.lateness_ms = observed.max(next.lateness_ms).min(policy.lateness_cap_ms());
        }
        // Requests sent with the older token are still in flight: reopen as if `c` were new.
        let reopened = now_ms.saturating_add(policy.grace_ms(next.lateness_ms));
        next.grace_until = clamp_offset(next.last_advance_at, next.grace_until.max(reopened));
        touch(policy, next, now_ms);
        // The same key, time and binding as the original mint: the very same token.
        let kid = if keys.contains(next.binding_key_id) {
            next.binding_key_id
        } else {
            keys.minting_id()
        };
        bump_in_place(next);
        decision.token = mint(keys, next, kid);
    }
    decision
}

/// The token for the record's current counter, in the session's form.
pub(crate) fn mint(keys: &Keyring, record: &Record, kid: u8) -> Option<TokenBuf> {
    match record.form {
        Form::Compact => token::mint_compact(keys, kid, &record.session_id, record.counter).ok(),
        Form::Full => token::mint_full(keys, &claims_of(record, kid, record.binding)).ok(),
    }
}

/// The full-token claims of the record's current counter.
pub(crate) fn claims_of(record: &Record, kid: u8, binding: Binding) -> Claims {
    Claims {
        key_id: kid,
        session_id: record.session_id,
        counter: record.counter,
        issued_at: record.last_advance_at,
        expires_at: record.expires_at,
        subject: record.subject,
        binding,
        authenticated: record.authenticated,
    }
}

/// The record as it will be saved: one write version higher.
fn bump(mut record: Record) -> Record {
    bump_in_place(&mut record);
    record
}

/// [`bump`] on a record in place.
fn bump_in_place(record: &mut Record) {
    record.version = record.version.wrapping_add(1);
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
    use crate::policy::Grace;
    use crate::token::{SessionId, Subject, parse};

    const T0: u64 = 1_700_000_000_000;
    const UA: BindingInput<'static> = BindingInput::new(b"Firefox", None);
    const THIEF: BindingInput<'static> = BindingInput::new(b"curl", None);

    fn keys() -> Keyring {
        Keyring::new(
            &[KeyMaterial::new(1, [1; 32]), KeyMaterial::new(2, [2; 32])],
            1,
        )
        .unwrap()
    }

    fn start(keys: &Keyring, form: Form) -> Record {
        let b = keys.binding(1, &UA).unwrap();
        Record::new(
            SessionId([5; 16]),
            None,
            Subject::from_u64(1),
            form,
            T0,
            T0 + 3_600_000,
            b,
            1,
        )
    }

    /// Applies a decision as a successful save would.
    fn run(
        keys: &Keyring,
        p: &Policy,
        rec: &mut Record,
        tok: &TokenBuf,
        kind: Kind,
        who: &BindingInput<'_>,
        now: u64,
    ) -> Decision {
        let d = decide(
            keys,
            p,
            rec,
            &parse(tok.as_bytes()).unwrap(),
            kind,
            who,
            now,
        );
        if let Some(s) = d.save {
            assert_eq!(s.version, rec.version + 1);
            *rec = s;
        }
        d
    }

    #[test]
    fn every_rule_in_both_forms() {
        let k = keys();
        let p = Policy::default();
        for form in [Form::Compact, Form::Full] {
            let mut r = start(&k, form);
            let t0 = mint(&k, &r, 1).unwrap();
            // Rule 1.
            let d = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 1_000);
            assert_eq!(d.verdict, Verdict::Fresh);
            let t1 = d.token.unwrap();
            assert_eq!((r.counter, r.floor), (1, 0));
            // Rule 2 on an advance: the very same token again.
            let d = run(&k, &p, &mut r, &t0, Kind::Advance, &THIEF, T0 + 2_000);
            assert_eq!(d.verdict, Verdict::ConcurrentInGrace { behind: 1 });
            assert_eq!(d.token.as_ref(), Some(&t1));
            // Rule 2 on a read: passes, hands out nothing, writes nothing.
            let d = run(&k, &p, &mut r, &t0, Kind::Read, &UA, T0 + 3_000);
            assert_eq!(
                (d.verdict, d.token, d.save),
                (Verdict::ConcurrentInGrace { behind: 1 }, None, None)
            );
            // Read of the current token confirms it, once.
            let d = run(&k, &p, &mut r, &t1, Kind::Read, &UA, T0 + 4_000);
            assert!(d.save.is_some() && r.confirmed && d.verdict == Verdict::Current);
            let d = run(&k, &p, &mut r, &t1, Kind::Read, &UA, T0 + 4_500);
            assert!(d.save.is_none());
            // After the window, one behind, confirmed, same binding, recent: cookie jar behind.
            let d = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 60_000);
            assert_eq!(d.verdict, Verdict::CookieJarBehind);
            assert_eq!(d.token.as_ref(), Some(&t1));
            // Two behind after the window: reuse.
            let t2 = run(&k, &p, &mut r, &t1, Kind::Advance, &UA, T0 + 70_000)
                .token
                .unwrap();
            let _t3 = run(&k, &p, &mut r, &t2, Kind::Advance, &UA, T0 + 100_000)
                .token
                .unwrap();
            let d = run(&k, &p, &mut r, &t1, Kind::Read, &THIEF, T0 + 200_000);
            assert_eq!(
                d.verdict,
                Verdict::Reuse {
                    presented: Some(1).filter(|_| form == Form::Full),
                    current: 3
                }
            );
            assert!(d.verdict.clears_cookie());
            assert_eq!(r.state, State::Revoked(RevokeReason::Reuse));
            // Revoked stays revoked, even for the newest token.
            let d = run(&k, &p, &mut r, &_t3, Kind::Advance, &UA, T0 + 201_000);
            assert_eq!(d.verdict, Verdict::Revoked(RevokeReason::Reuse));
        }
    }

    #[test]
    fn rule_3_forgives_only_the_client_of_the_last_advance() {
        let k = keys();
        let p = Policy::default();
        let mut r = start(&k, Form::Compact);
        let t0 = mint(&k, &r, 1).unwrap();
        let t1 = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 1_000)
            .token
            .unwrap();
        // The response with t1 was lost; the browser comes back with t0 after the window.
        let mut other = r;
        let mut elsewhere = r;
        let d = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 600_000);
        assert_eq!(d.verdict, Verdict::LostResponse);
        assert_eq!(d.token.as_ref(), Some(&t1));
        assert!(
            r.grace_until > T0 + 600_000,
            "a hand-out reopens the window"
        );
        // The same after the window from another user agent: reuse.
        let d = run(&k, &p, &mut other, &t0, Kind::Advance, &THIEF, T0 + 600_000);
        assert!(matches!(d.verdict, Verdict::Reuse { .. }));
        // The same user agent from another network is not that client (many browsers share one
        // user agent string): reuse.
        let same_ua =
            BindingInput::new(b"Firefox", Some(core::net::IpAddr::from([198, 51, 100, 7])));
        let d = run(
            &k,
            &p,
            &mut elsewhere,
            &t0,
            Kind::Advance,
            &same_ua,
            T0 + 600_000,
        );
        assert_eq!(
            d.verdict,
            Verdict::Reuse {
                presented: Some(0),
                current: 1
            }
        );
        // Rapid page loads leave the floor low; a jar two steps behind, from the same client,
        // soon after the window, gets the current token again.
        let mut rapid = start(&k, Form::Compact);
        let mut t = mint(&k, &rapid, 1).unwrap();
        let first = t.clone();
        for i in 0..3 {
            t = run(
                &k,
                &p,
                &mut rapid,
                &t,
                Kind::Advance,
                &UA,
                T0 + 100 * (i + 1),
            )
            .token
            .unwrap();
        }
        let second = mint(
            &k,
            &Record {
                counter: 1,
                ..rapid
            },
            1,
        )
        .unwrap();
        let d = run(&k, &p, &mut rapid, &second, Kind::Advance, &UA, T0 + 15_000);
        assert_eq!(d.verdict, Verdict::CookieJarBehind);
        assert_eq!(d.token.as_ref(), Some(&t));
        // Below the floor (the first token, counter 0 = floor 0 is still in range here, so use
        // a record whose floor has moved past it): reuse.
        let mut moved = rapid;
        moved.floor = 1;
        let d = run(&k, &p, &mut moved, &first, Kind::Read, &UA, T0 + 16_000);
        assert!(
            matches!(d.verdict, Verdict::Reuse { .. }),
            "{:?}",
            d.verdict
        );
        // With rule 3 switched off: reuse too.
        let mut r2 = start(&k, Form::Compact);
        let off = Policy {
            reissue_one_behind: false,
            ..p
        };
        assert_eq!(
            run(&k, &off, &mut r2, &t0, Kind::Advance, &UA, T0 + 1_000).verdict,
            Verdict::Fresh
        );
        let d = run(&k, &off, &mut r2, &t0, Kind::Advance, &UA, T0 + 600_000);
        assert!(matches!(d.verdict, Verdict::Reuse { .. }));
    }

    #[test]
    fn grace_answers_are_capped_without_revoking() {
        let k = keys();
        let p = Policy {
            answer_cap: 3,
            ..Policy::default()
        };
        let mut r = start(&k, Form::Full);
        let t0 = mint(&k, &r, 1).unwrap();
        assert_eq!(
            run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 1).verdict,
            Verdict::Fresh
        );
        for i in 0..3 {
            let d = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 10 + i);
            assert!(matches!(d.verdict, Verdict::ConcurrentInGrace { .. }));
        }
        let d = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 20);
        assert_eq!(d.verdict, Verdict::GraceExhausted);
        assert!(!d.verdict.clears_cookie() && d.save.is_none() && r.is_active());
    }

    #[test]
    fn store_behind_repairs_forward_and_span_caps_the_floor() {
        let k = keys();
        let p = Policy {
            span_cap: 2,
            ..Policy::default()
        };
        for form in [Form::Compact, Form::Full] {
            let mut r = start(&k, form);
            let old = r;
            let mut t = mint(&k, &r, 1).unwrap();
            for i in 0..4 {
                t = run(&k, &p, &mut r, &t, Kind::Advance, &UA, T0 + 100 * (i + 1))
                    .token
                    .unwrap();
            }
            assert_eq!(
                (r.counter, r.floor),
                (4, 2),
                "advances inside the window keep the floor, capped by span"
            );
            // The store lost everything since `old`: the token at 4 is ahead by 4 (compact: beyond
            // the span cap of 2, so it matches nothing and is reuse; full: proves itself).
            let mut restored = old;
            let d = run(&k, &p, &mut restored, &t, Kind::Read, &UA, T0 + 1_000);
            match form {
                Form::Full => {
                    assert_eq!(d.verdict, Verdict::StoreBehind { ahead: 4 });
                    assert_eq!((restored.counter, restored.confirmed), (4, true));
                }
                Form::Compact => assert!(matches!(
                    d.verdict,
                    Verdict::Reuse {
                        presented: None,
                        ..
                    }
                )),
            }
            // Within the span cap, compact repairs forward too; an advance mints the successor.
            let mut behind = r;
            behind.counter = 3;
            behind.floor = 3;
            let d = run(&k, &p, &mut behind, &t, Kind::Advance, &UA, T0 + 2_000);
            assert_eq!(d.verdict, Verdict::StoreBehind { ahead: 1 });
            assert_eq!(behind.counter, 5);
        }
    }

    #[test]
    fn expiry_and_forgery_come_before_the_counter() {
        let k = keys();
        let p = Policy::default();
        let r = start(&k, Form::Full);
        let t0 = mint(&k, &r, 1).unwrap();
        let tok = parse(t0.as_bytes()).unwrap();
        let at = |now| decide(&k, &p, &r, &tok, Kind::Advance, &UA, now).verdict;
        assert_eq!(at(r.expires_at), Verdict::Expired(Expiry::Absolute));
        assert_eq!(at(T0 + p.idle_timeout_ms), Verdict::Expired(Expiry::Idle));
        let other_ring = Keyring::new(&[KeyMaterial::new(1, [9; 32])], 1).unwrap();
        assert_eq!(
            decide(&other_ring, &p, &r, &tok, Kind::Read, &UA, T0).verdict,
            Verdict::Forged
        );
        let lone = Keyring::new(&[KeyMaterial::new(2, [2; 32])], 2).unwrap();
        let v = decide(&lone, &p, &r, &tok, Kind::Read, &UA, T0).verdict;
        assert_eq!(v, Verdict::Malformed(token::TokenError::UnknownKey));
        let mut elsewhere = r;
        elsewhere.session_id = SessionId([6; 16]);
        assert_eq!(
            decide(&k, &p, &elsewhere, &tok, Kind::Read, &UA, T0).verdict,
            Verdict::UnknownSession
        );
    }

    #[test]
    fn binding_policies_refuse_without_revoking() {
        let k = keys();
        for (policy, who, refused) in [
            (BindingPolicy::Evidence, THIEF, false),
            (BindingPolicy::RequireUserAgent, THIEF, true),
            (
                BindingPolicy::RequireUserAgent,
                BindingInput::new(b"Firefox", Some(core::net::IpAddr::from([10, 0, 0, 1]))),
                false,
            ),
            (
                BindingPolicy::RequireFull,
                BindingInput::new(b"Firefox", Some(core::net::IpAddr::from([10, 0, 0, 1]))),
                true,
            ),
        ] {
            let p = Policy {
                binding: policy,
                ..Policy::default()
            };
            let mut r = start(&k, Form::Compact);
            let t0 = mint(&k, &r, 1).unwrap();
            let d = run(&k, &p, &mut r, &t0, Kind::Advance, &who, T0 + 1);
            assert_eq!(d.verdict == Verdict::BindingMismatch, refused, "{policy:?}");
            assert!(r.is_active() && !d.verdict.clears_cookie());
        }
    }

    #[test]
    fn adaptive_grace_grows_with_observed_lateness() {
        let k = keys();
        let p = Policy {
            grace: Grace::Adaptive {
                min_ms: 5_000,
                max_ms: 60_000,
            },
            ..Policy::default()
        };
        let mut r = start(&k, Form::Compact);
        let t0 = mint(&k, &r, 1).unwrap();
        let t1 = run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0)
            .token
            .unwrap();
        assert_eq!(r.grace_until, T0 + 5_000);
        // A racer 4 s late: the lateness is remembered and the window reopens for 8 s.
        assert_eq!(
            run(&k, &p, &mut r, &t0, Kind::Advance, &UA, T0 + 4_000).verdict,
            Verdict::ConcurrentInGrace { behind: 1 }
        );
        assert_eq!(r.lateness_ms, 4_000);
        assert_eq!(r.grace_until, T0 + 12_000);
        assert_eq!(
            run(&k, &p, &mut r, &t1, Kind::Advance, &UA, T0 + 20_000).verdict,
            Verdict::Fresh
        );
        assert_eq!(
            r.grace_until,
            T0 + 28_000,
            "the next step's window follows the lateness"
        );
    }
}
