//! The core's building blocks for C: token mint/parse/verify, binding hashes, record
//! encode/decode, and the pure engine decision on a record the caller holds. The golden
//! vectors are checked through these, byte for byte.

use rolltoken::engine::{self, Decision};
use rolltoken::keys::{Binding, BindingInput};
use rolltoken::record::{Record, RevokeReason, State};
use rolltoken::token::{self, Claims, Form, Parsed, SessionId, Subject};

use crate::boundary::{self, OutBuf, guard, need, put};
use crate::keyring::rt_keyring;
use crate::policy::{RT_FORM_COMPACT, RT_FORM_FULL, rt_policy};
use crate::sessions::{kind, parse_ip, rt_outcome};
use crate::status::rt_status;
use crate::{RT_MAX_TOKEN_LEN, RT_RECORD_LEN};

/// The claims of a full token (a compact token fills only `key_id` and `session_id`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rt_claims {
    /// Id of the key that tagged the token.
    pub key_id: u8,
    /// The session.
    pub session_id: [u8; 16],
    /// The token's position in the session's chain.
    pub counter: u64,
    /// When the token was minted (ms).
    pub issued_at: u64,
    /// Absolute expiry of the session (ms).
    pub expires_at: u64,
    /// The subject (all zero: anonymous).
    pub subject: [u8; 16],
    /// Keyed hash of the client: 4 bytes user agent, 4 bytes address prefix.
    pub binding: [u8; 8],
    /// A subject has logged in.
    pub authenticated: bool,
}

impl From<&Claims> for rt_claims {
    fn from(c: &Claims) -> Self {
        rt_claims {
            key_id: c.key_id,
            session_id: c.session_id.0,
            counter: c.counter,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            subject: c.subject.0,
            binding: c.binding.to_bytes(),
            authenticated: c.authenticated,
        }
    }
}

impl From<&rt_claims> for Claims {
    fn from(c: &rt_claims) -> Self {
        Claims {
            key_id: c.key_id,
            session_id: SessionId(c.session_id),
            counter: c.counter,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            subject: Subject(c.subject),
            binding: Binding::from_bytes(c.binding),
            authenticated: c.authenticated,
        }
    }
}

/// A session record's fields (the 128-byte encoding is rt_record_encode's output).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rt_record {
    /// The session.
    pub session_id: [u8; 16],
    /// `parent` is set.
    pub has_parent: bool,
    /// The anonymous session this one replaced at login.
    pub parent: [u8; 16],
    /// The subject.
    pub subject: [u8; 16],
    /// 0 active, else the RT_REVOKE_* reason it was revoked for.
    pub state: u8,
    /// A subject has logged in.
    pub authenticated: bool,
    /// RT_FORM_FULL or RT_FORM_COMPACT: the form of the tokens this session is issued.
    pub form: u8,
    /// The newest token's counter.
    pub counter: u64,
    /// The lowest counter still accepted.
    pub floor: u64,
    /// Write version (compare-and-swap key).
    pub version: u64,
    /// Creation time (ms).
    pub created_at: u64,
    /// Absolute expiry (ms).
    pub expires_at: u64,
    /// When the current token was minted (ms).
    pub last_advance_at: u64,
    /// End of the grace window (ms).
    pub grace_until: u64,
    /// Last activity (ms), for idle expiry.
    pub last_seen_at: u64,
    /// Grace answers handed out in this step.
    pub grace_answers: u8,
    /// The current token has been presented.
    pub confirmed: bool,
    /// Observed lateness (ms), for adaptive grace.
    pub lateness_ms: u32,
    /// Binding hash of the last advancing request.
    pub binding: [u8; 8],
    /// Key id the binding was hashed under.
    pub binding_key_id: u8,
    /// When the session was revoked (ms), 0 while active.
    pub revoked_at: u64,
}

