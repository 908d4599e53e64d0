//! `rt_sessions`: the request façade, with its built-in memory store, and the store-free calls
//! for C and Go servers that keep records in their own database.

use std::ffi::c_char;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rolltoken::engine::Kind;
use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::record::{Record, RevokeReason};
use rolltoken::sessions::{Finish, Outcome, Request, SessionView, Sessions, Step};
use rolltoken::store::{MemoryDenyList, MemoryStore, Store, StoreError};
use rolltoken::token::{SessionId, Subject, TokenError};
use rolltoken::verdict::{Expiry, Verdict};

use crate::boundary::{self, OutBuf, guard, need, put};
use crate::keyring::rt_keyring;
use crate::policy::rt_policy;
use crate::status::rt_status;
use crate::{
    RT_DENY_LIST_CAPACITY, RT_LOG_ID_LEN, RT_MAX_TOKEN_LEN, RT_MEMORY_STORE_CAPACITY, RT_RECORD_LEN,
};

/// A page load: rolls the token.
pub const RT_KIND_ADVANCE: u8 = 0;
/// Any other request: verifies without rolling.
pub const RT_KIND_READ: u8 = 1;

/// rt_sessions_finish: answer now (nothing to save).
pub const RT_NEXT_DONE: u8 = 0;
/// rt_sessions_finish: save `record_out` if the stored version is still `expected_version`,
/// then answer; on a conflict, load again and call rt_sessions_finish again.
pub const RT_NEXT_SAVE: u8 = 1;
/// rt_sessions_finish: the token is ahead of this copy of the store; load from the primary
/// and call rt_sessions_finish again with `from_primary` set.
pub const RT_NEXT_LOAD_PRIMARY: u8 = 2;

/// Revocation reason: the user logged out.
pub const RT_REVOKE_LOGOUT: u8 = 1;
/// Revocation reason: a token was used out of sequence.
pub const RT_REVOKE_REUSE: u8 = 2;
/// Revocation reason: replaced by a new session at login.
pub const RT_REVOKE_UPGRADED_AT_LOGIN: u8 = 3;
/// Revocation reason: revoked by the application (e.g. revoke all).
pub const RT_REVOKE_ADMIN: u8 = 4;

type Inner = Sessions<
    Arc<Keyring>,
    MemoryStore<RT_MEMORY_STORE_CAPACITY>,
    MemoryDenyList<RT_DENY_LIST_CAPACITY>,
>;

/// The request façade over a keyring, a policy, a fixed-capacity memory store
/// (RT_MEMORY_STORE_CAPACITY sessions) and a deny list (RT_DENY_LIST_CAPACITY ids).
///
/// **Ownership:** created by rt_sessions_new, freed by rt_sessions_free; it keeps its own
/// reference to the keyring.
/// **Thread safety:** every call locks the handle, so it may be shared by any number of
/// threads; calls on one handle run one at a time. Use one handle per process: the memory
/// store and the deny list are this handle's own.
#[derive(Debug)]
pub struct rt_sessions {
    inner: Mutex<Inner>,
}

impl rt_sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while locked cannot leave the façade half-updated (the core never panics
        // and its state changes are single assignments), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The answer to one request. Plain data, written by the rt_sessions_* calls.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rt_outcome {
    /// Serve the request as this session (else refuse it).
    pub proceed: bool,
    /// The rule that decided, as a code; rt_rule_name() names it ("fresh", "reuse", ...).
    pub rule: u8,
    /// Refused: clear the cookie in the response (never for races, contention or outages).
    pub clear_cookie: bool,
    /// A token was written to the token buffer: send it as the cookie.
    pub has_token: bool,
    /// The request's user agent matched the session's last advancing request.
    pub binding_user_agent: bool,
    /// The request's address prefix matched the session's last advancing request.
    pub binding_ip: bool,
    /// rule "revoked": the RT_REVOKE_* reason; "expired": 1 absolute, 2 idle, 3 counter
    /// exhausted; "malformed": 1 + the token error (rt_status - 200). Else 0.
    pub detail: u8,
    /// rule "reuse": the presented counter is known (a compact token that matched nothing
    /// has none).
    pub has_presented: bool,
    /// rule "concurrent_in_grace": steps behind; "store_behind": steps ahead.
    pub steps: u64,
    /// rule "reuse": the presented counter.
    pub presented: u64,
    /// rule "reuse": the current counter.
    pub current: u64,
    /// A session is known: `session_id` and `log_id` are set.
    pub has_session: bool,
    /// The session id (proceed, or the one a refused cookie named).
    pub session_id: [u8; 16],
    /// The session's log id: 16 hex characters and a NUL. Log this, never the token.
    pub log_id: [c_char; 17],
    /// Proceed: the subject (all zero for anonymous sessions).
    pub subject: [u8; 16],
    /// Proceed: a subject has logged in.
    pub authenticated: bool,
    /// Proceed: the counter of the newest token.
    pub counter: u64,
    /// Proceed: `parent` is set (the anonymous session this one replaced at login).
    pub has_parent: bool,
    /// Proceed: the parent session id.
    pub parent: [u8; 16],
    /// Proceed: absolute expiry (ms).
    pub expires_at: u64,
    /// Proceed: seconds until expiry, rounded up: the cookie's Max-Age.
    pub max_age_secs: u64,
    /// When the request was decided (ms).
    pub at_ms: u64,
}

