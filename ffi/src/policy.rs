//! `rt_policy`: every tunable, as a plain struct of integers (no C enum may carry an invalid
//! value into Rust).

use rolltoken::policy::{BindingPolicy, Grace, Mode, Policy};
use rolltoken::token::Form;

use crate::boundary::{guard, put};
use crate::status::rt_status;

/// Strict mode: every authenticated request consults the store.
pub const RT_MODE_STRICT: u8 = 0;
/// Cached mode: fresh full tokens are trusted without the store.
pub const RT_MODE_CACHED: u8 = 1;
/// Full tokens (self-contained claims).
pub const RT_FORM_FULL: u8 = 0;
/// Compact tokens (session id and tag; the store holds the rest).
pub const RT_FORM_COMPACT: u8 = 1;
/// A fixed grace window of `grace_ms`.
pub const RT_GRACE_FIXED: u8 = 0;
/// An adaptive grace window between `grace_min_ms` and `grace_max_ms`.
pub const RT_GRACE_ADAPTIVE: u8 = 1;
/// The binding is evidence and a cache key only (default).
pub const RT_BINDING_EVIDENCE: u8 = 0;
/// Refuse requests whose user agent differs from the session's.
pub const RT_BINDING_REQUIRE_USER_AGENT: u8 = 1;
/// Refuse requests whose user agent or address prefix differs.
pub const RT_BINDING_REQUIRE_FULL: u8 = 2;

/// The policy of an rt_sessions. Fill it with rt_policy_default or rt_policy_cached, then
/// change fields. Plain data: copy it freely.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rt_policy {
    /// RT_MODE_STRICT or RT_MODE_CACHED.
    pub mode: u8,
    /// RT_FORM_FULL or RT_FORM_COMPACT (cached mode needs full).
    pub form: u8,
    /// Mint anonymous sessions for visitors without a valid cookie.
    pub anonymous: bool,
    /// RT_GRACE_FIXED or RT_GRACE_ADAPTIVE.
    pub grace_kind: u8,
    /// Fixed grace window (ms).
    pub grace_ms: u32,
    /// Adaptive grace minimum (ms).
    pub grace_min_ms: u32,
    /// Adaptive grace maximum (ms).
    pub grace_max_ms: u32,
    /// Most counters the accepted stale range may span (1..=255).
    pub span_cap: u8,
    /// Most grace answers per step (>= 1).
    pub answer_cap: u8,
    /// Rule 3: re-issue the current token to the client of the last advance when behind.
    pub reissue_one_behind: bool,
    /// RT_BINDING_EVIDENCE, RT_BINDING_REQUIRE_USER_AGENT or RT_BINDING_REQUIRE_FULL.
    pub binding: u8,
    /// Rule 3, cookie jar behind: how recent the last advance must be (ms).
    pub jar_behind_ms: u64,
    /// Cached mode: how long a full token is trusted without the store (ms).
    pub fresh_ms: u64,
    /// Absolute lifetime of an authenticated session (ms).
    pub session_lifetime_ms: u64,
    /// Idle timeout of an authenticated session (ms).
    pub idle_timeout_ms: u64,
    /// Lifetime of an anonymous session token (ms).
    pub anonymous_lifetime_ms: u64,
}

impl From<&Policy> for rt_policy {
    fn from(p: &Policy) -> Self {
        let (grace_kind, grace_ms, grace_min_ms, grace_max_ms) = match p.grace {
            Grace::Fixed { ms } => (RT_GRACE_FIXED, ms, 0, 0),
            Grace::Adaptive { min_ms, max_ms } => (RT_GRACE_ADAPTIVE, 0, min_ms, max_ms),
        };
        rt_policy {
            mode: match p.mode {
                Mode::Strict => RT_MODE_STRICT,
                Mode::Cached => RT_MODE_CACHED,
            },
            form: match p.form {
                Form::Full => RT_FORM_FULL,
                Form::Compact => RT_FORM_COMPACT,
            },
            anonymous: p.anonymous,
            grace_kind,
            grace_ms,
            grace_min_ms,
            grace_max_ms,
            span_cap: p.span_cap,
            answer_cap: p.answer_cap,
            reissue_one_behind: p.reissue_one_behind,
            binding: match p.binding {
                BindingPolicy::Evidence => RT_BINDING_EVIDENCE,
                BindingPolicy::RequireUserAgent => RT_BINDING_REQUIRE_USER_AGENT,
                BindingPolicy::RequireFull => RT_BINDING_REQUIRE_FULL,
            },
            jar_behind_ms: p.jar_behind_ms,
            fresh_ms: p.fresh_ms,
            session_lifetime_ms: p.session_lifetime_ms,
            idle_timeout_ms: p.idle_timeout_ms,
            anonymous_lifetime_ms: p.anonymous_lifetime_ms,
        }
    }
}

impl rt_policy {
    /// The core policy, with every enum value and the combination checked.
    pub(crate) fn to_core(self) -> Result<Policy, rt_status> {
        let bad = rt_status::InvalidArgument;
        let policy = Policy {
            mode: match self.mode {
                RT_MODE_STRICT => Mode::Strict,
                RT_MODE_CACHED => Mode::Cached,
                _ => return Err(bad),
            },
            form: match self.form {
                RT_FORM_FULL => Form::Full,
                RT_FORM_COMPACT => Form::Compact,
                _ => return Err(bad),
            },
            anonymous: self.anonymous,
            grace: match self.grace_kind {
                RT_GRACE_FIXED => Grace::Fixed { ms: self.grace_ms },
                RT_GRACE_ADAPTIVE => Grace::Adaptive {
                    min_ms: self.grace_min_ms,
                    max_ms: self.grace_max_ms,
                },
                _ => return Err(bad),
            },
            span_cap: self.span_cap,
            answer_cap: self.answer_cap,
            reissue_one_behind: self.reissue_one_behind,
            jar_behind_ms: self.jar_behind_ms,
            binding: match self.binding {
                RT_BINDING_EVIDENCE => BindingPolicy::Evidence,
                RT_BINDING_REQUIRE_USER_AGENT => BindingPolicy::RequireUserAgent,
                RT_BINDING_REQUIRE_FULL => BindingPolicy::RequireFull,
                _ => return Err(bad),
            },
            fresh_ms: self.fresh_ms,
            session_lifetime_ms: self.session_lifetime_ms,
            idle_timeout_ms: self.idle_timeout_ms,
            anonymous_lifetime_ms: self.anonymous_lifetime_ms,
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// Fills `*out` with the default policy: strict mode, compact tokens, anonymous sessions,
/// grace 10 s fixed, span cap 8, answer cap 16.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_policy_default(out: *mut rt_policy) -> rt_status {
    // SAFETY: `put` checks NULL; the caller passes a writable rt_policy.
    guard(|| unsafe { put(out, rt_policy::from(&Policy::default())) })
}

/// Fills `*out` with the default cached-mode policy: full tokens trusted without the store
/// for 15 minutes.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_policy_cached(out: *mut rt_policy) -> rt_status {
    // SAFETY: as in rt_policy_default.
    guard(|| unsafe { put(out, rt_policy::from(&Policy::cached())) })
}