impl From<&Record> for rt_record {
    fn from(r: &Record) -> Self {
        rt_record {
            session_id: r.session_id.0,
            has_parent: r.parent.is_some(),
            parent: r.parent.unwrap_or_default().0,
            subject: r.subject.0,
            state: match r.state {
                State::Active => 0,
                State::Revoked(reason) => RevokeReason::ALL
                    .iter()
                    .position(|x| *x == reason)
                    .map_or(0, |i| i as u8 + 1),
            },
            authenticated: r.authenticated,
            form: match r.form {
                Form::Full => RT_FORM_FULL,
                Form::Compact => RT_FORM_COMPACT,
            },
            counter: r.counter,
            floor: r.floor,
            version: r.version,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_advance_at: r.last_advance_at,
            grace_until: r.grace_until,
            last_seen_at: r.last_seen_at,
            grace_answers: r.grace_answers,
            confirmed: r.confirmed,
            lateness_ms: r.lateness_ms,
            binding: r.binding.to_bytes(),
            binding_key_id: r.binding_key_id,
            revoked_at: r.revoked_at,
        }
    }
}

impl rt_record {
    fn to_core(self) -> Result<Record, rt_status> {
        let state = match self.state {
            0 => State::Active,
            n => State::Revoked(
                *RevokeReason::ALL
                    .get(usize::from(n) - 1)
                    .ok_or(rt_status::InvalidArgument)?,
            ),
        };
        let form = match self.form {
            RT_FORM_FULL => Form::Full,
            RT_FORM_COMPACT => Form::Compact,
            _ => return Err(rt_status::InvalidArgument),
        };
        Ok(Record {
            session_id: SessionId(self.session_id),
            parent: self.has_parent.then_some(SessionId(self.parent)),
            subject: Subject(self.subject),
            state,
            authenticated: self.authenticated,
            form,
            counter: self.counter,
            floor: self.floor,
            version: self.version,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_advance_at: self.last_advance_at,
            grace_until: self.grace_until,
            last_seen_at: self.last_seen_at,
            grace_answers: self.grace_answers,
            confirmed: self.confirmed,
            lateness_ms: self.lateness_ms,
            binding: Binding::from_bytes(self.binding),
            binding_key_id: self.binding_key_id,
            revoked_at: self.revoked_at,
        })
    }
}

/// What a compact token tells: its key id and session id (and the counter it matched).
fn compact_claims(key_id: u8, session_id: SessionId, counter: u64) -> rt_claims {
    rt_claims {
        key_id,
        session_id: session_id.0,
        counter,
        issued_at: 0,
        expires_at: 0,
        subject: [0; 16],
        binding: [0; 8],
        authenticated: false,
    }
}

/// # Safety
/// NULL or a live rt_keyring.
unsafe fn keys<'a>(k: *const rt_keyring) -> Result<&'a rolltoken::keys::Keyring, rt_status> {
    // SAFETY: by contract a live keyring or NULL.
    Ok(&unsafe { k.as_ref() }.ok_or(rt_status::NullParameter)?.keys)
}

/// Mints the full token of `*claims` under the key `claims->key_id` into `out`
/// (RT_MAX_TOKEN_LEN bytes).
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_TOKEN_UNKNOWN_KEY`.
///
/// # Safety
/// `keyring` live, `claims` readable, `out` writable for `out_cap`, `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_token_mint_full(
    keyring: *const rt_keyring,
    claims: *const rt_claims,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> rt_status {
    guard(|| {
        let buf = OutBuf::new(out, out_cap, out_len, RT_MAX_TOKEN_LEN)?;
        // SAFETY: the caller's contract.
        let keys = unsafe { keys(keyring) }?;
        // SAFETY: the caller's contract.
        let claims = unsafe { claims.as_ref() }.ok_or(rt_status::NullParameter)?;
        let t = token::mint_full(keys, &Claims::from(claims))?;
        // SAFETY: checked capacity.
        unsafe { buf.write(t.as_bytes()) };
        Ok(())
    })
}

/// Mints the compact token of `session_id` (16 bytes) at `counter` under `key_id`.
///
/// # Errors
/// As rt_token_mint_full.
///
/// # Safety
/// `keyring` live, `session_id` readable for 16 bytes, `out` writable for `out_cap`,
/// `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_token_mint_compact(
    keyring: *const rt_keyring,
    key_id: u8,
    session_id: *const u8,
    counter: u64,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> rt_status {
    guard(|| {
        let buf = OutBuf::new(out, out_cap, out_len, RT_MAX_TOKEN_LEN)?;
        // SAFETY: the caller's contract.
        let keys = unsafe { keys(keyring) }?;
        // SAFETY: 16 readable bytes by contract.
        let sid = SessionId(unsafe { boundary::array::<16>(session_id) }?);
        let t = token::mint_compact(keys, key_id, &sid, counter)?;
        // SAFETY: checked capacity.
        unsafe { buf.write(t.as_bytes()) };
        Ok(())
    })
}

/// Parses a token without a key (its tag is NOT checked: for inspection and logs only).
/// `*form` is RT_FORM_FULL or RT_FORM_COMPACT; a compact token fills only `key_id` and
/// `session_id` of `*claims`.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER` and the `RT_STATUS_TOKEN_*` parse errors.
///
/// # Safety
/// `text` readable for `text_len`; `form` and `claims` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_token_parse(
    text: *const u8,
    text_len: usize,
    form: *mut u8,
    claims: *mut rt_claims,
) -> rt_status {
    guard(|| {
        need(form)?;
        need(claims)?;
        // SAFETY: the caller's contract.
        let text = unsafe { boundary::bytes(text, text_len) }?;
        let (f, c) = match token::parse(text)? {
            Parsed::Full(t) => (RT_FORM_FULL, rt_claims::from(t.unverified_claims())),
            Parsed::Compact(t) => (
                RT_FORM_COMPACT,
                compact_claims(t.key_id(), t.session_id(), 0),
            ),
        };
        // SAFETY: checked non-NULL.
        unsafe {
            put(claims, c)?;
            put(form, f)
        }
    })
}

