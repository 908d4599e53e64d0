//! Link-time proof that no public entry point of the `rolltoken` core can panic.
//!
//! How it works: this `#![no_std]` cdylib installs its own `#[panic_handler]`, whose only act is
//! to call `__rolltoken_panic_is_reachable`, a function that is declared here and defined
//! nowhere. `run.sh` builds it with `panic = "abort"`, fat LTO, one codegen unit and
//! `-Wl,--no-undefined` (plus `-lc` for `memcpy`/`memset`). After LTO the panic handler, and so
//! the reference to the undefined symbol, survives only if some exported function can still
//! reach a panic (a failed bounds check, `unwrap` on `None`, a slice range error, `panic!`...).
//! The link then fails with `undefined symbol: __rolltoken_panic_is_reachable`.
//!
//! Every export below drives one or more public core entry points with inputs the optimiser
//! cannot know (they come through pointer parameters, lengths are clamped with `.get(..len)`),
//! and returns or writes something derived from each result so nothing is optimised away.
//! Nothing here formats (`Debug`/`Display`): `core::fmt` has panic paths of its own that are
//! not the core's.
//!
//! The same build also proves the core is `no_std`: if `std` were linked anywhere in the
//! dependency graph, its `panic_impl` lang item would clash with this crate's
//! `#[panic_handler]` (`error[E0152]: found duplicate lang item 'panic_impl'`).
//!
//! The `control` feature adds one export that indexes a slice with an untrusted index; with it
//! the link MUST fail, which shows the canary bites.
#![no_std]
// The only unsafe in this crate is the `#[unsafe(no_mangle)]` attribute on each export and the
// `unsafe extern` declaration of the canary symbol; each carries its own `allow`.
#![deny(unsafe_code)]
#![warn(unused_qualifications, clippy::indexing_slicing)]

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rolltoken::cookie::{self, CookieConfig, CookieError, SameSite};
use rolltoken::engine::{self, Decision, Kind};
use rolltoken::keys::{
    Binding, BindingInput, BindingMatch, KEY_LEN, KeyError, KeyMaterial, Keyring, MAX_KEYS,
    PrekeyedMac,
};
use rolltoken::policy::{BindingPolicy, Grace, Mode, Policy, PolicyError};
use rolltoken::record::{RECORD_LEN, Record, RecordError, RevokeReason, State};
use rolltoken::sessions::{Finish, Login, Outcome, Request, Sessions, Step};
use rolltoken::store::{DenyList, DenyListFull, MemoryDenyList, MemoryStore, Store, StoreError};
use rolltoken::token::{self, Claims, Form, Parsed, SessionId, Subject, TokenBuf, TokenError};
use rolltoken::verdict::{Expiry, Rule, Verdict};
use rolltoken::{Error, LogId, log_id};

// ---------------------------------------------------------------------------------------------
// The canary
// ---------------------------------------------------------------------------------------------

#[allow(unsafe_code)] // a declaration only; `safe fn` means calling it needs no unsafe block
unsafe extern "C" {
    /// Defined nowhere, on purpose: linking with `--no-undefined` fails while this is referenced.
    safe fn __rolltoken_panic_is_reachable() -> !;
}

#[panic_handler]
fn on_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    __rolltoken_panic_is_reachable()
}

// ---------------------------------------------------------------------------------------------
// Parameter blocks (all `#[repr(C)]`, passed by reference) and their conversions
// ---------------------------------------------------------------------------------------------

/// Up to `MAX_KEYS + 1` keys (one too many, so `TooMany` is reachable).
#[repr(C)]
pub struct KeyParams {
    /// Secrets.
    pub secrets: [[u8; KEY_LEN]; MAX_KEYS + 1],
    /// Key ids.
    pub ids: [u8; MAX_KEYS + 1],
    /// How many of them to pass (clamped).
    pub count: usize,
    /// The minting key id.
    pub minting_id: u8,
}

/// A client: user agent and address.
#[repr(C)]
pub struct ClientParams {
    /// User-Agent bytes.
    pub user_agent: [u8; 512],
    /// Length (clamped).
    pub user_agent_len: usize,
    /// 4: IPv4 from `ip[..4]`, 6: IPv6 from `ip`, anything else: no address.
    pub ip_family: u8,
    /// Address bytes.
    pub ip: [u8; 16],
}

/// Every field of a [`Policy`], as plain integers.
#[repr(C)]
pub struct PolicyParams {
    /// Mode (ignored where the export fixes it).
    pub mode: u8,
    /// Form.
    pub form: u8,
    /// Anonymous sessions.
    pub anonymous: u8,
    /// Grace kind: even fixed, odd adaptive.
    pub grace_kind: u8,
    /// Fixed ms or adaptive min.
    pub grace_a: u32,
    /// Adaptive max.
    pub grace_b: u32,
    /// Span cap.
    pub span_cap: u8,
    /// Answer cap.
    pub answer_cap: u8,
    /// Rule 3 re-issue.
    pub reissue_one_behind: u8,
    /// Binding policy.
    pub binding: u8,
    /// Rule 3 jar-behind window.
    pub jar_behind_ms: u64,
    /// Fresh window.
    pub fresh_ms: u64,
    /// Session lifetime.
    pub session_lifetime_ms: u64,
    /// Idle timeout.
    pub idle_timeout_ms: u64,
    /// Anonymous lifetime.
    pub anonymous_lifetime_ms: u64,
}

/// Every public field of a [`Record`], as plain integers (values `decode` would never produce
/// included).
#[repr(C)]
pub struct RecordParams {
    /// Session id.
    pub session_id: [u8; 16],
    /// Parent id, used when `has_parent` is odd.
    pub parent: [u8; 16],
    /// Subject.
    pub subject: [u8; 16],
    /// Binding wire bytes.
    pub binding: [u8; 8],
    /// Has a parent.
    pub has_parent: u8,
    /// 0 active, 1..=4 revoked reasons.
    pub state: u8,
    /// Authenticated flag.
    pub authenticated: u8,
    /// Form.
    pub form: u8,
    /// Grace answers.
    pub grace_answers: u8,
    /// Confirmed flag.
    pub confirmed: u8,
    /// Binding key id.
    pub binding_key_id: u8,
    /// Lateness.
    pub lateness_ms: u32,
    /// Counter, floor, version, created_at, expires_at, last_advance_at, grace_until,
    /// last_seen_at, revoked_at.
    pub times: [u64; 9],
}

