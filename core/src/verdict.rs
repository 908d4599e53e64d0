//! Verdicts: every outcome of a request names the rule that produced it, so callers can log,
//! count and explain it.

use core::fmt;

use crate::record::RevokeReason;
use crate::token::TokenError;

/// Which limit ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The absolute lifetime is over.
    Absolute,
    /// No activity for longer than the idle timeout.
    Idle,
    /// The counter cannot advance any further (2⁶⁴ steps).
    CounterExhausted,
}

impl Expiry {
    /// Every variant, in declaration order.
    pub const ALL: [Expiry; 3] = [Expiry::Absolute, Expiry::Idle, Expiry::CounterExhausted];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Expiry::Absolute => "absolute",
            Expiry::Idle => "idle",
            Expiry::CounterExhausted => "counter_exhausted",
        }
    }
}

/// The outcome of one request, naming the rule that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Rule 1: the newest token advanced; a new token is issued.
    Fresh,
    /// A read with the newest token.
    Current,
    /// Rule 2: a stale token inside the grace window (parallel request, second tab, retry).
    /// An advance gets the current token again; a read passes and gets nothing.
    ConcurrentInGrace {
        /// How many steps behind the current counter the token was.
        behind: u64,
    },
    /// Rule 3: one step behind after the window, the current token never presented, from the
    /// client of the last advance (same user agent and address prefix): the response carrying
    /// it was lost. An advance gets it again.
    LostResponse,
    /// Rule 3: behind (within the span) after the window, same full binding, recent advance:
    /// the cookie jar went back because responses arrived out of order. An advance gets the
    /// current token again.
    CookieJarBehind,
    /// Rule 5: a valid token ahead of the store (lagging replica, lost write): the record was
    /// repaired forward, never backward.
    StoreBehind {
        /// How many steps the token was ahead.
        ahead: u64,
    },
    /// Cached mode: a fresh full token with a matching binding, trusted without the store.
    Cached,
    /// A valid anonymous token.
    Anonymous,
    /// No usable cookie: a new anonymous session was minted.
    NewAnonymous,
    /// Rule 4: a token used out of sequence; two parties held the session, now revoked.
    Reuse {
        /// The presented counter (unknown for a compact token that matched no candidate).
        presented: Option<u64>,
        /// The current counter.
        current: u64,
    },
    /// The grace-answer cap for this step is reached: retry later. Nothing is revoked and the
    /// cookie is kept, so flooding a window cannot force a logout.
    GraceExhausted,
    /// The session was revoked earlier.
    Revoked(RevokeReason),
    /// The session has expired.
    Expired(Expiry),
    /// The token's tag does not verify.
    Forged,
    /// The cookie value is not a well-formed token (or names an unknown key).
    Malformed(TokenError),
    /// The token is valid but the store has no such session (expired, evicted or deleted).
    UnknownSession,
    /// The binding policy requires a match and the binding differs. Nothing is revoked.
    BindingMismatch,
    /// No cookie, and anonymous sessions are off.
    NoSession,
    /// The store could not be reached. Nobody is logged out.
    StoreUnavailable,
    /// The compare-and-swap retry bound was reached under contention: retry later.
    Busy,
}

/// The rule of a [`Verdict`] without its details: a stable code for bindings, logs and the
/// golden vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)] // each variant is documented on `Verdict`
pub enum Rule {
    Fresh = 1,
    Current = 2,
    ConcurrentInGrace = 3,
    LostResponse = 4,
    CookieJarBehind = 5,
    StoreBehind = 6,
    Cached = 7,
    Anonymous = 8,
    NewAnonymous = 9,
    Reuse = 20,
    GraceExhausted = 21,
    Revoked = 22,
    Expired = 23,
    Forged = 24,
    Malformed = 25,
    UnknownSession = 26,
    BindingMismatch = 27,
    NoSession = 28,
    StoreUnavailable = 29,
    Busy = 30,
}

impl Rule {
    /// Every rule, in declaration order.
    pub const ALL: [Rule; 20] = [
        Rule::Fresh,
        Rule::Current,
        Rule::ConcurrentInGrace,
        Rule::LostResponse,
        Rule::CookieJarBehind,
        Rule::StoreBehind,
        Rule::Cached,
        Rule::Anonymous,
        Rule::NewAnonymous,
        Rule::Reuse,
        Rule::GraceExhausted,
        Rule::Revoked,
        Rule::Expired,
        Rule::Forged,
        Rule::Malformed,
        Rule::UnknownSession,
        Rule::BindingMismatch,
        Rule::NoSession,
        Rule::StoreUnavailable,
        Rule::Busy,
    ];