/// Verifies a token's tag. A full token: `counter` is ignored and `*claims` gets its claims.
/// A compact token: verified against `counter` (the store's), `*claims` gets key id and
/// session id.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, the `RT_STATUS_TOKEN_*` parse errors,
/// `RT_STATUS_TOKEN_UNKNOWN_KEY`, `RT_STATUS_TOKEN_BAD_TAG`.
///
/// # Safety
/// `keyring` live, `text` readable for `text_len`, `claims` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_token_verify(
    keyring: *const rt_keyring,
    text: *const u8,
    text_len: usize,
    counter: u64,
    claims: *mut rt_claims,
) -> rt_status {
    guard(|| {
        need(claims)?;
        // SAFETY: the caller's contract.
        let keys = unsafe { keys(keyring) }?;
        // SAFETY: the caller's contract.
        let text = unsafe { boundary::bytes(text, text_len) }?;
        // Matched by reference and written straight to the caller: no move of the parsed
        // token out of its Result (those copies stalled store forwarding).
        let parsed = token::parse(text);
        let c = match &parsed {
            Ok(Parsed::Full(t)) => rt_claims::from(&t.verify(keys)?),
            Ok(Parsed::Compact(t)) => {
                if !t.matches(keys, counter)? {
                    return Err(rt_status::TokenBadTag);
                }
                compact_claims(t.key_id(), t.session_id(), counter)
            }
            Err(e) => return Err((*e).into()),
        };
        // SAFETY: checked non-NULL.
        unsafe { put(claims, c) }
    })
}

/// The 8-byte keyed binding hash of a client (user agent, address as text; NULL/0: unknown)
/// under the binding subkey of `key_id`.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_TOKEN_UNKNOWN_KEY`, `RT_STATUS_INVALID_ARGUMENT`
/// and `RT_STATUS_INVALID_UTF8` (address).
///
/// # Safety
/// `keyring` live, the pairs readable, `out` writable for 8 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_keyring_binding(
    keyring: *const rt_keyring,
    key_id: u8,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    out: *mut u8,
) -> rt_status {
    guard(|| {
        need(out)?;
        // SAFETY: the caller's contract.
        let keys = unsafe { keys(keyring) }?;
        // SAFETY: the caller's contract.
        let ua = unsafe { boundary::bytes(user_agent, user_agent_len) }?;
        // SAFETY: the caller's contract.
        let ip = parse_ip(unsafe { boundary::bytes(ip, ip_len) }?)?;
        let b = keys
            .binding(key_id, &BindingInput::new(ua, ip))
            .ok_or(rt_status::TokenUnknownKey)?;
        // SAFETY: 8 writable bytes by contract.
        unsafe { std::ptr::copy_nonoverlapping(b.to_bytes().as_ptr(), out, 8) };
        Ok(())
    })
}