/// Every field of [`Claims`].
#[repr(C)]
pub struct ClaimsParams {
    /// Session id.
    pub session_id: [u8; 16],
    /// Subject.
    pub subject: [u8; 16],
    /// Binding wire bytes.
    pub binding: [u8; 8],
    /// Key id.
    pub key_id: u8,
    /// Authenticated flag.
    pub authenticated: u8,
    /// Counter.
    pub counter: u64,
    /// Issued at.
    pub issued_at: u64,
    /// Expires at.
    pub expires_at: u64,
}

/// A cookie configuration; name and path are UTF-8 checked with `core::str::from_utf8`.
#[repr(C)]
pub struct CookieParams {
    /// Name bytes.
    pub name: [u8; 96],
    /// Name length (clamped).
    pub name_len: usize,
    /// Path bytes.
    pub path: [u8; 96],
    /// Path length (clamped).
    pub path_len: usize,
    /// Secure.
    pub secure: u8,
    /// HttpOnly.
    pub http_only: u8,
    /// 0 Lax, 1 Strict, else None.
    pub same_site: u8,
    /// Session-only (no `Max-Age`).
    pub session_only: u8,
}

/// A request script for the [`Sessions`] façade: each op byte picks an action and its inputs.
#[repr(C)]
pub struct ScriptParams {
    /// Op bytes (bits 0-2 action, 3-4 input index, 5 use the last minted token, 6 read).
    pub ops: [u8; 32],
    /// How many ops to run (clamped to 256; ops repeat).
    pub op_count: usize,
    /// Cookie texts.
    pub cookies: [[u8; 128]; 4],
    /// Their lengths (clamped).
    pub cookie_lens: [usize; 4],
    /// Session ids / subjects.
    pub ids: [[u8; 16]; 4],
    /// Record bytes to inject into the store.
    pub records: [[u8; RECORD_LEN]; 4],
    /// Expected versions for injection (`u64::MAX`: absent).
    pub versions: [u64; 4],
    /// Start time.
    pub now_ms: u64,
    /// Clock steps per op (may go backwards).
    pub steps_ms: [i64; 32],
    /// Two clients.
    pub clients: [ClientParams; 2],
}

fn flag(b: u8) -> bool {
    b & 1 == 1
}

fn clamp(bytes: &[u8], len: usize) -> &[u8] {
    bytes.get(..len).unwrap_or(bytes)
}

fn material(p: &KeyParams, i: usize) -> KeyMaterial {
    KeyMaterial::new(
        p.ids.get(i).copied().unwrap_or(0),
        p.secrets.get(i).copied().unwrap_or([0; KEY_LEN]),
    )
}

fn keyring(p: &KeyParams) -> Result<Keyring, KeyError> {
    let all = [
        material(p, 0),
        material(p, 1),
        material(p, 2),
        material(p, 3),
        material(p, 4),
    ];
    Keyring::new(all.get(..p.count).unwrap_or(&all), p.minting_id)
}

fn ip(family: u8, b: &[u8; 16]) -> Option<IpAddr> {
    let [a, c, d, e, ..] = *b;
    match family {
        4 => Some(IpAddr::V4(Ipv4Addr::new(a, c, d, e))),
        6 => Some(IpAddr::V6(Ipv6Addr::from(*b))),
        _ => None,
    }
}

fn client(p: &ClientParams) -> BindingInput<'_> {
    BindingInput::new(
        clamp(&p.user_agent, p.user_agent_len),
        ip(p.ip_family, &p.ip),
    )
}

fn form(b: u8) -> Form {
    if flag(b) { Form::Full } else { Form::Compact }
}

fn policy(p: &PolicyParams) -> Policy {
    Policy {
        mode: if flag(p.mode) {
            Mode::Cached
        } else {
            Mode::Strict
        },
        form: form(p.form),
        anonymous: flag(p.anonymous),
        grace: if flag(p.grace_kind) {
            Grace::Adaptive {
                min_ms: p.grace_a,
                max_ms: p.grace_b,
            }
        } else {
            Grace::Fixed { ms: p.grace_a }
        },
        span_cap: p.span_cap,
        answer_cap: p.answer_cap,
        reissue_one_behind: flag(p.reissue_one_behind),
        jar_behind_ms: p.jar_behind_ms,
        binding: match p.binding % 3 {
            0 => BindingPolicy::Evidence,
            1 => BindingPolicy::RequireUserAgent,
            _ => BindingPolicy::RequireFull,
        },
        fresh_ms: p.fresh_ms,
        session_lifetime_ms: p.session_lifetime_ms,
        idle_timeout_ms: p.idle_timeout_ms,
        anonymous_lifetime_ms: p.anonymous_lifetime_ms,
    }
}

fn revoke_reason(b: u8) -> RevokeReason {
    match b % 4 {
        0 => RevokeReason::Logout,
        1 => RevokeReason::Reuse,
        2 => RevokeReason::UpgradedAtLogin,
        _ => RevokeReason::Admin,
    }
}

fn record(p: &RecordParams) -> Record {
    let [
        counter,
        floor,
        version,
        created_at,
        expires_at,
        last_advance_at,
        grace_until,
        last_seen_at,
        revoked_at,
    ] = p.times;
    let mut r = Record::new(
        SessionId(p.session_id),
        flag(p.has_parent).then_some(SessionId(p.parent)),
        Subject(p.subject),
        form(p.form),
        created_at,
        expires_at,
        Binding::from_bytes(p.binding),
        p.binding_key_id,
    );
    r.state = if p.state == 0 {
        State::Active
    } else {
        State::Revoked(revoke_reason(p.state))
    };
    r.authenticated = flag(p.authenticated);
    r.counter = counter;
    r.floor = floor;
    r.version = version;
    r.last_advance_at = last_advance_at;
    r.grace_until = grace_until;
    r.last_seen_at = last_seen_at;
    r.grace_answers = p.grace_answers;
    r.confirmed = flag(p.confirmed);
    r.lateness_ms = p.lateness_ms;
    r.revoked_at = revoked_at;
    r
}