    /// The snake_case name used in logs and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Rule::Fresh => "fresh",
            Rule::Current => "current",
            Rule::ConcurrentInGrace => "concurrent_in_grace",
            Rule::LostResponse => "lost_response",
            Rule::CookieJarBehind => "cookie_jar_behind",
            Rule::StoreBehind => "store_behind",
            Rule::Cached => "cached",
            Rule::Anonymous => "anonymous",
            Rule::NewAnonymous => "new_anonymous",
            Rule::Reuse => "reuse",
            Rule::GraceExhausted => "grace_exhausted",
            Rule::Revoked => "revoked",
            Rule::Expired => "expired",
            Rule::Forged => "forged",
            Rule::Malformed => "malformed",
            Rule::UnknownSession => "unknown_session",
            Rule::BindingMismatch => "binding_mismatch",
            Rule::NoSession => "no_session",
            Rule::StoreUnavailable => "store_unavailable",
            Rule::Busy => "busy",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Verdict {
    /// The rule, without details.
    pub const fn rule(&self) -> Rule {
        match self {
            Verdict::Fresh => Rule::Fresh,
            Verdict::Current => Rule::Current,
            Verdict::ConcurrentInGrace { .. } => Rule::ConcurrentInGrace,
            Verdict::LostResponse => Rule::LostResponse,
            Verdict::CookieJarBehind => Rule::CookieJarBehind,
            Verdict::StoreBehind { .. } => Rule::StoreBehind,
            Verdict::Cached => Rule::Cached,
            Verdict::Anonymous => Rule::Anonymous,
            Verdict::NewAnonymous => Rule::NewAnonymous,
            Verdict::Reuse { .. } => Rule::Reuse,
            Verdict::GraceExhausted => Rule::GraceExhausted,
            Verdict::Revoked(_) => Rule::Revoked,
            Verdict::Expired(_) => Rule::Expired,
            Verdict::Forged => Rule::Forged,
            Verdict::Malformed(_) => Rule::Malformed,
            Verdict::UnknownSession => Rule::UnknownSession,
            Verdict::BindingMismatch => Rule::BindingMismatch,
            Verdict::NoSession => Rule::NoSession,
            Verdict::StoreUnavailable => Rule::StoreUnavailable,
            Verdict::Busy => Rule::Busy,
        }
    }

    /// True when the request may proceed as the session.
    pub const fn proceeds(&self) -> bool {
        (self.rule() as u8) < 20
    }

    /// True when the response must clear the cookie: the session is over for every holder,
    /// or the cookie can never work. Grace paths, contention, outages and binding mismatches
    /// never clear it: a request that lost a race must not delete the winner's cookie.
    pub const fn clears_cookie(&self) -> bool {
        matches!(
            self,
            Verdict::Reuse { .. }
                | Verdict::Revoked(_)
                | Verdict::Expired(_)
                | Verdict::Forged
                | Verdict::Malformed(_)
                | Verdict::UnknownSession
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;
    use crate::policy::{BindingPolicy, Mode};
    use crate::record::RecordError;
    use crate::token::Form;

    fn names_are_distinct_snake_case<T: Copy>(all: &[T], name: fn(T) -> &'static str) {
        for (i, a) in all.iter().enumerate() {
            let n = name(*a);
            assert!(
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{n}"
            );
            assert!(
                all.iter().skip(i + 1).all(|b| name(*b) != n),
                "duplicate name {n}"
            );
        }
    }

    #[test]
    fn every_enum_has_distinct_stable_names() {
        names_are_distinct_snake_case(&Rule::ALL, Rule::name);
        names_are_distinct_snake_case(&Expiry::ALL, Expiry::name);
        names_are_distinct_snake_case(&RevokeReason::ALL, RevokeReason::name);
        names_are_distinct_snake_case(&TokenError::ALL, TokenError::name);
        names_are_distinct_snake_case(&RecordError::ALL, RecordError::name);
        names_are_distinct_snake_case(&Form::ALL, Form::name);
        names_are_distinct_snake_case(&Mode::ALL, Mode::name);
        names_are_distinct_snake_case(&BindingPolicy::ALL, BindingPolicy::name);
        assert_eq!(Rule::Reuse.name(), "reuse");
        assert_eq!(TokenError::BadTag.name(), "bad_tag");
    }

    #[test]
    fn grace_paths_never_clear_and_refusals_never_proceed() {
        let all = [
            Verdict::Fresh,
            Verdict::Current,
            Verdict::ConcurrentInGrace { behind: 1 },
            Verdict::LostResponse,
            Verdict::CookieJarBehind,
            Verdict::StoreBehind { ahead: 1 },
            Verdict::Cached,
            Verdict::Anonymous,
            Verdict::NewAnonymous,
            Verdict::Reuse {
                presented: Some(1),
                current: 3,
            },
            Verdict::GraceExhausted,
            Verdict::Revoked(RevokeReason::Logout),
            Verdict::Expired(Expiry::Idle),
            Verdict::Forged,
            Verdict::Malformed(TokenError::Empty),
            Verdict::UnknownSession,
            Verdict::BindingMismatch,
            Verdict::NoSession,
            Verdict::StoreUnavailable,
            Verdict::Busy,
        ];
        let mut names = [""; 20];
        for (v, slot) in all.iter().zip(names.iter_mut()) {
            assert!(!(v.proceeds() && v.clears_cookie()), "{v:?}");
            *slot = v.rule().name();
        }
        for v in [
            Verdict::GraceExhausted,
            Verdict::Busy,
            Verdict::StoreUnavailable,
            Verdict::BindingMismatch,
        ] {
            assert!(!v.proceeds() && !v.clears_cookie());
        }
        assert_eq!(all.iter().filter(|v| v.proceeds()).count(), 9);
        for (v, rule) in all.iter().zip(Rule::ALL) {
            assert_eq!(v.rule(), rule, "Rule::ALL follows declaration order");
        }
        for (i, a) in names.iter().enumerate() {
            assert!(
                names.iter().skip(i + 1).all(|b| a != b),
                "duplicate rule name {a}"
            );
        }
    }
}
