//! Every tunable of the rolling rules and the request façade, with the defaults of the
//! design (grace 10 s, span cap 8, grace-answer cap 16, fresh window 15 minutes).

use crate::token::Form;

/// How long stale tokens are accepted after the chain moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grace {
    /// A fixed window.
    Fixed {
        /// Window length in ms.
        ms: u32,
    },
    /// Twice the lateness this session has shown for stale arrivals, clamped to
    /// `min_ms..=max_ms`: the window follows the client's real propagation delay.
    Adaptive {
        /// The safe minimum (ms).
        min_ms: u32,
        /// The maximum (ms).
        max_ms: u32,
    },
}

/// What the binding hash (user agent, address prefix) is allowed to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingPolicy {
    /// Default: evidence and a cache key. A mismatch only sends a cached-mode request through
    /// the store; it never refuses a request or clears a cookie by itself.
    Evidence,
    /// Refuse (without revoking or clearing) a request whose user agent part differs from the
    /// session's last advancing request (store path) or from the token (cache path).
    RequireUserAgent,
    /// As `RequireUserAgent`, for both parts. Logs users out on Wi-Fi to LTE moves.
    RequireFull,
}

impl BindingPolicy {
    /// Every variant, in declaration order.
    pub const ALL: [BindingPolicy; 3] = [
        BindingPolicy::Evidence,
        BindingPolicy::RequireUserAgent,
        BindingPolicy::RequireFull,
    ];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            BindingPolicy::Evidence => "evidence",
            BindingPolicy::RequireUserAgent => "require_user_agent",
            BindingPolicy::RequireFull => "require_full",
        }
    }
}

/// Where authenticated requests are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every authenticated request consults the store.
    Strict,
    /// A full token inside its fresh window, with a matching binding and not on the deny list,
    /// is trusted without the store; after the window it is revalidated (and rolled).
    Cached,
}

impl Mode {
    /// Every variant, in declaration order.
    pub const ALL: [Mode; 2] = [Mode::Strict, Mode::Cached];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::Cached => "cached",
        }
    }
}

/// The complete policy of a [`Sessions`](crate::sessions::Sessions) façade and of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Strict or cached.
    pub mode: Mode,
    /// Token form for authenticated sessions. Cached mode always uses full tokens.
    pub form: Form,
    /// Mint anonymous sessions for visitors without a valid cookie.
    pub anonymous: bool,
    /// Grace window policy.
    pub grace: Grace,
    /// The most counters the accepted stale range may span (`counter - floor`), 1..=255.
    pub span_cap: u8,
    /// The most grace answers (re-issues of the current token) per step.
    pub answer_cap: u8,
    /// Rule 3: after the window, re-issue the current token to the client of the last advance
    /// (same full binding) when it comes back behind: one step behind with the current token
    /// never presented (its response was lost), or anywhere in `floor..c` within
    /// `jar_behind_ms` of the last advance (its cookie jar went back). Off: all of it is reuse.
    pub reissue_one_behind: bool,
    /// Rule 3, cookie jar behind: how recent the last advance must be (ms).
    pub jar_behind_ms: u64,
    /// What the binding may decide.
    pub binding: BindingPolicy,
    /// Cached mode: how long a full token is trusted without the store (ms).
    pub fresh_ms: u64,
    /// Absolute lifetime of an authenticated session (ms).
    pub session_lifetime_ms: u64,
    /// Idle timeout of an authenticated session (ms).
    pub idle_timeout_ms: u64,
    /// Lifetime of an anonymous session token (ms).
    pub anonymous_lifetime_ms: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Strict,
            form: Form::Compact,
            anonymous: true,
            grace: Grace::Fixed { ms: 10_000 },
            span_cap: 8,
            answer_cap: 16,
            reissue_one_behind: true,
            jar_behind_ms: 30 * 60 * 1000,
            binding: BindingPolicy::Evidence,
            fresh_ms: 15 * 60 * 1000,
            session_lifetime_ms: 12 * 60 * 60 * 1000,
            idle_timeout_ms: 30 * 60 * 1000,
            anonymous_lifetime_ms: 24 * 60 * 60 * 1000,
        }
    }
}