fn claims(p: &ClaimsParams) -> Claims {
    Claims {
        key_id: p.key_id,
        session_id: SessionId(p.session_id),
        counter: p.counter,
        issued_at: p.issued_at,
        expires_at: p.expires_at,
        subject: Subject(p.subject),
        binding: Binding::from_bytes(p.binding),
        authenticated: flag(p.authenticated),
    }
}

fn cookie_config(p: &CookieParams) -> Option<CookieConfig<'_>> {
    Some(CookieConfig {
        name: core::str::from_utf8(clamp(&p.name, p.name_len)).ok()?,
        secure: flag(p.secure),
        http_only: flag(p.http_only),
        same_site: match p.same_site % 3 {
            0 => SameSite::Lax,
            1 => SameSite::Strict,
            _ => SameSite::None,
        },
        path: core::str::from_utf8(clamp(&p.path, p.path_len)).ok()?,
        session_only: flag(p.session_only),
    })
}

fn token_error(b: u8) -> TokenError {
    match b % 9 {
        0 => TokenError::Empty,
        1 => TokenError::TooLong,
        2 => TokenError::WrongPrefix,
        3 => TokenError::UnsupportedVersion,
        4 => TokenError::WrongLength,
        5 => TokenError::BadBase64,
        6 => TokenError::BadFlags,
        7 => TokenError::UnknownKey,
        _ => TokenError::BadTag,
    }
}

fn verdict(code: u8, a: u64, b: u64, sub: u8) -> Verdict {
    match code % 20 {
        0 => Verdict::Fresh,
        1 => Verdict::Current,
        2 => Verdict::ConcurrentInGrace { behind: a },
        3 => Verdict::LostResponse,
        4 => Verdict::CookieJarBehind,
        5 => Verdict::StoreBehind { ahead: a },
        6 => Verdict::Cached,
        7 => Verdict::Anonymous,
        8 => Verdict::NewAnonymous,
        9 => Verdict::Reuse {
            presented: flag(sub).then_some(a),
            current: b,
        },
        10 => Verdict::GraceExhausted,
        11 => Verdict::Revoked(revoke_reason(sub)),
        12 => Verdict::Expired(match sub % 3 {
            0 => Expiry::Absolute,
            1 => Expiry::Idle,
            _ => Expiry::CounterExhausted,
        }),
        13 => Verdict::Forged,
        14 => Verdict::Malformed(token_error(sub)),
        15 => Verdict::UnknownSession,
        16 => Verdict::BindingMismatch,
        17 => Verdict::NoSession,
        18 => Verdict::StoreUnavailable,
        _ => Verdict::Busy,
    }
}

fn rule(code: u8) -> Option<Rule> {
    Some(match code {
        1 => Rule::Fresh,
        2 => Rule::Current,
        3 => Rule::ConcurrentInGrace,
        4 => Rule::LostResponse,
        5 => Rule::CookieJarBehind,
        6 => Rule::StoreBehind,
        7 => Rule::Cached,
        8 => Rule::Anonymous,
        9 => Rule::NewAnonymous,
        20 => Rule::Reuse,
        21 => Rule::GraceExhausted,
        22 => Rule::Revoked,
        23 => Rule::Expired,
        24 => Rule::Forged,
        25 => Rule::Malformed,
        26 => Rule::UnknownSession,
        27 => Rule::BindingMismatch,
        28 => Rule::NoSession,
        29 => Rule::StoreUnavailable,
        30 => Rule::Busy,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Result folding: error codes, a hash of everything, and an output sink
// ---------------------------------------------------------------------------------------------

fn key_error(e: KeyError) -> u32 {
    match e {
        KeyError::Empty => 0x101,
        KeyError::TooMany => 0x102,
        KeyError::DuplicateId => 0x103,
        KeyError::MintingKeyMissing => 0x104,
        KeyError::WrongLength => 0x105,
        KeyError::AudienceTooLong => 0x106,
    }
}

fn token_code(e: TokenError) -> u32 {
    0x200 | u32::from(e as u8)
}

fn record_error(e: RecordError) -> u32 {
    match e {
        RecordError::WrongLength => 0x301,
        RecordError::Foreign => 0x302,
        RecordError::UnsupportedVersion => 0x303,
        RecordError::Corrupt => 0x304,
        RecordError::Invalid => 0x305,
    }
}

fn policy_error(e: PolicyError) -> u32 {
    match e {
        PolicyError::SpanCap => 0x401,
        PolicyError::AnswerCap => 0x402,
        PolicyError::Grace => 0x403,
        PolicyError::Lifetime => 0x404,
        PolicyError::Cached => 0x405,
    }
}

fn store_error(e: StoreError) -> u32 {
    match e {
        StoreError::Conflict => 0x501,
        StoreError::Full => 0x502,
        StoreError::Unavailable => 0x503,
        StoreError::Unsupported => 0x504,
        StoreError::Corrupt(r) => 0x5000 | record_error(r),
    }
}

fn cookie_error(e: CookieError) -> u32 {
    0x600 | u32::from(e as u8)
}

fn error(e: Error) -> u32 {
    match e {
        Error::Key(k) => key_error(k),
        Error::Policy(p) => policy_error(p),
        Error::Token(t) => token_code(t),
        Error::Record(r) => record_error(r),
        Error::Store(s) => store_error(s),
        Error::Cookie(c) => cookie_error(c),
        Error::AnonymousSubject => 0x701,
    }
}

/// A running hash of everything an export observed, so no result is dead.
#[derive(Clone, Copy)]
struct Acc(u32);

impl Acc {
    fn u64(&mut self, v: u64) -> &mut Self {
        // Truncation is the point: this only mixes bits.
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (v as u32, (v >> 32) as u32);
        self.0 = (self.0.rotate_left(5) ^ lo).wrapping_mul(0x0100_0193) ^ hi;
        self
    }
    fn bool(&mut self, b: bool) -> &mut Self {
        self.u64(u64::from(b))
    }
    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.u64(u64::from(*b));
        }
        self.u64(bytes.len() as u64)
    }
    fn binding(&mut self, b: &Binding) -> &mut Self {
        self.bytes(&b.to_bytes())
    }
    fn matched(&mut self, m: BindingMatch) -> &mut Self {
        self.bool(m.user_agent).bool(m.ip).bool(m.full())
    }
    fn verdict(&mut self, v: &Verdict) -> &mut Self {
        let r = v.rule();
        self.u64(u64::from(r as u8))
            .bool(v.proceeds())
            .bool(v.clears_cookie())
            .bytes(r.name().as_bytes())
    }
    fn claims(&mut self, c: &Claims) -> &mut Self {
        self.u64(u64::from(c.key_id))
            .bytes(&c.session_id.0)
            .u64(c.counter)
            .u64(c.issued_at)
            .u64(c.expires_at)
            .bytes(&c.subject.0)
            .bool(c.subject.is_anonymous())
            .binding(&c.binding)
            .bool(c.authenticated)
    }
    fn record(&mut self, r: &Record) -> &mut Self {
        self.bytes(&r.encode()).bool(r.is_active())
    }
    fn log_id(&mut self, l: &LogId) -> &mut Self {
        self.bytes(l.as_str().as_bytes())
    }
    fn token(&mut self, t: &TokenBuf) -> &mut Self {
        self.bytes(t.as_bytes())
            .bytes(t.as_str().as_bytes())
            .bool(t.form() == Form::Full)
    }
}

/// Copies bytes into an output array without indexing.
fn copy_out(out: &mut [u8], bytes: &[u8]) -> usize {
    let mut n = 0usize;
    for (dst, src) in out.iter_mut().zip(bytes) {
        *dst = *src;
        n = n.wrapping_add(1);
    }
    n
}

fn decision(acc: &mut Acc, d: &Decision) {
    acc.verdict(&d.verdict).matched(d.binding);
    if let Some(r) = &d.save {
        acc.record(r);
    }
    if let Some(t) = &d.token {
        acc.token(t);
    }
}

// ---------------------------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------------------------

/// `Keyring::new`, `Keyring::minting_id`, `Keyring::contains`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_keyring_new(keys: &KeyParams, probe_id: u8) -> u32 {
    match keyring(keys) {
        Ok(ring) => {
            Acc(1)
                .u64(u64::from(ring.minting_id()))
                .bool(ring.contains(probe_id))
                .0
        }
        Err(e) => key_error(e),
    }
}