impl rt_outcome {
    fn empty(now: u64) -> rt_outcome {
        rt_outcome {
            proceed: false,
            rule: 0,
            clear_cookie: false,
            has_token: false,
            binding_user_agent: false,
            binding_ip: false,
            detail: 0,
            has_presented: false,
            steps: 0,
            presented: 0,
            current: 0,
            has_session: false,
            session_id: [0; 16],
            log_id: [0; 17],
            subject: [0; 16],
            authenticated: false,
            counter: 0,
            has_parent: false,
            parent: [0; 16],
            expires_at: 0,
            max_age_secs: 0,
            at_ms: now,
        }
    }

    fn set_session(&mut self, sid: &SessionId) {
        self.set_session_logged(sid, &rolltoken::log_id(sid));
    }

    /// As `set_session`, with the log id the core already computed (no second hash).
    fn set_session_logged(&mut self, sid: &SessionId, id: &rolltoken::LogId) {
        self.has_session = true;
        self.session_id = sid.0;
        for (dst, src) in self
            .log_id
            .iter_mut()
            .zip(id.as_str().bytes().take(RT_LOG_ID_LEN))
        {
            *dst = src as c_char;
        }
    }

    fn set_verdict(&mut self, v: &Verdict) {
        self.rule = v.rule() as u8;
        match *v {
            Verdict::ConcurrentInGrace { behind } => self.steps = behind,
            Verdict::StoreBehind { ahead } => self.steps = ahead,
            Verdict::Reuse { presented, current } => {
                self.has_presented = presented.is_some();
                self.presented = presented.unwrap_or(0);
                self.current = current;
            }
            Verdict::Revoked(r) => self.detail = code(&RevokeReason::ALL, r),
            Verdict::Expired(e) => self.detail = code(&Expiry::ALL, e),
            Verdict::Malformed(e) => self.detail = code(&TokenError::ALL, e),
            _ => {}
        }
    }

    /// The engine's decision, with the view of the session after it.
    pub(crate) fn from_decision(
        d: &rolltoken::engine::Decision,
        after: &Record,
        now: u64,
    ) -> rt_outcome {
        let mut out = rt_outcome::empty(now);
        out.proceed = d.verdict.proceeds();
        out.set_verdict(&d.verdict);
        out.clear_cookie = d.verdict.clears_cookie();
        out.has_token = d.token.is_some();
        out.binding_user_agent = d.binding.user_agent;
        out.binding_ip = d.binding.ip;
        let view = SessionView::of_record(after);
        out.set_session_logged(&view.session_id, &view.log_id);
        out.subject = view.subject.0;
        out.authenticated = view.authenticated;
        out.counter = view.counter;
        out.has_parent = view.parent.is_some();
        out.parent = view.parent.unwrap_or_default().0;
        out.expires_at = view.expires_at;
        out.max_age_secs = view.max_age_secs(now);
        out
    }

    fn from_outcome(o: &Outcome, now: u64) -> rt_outcome {
        let mut out = rt_outcome::empty(now);
        out.fill(o);
        out
    }

    /// Writes `o` over an empty outcome, in place (no 200-byte copy of a finished struct).
    fn fill(&mut self, o: &Outcome) {
        let now = self.at_ms;
        let out = self;
        match o {
            Outcome::Proceed {
                view,
                token,
                verdict,
                binding,
            } => {
                out.proceed = true;
                out.set_verdict(verdict);
                out.has_token = token.is_some();
                out.binding_user_agent = binding.user_agent;
                out.binding_ip = binding.ip;
                out.set_session_logged(&view.session_id, &view.log_id);
                out.subject = view.subject.0;
                out.authenticated = view.authenticated;
                out.counter = view.counter;
                out.has_parent = view.parent.is_some();
                out.parent = view.parent.unwrap_or_default().0;
                out.expires_at = view.expires_at;
                out.max_age_secs = view.max_age_secs(now);
            }
            Outcome::Reject {
                verdict,
                clear_cookie,
                event,
            } => {
                match (&event.session_id, &event.log_id) {
                    (Some(sid), Some(id)) => out.set_session_logged(sid, id),
                    (Some(sid), None) => out.set_session(sid),
                    _ => {}
                }
                out.set_verdict(verdict);
                out.clear_cookie = *clear_cookie;
                out.binding_user_agent = event.binding.user_agent;
                out.binding_ip = event.binding.ip;
                out.at_ms = event.at_ms;
            }
        }
    }
}