/// Why a policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    /// `span_cap` must be at least 1.
    SpanCap,
    /// `answer_cap` must be at least 1.
    AnswerCap,
    /// Adaptive grace needs `0 < min_ms <= max_ms`; a fixed grace must be positive.
    Grace,
    /// Lifetimes and the idle timeout must be positive, and the idle timeout no longer than
    /// the lifetime.
    Lifetime,
    /// Cached mode needs full tokens and a fresh window shorter than the idle timeout (so an
    /// active client always revalidates before it could idle out).
    Cached,
}

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PolicyError::SpanCap => "span_cap must be at least 1",
            PolicyError::AnswerCap => "answer_cap must be at least 1",
            PolicyError::Grace => "grace must be positive (and min <= max when adaptive)",
            PolicyError::Lifetime => "lifetimes must be positive and idle timeout <= lifetime",
            PolicyError::Cached => "cached mode needs full tokens and fresh window < idle timeout",
        })
    }
}

impl Policy {
    /// The default policy in cached mode: full tokens trusted for 15 minutes.
    pub fn cached() -> Policy {
        Policy {
            mode: Mode::Cached,
            form: Form::Full,
            ..Policy::default()
        }
    }

    /// Checks that the values make sense together.
    ///
    /// # Errors
    /// The first [`PolicyError`] found.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.span_cap == 0 {
            return Err(PolicyError::SpanCap);
        }
        if self.answer_cap == 0 {
            return Err(PolicyError::AnswerCap);
        }
        match self.grace {
            Grace::Fixed { ms: 0 } => return Err(PolicyError::Grace),
            Grace::Adaptive { min_ms, max_ms } if min_ms == 0 || min_ms > max_ms => {
                return Err(PolicyError::Grace);
            }
            _ => {}
        }
        if self.session_lifetime_ms == 0
            || self.idle_timeout_ms == 0
            || self.anonymous_lifetime_ms == 0
            || self.idle_timeout_ms > self.session_lifetime_ms
        {
            return Err(PolicyError::Lifetime);
        }
        if self.mode == Mode::Cached
            && (self.form != Form::Full || self.fresh_ms >= self.idle_timeout_ms)
        {
            return Err(PolicyError::Cached);
        }
        Ok(())
    }

    /// The most lateness worth remembering: what makes the adaptive window its maximum.
    pub fn lateness_cap_ms(&self) -> u32 {
        match self.grace {
            Grace::Fixed { .. } => 0,
            Grace::Adaptive { max_ms, .. } => max_ms.div_ceil(2),
        }
    }

    /// The grace window for a session that has shown `lateness_ms` of lateness.
    pub fn grace_ms(&self, lateness_ms: u32) -> u64 {
        match self.grace {
            Grace::Fixed { ms } => u64::from(ms),
            Grace::Adaptive { min_ms, max_ms } => u64::from(
                lateness_ms
                    .saturating_mul(2)
                    .clamp(min_ms, max_ms.max(min_ms)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_checked() {
        assert_eq!(Policy::default().validate(), Ok(()));
        assert_eq!(Policy::cached().validate(), Ok(()));
        assert_eq!(
            Policy {
                span_cap: 0,
                ..Policy::default()
            }
            .validate(),
            Err(PolicyError::SpanCap)
        );
        assert_eq!(
            Policy {
                answer_cap: 0,
                ..Policy::default()
            }
            .validate(),
            Err(PolicyError::AnswerCap)
        );
        let bad_grace = Grace::Adaptive {
            min_ms: 10,
            max_ms: 5,
        };
        assert_eq!(
            Policy {
                grace: bad_grace,
                ..Policy::default()
            }
            .validate(),
            Err(PolicyError::Grace)
        );
        assert_eq!(
            Policy {
                grace: Grace::Fixed { ms: 0 },
                ..Policy::default()
            }
            .validate(),
            Err(PolicyError::Grace)
        );
        let idle_long = Policy {
            idle_timeout_ms: u64::MAX,
            ..Policy::default()
        };
        assert_eq!(idle_long.validate(), Err(PolicyError::Lifetime));
        let compact_cached = Policy {
            form: Form::Compact,
            ..Policy::cached()
        };
        assert_eq!(compact_cached.validate(), Err(PolicyError::Cached));
    }

    #[test]
    fn adaptive_grace_follows_lateness_within_bounds() {
        let p = Policy {
            grace: Grace::Adaptive {
                min_ms: 5_000,
                max_ms: 60_000,
            },
            ..Policy::default()
        };
        assert_eq!(p.grace_ms(0), 5_000);
        assert_eq!(p.grace_ms(4_000), 8_000);
        assert_eq!(p.grace_ms(u32::MAX), 60_000);
        assert_eq!(Policy::default().grace_ms(123_456), 10_000);
    }
}