/// `Keyring::for_audience` with an audience of any length up to 96 bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_keyring_for_audience(
    keys: &KeyParams,
    audience: &[u8; 96],
    len: usize,
) -> u32 {
    let all = [
        material(keys, 0),
        material(keys, 1),
        material(keys, 2),
        material(keys, 3),
        material(keys, 4),
    ];
    let given = all.get(..keys.count).unwrap_or(&all);
    match Keyring::for_audience(given, keys.minting_id, clamp(audience, len)) {
        Ok(ring) => Acc(3).u64(u64::from(ring.minting_id())).0,
        Err(e) => key_error(e),
    }
}

/// `addr::parse_ip` on any bytes (the address text every binding hands to the core).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_parse_ip(text: &[u8; 64], len: usize) -> u32 {
    match rolltoken::addr::parse_ip(clamp(text, len)) {
        Some(core::net::IpAddr::V4(v4)) => Acc(4).u64(u64::from(u32::from(v4))).0,
        Some(core::net::IpAddr::V6(v6)) => Acc(6).bytes(&v6.octets()).0,
        None => 0,
    }
}

/// `KeyMaterial::from_slice`, `KeyMaterial::id`, then a one-key ring from it.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_key_material_from_slice(
    id: u8,
    secret: &[u8; 64],
    len: usize,
    minting_id: u8,
) -> u32 {
    match KeyMaterial::from_slice(id, clamp(secret, len)) {
        Ok(m) => {
            let mut acc = Acc(2);
            acc.u64(u64::from(m.id()));
            match Keyring::new(&[m], minting_id) {
                Ok(ring) => acc.bool(ring.contains(id)).0,
                Err(e) => acc.u64(u64::from(key_error(e))).0,
            }
        }
        Err(e) => key_error(e),
    }
}

/// `Keyring::binding` with IPv4, IPv6 and no address; `Binding::{to_bytes, from_bytes, compare}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_keyring_binding(
    keys: &KeyParams,
    client_params: &ClientParams,
    key_id: u8,
    other: &[u8; 8],
    out: &mut [u8; 32],
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    let ua = clamp(&client_params.user_agent, client_params.user_agent_len);
    let inputs = [
        BindingInput::new(ua, ip(4, &client_params.ip)),
        BindingInput::new(ua, ip(6, &client_params.ip)),
        BindingInput::new(ua, None),
        client(client_params),
    ];
    let other = Binding::from_bytes(*other);
    let mut acc = Acc(3);
    let mut written = 0usize;
    for input in &inputs {
        match ring.binding(key_id, input) {
            Some(b) => {
                acc.binding(&b).matched(b.compare(&other));
                written = written.wrapping_add(copy_out(
                    out.get_mut(written..).unwrap_or(&mut []),
                    &b.to_bytes(),
                ));
            }
            None => {
                acc.matched(BindingMatch::NONE);
            }
        }
    }
    acc.matched(BindingMatch::FULL).0
}

/// `PrekeyedMac::{new, mac, tag16}` over three parts cut from the input.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_prekeyed_mac(
    key: &[u8; 256],
    key_len: usize,
    data: &[u8; 512],
    cut_a: usize,
    cut_b: usize,
    data_len: usize,
    out: &mut [u8; 48],
) -> u32 {
    let mac = PrekeyedMac::new(clamp(key, key_len));
    let data = clamp(data, data_len);
    let (head, rest) = data.split_at_checked(cut_a).unwrap_or((data, &[]));
    let (mid, tail) = rest.split_at_checked(cut_b).unwrap_or((rest, &[]));
    let parts: [&[u8]; 3] = [head, mid, tail];
    let full = mac.mac(&parts);
    let tag = mac.tag16(parts.get(..cut_b % 4).unwrap_or(&parts));
    let n = copy_out(out, &full);
    copy_out(out.get_mut(n..).unwrap_or(&mut []), &tag);
    Acc(4).bytes(&full).bytes(&tag).0
}

// ---------------------------------------------------------------------------------------------
// token
// ---------------------------------------------------------------------------------------------