/// 1 + the position of `x` in `all` (0 when absent).
fn code<T: PartialEq + Copy>(all: &[T], x: T) -> u8 {
    all.iter()
        .position(|a| *a == x)
        .and_then(|i| u8::try_from(i + 1).ok())
        .unwrap_or(0)
}

/// A request's inputs, checked.
struct Req<'a> {
    /// False when the caller passed NULL for the new session id.
    id_given: bool,
    cookie: Option<&'a [u8]>,
    kind: Kind,
    now: u64,
    user_agent: &'a [u8],
    ip: Option<IpAddr>,
    new_id: [u8; 16],
}

impl Req<'_> {
    fn with<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let binding = BindingInput::new(self.user_agent, self.ip);
        f(&Request {
            cookie: self.cookie,
            kind: self.kind,
            now_ms: self.now,
            binding: &binding,
            new_session_id: self.new_id,
        })
    }
}

pub(crate) fn kind(k: u8) -> Result<Kind, rt_status> {
    match k {
        RT_KIND_ADVANCE => Ok(Kind::Advance),
        RT_KIND_READ => Ok(Kind::Read),
        _ => Err(rt_status::InvalidArgument),
    }
}

/// Parses an address given as text ("192.0.2.1", "2001:db8::1"); empty means none.
pub(crate) fn parse_ip(text: &[u8]) -> Result<Option<IpAddr>, rt_status> {
    if text.is_empty() {
        return Ok(None);
    }
    match rolltoken::addr::parse_ip(text) {
        Some(ip) => Ok(Some(ip)),
        None if std::str::from_utf8(text).is_err() => Err(rt_status::InvalidUtf8),
        None => Err(rt_status::InvalidArgument),
    }
}

/// # Safety
/// Every (pointer, length) pair is readable; `new_id` is NULL or points to 16 bytes.
#[allow(clippy::too_many_arguments)]
unsafe fn req<'a>(
    cookie: *const u8,
    cookie_len: usize,
    kind_code: u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip_text: *const u8,
    ip_len: usize,
    new_id: *const u8,
) -> Result<Req<'a>, rt_status> {
    // SAFETY: the caller's contract covers each pair.
    let cookie = unsafe { boundary::bytes(cookie, cookie_len) }?;
    // SAFETY: as above.
    let user_agent = unsafe { boundary::bytes(user_agent, user_agent_len) }?;
    // SAFETY: as above.
    let ip_text = unsafe { boundary::bytes(ip_text, ip_len) }?;
    let id_given = !new_id.is_null();
    let new_id = if new_id.is_null() {
        [0; 16]
    } else {
        // SAFETY: non-NULL points to 16 bytes by contract.
        unsafe { boundary::array::<16>(new_id) }?
    };
    Ok(Req {
        id_given,
        cookie: (!cookie.is_empty()).then_some(cookie),
        kind: kind(kind_code)?,
        now: now_ms,
        user_agent,
        ip: parse_ip(ip_text)?,
        new_id,
    })
}

/// # Safety
/// `s` is NULL or a live rt_sessions.
unsafe fn handle<'a>(s: *const rt_sessions) -> Result<&'a rt_sessions, rt_status> {
    // SAFETY: by contract a live handle from rt_sessions_new, or NULL.
    unsafe { s.as_ref() }.ok_or(rt_status::NullParameter)
}

/// A new anonymous session needs the caller's random id: refuse to mint one from NULL (every
/// visitor would share the all-zero id). Anonymous sessions are not stored, so refusing here
/// changes no state.
fn check_new_id(r: &Req<'_>, o: &Outcome) -> Result<(), rt_status> {
    if !r.id_given && o.verdict() == Verdict::NewAnonymous {
        return Err(rt_status::NullParameter);
    }
    Ok(())
}