/// Decodes record bytes into `*out`.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER` and the `RT_STATUS_RECORD_*` errors.
///
/// # Safety
/// `bytes` readable for `len`, `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_record_decode(
    bytes: *const u8,
    len: usize,
    out: *mut rt_record,
) -> rt_status {
    guard(|| {
        need(out)?;
        // SAFETY: the caller's contract.
        let bytes = unsafe { boundary::bytes(bytes, len) }?;
        let r = Record::decode(bytes)?;
        // SAFETY: checked non-NULL.
        unsafe { put(out, rt_record::from(&r)) }
    })
}

/// Encodes `*record` into its RT_RECORD_LEN bytes.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_INVALID_ARGUMENT`
/// (state or form out of range).
///
/// # Safety
/// `record` readable, `out` writable for `out_cap`, `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_record_encode(
    record: *const rt_record,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> rt_status {
    guard(|| {
        let buf = OutBuf::new(out, out_cap, out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let r = unsafe { record.as_ref() }
            .ok_or(rt_status::NullParameter)?
            .to_core()?;
        // Refuse what decoding would refuse (a stored record that cannot be read back ends its
        // session); the documented narrowing of an over-wide span or offset is fine.
        let bytes = r.encode();
        Record::decode(&bytes)?;
        // SAFETY: checked capacity.
        unsafe { buf.write(&bytes) };
        Ok(())
    })
}

/// The pure engine decision (the rolling rules) on a record you hold: the verdict and the
/// binding comparison in `*out` (the view is the session after the decision), the token to
/// send in `token_out` when `out->has_token`, and when `*save` the record to store in
/// `record_out`, with compare-and-swap on the given record's version. No store, no deny list,
/// no cache: rt_sessions_begin/finish add those.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_INVALID_ARGUMENT`,
/// `RT_STATUS_POLICY_INVALID`, the `RT_STATUS_RECORD_*` and `RT_STATUS_TOKEN_*` parse errors.
///
/// # Safety
/// `keyring` live, `policy` readable, every pair readable, outputs writable as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_decide(
    keyring: *const rt_keyring,
    policy: *const rt_policy,
    record: *const u8,
    record_len: usize,
    token: *const u8,
    token_len: usize,
    kind_code: u8,
    now_ms: u64,
    user_agent: *const u8,
    user_agent_len: usize,
    ip: *const u8,
    ip_len: usize,
    out: *mut rt_outcome,
    token_out: *mut u8,
    token_out_cap: usize,
    token_out_len: *mut usize,
    save: *mut bool,
    record_out: *mut u8,
    record_out_cap: usize,
    record_out_len: *mut usize,
) -> rt_status {
    guard(|| {
        need(out)?;
        need(save)?;
        let tok = OutBuf::new(token_out, token_out_cap, token_out_len, RT_MAX_TOKEN_LEN)?;
        let rec = OutBuf::new(record_out, record_out_cap, record_out_len, RT_RECORD_LEN)?;
        // SAFETY: the caller's contract.
        let keys = unsafe { keys(keyring) }?;
        // SAFETY: the caller's contract.
        let policy = unsafe { policy.as_ref() }
            .ok_or(rt_status::NullParameter)?
            .to_core()?;
        // SAFETY: the caller's contract.
        let loaded = Record::decode(unsafe { boundary::bytes(record, record_len) }?)?;
        // SAFETY: the caller's contract.
        let parsed = token::parse(unsafe { boundary::bytes(token, token_len) }?)?;
        // SAFETY: the caller's contract.
        let ua = unsafe { boundary::bytes(user_agent, user_agent_len) }?;
        // SAFETY: the caller's contract.
        let ip = parse_ip(unsafe { boundary::bytes(ip, ip_len) }?)?;
        let d: Decision = engine::decide(
            keys,
            &policy,
            &loaded,
            &parsed,
            kind(kind_code)?,
            &BindingInput::new(ua, ip),
            now_ms,
        );
        let after = d.save.unwrap_or(loaded);
        let o = rt_outcome::from_decision(&d, &after, now_ms);
        // SAFETY: every output was checked above.
        unsafe {
            if let Some(t) = &d.token {
                tok.write(t.as_bytes());
            }
            if let Some(r) = &d.save {
                rec.write(&r.encode());
            }
            put(save, d.save.is_some())?;
            put(out, o)
        }
    })
}