/// `token::parse`, `Parsed::{key_id, session_id, form}`, `FullToken::unverified_claims`,
/// `CompactToken::{key_id, session_id}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_token_parse(text: &[u8; 160], len: usize, out: &mut [u8; 16]) -> u32 {
    match token::parse(clamp(text, len)) {
        Ok(p) => {
            let mut acc = Acc(5);
            acc.u64(u64::from(p.key_id())).bool(p.form() == Form::Full);
            copy_out(out, &p.session_id().0);
            match &p {
                Parsed::Full(f) => acc.claims(f.unverified_claims()),
                Parsed::Compact(c) => acc.u64(u64::from(c.key_id())).bytes(&c.session_id().0),
            };
            acc.0
        }
        Err(e) => token_code(e),
    }
}

/// `token::parse` then `FullToken::verify`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_full_token_verify(keys: &KeyParams, text: &[u8; 160], len: usize) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    match token::parse(clamp(text, len)) {
        Ok(Parsed::Full(f)) => match f.verify(&ring) {
            Ok(c) => Acc(6).claims(&c).0,
            Err(e) => token_code(e),
        },
        Ok(Parsed::Compact(_)) => 0x6ff,
        Err(e) => token_code(e),
    }
}

/// `token::parse` then `CompactToken::matches`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_compact_token_matches(
    keys: &KeyParams,
    text: &[u8; 160],
    len: usize,
    counter: u64,
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    match token::parse(clamp(text, len)) {
        Ok(Parsed::Compact(c)) => match c.matches(&ring, counter) {
            Ok(m) => u32::from(m),
            Err(e) => token_code(e),
        },
        Ok(Parsed::Full(_)) => 0x7ff,
        Err(e) => token_code(e),
    }
}

/// `token::mint_full`, `TokenBuf::{as_bytes, as_str, form}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_mint_full(
    keys: &KeyParams,
    claims_params: &ClaimsParams,
    out: &mut [u8; 128],
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    match token::mint_full(&ring, &claims(claims_params)) {
        Ok(t) => {
            copy_out(out, t.as_bytes());
            Acc(7).token(&t).0
        }
        Err(e) => token_code(e),
    }
}

/// `token::mint_compact`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_mint_compact(
    keys: &KeyParams,
    key_id: u8,
    session_id: &[u8; 16],
    counter: u64,
    out: &mut [u8; 128],
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    match token::mint_compact(&ring, key_id, &SessionId(*session_id), counter) {
        Ok(t) => {
            copy_out(out, t.as_bytes());
            Acc(8).token(&t).0
        }
        Err(e) => token_code(e),
    }
}

/// `log_id`, `LogId::as_str`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_log_id(session_id: &[u8; 16], out: &mut [u8; 16]) -> u32 {
    let id = log_id(&SessionId(*session_id));
    copy_out(out, id.as_str().as_bytes());
    Acc(9).log_id(&id).0
}

/// `Subject::{from_u64, is_anonymous}`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_subject(id: u64, raw: &[u8; 16]) -> u32 {
    let a = Subject::from_u64(id);
    let b = Subject(*raw);
    Acc(10)
        .bytes(&a.0)
        .bool(a.is_anonymous())
        .bool(b.is_anonymous())
        .bool(b == Subject::ANONYMOUS)
        .0
}

// ---------------------------------------------------------------------------------------------
// record
// ---------------------------------------------------------------------------------------------

/// `Record::decode` of arbitrary bytes, then `Record::encode` and `Record::is_active`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_record_decode(
    bytes: &[u8; RECORD_LEN + 32],
    len: usize,
    out: &mut [u8; RECORD_LEN],
) -> u32 {
    match Record::decode(clamp(bytes, len)) {
        Ok(r) => {
            copy_out(out, &r.encode());
            Acc(11).record(&r).0
        }
        Err(e) => record_error(e),
    }
}

/// `Record::new` with every public field then set from parameters, `Record::encode`, and
/// `Record::decode` of the result.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_record_encode(params: &RecordParams, out: &mut [u8; RECORD_LEN]) -> u32 {
    let r = record(params);
    let bytes = r.encode();
    copy_out(out, &bytes);
    let mut acc = Acc(12);
    acc.bytes(&bytes).bool(r.is_active());
    match Record::decode(&bytes) {
        Ok(back) => acc.record(&back).0,
        Err(e) => acc.u64(u64::from(record_error(e))).0,
    }
}

// ---------------------------------------------------------------------------------------------
// policy
// ---------------------------------------------------------------------------------------------

/// `Policy::validate` (also of `Policy::default()` and `Policy::cached()`).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_policy_validate(params: &PolicyParams) -> u32 {
    let code = |r: Result<(), PolicyError>| r.map_or_else(policy_error, |()| 0);
    Acc(13)
        .u64(u64::from(code(policy(params).validate())))
        .u64(u64::from(code(Policy::default().validate())))
        .u64(u64::from(code(Policy::cached().validate())))
        .0
}

/// `Policy::grace_ms`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_policy_grace_ms(params: &PolicyParams, lateness_ms: u32) -> u64 {
    policy(params).grace_ms(lateness_ms)
}

// ---------------------------------------------------------------------------------------------
// engine
// ---------------------------------------------------------------------------------------------

fn decide_both(
    ring: &Keyring,
    pol: &Policy,
    rec: &Record,
    text: &[u8],
    client: &BindingInput<'_>,
    now_ms: u64,
) -> u32 {
    let parsed = match token::parse(text) {
        Ok(p) => p,
        Err(e) => return token_code(e),
    };
    let mut acc = Acc(14);
    for kind in [Kind::Advance, Kind::Read] {
        let d = engine::decide(ring, pol, rec, &parsed, kind, client, now_ms);
        decision(&mut acc, &d);
    }
    acc.0
}

/// `engine::decide` (both kinds) over a record decoded from parameter bytes and a token parsed
/// from parameter bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rtnp_engine_decide(
    keys: &KeyParams,
    policy_params: &PolicyParams,
    record_bytes: &[u8; RECORD_LEN],
    token_text: &[u8; 160],
    token_len: usize,
    client_params: &ClientParams,
    now_ms: u64,
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    let rec = match Record::decode(record_bytes) {
        Ok(r) => r,
        Err(e) => return record_error(e),
    };
    decide_both(
        &ring,
        &policy(policy_params),
        &rec,
        clamp(token_text, token_len),
        &client(client_params),
        now_ms,
    )
}