/// Writes an outcome and its token (the buffer was checked up front).
///
/// # Safety
/// `out` is writable; `token` was checked by OutBuf::new.
unsafe fn emit(
    o: &Outcome,
    now: u64,
    out: *mut rt_outcome,
    token: &OutBuf,
) -> Result<(), rt_status> {
    if let Outcome::Proceed { token: Some(t), .. } = o {
        // SAFETY: checked for RT_MAX_TOKEN_LEN bytes; a token is at most that long.
        unsafe { token.write(t.as_bytes()) };
    }
    if out.is_null() {
        return Err(rt_status::NullParameter);
    }
    // SAFETY: non-NULL (checked by the caller via `need`, and here) and, by contract,
    // writable; the empty outcome is written first, so `fill` reads initialised memory.
    unsafe {
        out.write(rt_outcome::empty(now));
        (*out).fill(o);
    }
    Ok(())
}

/// Creates a façade over `keyring` and `policy` with an empty memory store. On success
/// `*out` owns it.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_INVALID_ARGUMENT` (an unknown enum value in the
/// policy), `RT_STATUS_POLICY_INVALID`.
///
/// # Safety
/// `keyring` is a live rt_keyring; `policy` points to an rt_policy; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_new(
    keyring: *const rt_keyring,
    policy: *const rt_policy,
    out: *mut *mut rt_sessions,
) -> rt_status {
    guard(|| {
        need(out)?;
        // SAFETY: by contract a live keyring or NULL.
        let keys = unsafe { keyring.as_ref() }.ok_or(rt_status::NullParameter)?;
        // SAFETY: by contract an rt_policy or NULL.
        let policy = unsafe { policy.as_ref() }
            .ok_or(rt_status::NullParameter)?
            .to_core()?;
        let inner = Sessions::new(
            Arc::clone(&keys.keys),
            policy,
            MemoryStore::new(),
            MemoryDenyList::new(),
        )?;
        let handle = Box::new(rt_sessions {
            inner: Mutex::new(inner),
        });
        // SAFETY: checked non-NULL.
        unsafe { put(out, Box::into_raw(handle)) }
    })
}

/// Frees a façade and its memory store (NULL: nothing happens).
///
/// # Safety
/// `sessions` comes from rt_sessions_new, no call on it is running, and it is not used
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_free(sessions: *mut rt_sessions) {
    if !sessions.is_null() {
        // SAFETY: by contract from Box::into_raw in rt_sessions_new, freed once.
        drop(unsafe { Box::from_raw(sessions) });
    }
}

/// Decides one request through the built-in memory store (load, decide, compare-and-swap
/// save). `cookie` is the session cookie's value (NULL/0: none), `kind` RT_KIND_ADVANCE or
/// RT_KIND_READ, `user_agent` the User-Agent header, `ip` the client address as text (NULL/0:
/// unknown), `new_session_id` 16 fresh random bytes (used only to start an anonymous
/// session; NULL is fine when anonymous sessions are off, and RT_STATUS_NULL_PARAMETER when
/// one would be started). `token_out` needs
/// RT_MAX_TOKEN_LEN bytes; when `out->has_token` the token is written there: send it as the
/// cookie (rt_set_cookie_write).
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_INVALID_ARGUMENT`
/// (kind, address), `RT_STATUS_INVALID_UTF8` (address). Refusals are not errors: they are
/// `out->proceed == false` with the rule.
///
/// # Safety
/// Every (pointer, length) pair is readable, `out` writable, `token_out` writable for
/// `token_out_cap` bytes, `token_out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_handle(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    kind: u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    new_session_id: *const u8,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
) -> rt_status {
    guard(|| {
        need(out)?;
        let token = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let r = unsafe {
            req(
                cookie,
                cookie_len,
                kind,
                now_ms,
                user_agent,
                user_agent_len,
                ip,
                ip_len,
                new_session_id,
            )
        }?;
        let o = r.with(|request| s.lock().handle(request));
        check_new_id(&r, &o)?;
        // SAFETY: checked above.
        unsafe { emit(&o, r.now, out, &token) }
    })
}

/// The store-free first half of a request, for servers with their own database: parsing,
/// anonymous sessions, cached mode's fresh window. Arguments as rt_sessions_handle. When
/// `*needs_record` is false, `*out` (and maybe a token) is the answer. When true, load the
/// record of `session_id_out` (16 bytes) from your database and call rt_sessions_finish with
/// the same request.
///
/// # Errors
/// As rt_sessions_handle.
///
/// # Safety
/// As rt_sessions_handle; `needs_record` writable, `session_id_out` writable for 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_begin(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    kind: u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    new_session_id: *const u8,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
    needs_record: *mut bool,
    session_id_out: *mut u8,
) -> rt_status {
    guard(|| {
        need(out)?;
        need(needs_record)?;
        need(session_id_out)?;
        let token = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let r = unsafe {
            req(
                cookie,
                cookie_len,
                kind,
                now_ms,
                user_agent,
                user_agent_len,
                ip,
                ip_len,
                new_session_id,
            )
        }?;
        match r.with(|request| s.lock().begin(request)) {
            Step::Done(o) => {
                check_new_id(&r, &o)?;
                // SAFETY: checked above.
                unsafe {
                    put(needs_record, false)?;
                    emit(&o, r.now, out, &token)
                }
            }
            Step::Load(pending) => {
                let sid = pending.session_id().0;
                // SAFETY: non-NULL, 16 writable bytes by contract.
                unsafe { std::ptr::copy_nonoverlapping(sid.as_ptr(), session_id_out, 16) };
                let mut o = rt_outcome::empty(r.now);
                o.set_session(&pending.session_id());
                // SAFETY: checked above.
                unsafe {
                    put(out, o)?;
                    put(needs_record, true)
                }
            }
        }
    })
}

/// The store-free second half of a request: `record` is what your database holds for the
/// session rt_sessions_begin named (NULL/0: not found), `from_primary` whether it was read
/// from the primary. Request arguments as given to rt_sessions_begin. Then `*next` says:
/// RT_NEXT_DONE: answer `*out` now; RT_NEXT_SAVE: save `record_out` (RT_RECORD_LEN bytes)
/// only if the stored record's write version is still `*expected_version`, then answer
/// `*out` (on a conflict: reload and call again; on a database failure: call
/// rt_sessions_store_failed); RT_NEXT_LOAD_PRIMARY: reload from the primary and call again
/// with `from_primary` true. Record bytes that do not decode end the session (rule
/// "unknown_session").
///
/// # Errors
/// As rt_sessions_handle.
///
/// # Safety
/// As rt_sessions_handle; `record` readable for `record_len`; `next`, `expected_version`,
/// `record_out_len` writable; `record_out` writable for `record_out_cap` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_finish(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    kind: u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    record: *const u8,
    record_len: usize,
    from_primary: bool,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
    next: *mut u8,
    record_out: *mut u8,
    record_out_cap: usize,
    record_out_len: *mut usize,
    expected_version: *mut u64,
) -> rt_status {
    guard(|| {
        need(out)?;
        need(next)?;
        need(expected_version)?;
        let token = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        let saved = OutBuf::new(record_out, record_out_cap, record_out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let r = unsafe {
            req(
                cookie,
                cookie_len,
                kind,
                now_ms,
                user_agent,
                user_agent_len,
                ip,
                ip_len,
                std::ptr::null(),
            )
        }?;
        // SAFETY: the caller's contract.
        let bytes = unsafe { boundary::bytes(record, record_len) }?;
        // A length that is neither "not found" nor a record is the caller's bug, not the end
        // of the user's session.
        if !bytes.is_empty() && bytes.len() != RT_RECORD_LEN {
            return Err(rt_status::RecordWrongLength);
        }
        let loaded = if bytes.is_empty() {
            Ok(None)
        } else {
            Record::decode(bytes).map(Some).map_err(StoreError::from)
        };
        let finish = r.with(|request| {
            let mut inner = s.lock();
            match inner.begin(request) {
                // rt_sessions_begin answered this request itself: finishing it is misuse.
                Step::Done(_) => None,
                Step::Load(pending) => Some(inner.finish(&pending, request, loaded, from_primary)),
            }
        });
        let finish = finish.ok_or(rt_status::InvalidArgument)?;
        // SAFETY: every output was checked above.
        unsafe {
            match finish {
                Finish::Done(o) => {
                    put(next, RT_NEXT_DONE)?;
                    emit(&o, r.now, out, &token)
                }
                Finish::Save {
                    record,
                    expected_version: v,
                    outcome,
                } => {
                    saved.write(&record.encode());
                    put(expected_version, v)?;
                    put(next, RT_NEXT_SAVE)?;
                    emit(&outcome, r.now, out, &token)
                }
                Finish::LoadPrimary => {
                    put(out, rt_outcome::empty(r.now))?;
                    put(next, RT_NEXT_LOAD_PRIMARY)
                }
            }
        }
    })
}

/// The answer when your database failed for this request: `conflict` true when compare-and-
/// swap conflicts outlasted your retry bound (rule "busy"), false when the database is
/// unreachable (rule "store_unavailable"). Neither clears the cookie: an outage never logs
/// anyone out.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `sessions` live, `cookie` readable for `cookie_len`, `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_store_failed(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    now_ms: u64,
    conflict: bool,
    out: *mut rt_outcome,
) -> rt_status {
    guard(|| {
        need(out)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let r = unsafe {
            req(
                cookie,
                cookie_len,
                RT_KIND_READ,
                now_ms,
                std::ptr::null(),
                0,
                std::ptr::null(),
                0,
                std::ptr::null(),
            )
        }?;
        let error = if conflict {
            StoreError::Conflict
        } else {
            StoreError::Unavailable
        };
        let o = r.with(|request| {
            let inner = s.lock();
            match inner.begin(request) {
                Step::Load(pending) => Some(inner.store_failed(&pending, request, error)),
                // rt_sessions_begin answered this request itself: no store was involved.
                Step::Done(_) => None,
            }
        });
        let o = o.ok_or(rt_status::InvalidArgument)?;
        // SAFETY: checked above.
        unsafe { put(out, rt_outcome::from_outcome(&o, now_ms)) }
    })
}