/// `engine::decide` (both kinds) over a record whose public fields are set directly from
/// parameters, including combinations `Record::decode` would refuse.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_engine_decide_raw_record(
    keys: &KeyParams,
    policy_params: &PolicyParams,
    record_params: &RecordParams,
    token_text: &[u8; 160],
    token_len: usize,
    client_params: &ClientParams,
    now_ms: u64,
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    decide_both(
        &ring,
        &policy(policy_params),
        &record(record_params),
        clamp(token_text, token_len),
        &client(client_params),
        now_ms,
    )
}

// ---------------------------------------------------------------------------------------------
// sessions
// ---------------------------------------------------------------------------------------------

type Facade<'k> = Sessions<&'k Keyring, MemoryStore<64>, MemoryDenyList<64>>;

fn outcome(acc: &mut Acc, o: &Outcome, now: u64, last: &mut [u8; 128], last_len: &mut usize) {
    acc.verdict(&o.verdict());
    match o {
        Outcome::Proceed {
            view,
            token,
            verdict: v,
            binding,
        } => {
            acc.bytes(&view.session_id.0)
                .log_id(&view.log_id)
                .bytes(&view.subject.0)
                .bool(view.authenticated)
                .u64(view.counter)
                .u64(view.expires_at)
                .u64(view.max_age_secs(now))
                .verdict(v)
                .matched(*binding);
            if let Some(p) = &view.parent {
                acc.bytes(&p.0);
            }
            if let Some(t) = token {
                acc.token(t);
                *last_len = copy_out(last, t.as_bytes());
            }
        }
        Outcome::Reject {
            verdict: v,
            clear_cookie,
            event,
        } => {
            acc.verdict(v)
                .bool(*clear_cookie)
                .verdict(&event.verdict)
                .u64(event.at_ms)
                .matched(event.binding);
            if let Some(l) = &event.log_id {
                acc.log_id(l);
            }
        }
    }
}

fn run_script(s: &mut Facade<'_>, p: &ScriptParams, out: &mut [u8; 128]) -> u32 {
    let mut acc = Acc(15);
    let mut now = p.now_ms;
    let mut last = [0u8; 128];
    let mut last_len = 0usize;
    for i in 0..p.op_count.min(256) {
        let op = p.ops.get(i % 32).copied().unwrap_or(0);
        now = now.wrapping_add_signed(p.steps_ms.get(i % 32).copied().unwrap_or(0));
        let idx = usize::from((op >> 3) & 3);
        let id = p.ids.get(idx).copied().unwrap_or([0; 16]);
        let cookie: &[u8] = if op & 0x20 != 0 {
            clamp(&last, last_len)
        } else {
            match (p.cookies.get(idx), p.cookie_lens.get(idx)) {
                (Some(c), Some(l)) => clamp(c, *l),
                _ => &[],
            }
        };
        let [first, second] = &p.clients;
        let client_params = if op & 0x80 != 0 { second } else { first };
        let binding = client(client_params);
        let kind = if op & 0x40 != 0 {
            Kind::Read
        } else {
            Kind::Advance
        };
        match op & 7 {
            0 => {
                // The caller's own database: begin, then finish on record bytes from the
                // parameters (an empty cookie takes the no-cookie path).
                let req = Request {
                    cookie: Some(cookie),
                    kind,
                    now_ms: now,
                    binding: &binding,
                    new_session_id: id,
                };
                match s.begin(&req) {
                    Step::Done(o) => outcome(&mut acc, &o, now, &mut last, &mut last_len),
                    Step::Load(pending) => {
                        acc.bytes(&pending.session_id().0)
                            .bool(pending.kind() == Kind::Read);
                        let bytes = p.records.get(idx).copied().unwrap_or([0; RECORD_LEN]);
                        let loaded = Record::decode(&bytes).map(Some).map_err(StoreError::from);
                        match s.finish(&pending, &req, loaded, op & 0x80 != 0) {
                            Finish::Done(o) => outcome(&mut acc, &o, now, &mut last, &mut last_len),
                            Finish::Save {
                                record,
                                expected_version,
                                outcome: o,
                            } => {
                                acc.record(&record).u64(expected_version);
                                outcome(&mut acc, &o, now, &mut last, &mut last_len);
                            }
                            Finish::LoadPrimary => {
                                let o = s.store_failed(&pending, &req, StoreError::Unavailable);
                                outcome(&mut acc, &o, now, &mut last, &mut last_len);
                            }
                        }
                    }
                }
            }
            1 => {
                let req = Request {
                    cookie: Some(cookie),
                    kind,
                    now_ms: now,
                    binding: &binding,
                    new_session_id: id,
                };
                let o = s.handle(&req);
                outcome(&mut acc, &o, now, &mut last, &mut last_len);
            }
            2 => {
                let current = if op & 0x40 != 0 { None } else { Some(cookie) };
                let subject = p.ids.get((idx + 1) % 4).copied().unwrap_or([0; 16]);
                match s.login(current, id, subject, now, &binding) {
                    Ok(Login { token, view }) => {
                        acc.token(&token)
                            .bytes(&view.session_id.0)
                            .u64(view.max_age_secs(now));
                        last_len = copy_out(&mut last, token.as_bytes());
                    }
                    Err(e) => {
                        acc.u64(u64::from(error(e)));
                    }
                }
            }
            3 => match s.logout(cookie, now) {
                Ok(Some(l)) => {
                    acc.log_id(&l);
                }
                Ok(None) => {
                    acc.u64(1);
                }
                Err(e) => {
                    acc.u64(u64::from(error(e)));
                }
            },
            4 => match s.revoke_all(&Subject(id), now) {
                Ok(n) => {
                    acc.u64(n as u64);
                }
                Err(e) => {
                    acc.u64(u64::from(error(e)));
                }
            },
            5 => {
                // Inject a record (from parameter bytes) as another process would have saved it.
                let bytes = p.records.get(idx).copied().unwrap_or([0; RECORD_LEN]);
                match Record::decode(&bytes) {
                    Ok(r) => {
                        let v = p.versions.get(idx).copied().unwrap_or(u64::MAX);
                        let expected = (v != u64::MAX).then_some(v);
                        match s.store_mut().save(&r, expected, now) {
                            Ok(()) => acc.u64(2),
                            Err(e) => acc.u64(u64::from(store_error(e))),
                        };
                    }
                    Err(e) => {
                        acc.u64(u64::from(record_error(e)));
                    }
                }
            }
            6 => {
                let sid = SessionId(id);
                match s.store_mut().load(&sid) {
                    Ok(Some(r)) => acc.record(&r),
                    Ok(None) => acc.u64(3),
                    Err(e) => acc.u64(u64::from(store_error(e))),
                };
                if op & 0x40 != 0 {
                    let _ = s.store_mut().delete(&sid);
                }
            }
            _ => {
                let sid = SessionId(id);
                let until =
                    now.wrapping_add_signed(p.steps_ms.get((i + 1) % 32).copied().unwrap_or(0));
                let denied = s.deny_list_mut().deny(&sid, until, now) == Err(DenyListFull);
                acc.bool(denied)
                    .bool(s.deny_list_mut().is_denied(&sid, now))
                    .bool(s.is_degraded(now))
                    .u64(s.store().len() as u64)
                    .u64(u64::from(s.policy().span_cap));
            }
        }
    }
    copy_out(out, clamp(&last, last_len));
    acc.0
}

fn sessions(
    mode: Mode,
    keys: &KeyParams,
    policy_params: &PolicyParams,
    script: &ScriptParams,
    out: &mut [u8; 128],
) -> u32 {
    let ring = match keyring(keys) {
        Ok(r) => r,
        Err(e) => return key_error(e),
    };
    let mut pol = policy(policy_params);
    pol.mode = mode;
    match Sessions::new(
        &ring,
        pol,
        MemoryStore::<64>::new(),
        MemoryDenyList::<64>::new(),
    ) {
        Ok(mut s) => run_script(&mut s, script, out),
        Err(e) => error(e),
    }
}

/// `Sessions::{new, handle, login, logout, revoke_all, store, store_mut, deny_list_mut,
/// is_degraded, policy}`, `Outcome::verdict`, `SessionView::max_age_secs` in strict mode.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_sessions_strict(
    keys: &KeyParams,
    policy_params: &PolicyParams,
    script: &ScriptParams,
    out: &mut [u8; 128],
) -> u32 {
    sessions(Mode::Strict, keys, policy_params, script, out)
}

/// As [`rtnp_sessions_strict`], in cached mode.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_sessions_cached(
    keys: &KeyParams,
    policy_params: &PolicyParams,
    script: &ScriptParams,
    out: &mut [u8; 128],
) -> u32 {
    sessions(Mode::Cached, keys, policy_params, script, out)
}

// ---------------------------------------------------------------------------------------------
// store
// ---------------------------------------------------------------------------------------------

/// `Store::{load, load_primary, save, delete, list_by_subject}` and
/// `MemoryStore::{new, default, len, is_empty, capacity}` over a script of up to 256 ops.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_memory_store(
    ops: &[u8; 32],
    op_count: usize,
    records: &[[u8; RECORD_LEN]; 4],
    versions: &[u64; 4],
    now_ms: &[u64; 32],
    list_len: usize,
    out: &mut [[u8; 16]; 8],
) -> u32 {
    let mut store = if op_count & 1 == 0 {
        MemoryStore::<64>::new()
    } else {
        MemoryStore::<64>::default()
    };
    let mut acc = Acc(16);
    acc.u64(store.capacity() as u64);
    for i in 0..op_count.min(256) {
        let op = ops.get(i % 32).copied().unwrap_or(0);
        let now = now_ms.get(i % 32).copied().unwrap_or(0);
        let idx = usize::from((op >> 3) & 3);
        let mut rec = match Record::decode(&records.get(idx).copied().unwrap_or([0; RECORD_LEN])) {
            Ok(r) => r,
            Err(e) => {
                acc.u64(u64::from(record_error(e)));
                continue;
            }
        };
        // Spread ids so the store can fill up (and evict) within one script.
        #[allow(clippy::cast_possible_truncation)]
        if let Some(b) = rec.session_id.0.first_mut() {
            *b ^= (i as u8) & op;
        }
        let v = versions.get(idx).copied().unwrap_or(u64::MAX);
        let expected = (v != u64::MAX).then_some(v);
        match op & 7 {
            0 | 1 => match store.save(&rec, expected, now) {
                Ok(()) => acc.u64(1),
                Err(e) => acc.u64(u64::from(store_error(e))),
            },
            2 => match store.load(&rec.session_id) {
                Ok(Some(r)) => acc.record(&r),
                Ok(None) => acc.u64(2),
                Err(e) => acc.u64(u64::from(store_error(e))),
            },
            3 => match store.load_primary(&rec.session_id) {
                Ok(Some(r)) => acc.record(&r),
                Ok(None) => acc.u64(3),
                Err(e) => acc.u64(u64::from(store_error(e))),
            },
            4 => match store.delete(&rec.session_id) {
                Ok(()) => acc.u64(4),
                Err(e) => acc.u64(u64::from(store_error(e))),
            },
            _ => {
                let mut ids = [SessionId::default(); 8];
                let slots = ids.get_mut(..list_len).unwrap_or(&mut []);
                match store.list_by_subject(&rec.subject, slots) {
                    Ok(n) => acc.u64(n as u64),
                    Err(e) => acc.u64(u64::from(store_error(e))),
                };
                for (dst, src) in out.iter_mut().zip(ids.iter()) {
                    *dst = src.0;
                }
                &mut acc
            }
        };
        acc.u64(store.len() as u64).bool(store.is_empty());
    }
    acc.0
}

/// `DenyList::{deny, is_denied}` and `MemoryDenyList::{new, default, len, is_empty}` over a
/// script of up to 256 ops.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_memory_deny_list(
    ops: &[u8; 32],
    op_count: usize,
    ids: &[[u8; 16]; 4],
    until_ms: &[u64; 32],
    now_ms: &[u64; 32],
) -> u32 {
    let mut deny = if op_count & 1 == 0 {
        MemoryDenyList::<64>::new()
    } else {
        MemoryDenyList::<64>::default()
    };
    let mut acc = Acc(17);
    for i in 0..op_count.min(256) {
        let op = ops.get(i % 32).copied().unwrap_or(0);
        let now = now_ms.get(i % 32).copied().unwrap_or(0);
        let until = until_ms.get(i % 32).copied().unwrap_or(0);
        let mut id = ids.get(usize::from(op & 3)).copied().unwrap_or([0; 16]);
        #[allow(clippy::cast_possible_truncation)]
        if let Some(b) = id.first_mut() {
            *b ^= (i as u8) & op;
        }
        let id = SessionId(id);
        if op & 4 == 0 {
            acc.bool(deny.deny(&id, until, now).is_err());
        }
        acc.bool(deny.is_denied(&id, now))
            .u64(deny.len() as u64)
            .bool(deny.is_empty());
    }
    acc.0
}