/// The inputs of a login: the request (its cookie is the current one) and the subject; the
/// new session id is required.
///
/// # Safety
/// As `req`; `subject` points to 16 bytes.
#[allow(clippy::too_many_arguments)]
unsafe fn login_inputs<'a>(
    current_cookie: *const u8,
    current_cookie_len: usize,
    new_session_id: *const u8,
    subject: *const u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
) -> Result<(Req<'a>, [u8; 16]), rt_status> {
    if new_session_id.is_null() {
        return Err(rt_status::NullParameter);
    }
    // SAFETY: the caller's contract.
    let r = unsafe {
        req(
            current_cookie,
            current_cookie_len,
            RT_KIND_ADVANCE,
            now_ms,
            user_agent,
            user_agent_len,
            ip,
            ip_len,
            new_session_id,
        )
    }?;
    // SAFETY: 16 readable bytes by contract.
    let subject = unsafe { boundary::array::<16>(subject) }?;
    Ok((r, subject))
}

/// A login as an outcome: the new session proceeds with its first token.
fn login_outcome(login: rolltoken::sessions::Login) -> Outcome {
    Outcome::Proceed {
        view: login.view,
        token: Some(login.token),
        verdict: Verdict::Fresh,
        binding: rolltoken::keys::BindingMatch::FULL,
    }
}

/// Logs `subject` (16 bytes, not all zero) in with the new session id `new_session_id`
/// (16 random bytes), saving the record in the built-in memory store. `current_cookie`
/// (NULL/0: none) is the visitor's cookie: its session becomes the parent and is retired.
/// `*out` describes the new session; the token (send it as the cookie) goes to `token_out`.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_ANONYMOUS_SUBJECT`,
/// `RT_STATUS_STORE_CONFLICT` (the id exists), `RT_STATUS_STORE_FULL`, plus the address errors.
///
/// # Safety
/// As rt_sessions_handle; `subject` and `new_session_id` point to 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_login(
    sessions: *const rt_sessions,
    current_cookie: *const u8,
    current_cookie_len: usize,
    new_session_id: *const u8,
    subject: *const u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
) -> rt_status {
    guard(|| {
        need(out)?;
        let token = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let (r, subject) = unsafe {
            login_inputs(
                current_cookie,
                current_cookie_len,
                new_session_id,
                subject,
                now_ms,
                user_agent,
                user_agent_len,
                ip,
                ip_len,
            )
        }?;
        let binding = BindingInput::new(r.user_agent, r.ip);
        let login = s
            .lock()
            .login(r.cookie, r.new_id, subject, r.now, &binding)?;
        let o = login_outcome(login);
        // SAFETY: checked above.
        unsafe { emit(&o, r.now, out, &token) }
    })
}