// ---------------------------------------------------------------------------------------------
// cookie
// ---------------------------------------------------------------------------------------------

/// `fetch::kind_of`: six header values from parameter bytes (length 0xff = absent).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_fetch_kind(headers: &[[u8; 64]; 6], lens: &[usize; 6]) -> u32 {
    let h = |i: usize| -> Option<&[u8]> {
        let (bytes, len) = (headers.get(i)?, *lens.get(i)?);
        (len != 0xff).then(|| clamp(bytes, len))
    };
    let fetch = rolltoken::fetch::FetchHeaders {
        method: h(0).unwrap_or(&[]),
        sec_fetch_mode: h(1),
        sec_fetch_site: h(2),
        sec_purpose: h(3),
        purpose: h(4),
        accept: h(5),
    };
    match rolltoken::fetch::kind_of(&fetch) {
        Kind::Advance => 1,
        Kind::Read => 2,
    }
}

/// `cookie::find_cookie` and `cookie::find_cookie_str` (header may exceed the maximum length).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_find_cookie(
    header: &[u8; cookie::MAX_COOKIE_HEADER_LEN + 64],
    header_len: usize,
    name: &[u8; 96],
    name_len: usize,
    out: &mut [u8; 256],
) -> u32 {
    let Ok(name) = core::str::from_utf8(clamp(name, name_len)) else {
        return 0x8ff;
    };
    let header = clamp(header, header_len);
    let mut acc = Acc(18);
    match cookie::find_cookie(header, name) {
        Ok(Some(v)) => {
            copy_out(out, v.as_bytes());
            acc.bytes(v.as_bytes())
        }
        Ok(None) => acc.u64(1),
        Err(e) => acc.u64(u64::from(cookie_error(e))),
    };
    if let Ok(text) = core::str::from_utf8(header) {
        match cookie::find_cookie_str(text, name) {
            Ok(Some(v)) => acc.bytes(v.as_bytes()),
            Ok(None) => acc.u64(2),
            Err(e) => acc.u64(u64::from(cookie_error(e))),
        };
    }
    acc.0
}

/// `cookie::write_set_cookie` into an output of parameter length.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_write_set_cookie(
    config: &CookieParams,
    value: &[u8; cookie::MAX_COOKIE_VALUE_LEN + 32],
    value_len: usize,
    max_age_secs: u64,
    out: &mut [u8; cookie::MAX_SET_COOKIE_LEN + 64],
    out_len: usize,
) -> u32 {
    let (Some(cfg), Ok(value)) = (
        cookie_config(config),
        core::str::from_utf8(clamp(value, value_len)),
    ) else {
        return 0x9ff;
    };
    let predicted = cookie::set_cookie_len(&cfg, value.len(), max_age_secs);
    let buf: &mut [u8] = match out.get_mut(..out_len) {
        Some(b) => b,
        None => out,
    };
    let mut acc = Acc(19);
    acc.u64(predicted as u64);
    match cookie::write_set_cookie(buf, &cfg, value, max_age_secs) {
        Ok(s) => acc.bytes(s.as_bytes()).bool(s.len() == predicted),
        Err(e) => acc.u64(u64::from(cookie_error(e))),
    };
    acc.0
}

/// `cookie::write_clear_cookie` into an output of parameter length.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_write_clear_cookie(
    config: &CookieParams,
    out: &mut [u8; cookie::MAX_SET_COOKIE_LEN + 64],
    out_len: usize,
) -> u32 {
    let Some(cfg) = cookie_config(config) else {
        return 0xaff;
    };
    let buf: &mut [u8] = match out.get_mut(..out_len) {
        Some(b) => b,
        None => out,
    };
    match cookie::write_clear_cookie(buf, &cfg) {
        Ok(s) => Acc(20).bytes(s.as_bytes()).0,
        Err(e) => cookie_error(e),
    }
}

/// `cookie::set_cookie_len` (no validation: any name, path and lengths).
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_set_cookie_len(
    config: &CookieParams,
    value_len: usize,
    max_age_secs: u64,
) -> usize {
    match cookie_config(config) {
        Some(cfg) => cookie::set_cookie_len(&cfg, value_len, max_age_secs),
        None => usize::MAX,
    }
}

/// `CookieConfig::validate` (also of `default()` and `insecure_local()`), `SameSite::as_str`.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_cookie_config_validate(config: &CookieParams) -> u32 {
    let code = |r: Result<(), CookieError>| r.map_or_else(cookie_error, |()| 0);
    let Some(cfg) = cookie_config(config) else {
        return 0xbff;
    };
    Acc(21)
        .u64(u64::from(code(cfg.validate())))
        .bytes(cfg.same_site.as_str().as_bytes())
        .u64(u64::from(code(CookieConfig::default().validate())))
        .u64(u64::from(code(CookieConfig::insecure_local().validate())))
        .0
}

// ---------------------------------------------------------------------------------------------
// verdict
// ---------------------------------------------------------------------------------------------

/// `Verdict::{rule, proceeds, clears_cookie}` and `Rule::name` for a verdict from parameters.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_verdict(code: u8, a: u64, b: u64, sub: u8) -> u32 {
    Acc(22).verdict(&verdict(code, a, b, sub)).0
}

/// `Rule::name` for a rule code from parameters.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_rule_name(code: u8, out: &mut [u8; 32]) -> usize {
    match rule(code) {
        Some(r) => copy_out(out, r.name().as_bytes()),
        None => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Negative control
// ---------------------------------------------------------------------------------------------

/// Indexes with an untrusted index: reachable panic (`panic_bounds_check`). With the `control`
/// feature the canary must refuse to link.
#[cfg(feature = "control")]
#[allow(unsafe_code, clippy::indexing_slicing)]
#[unsafe(no_mangle)]
pub extern "C" fn rtnp_control_out_of_bounds(s: &[u8; 16], i: usize) -> u8 {
    s[i]
}