/// The store-free login, for servers with their own database: like rt_sessions_login, but
/// the new record goes to `record_out` (RT_RECORD_LEN bytes) for you to insert (insert only:
/// fail if the id exists), and when `*has_retire` the session `retire_out` (16 bytes) named
/// by the current cookie must be revoked with rt_sessions_revoke_record
/// (RT_REVOKE_UPGRADED_AT_LOGIN).
///
/// # Errors
/// As rt_sessions_login, without the store errors.
///
/// # Safety
/// As rt_sessions_login; `record_out` writable for `record_out_cap`, `record_out_len`,
/// `has_retire` writable, `retire_out` writable for 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_plan_login(
    sessions: *const rt_sessions,
    current_cookie: *const u8,
    current_cookie_len: usize,
    new_session_id: *const u8,
    subject: *const u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
    record_out: *mut u8,
    record_out_cap: usize,
    record_out_len: *mut usize,
    has_retire: *mut bool,
    retire_out: *mut u8,
) -> rt_status {
    guard(|| {
        need(out)?;
        need(has_retire)?;
        need(retire_out)?;
        let token = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        let saved = OutBuf::new(record_out, record_out_cap, record_out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let (r, subject) = unsafe {
            login_inputs(
                current_cookie,
                current_cookie_len,
                new_session_id,
                subject,
                now_ms,
                user_agent,
                user_agent_len,
                ip,
                ip_len,
            )
        }?;
        let binding = BindingInput::new(r.user_agent, r.ip);
        let plan = s
            .lock()
            .plan_login(r.cookie, r.new_id, subject, r.now, &binding)?;
        let o = login_outcome(plan.login);
        // SAFETY: every output was checked above.
        unsafe {
            saved.write(&plan.record.encode());
            let retire = plan.retire.unwrap_or_default().0;
            std::ptr::copy_nonoverlapping(retire.as_ptr(), retire_out, 16);
            put(has_retire, plan.retire.is_some())?;
            emit(&o, r.now, out, &token)
        }
    })
}

/// Ends the session `cookie` names for every holder (built-in memory store). `*found` tells
/// whether a stored session was revoked, and `log_id_out` (17 bytes) then holds its log id.
/// Clear the cookie either way.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_STORE_CONFLICT` (contention outlasted the retries).
///
/// # Safety
/// `sessions` live, `cookie` readable for `cookie_len`, `found` writable, `log_id_out`
/// writable for 17 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_logout(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    now_ms: u64,
    found: *mut bool,
    log_id_out: *mut c_char,
) -> rt_status {
    guard(|| {
        need(found)?;
        need(log_id_out)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let cookie = unsafe { boundary::bytes(cookie, cookie_len) }?;
        let id = s.lock().logout(cookie, now_ms)?;
        let mut text = [0u8; 17];
        if let (Some(id), Some(dst)) = (id, text.get_mut(..RT_LOG_ID_LEN)) {
            dst.copy_from_slice(id.as_str().as_bytes());
        }
        // SAFETY: checked non-NULL; 17 writable bytes by contract.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), log_id_out.cast::<u8>(), text.len());
            put(found, id.is_some())
        }
    })
}

/// The store-free logout: the stored session `cookie` names, to revoke with
/// rt_sessions_revoke_record (RT_REVOKE_LOGOUT). `*has_target` false: nothing is stored
/// (anonymous or invalid cookie); clear the cookie either way.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `sessions` live, `cookie` readable for `cookie_len`, `has_target` writable,
/// `session_id_out` writable for 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_logout_target(
    sessions: *const rt_sessions,
    cookie: *const u8,
    cookie_len: usize,
    now_ms: u64,
    has_target: *mut bool,
    session_id_out: *mut u8,
) -> rt_status {
    guard(|| {
        need(has_target)?;
        need(session_id_out)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let cookie = unsafe { boundary::bytes(cookie, cookie_len) }?;
        let target = s.lock().logout_target(cookie, now_ms);
        let sid = target.unwrap_or_default().0;
        // SAFETY: checked non-NULL; 16 writable bytes by contract.
        unsafe {
            std::ptr::copy_nonoverlapping(sid.as_ptr(), session_id_out, 16);
            put(has_target, target.is_some())
        }
    })
}

/// The store-free revocation: given the stored `record` bytes, writes the revoked record to
/// `record_out` (save it with compare-and-swap on the stored version; on a conflict reload and
/// call again) and sets `*changed`; `*changed` false means it was already revoked (nothing to
/// save). `reason` is an RT_REVOKE_* value.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_INVALID_ARGUMENT`
/// (reason), the `RT_STATUS_RECORD_*` decoding errors.
///
/// # Safety
/// `sessions` live, `record` readable for `record_len`, `record_out` writable for
/// `record_out_cap`, `record_out_len` and `changed` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_revoke_record(
    sessions: *const rt_sessions,
    record: *const u8,
    record_len: usize,
    reason: u8,
    now_ms: u64,
    record_out: *mut u8,
    record_out_cap: usize,
    record_out_len: *mut usize,
    changed: *mut bool,
) -> rt_status {
    guard(|| {
        need(changed)?;
        let saved = OutBuf::new(record_out, record_out_cap, record_out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: the caller's contract.
        let bytes = unsafe { boundary::bytes(record, record_len) }?;
        let reason = RevokeReason::ALL
            .get(usize::from(reason).wrapping_sub(1))
            .copied()
            .ok_or(rt_status::InvalidArgument)?;
        let record = Record::decode(bytes)?;
        let next = s.lock().revoke_record(&record, reason, now_ms);
        // SAFETY: checked above.
        unsafe {
            if let Some(next) = &next {
                saved.write(&next.encode());
            }
            put(changed, next.is_some())
        }
    })
}

/// Revokes every active session of `subject` (16 bytes) in the built-in memory store, e.g.
/// after a password change; `*count` is how many.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_STORE_CONFLICT`.
///
/// # Safety
/// `sessions` live, `subject` readable for 16 bytes, `count` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_revoke_all(
    sessions: *const rt_sessions,
    subject: *const u8,
    now_ms: u64,
    count: *mut usize,
) -> rt_status {
    guard(|| {
        need(count)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: 16 readable bytes by contract.
        let subject = unsafe { boundary::array::<16>(subject) }?;
        let n = s.lock().revoke_all(&Subject(subject), now_ms)?;
        // SAFETY: checked non-NULL.
        unsafe { put(count, n) }
    })
}

/// Copies the built-in memory store's record of `session_id` (16 bytes) to `record_out`
/// (RT_RECORD_LEN bytes); `*found` false when there is none. For inspection and tests.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `sessions` live, `session_id` readable for 16 bytes, `record_out` writable for
/// `record_out_cap`, `record_out_len` and `found` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_load_record(
    sessions: *const rt_sessions,
    session_id: *const u8,
    record_out: *mut u8,
    record_out_cap: usize,
    record_out_len: *mut usize,
    found: *mut bool,
) -> rt_status {
    guard(|| {
        need(found)?;
        let saved = OutBuf::new(record_out, record_out_cap, record_out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: 16 readable bytes by contract.
        let sid = SessionId(unsafe { boundary::array::<16>(session_id) }?);
        let record = s.lock().store_mut().load(&sid)?;
        // SAFETY: checked above.
        unsafe {
            if let Some(r) = &record {
                saved.write(&r.encode());
            }
            put(found, record.is_some())
        }
    })
}

/// Whether a request advances (RT_KIND_ADVANCE: a top-level navigation from this site) or
/// reads (RT_KIND_READ: API calls, cross-site navigations, prefetches), from its headers; each
/// header is (pointer, length) with NULL/0 meaning absent. The rules are the core's
/// (`rolltoken::fetch`): Sec-Fetch-Mode first, else a GET whose Accept leads with text/html.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// Every pair is readable; `kind_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_request_kind(
    method: *const u8,
    method_len: usize,
    sec_fetch_mode: *const u8,
    sec_fetch_mode_len: usize,
    sec_fetch_site: *const u8,
    sec_fetch_site_len: usize,
    sec_purpose: *const u8,
    sec_purpose_len: usize,
    purpose: *const u8,
    purpose_len: usize,
    accept: *const u8,
    accept_len: usize,
    kind_out: *mut u8,
) -> rt_status {
    guard(|| {
        need(kind_out)?;
        let header = |p: *const u8, len: usize| -> Result<Option<&[u8]>, rt_status> {
            if p.is_null() && len == 0 {
                return Ok(None);
            }
            // SAFETY: each pair is readable by contract.
            unsafe { boundary::bytes(p, len) }.map(Some)
        };
        let headers = rolltoken::fetch::FetchHeaders {
            // SAFETY: as above.
            method: unsafe { boundary::bytes(method, method_len) }?,
            sec_fetch_mode: header(sec_fetch_mode, sec_fetch_mode_len)?,
            sec_fetch_site: header(sec_fetch_site, sec_fetch_site_len)?,
            sec_purpose: header(sec_purpose, sec_purpose_len)?,
            purpose: header(purpose, purpose_len)?,
            accept: header(accept, accept_len)?,
        };
        let kind = match rolltoken::fetch::kind_of(&headers) {
            Kind::Advance => RT_KIND_ADVANCE,
            Kind::Read => RT_KIND_READ,
        };
        // SAFETY: checked non-NULL.
        unsafe { put(kind_out, kind) }
    })
}

/// Puts `session_id` (16 bytes) on this handle's deny list until `until_ms`: how revocations
/// made elsewhere (another process, an admin tool) reach a cached-mode server inside the fresh
/// window. Publish `max(now, the record's last_advance_at) + fresh_ms` with each revocation
/// and feed it here on every server; a revocation that never arrives stays usable from the
/// cache for at most the fresh window. When the list is full the handle falls back to the
/// store for that long (no revocation is dropped).
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `sessions` live, `session_id` readable for 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_sessions_deny(
    sessions: *const rt_sessions,
    session_id: *const u8,
    until_ms: u64,
    now_ms: u64,
) -> rt_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let s = unsafe { handle(sessions) }?;
        // SAFETY: 16 readable bytes by contract.
        let sid = SessionId(unsafe { boundary::array::<16>(session_id) }?);
        s.lock().deny(&sid, until_ms, now_ms);
        Ok(())
    })
}
