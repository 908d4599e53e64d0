//! The C ABI (`rolltoken-ffi`, header `include/rolltoken.h`), called as C would call it:
//! every exported function, with fuzz-chosen lengths, NULL for any pointer (with a zero or a
//! non-zero length), output buffers of any size (empty, one byte short, exact, larger), bad
//! enum values and arbitrary bytes, on one keyring and one `rt_sessions` per input.
//!
//! Input: a sequence of operations, each an opcode byte followed by what that call reads.
//! Pointers are never dangling: each is NULL or a live Rust buffer of the length passed.
//!
//! Checks, for every call:
//! * it returns (no crash, no abort: libFuzzer's panic hook aborts on any panic, including one
//!   the boundary would catch) a status the library knows (`rt_status_str` names it) and never
//!   `RT_STATUS_PANIC`;
//! * a NULL pointer that comes with a non-zero length, or a NULL required output, never gives
//!   `RT_STATUS_OK`;
//! * nothing is written past an output buffer's capacity (guard bytes), inputs are not
//!   modified, and on any status other than OK no output (buffer, length, struct, handle) is
//!   written;
//! * on OK, written lengths fit their buffers, tokens written parse (and verify), static
//!   strings are NUL-terminated UTF-8;
//! * the C results agree with the Rust core for token parse/verify, record decode and cookie
//!   lookup, and `rt_outcome` is consistent (proceed iff a proceeding rule; clear_cookie
//!   exactly for reuse, revoked, expired, forged, malformed, unknown session).
#![no_main]

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;
use std::ptr::{null, null_mut};

use libfuzzer_sys::fuzz_target;
use rolltoken::cookie;
use rolltoken::record::Record;
use rolltoken::token::{self, Parsed};
use rolltoken_ffi::*;
use rolltoken_fuzz::{Src, VECTOR_KEYS};

const FILL: u8 = 0xCD;
/// Guard bytes after every output buffer: more than any output is long (329 bytes), so a
/// write that ignores the capacity lands in the guard and is reported, not in the heap.
const GUARD: usize = 512;
const LEN_SENTINEL: usize = usize::MAX - 7;
const OK: u32 = 0;
const NULL_PARAMETER: u32 = 1;
const PANIC: u32 = 5;
const MAX_OPS: usize = 48;

fn check_status(st: rt_status) -> u32 {
    let code = st as u32;
    assert_ne!(code, PANIC, "RT_STATUS_PANIC: a fault reached the boundary");
    let msg = unsafe { CStr::from_ptr(rt_status_str(code)) };
    assert_ne!(
        msg.to_bytes(),
        b"unknown status",
        "a status the library does not know: {code}"
    );
    code
}

fn check_cstr(p: *const c_char) {
    assert!(!p.is_null());
    // Bounded scan: every static string of the library is short.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), 1) };
    let _ = bytes;
    let s = unsafe { CStr::from_ptr(p) };
    assert!(s.to_bytes().len() < 128 && std::str::from_utf8(s.to_bytes()).is_ok());
}

/// An input byte string: NULL (with its length, or with 0) or a live buffer.
struct In {
    v: Vec<u8>,
    null: bool,
    zero_len: bool,
}

impl In {
    fn new(v: Vec<u8>, src: &mut Src<'_>) -> In {
        let sel = src.u8();
        In {
            v,
            null: sel % 16 == 1 || sel % 16 == 2,
            zero_len: sel % 16 == 2,
        }
    }
    fn ptr(&self) -> *const u8 {
        if self.null {
            null()
        } else {
            self.v.as_ptr()
        }
    }
    fn len(&self) -> usize {
        if self.null && self.zero_len {
            0
        } else {
            self.v.len()
        }
    }
    /// NULL with a non-zero length: the call must not succeed.
    fn bad(&self) -> bool {
        self.null && self.len() > 0
    }
    /// What the callee sees.
    fn seen(&self) -> &[u8] {
        if self.null {
            &[]
        } else {
            &self.v
        }
    }
}

/// A fixed-size input (a 16-byte id): NULL or 16 live bytes.
fn id16(src: &mut Src<'_>) -> (Option<[u8; 16]>, bool) {
    let sel = src.u8();
    if sel % 16 == 1 {
        return (None, true);
    }
    let mut id = [0u8; 16];
    id[0] = sel;
    id[15] = src.u8();
    (Some(id), false)
}

fn p16(id: &Option<[u8; 16]>) -> *const u8 {
    id.as_ref().map_or(null(), |a| a.as_ptr())
}

/// An output byte buffer with guard bytes and a length output.
struct Out {
    v: Vec<u8>,
    cap: usize,
    len: usize,
    null: bool,
    null_len: bool,
}

impl Out {
    fn new(need: usize, src: &mut Src<'_>) -> Out {
        let sel = src.u8();
        let cap = match sel % 8 {
            0 => 0,
            1 => need.saturating_sub(1),
            2..=4 => need,
            5 => need + 9,
            _ => usize::from(src.u8()) * 2,
        };
        Out {
            v: vec![FILL; cap + GUARD],
            cap,
            len: LEN_SENTINEL,
            null: sel >> 4 == 1,
            null_len: sel >> 4 == 2,
        }
    }
    fn ptr(&mut self) -> *mut u8 {
        if self.null {
            null_mut()
        } else {
            self.v.as_mut_ptr()
        }
    }
    fn len_ptr(&mut self) -> *mut usize {
        if self.null_len {
            null_mut()
        } else {
            &mut self.len
        }
    }
    fn required_null(&self) -> bool {
        self.null || self.null_len
    }
    fn check(&self, code: u32) {
        assert!(
            self.v[self.cap..].iter().all(|&b| b == FILL),
            "wrote past the buffer's capacity"
        );
        if code == OK {
            assert!(
                self.len <= self.cap,
                "written length {} > capacity {}",
                self.len,
                self.cap
            );
        } else {
            assert_eq!(self.len, LEN_SENTINEL, "length written on an error");
            assert!(
                self.v[..self.cap].iter().all(|&b| b == FILL),
                "buffer written on an error"
            );
        }
    }
    fn data(&self) -> &[u8] {
        &self.v[..self.len]
    }
}

/// A struct output: NULL or a zeroed value with a marker.
struct OutVal<T> {
    v: Box<MaybeUninit<T>>,
    null: bool,
}

impl<T> OutVal<T> {
    fn new(src: &mut Src<'_>) -> OutVal<T> {
        OutVal {
            v: Box::new(MaybeUninit::zeroed()),
            null: src.u8() % 16 == 3,
        }
    }
    fn ptr(&mut self) -> *mut T {
        if self.null {
            null_mut()
        } else {
            self.v.as_mut_ptr()
        }
    }
    /// Zeroed bytes, so every field of these plain C structs is valid.
    fn get(&self) -> &T {
        unsafe { self.v.assume_init_ref() }
    }
    fn bytes(&self) -> &[u8] {
        unsafe {
            std::slice::from_raw_parts(self.v.as_ptr().cast::<u8>(), std::mem::size_of::<T>())
        }
    }
    fn untouched(&self) -> bool {
        self.bytes().iter().all(|&b| b == 0)
    }
}

fn clears(rule: u8) -> bool {
    matches!(rule, 20 | 22 | 23 | 24 | 25 | 26)
}

struct State {
    keyring: *mut rt_keyring,
    sessions: *mut rt_sessions,
    tokens: Vec<Vec<u8>>,
    records: Vec<Vec<u8>>,
    now: u64,
}

impl State {
    fn token(&self, sel: u8) -> Vec<u8> {
        if self.tokens.is_empty() {
            return Vec::new();
        }
        self.tokens[usize::from(sel) % self.tokens.len()].clone()
    }
    fn record(&self, sel: u8) -> Vec<u8> {
        if self.records.is_empty() {
            return vec![0; RT_RECORD_LEN];
        }
        self.records[usize::from(sel) % self.records.len()].clone()
    }
    fn kr(&self, src: &mut Src<'_>) -> *const rt_keyring {
        if src.u8() % 16 == 1 {
            null()
        } else {
            self.keyring
        }
    }
    fn ss(&self, src: &mut Src<'_>) -> *const rt_sessions {
        if src.u8() % 16 == 1 {
            null()
        } else {
            self.sessions
        }
    }
    fn remember_token(&mut self, t: &[u8]) {
        if self.tokens.len() >= 16 {
            self.tokens.remove(0);
        }
        self.tokens.push(t.to_vec());
    }
    fn remember_record(&mut self, r: &[u8]) {
        if self.records.len() >= 8 {
            self.records.remove(0);
        }
        self.records.push(r.to_vec());
    }
}

/// Bytes for a token-ish input: a known token, a mutated one, or fuzz bytes.
fn token_bytes(src: &mut Src<'_>, st: &State) -> Vec<u8> {
    let sel = src.u8();
    match sel % 4 {
        0 | 1 => st.token(src.u8()),
        2 => {
            let mut t = st.token(src.u8());
            if !t.is_empty() {
                let i = usize::from(src.u8()) % t.len();
                t[i] ^= src.u8() | 1;
            }
            t
        }
        _ => src.short_bytes(130).to_vec(),
    }
}

fn ua_bytes(src: &mut Src<'_>) -> Vec<u8> {
    match src.u8() % 4 {
        0 => b"Mozilla/5.0".to_vec(),
        1 => b"curl/8".to_vec(),
        2 => Vec::new(),
        _ => src.short_bytes(40).to_vec(),
    }
}

fn ip_bytes(src: &mut Src<'_>) -> Vec<u8> {
    match src.u8() % 6 {
        0 => b"192.0.2.10".to_vec(),
        1 => b"2001:db8::1".to_vec(),
        2 => b"::ffff:198.51.100.23".to_vec(),
        3 => Vec::new(),
        _ => src.short_bytes(40).to_vec(),
    }
}

fn policy_from(src: &mut Src<'_>) -> rt_policy {
    let mut p = MaybeUninit::<rt_policy>::zeroed();
    let base = src.u8();
    let st = unsafe {
        if base & 1 == 0 {
            rt_policy_default(p.as_mut_ptr())
        } else {
            rt_policy_cached(p.as_mut_ptr())
        }
    };
    assert_eq!(check_status(st), OK);
    let mut p = unsafe { p.assume_init() };
    if base & 2 != 0 {
        p.mode = src.u8() % 3;
        p.form = src.u8() % 3;
        p.grace_kind = src.u8() % 3;
        p.grace_ms = u32::from(src.u16());
        p.grace_min_ms = u32::from(src.u16());
        p.grace_max_ms = u32::from(src.u16());
        p.span_cap = src.u8();
        p.answer_cap = src.u8();
        p.binding = src.u8() % 4;
        p.fresh_ms = u64::from(src.u32());
        p.idle_timeout_ms = u64::from(src.u32());
    }
    p
}

fn check_outcome(o: &rt_outcome, token: &Out, st: &mut State) {
    assert_eq!(
        o.proceed,
        o.rule < 20,
        "proceed={} rule={}",
        o.proceed,
        o.rule
    );
    assert_eq!(
        o.clear_cookie,
        clears(o.rule),
        "clear_cookie for rule {}",
        o.rule
    );
    check_cstr(rt_rule_name(o.rule));
    assert_ne!(
        unsafe { CStr::from_ptr(rt_rule_name(o.rule)) }.to_bytes(),
        b"unknown"
    );
    check_cstr(rt_detail_name(o.rule, o.detail));
    if o.has_token {
        assert!(o.proceed, "a refusal with a token");
        let t = token.data();
        match token::parse(t) {
            Ok(Parsed::Full(f)) => assert_eq!(f.unverified_claims().session_id.0, o.session_id),
            Ok(Parsed::Compact(c)) => assert_eq!(c.session_id().0, o.session_id),
            Err(e) => panic!("a token written by the C ABI does not parse: {e:?}"),
        }
        st.remember_token(t);
    }
    if o.has_session {
        let log = unsafe { CStr::from_ptr(o.log_id.as_ptr()) };
        assert_eq!(
            log.to_bytes(),
            rolltoken::log_id(&rolltoken::SessionId(o.session_id))
                .as_str()
                .as_bytes()
        );
    }
}

fn token_status(e: rolltoken::token::TokenError) -> u32 {
    200 + rolltoken::token::TokenError::ALL
        .iter()
        .position(|x| *x == e)
        .unwrap() as u32
}

fn cookie_config(src: &mut Src<'_>, names: &mut Vec<Vec<u8>>) -> Option<rt_cookie_config> {
    let sel = src.u8();
    let mut c = MaybeUninit::<rt_cookie_config>::zeroed();
    match sel % 8 {
        0 => return None,
        1..=3 => assert_eq!(
            check_status(unsafe { rt_cookie_config_default(c.as_mut_ptr()) }),
            OK
        ),
        4 => assert_eq!(
            check_status(unsafe { rt_cookie_config_insecure_local(c.as_mut_ptr()) }),
            OK
        ),
        _ => {
            let mut name = src.short_bytes(70).to_vec();
            name.retain(|&b| b != 0);
            name.push(0);
            let mut path = if src.bool() {
                b"/".to_vec()
            } else {
                src.short_bytes(70).to_vec()
            };
            path.retain(|&b| b != 0);
            path.push(0);
            names.push(name);
            names.push(path);
            let n = names.len();
            let flags = src.u8();
            return Some(rt_cookie_config {
                name: if flags & 0x80 != 0 {
                    null()
                } else {
                    names[n - 2].as_ptr().cast()
                },
                path: if flags & 0x40 != 0 {
                    null()
                } else {
                    names[n - 1].as_ptr().cast()
                },
                secure: flags & 1 != 0,
                http_only: flags & 2 != 0,
                same_site: (flags >> 2) & 3,
                session_only: flags & 0x10 != 0,
            });
        }
    }
    let mut c = unsafe { c.assume_init() };
    if sel & 0x80 != 0 {
        c.same_site = src.u8();
    }
    if sel & 0x40 != 0 {
        c.session_only = true;
    }
    Some(c)
}

fn core_config(c: &rt_cookie_config) -> Option<cookie::CookieConfig<'static>> {
    if c.name.is_null() || c.path.is_null() {
        return None;
    }
    let name = unsafe { CStr::from_ptr(c.name) }.to_str().ok()?;
    let path = unsafe { CStr::from_ptr(c.path) }.to_str().ok()?;
    let same_site = *cookie::SameSite::ALL.get(usize::from(c.same_site))?;
    // The strings live in `names` for the whole input; 'static only for the comparison here.
    let name: &'static str = unsafe { std::mem::transmute::<&str, &'static str>(name) };
    let path: &'static str = unsafe { std::mem::transmute::<&str, &'static str>(path) };
    let cfg = cookie::CookieConfig {
        name,
        path,
        secure: c.secure,
        http_only: c.http_only,
        same_site,
        session_only: c.session_only,
    };
    cfg.validate().ok().map(|_| cfg)
}

fn run(src: &mut Src<'_>, st: &mut State) {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for _ in 0..MAX_OPS {
        if src.is_empty() {
            break;
        }
        st.now = st.now.saturating_add(u64::from(src.u16()) * 50);
        let op = src.u8();
        match op % 24 {
            0 => {
                check_cstr(rt_version());
                check_cstr(rt_status_str(src.u32() % 1024));
                check_cstr(rt_rule_name(src.u8()));
                check_cstr(rt_detail_name(src.u8(), src.u8()));
            }
            1 => {
                let (sid, sid_null) = id16(src);
                let mut out = OutVal::<[c_char; 17]>::new(src);
                let code = check_status(unsafe { rt_log_id(p16(&sid), out.ptr().cast()) });
                if sid_null || out.null {
                    assert_ne!(code, OK);
                }
                if code == OK {
                    let s = unsafe { CStr::from_ptr(out.get().as_ptr()) };
                    assert_eq!(
                        s.to_bytes(),
                        rolltoken::log_id(&rolltoken::SessionId(sid.unwrap()))
                            .as_str()
                            .as_bytes()
                    );
                } else {
                    assert!(out.untouched());
                }
            }
            2 => {
                let cfg = cookie_config(src, &mut names);
                let header = In::new(
                    if src.bool() {
                        token_bytes(src, st)
                    } else {
                        src.short_bytes(255).to_vec()
                    },
                    src,
                );
                let copy = header.v.clone();
                let mut found = OutVal::<bool>::new(src);
                let mut value = OutVal::<*const u8>::new(src);
                let mut value_len = OutVal::<usize>::new(src);
                let cp = cfg
                    .as_ref()
                    .map_or(null(), |c| c as *const rt_cookie_config);
                let code = check_status(unsafe {
                    rt_cookie_find(
                        cp,
                        header.ptr(),
                        header.len(),
                        found.ptr(),
                        value.ptr(),
                        value_len.ptr(),
                    )
                });
                assert_eq!(header.v, copy, "input modified");
                if header.bad() || found.null || value.null || value_len.null || cfg.is_none() {
                    assert_ne!(code, OK);
                }
                if code != OK {
                    assert!(found.untouched() && value.untouched() && value_len.untouched());
                }
                if let Some(core) = cfg.as_ref().and_then(core_config) {
                    if !header.bad() && !found.null && !value.null && !value_len.null {
                        let want = cookie::find_cookie(header.seen(), core.name);
                        match want {
                            Ok(Some(v)) => {
                                assert_eq!(code, OK);
                                assert!(*found.get());
                                assert_eq!(*value.get(), v.as_ptr());
                                assert_eq!(*value_len.get(), v.len());
                            }
                            Ok(None) => {
                                assert_eq!(code, OK);
                                assert!(!*found.get());
                            }
                            Err(_) => assert_ne!(code, OK),
                        }
                    }
                }
            }
            3 | 4 => {
                let cfg = cookie_config(src, &mut names);
                let cp = cfg
                    .as_ref()
                    .map_or(null(), |c| c as *const rt_cookie_config);
                let mut out =
                    Out::new(RT_MAX_SET_COOKIE_LEN / (1 + usize::from(src.u8() % 3)), src);
                let code;
                if op % 24 == 3 {
                    let tok = In::new(token_bytes(src, st), src);
                    let copy = tok.v.clone();
                    let max_age = src.u64();
                    code = check_status(unsafe {
                        rt_set_cookie_write(
                            cp,
                            tok.ptr(),
                            tok.len(),
                            max_age,
                            out.ptr(),
                            out.cap,
                            out.len_ptr(),
                        )
                    });
                    assert_eq!(tok.v, copy);
                    if tok.bad() {
                        assert_ne!(code, OK);
                    }
                    if code == OK {
                        let core =
                            core_config(cfg.as_ref().unwrap()).expect("OK with an invalid config");
                        let mut buf = [0u8; RT_MAX_SET_COOKIE_LEN];
                        let v = std::str::from_utf8(tok.seen()).unwrap();
                        let line = cookie::write_set_cookie(&mut buf, &core, v, max_age).unwrap();
                        assert_eq!(out.data(), line.as_bytes());
                    }
                } else {
                    code = check_status(unsafe {
                        rt_clear_cookie_write(cp, out.ptr(), out.cap, out.len_ptr())
                    });
                    if code == OK {
                        let core =
                            core_config(cfg.as_ref().unwrap()).expect("OK with an invalid config");
                        let mut buf = [0u8; RT_MAX_SET_COOKIE_LEN];
                        let line = cookie::write_clear_cookie(&mut buf, &core).unwrap();
                        assert_eq!(out.data(), line.as_bytes());
                    }
                }
                if out.required_null() || cfg.is_none() {
                    assert_ne!(code, OK);
                }
                out.check(code);
            }
            5 => {
                let count = usize::from(src.u8() % 7);
                let ids = In::new(
                    (0..count)
                        .map(|i| [1u8, 2, 200, 9, 1, 7][i])
                        .map(|b| b ^ (src.u8() & 1))
                        .collect(),
                    src,
                );
                let secrets = In::new((0..count * 32).map(|i| i as u8).collect(), src);
                let minting = [1u8, 2, 200, 3][usize::from(src.u8() % 4)];
                // Half the time with an audience of 0..=71 bytes (the limit is 64).
                let audience = (src.u8() & 1 == 1).then(|| {
                    let len = usize::from(src.u8() % 72);
                    In::new((0..len).map(|i| i as u8).collect(), src)
                });
                let mut out = OutVal::<*mut rt_keyring>::new(src);
                let code = check_status(unsafe {
                    match &audience {
                        None => rt_keyring_new(ids.ptr(), secrets.ptr(), count, minting, out.ptr()),
                        Some(a) => rt_keyring_new_for_audience(
                            ids.ptr(),
                            secrets.ptr(),
                            count,
                            minting,
                            a.ptr(),
                            a.len(),
                            out.ptr(),
                        ),
                    }
                });
                if out.null || (count > 0 && count <= 4 && (ids.null || secrets.null)) {
                    assert_ne!(code, OK);
                }
                if let Some(a) = &audience {
                    if a.len() > RT_MAX_AUDIENCE_LEN || (a.null && a.len() > 0) {
                        assert_ne!(
                            code,
                            OK,
                            "an audience of {} bytes (NULL: {})",
                            a.len(),
                            a.null
                        );
                    }
                    if code == rt_status::KeyAudienceTooLong as u32 {
                        assert!(a.len() > RT_MAX_AUDIENCE_LEN);
                    }
                }
                if code == OK {
                    let k = *out.get();
                    assert!(!k.is_null());
                    unsafe { rt_keyring_free(k) };
                } else {
                    assert!(out.untouched());
                }
                unsafe { rt_keyring_free(null_mut()) };
                unsafe { rt_sessions_free(null_mut()) };
            }
            6 | 7 => {
                let kr = st.kr(src);
                let mut out = Out::new(RT_MAX_TOKEN_LEN, src);
                let code = if op % 24 == 6 {
                    let mut claims = MaybeUninit::<rt_claims>::zeroed();
                    let c = unsafe { &mut *claims.as_mut_ptr() };
                    c.key_id = [1u8, 2, 200, 9][usize::from(src.u8() % 4)];
                    c.session_id = src.array();
                    c.counter = src.u64();
                    c.issued_at = st.now;
                    c.expires_at = st.now.saturating_add(u64::from(src.u32()));
                    c.subject = [src.u8(); 16];
                    c.binding = src.array();
                    c.authenticated = src.bool();
                    let cp = if src.u8() % 16 == 1 {
                        null()
                    } else {
                        claims.as_ptr()
                    };
                    let code = check_status(unsafe {
                        rt_token_mint_full(kr, cp, out.ptr(), out.cap, out.len_ptr())
                    });
                    if cp.is_null() {
                        assert_ne!(code, OK);
                    }
                    code
                } else {
                    let kid = [1u8, 2, 200, 9][usize::from(src.u8() % 4)];
                    let (sid, sid_null) = id16(src);
                    let ctr = src.u64();
                    let code = check_status(unsafe {
                        rt_token_mint_compact(
                            kr,
                            kid,
                            p16(&sid),
                            ctr,
                            out.ptr(),
                            out.cap,
                            out.len_ptr(),
                        )
                    });
                    if sid_null {
                        assert_ne!(code, OK);
                    }
                    code
                };
                if kr.is_null() || out.required_null() || out.cap < RT_MAX_TOKEN_LEN {
                    assert_ne!(code, OK);
                }
                out.check(code);
                if code == OK {
                    assert!(token::parse(out.data()).is_ok());
                    let t = out.data().to_vec();
                    st.remember_token(&t);
                }
            }
            8 | 9 => {
                let text = In::new(token_bytes(src, st), src);
                let copy = text.v.clone();
                let mut claims = OutVal::<rt_claims>::new(src);
                let want = token::parse(text.seen());
                let code;
                if op % 24 == 8 {
                    let mut form = OutVal::<u8>::new(src);
                    code = check_status(unsafe {
                        rt_token_parse(text.ptr(), text.len(), form.ptr(), claims.ptr())
                    });
                    if form.null || claims.null || text.bad() {
                        assert_ne!(code, OK);
                    } else {
                        match &want {
                            Ok(p) => {
                                assert_eq!(code, OK);
                                assert_eq!(
                                    *form.get(),
                                    if matches!(p, Parsed::Full(_)) {
                                        RT_FORM_FULL
                                    } else {
                                        RT_FORM_COMPACT
                                    }
                                );
                                assert_eq!(claims.get().session_id, p.session_id().0);
                                assert_eq!(claims.get().key_id, p.key_id());
                            }
                            Err(e) => assert_eq!(code, token_status(*e)),
                        }
                    }
                    if code != OK {
                        assert!(form.untouched());
                    }
                } else {
                    let kr = st.kr(src);
                    let ctr = if src.bool() { 0 } else { src.u64() };
                    code = check_status(unsafe {
                        rt_token_verify(kr, text.ptr(), text.len(), ctr, claims.ptr())
                    });
                    if kr.is_null() || claims.null || text.bad() {
                        assert_ne!(code, OK);
                    } else if let Err(e) = &want {
                        assert_eq!(code, token_status(*e));
                    }
                    if code == OK {
                        assert!(want.is_ok());
                    }
                }
                assert_eq!(text.v, copy);
                if code != OK {
                    assert!(claims.untouched());
                }
            }
            10 => {
                let kr = st.kr(src);
                let kid = [1u8, 2, 200, 9][usize::from(src.u8() % 4)];
                let ua = In::new(ua_bytes(src), src);
                let ip = In::new(ip_bytes(src), src);
                let mut out = OutVal::<[u8; 8]>::new(src);
                let code = check_status(unsafe {
                    rt_keyring_binding(
                        kr,
                        kid,
                        ua.ptr(),
                        ua.len(),
                        ip.ptr(),
                        ip.len(),
                        out.ptr().cast(),
                    )
                });
                if kr.is_null() || ua.bad() || ip.bad() || out.null {
                    assert_ne!(code, OK);
                }
                if code != OK {
                    assert!(out.untouched());
                }
            }
            11 => {
                let bytes = In::new(
                    if src.bool() {
                        st.record(src.u8())
                    } else {
                        src.short_bytes(140).to_vec()
                    },
                    src,
                );
                let mut out = OutVal::<rt_record>::new(src);
                let code =
                    check_status(unsafe { rt_record_decode(bytes.ptr(), bytes.len(), out.ptr()) });
                if bytes.bad() || out.null {
                    assert_ne!(code, OK);
                } else {
                    match Record::decode(bytes.seen()) {
                        Ok(r) => {
                            assert_eq!(code, OK);
                            assert_eq!(out.get().counter, r.counter);
                            assert_eq!(out.get().session_id, r.session_id.0);
                        }
                        Err(e) => {
                            let want = 300
                                + rolltoken::record::RecordError::ALL
                                    .iter()
                                    .position(|x| *x == e)
                                    .unwrap() as u32;
                            assert_eq!(code, want);
                        }
                    }
                }
                if code != OK {
                    assert!(out.untouched());
                }
                if code == OK {
                    // Encode it back (sometimes with fuzzed enum fields).
                    let mut rec = *out.get();
                    if src.u8() % 4 == 0 {
                        rec.state = src.u8() % 7;
                        rec.form = src.u8() % 3;
                        rec.counter = src.u64();
                        rec.grace_until = src.u64();
                    }
                    let rp = if src.u8() % 16 == 1 {
                        null()
                    } else {
                        &rec as *const rt_record
                    };
                    let mut buf = Out::new(RT_RECORD_LEN, src);
                    let code2 = check_status(unsafe {
                        rt_record_encode(rp, buf.ptr(), buf.cap, buf.len_ptr())
                    });
                    if rp.is_null() || buf.required_null() || buf.cap < RT_RECORD_LEN {
                        assert_ne!(code2, OK);
                    }
                    buf.check(code2);
                    if code2 == OK {
                        assert_eq!(buf.len, RT_RECORD_LEN);
                        let r = buf.data().to_vec();
                        st.remember_record(&r);
                    }
                }
            }
            12 => {
                let kr = st.kr(src);
                let pol = policy_from(src);
                let pp = if src.u8() % 16 == 1 {
                    null()
                } else {
                    &pol as *const rt_policy
                };
                let record = In::new(st.record(src.u8()), src);
                let tok = In::new(token_bytes(src, st), src);
                let kind = src.u8() % 3;
                let now = st.now;
                let ua = In::new(ua_bytes(src), src);
                let ip = In::new(ip_bytes(src), src);
                let mut out = OutVal::<rt_outcome>::new(src);
                let mut tout = Out::new(RT_MAX_TOKEN_LEN, src);
                let mut save = OutVal::<bool>::new(src);
                let mut rout = Out::new(RT_RECORD_LEN, src);
                let code = check_status(unsafe {
                    rt_decide(
                        kr,
                        pp,
                        record.ptr(),
                        record.len(),
                        tok.ptr(),
                        tok.len(),
                        kind,
                        now,
                        ua.ptr(),
                        ua.len(),
                        ip.ptr(),
                        ip.len(),
                        out.ptr(),
                        tout.ptr(),
                        tout.cap,
                        tout.len_ptr(),
                        save.ptr(),
                        rout.ptr(),
                        rout.cap,
                        rout.len_ptr(),
                    )
                });
                if kr.is_null()
                    || pp.is_null()
                    || record.bad()
                    || tok.bad()
                    || ua.bad()
                    || ip.bad()
                    || out.null
                    || save.null
                    || tout.required_null()
                    || rout.required_null()
                    || kind > 1
                {
                    assert_ne!(code, OK);
                }
                if code == OK {
                    if !out.get().has_token {
                        tout.len = 0;
                    }
                    if !*save.get() {
                        rout.len = 0;
                    }
                    tout.check(OK);
                    rout.check(OK);
                    let o = *out.get();
                    check_outcome(&o, &tout, st);
                    if *save.get() {
                        let r = rout.data().to_vec();
                        assert!(
                            Record::decode(&r).is_ok(),
                            "rt_decide wrote a record that does not decode"
                        );
                        st.remember_record(&r);
                    }
                } else {
                    tout.check(code);
                    rout.check(code);
                    assert!(out.untouched() && save.untouched());
                }
            }
            13 | 14 => {
                // handle (13) or begin+finish with the stored record (14).
                let ss = st.ss(src);
                let cookie = In::new(token_bytes(src, st), src);
                let kind = src.u8() % 3;
                let now = st.now;
                let ua = In::new(ua_bytes(src), src);
                let ip = In::new(ip_bytes(src), src);
                let (nid, nid_null) = id16(src);
                let mut out = OutVal::<rt_outcome>::new(src);
                let mut tout = Out::new(RT_MAX_TOKEN_LEN, src);
                let common_bad = ss.is_null()
                    || cookie.bad()
                    || ua.bad()
                    || ip.bad()
                    || out.null
                    || tout.required_null()
                    || kind > 1
                    || tout.cap < RT_MAX_TOKEN_LEN;
                if op % 24 == 13 {
                    let code = check_status(unsafe {
                        rt_sessions_handle(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            kind,
                            now,
                            ua.ptr(),
                            ua.len(),
                            ip.ptr(),
                            ip.len(),
                            p16(&nid),
                            out.ptr(),
                            tout.ptr(),
                            tout.cap,
                            tout.len_ptr(),
                        )
                    });
                    if common_bad {
                        assert_ne!(code, OK);
                    }
                    if code == OK {
                        if !out.get().has_token {
                            tout.len = 0;
                        }
                        tout.check(OK);
                        let o = *out.get();
                        check_outcome(&o, &tout, st);
                        if o.rule == 9 {
                            assert!(!nid_null, "a new anonymous session from a NULL id");
                        }
                    } else {
                        tout.check(code);
                        assert!(out.untouched());
                    }
                } else {
                    let mut needs = OutVal::<bool>::new(src);
                    let mut sid_out = OutVal::<[u8; 16]>::new(src);
                    let code = check_status(unsafe {
                        rt_sessions_begin(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            kind,
                            now,
                            ua.ptr(),
                            ua.len(),
                            ip.ptr(),
                            ip.len(),
                            p16(&nid),
                            out.ptr(),
                            tout.ptr(),
                            tout.cap,
                            tout.len_ptr(),
                            needs.ptr(),
                            sid_out.ptr().cast(),
                        )
                    });
                    if common_bad || needs.null || sid_out.null {
                        assert_ne!(code, OK);
                    }
                    if code != OK {
                        tout.check(code);
                        assert!(out.untouched() && needs.untouched() && sid_out.untouched());
                        continue;
                    }
                    if !*needs.get() {
                        if !out.get().has_token {
                            tout.len = 0;
                        }
                        tout.check(OK);
                        let o = *out.get();
                        check_outcome(&o, &tout, st);
                        continue;
                    }
                    // Load what the handle's own store holds, or a fuzz-chosen record.
                    let sid = *sid_out.get();
                    let mut rec = Out::new(RT_RECORD_LEN, src);
                    rec.null = false;
                    rec.null_len = false;
                    rec.v = vec![FILL; RT_RECORD_LEN + GUARD];
                    rec.cap = RT_RECORD_LEN;
                    let mut found = false;
                    let c = check_status(unsafe {
                        rt_sessions_load_record(
                            ss,
                            sid.as_ptr(),
                            rec.ptr(),
                            rec.cap,
                            rec.len_ptr(),
                            &mut found,
                        )
                    });
                    assert_eq!(c, OK);
                    let record = if found {
                        In::new(rec.data().to_vec(), src)
                    } else {
                        In::new(
                            if src.bool() {
                                Vec::new()
                            } else {
                                st.record(src.u8())
                            },
                            src,
                        )
                    };
                    let mut out2 = OutVal::<rt_outcome>::new(src);
                    let mut tout2 = Out::new(RT_MAX_TOKEN_LEN, src);
                    let mut next = OutVal::<u8>::new(src);
                    let mut rout = Out::new(RT_RECORD_LEN, src);
                    let mut ver = OutVal::<u64>::new(src);
                    let from_primary = src.bool();
                    let code = check_status(unsafe {
                        rt_sessions_finish(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            kind,
                            now,
                            ua.ptr(),
                            ua.len(),
                            ip.ptr(),
                            ip.len(),
                            record.ptr(),
                            record.len(),
                            from_primary,
                            out2.ptr(),
                            tout2.ptr(),
                            tout2.cap,
                            tout2.len_ptr(),
                            next.ptr(),
                            rout.ptr(),
                            rout.cap,
                            rout.len_ptr(),
                            ver.ptr(),
                        )
                    });
                    if record.bad()
                        || out2.null
                        || tout2.required_null()
                        || next.null
                        || rout.required_null()
                        || ver.null
                    {
                        assert_ne!(code, OK);
                    }
                    if code == OK {
                        let o = *out2.get();
                        if !o.has_token {
                            tout2.len = 0;
                        }
                        if *next.get() != RT_NEXT_SAVE {
                            rout.len = 0;
                        }
                        assert!(*next.get() <= RT_NEXT_LOAD_PRIMARY);
                        tout2.check(OK);
                        rout.check(OK);
                        if *next.get() != RT_NEXT_LOAD_PRIMARY {
                            check_outcome(&o, &tout2, st);
                        }
                        if *next.get() == RT_NEXT_SAVE {
                            let r = rout.data().to_vec();
                            assert!(Record::decode(&r).is_ok());
                            st.remember_record(&r);
                        }
                    } else {
                        tout2.check(code);
                        rout.check(code);
                        assert!(out2.untouched() && next.untouched() && ver.untouched());
                    }
                }
            }
            15 => {
                let ss = st.ss(src);
                let cookie = In::new(token_bytes(src, st), src);
                let conflict = src.bool();
                let mut out = OutVal::<rt_outcome>::new(src);
                let code = check_status(unsafe {
                    rt_sessions_store_failed(
                        ss,
                        cookie.ptr(),
                        cookie.len(),
                        st.now,
                        conflict,
                        out.ptr(),
                    )
                });
                if ss.is_null() || cookie.bad() || out.null {
                    assert_ne!(code, OK);
                }
                if code == OK {
                    let o = out.get();
                    assert!(!o.proceed && !o.clear_cookie && !o.has_token);
                } else {
                    assert!(out.untouched());
                }
            }
            16 | 17 => {
                let ss = st.ss(src);
                let cookie = In::new(token_bytes(src, st), src);
                let (nid, nid_null) = id16(src);
                let (subj, subj_null) = id16(src);
                let ua = In::new(ua_bytes(src), src);
                let ip = In::new(ip_bytes(src), src);
                let mut out = OutVal::<rt_outcome>::new(src);
                let mut tout = Out::new(RT_MAX_TOKEN_LEN, src);
                let bad = ss.is_null()
                    || cookie.bad()
                    || nid_null
                    || subj_null
                    || ua.bad()
                    || ip.bad()
                    || out.null
                    || tout.required_null()
                    || tout.cap < RT_MAX_TOKEN_LEN;
                let code = if op % 24 == 16 {
                    check_status(unsafe {
                        rt_sessions_login(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            p16(&nid),
                            p16(&subj),
                            st.now,
                            ua.ptr(),
                            ua.len(),
                            ip.ptr(),
                            ip.len(),
                            out.ptr(),
                            tout.ptr(),
                            tout.cap,
                            tout.len_ptr(),
                        )
                    })
                } else {
                    let mut rout = Out::new(RT_RECORD_LEN, src);
                    let mut has_retire = OutVal::<bool>::new(src);
                    let mut retire = OutVal::<[u8; 16]>::new(src);
                    let code = check_status(unsafe {
                        rt_sessions_plan_login(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            p16(&nid),
                            p16(&subj),
                            st.now,
                            ua.ptr(),
                            ua.len(),
                            ip.ptr(),
                            ip.len(),
                            out.ptr(),
                            tout.ptr(),
                            tout.cap,
                            tout.len_ptr(),
                            rout.ptr(),
                            rout.cap,
                            rout.len_ptr(),
                            has_retire.ptr(),
                            retire.ptr().cast(),
                        )
                    });
                    if rout.required_null()
                        || has_retire.null
                        || retire.null
                        || rout.cap < RT_RECORD_LEN
                    {
                        assert_ne!(code, OK);
                    }
                    rout.check(code);
                    if code == OK {
                        assert!(Record::decode(rout.data()).is_ok());
                    } else {
                        assert!(has_retire.untouched() && retire.untouched());
                    }
                    code
                };
                if bad {
                    assert_ne!(code, OK);
                }
                tout.check(code);
                if code == OK {
                    let o = *out.get();
                    assert!(
                        o.proceed && o.has_token && o.authenticated && o.session_id == nid.unwrap()
                    );
                    check_outcome(&o, &tout, st);
                } else {
                    assert!(out.untouched());
                }
            }
            18 | 19 => {
                let ss = st.ss(src);
                let cookie = In::new(token_bytes(src, st), src);
                let mut flag = OutVal::<bool>::new(src);
                let mut o16 = OutVal::<[u8; 17]>::new(src);
                let code = if op % 24 == 18 {
                    check_status(unsafe {
                        rt_sessions_logout(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            st.now,
                            flag.ptr(),
                            o16.ptr().cast(),
                        )
                    })
                } else {
                    check_status(unsafe {
                        rt_sessions_logout_target(
                            ss,
                            cookie.ptr(),
                            cookie.len(),
                            st.now,
                            flag.ptr(),
                            o16.ptr().cast(),
                        )
                    })
                };
                if ss.is_null() || cookie.bad() || flag.null || o16.null {
                    assert_ne!(code, OK);
                }
                if code != OK {
                    assert!(flag.untouched() && o16.untouched());
                }
            }
            20 => {
                let ss = st.ss(src);
                let record = In::new(
                    if src.bool() {
                        st.record(src.u8())
                    } else {
                        src.short_bytes(140).to_vec()
                    },
                    src,
                );
                let reason = src.u8() % 6;
                let mut rout = Out::new(RT_RECORD_LEN, src);
                let mut changed = OutVal::<bool>::new(src);
                let code = check_status(unsafe {
                    rt_sessions_revoke_record(
                        ss,
                        record.ptr(),
                        record.len(),
                        reason,
                        st.now,
                        rout.ptr(),
                        rout.cap,
                        rout.len_ptr(),
                        changed.ptr(),
                    )
                });
                if ss.is_null()
                    || record.bad()
                    || rout.required_null()
                    || changed.null
                    || rout.cap < RT_RECORD_LEN
                {
                    assert_ne!(code, OK);
                }
                if code == OK && !*changed.get() {
                    rout.len = 0;
                }
                rout.check(code);
                if code == OK && *changed.get() {
                    let r = Record::decode(rout.data()).expect("revoked record decodes");
                    assert!(!r.is_active());
                    assert!((1..=4).contains(&reason));
                } else if code != OK {
                    assert!(changed.untouched());
                }
            }
            21 => {
                let ss = st.ss(src);
                let (subj, subj_null) = id16(src);
                let mut count = OutVal::<usize>::new(src);
                let code = check_status(unsafe {
                    rt_sessions_revoke_all(ss, p16(&subj), st.now, count.ptr())
                });
                if ss.is_null() || subj_null || count.null {
                    assert_ne!(code, OK);
                }
                if code != OK {
                    assert!(count.untouched());
                }
            }
            22 => {
                let mut hs: Vec<In> = (0..6)
                    .map(|_| In::new(src.short_bytes(24).to_vec(), src))
                    .collect();
                let mut kind = OutVal::<u8>::new(src);
                let code = check_status(unsafe {
                    rt_request_kind(
                        hs[0].ptr(),
                        hs[0].len(),
                        hs[1].ptr(),
                        hs[1].len(),
                        hs[2].ptr(),
                        hs[2].len(),
                        hs[3].ptr(),
                        hs[3].len(),
                        hs[4].ptr(),
                        hs[4].len(),
                        hs[5].ptr(),
                        hs[5].len(),
                        kind.ptr(),
                    )
                });
                if hs.iter().any(In::bad) || kind.null {
                    assert_ne!(code, OK);
                }
                if code == OK {
                    assert!(*kind.get() <= RT_KIND_READ);
                } else {
                    assert!(kind.untouched());
                }
                hs.clear();
            }
            _ => {
                let ss = st.ss(src);
                let (sid, sid_null) = id16(src);
                let until = st.now.saturating_add(u64::from(src.u32()));
                let code = check_status(unsafe { rt_sessions_deny(ss, p16(&sid), until, st.now) });
                if ss.is_null() || sid_null {
                    assert_ne!(code, OK);
                }
                // And the load call with small buffers.
                let (sid, sid_null) = id16(src);
                let mut rout = Out::new(RT_RECORD_LEN, src);
                let mut found = OutVal::<bool>::new(src);
                let code = check_status(unsafe {
                    rt_sessions_load_record(
                        st.sessions,
                        p16(&sid),
                        rout.ptr(),
                        rout.cap,
                        rout.len_ptr(),
                        found.ptr(),
                    )
                });
                if sid_null || rout.required_null() || found.null || rout.cap < RT_RECORD_LEN {
                    assert_ne!(code, OK);
                }
                if code == OK && !*found.get() {
                    rout.len = 0;
                }
                rout.check(code);
            }
        }
    }
    let _ = NULL_PARAMETER;
}

fuzz_target!(|data: &[u8]| {
    let mut src = Src::new(data);
    // The keyring of the golden vectors, then a façade with a fuzz-chosen policy.
    let ids: Vec<u8> = VECTOR_KEYS.iter().map(|(id, _)| *id).collect();
    let secrets: Vec<u8> = VECTOR_KEYS
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .collect();
    let mut keyring = null_mut();
    let code = check_status(unsafe {
        rt_keyring_new(ids.as_ptr(), secrets.as_ptr(), ids.len(), 1, &mut keyring)
    });
    assert_eq!(code, OK);
    let policy = policy_from(&mut src);
    let mut sessions = null_mut();
    let code = check_status(unsafe { rt_sessions_new(keyring, &policy, &mut sessions) });
    if code != OK {
        assert!(sessions.is_null(), "a handle written on an error");
        let mut p = MaybeUninit::<rt_policy>::zeroed();
        assert_eq!(
            check_status(unsafe { rt_policy_default(p.as_mut_ptr()) }),
            OK
        );
        assert_eq!(
            check_status(unsafe { rt_sessions_new(keyring, p.as_ptr(), &mut sessions) }),
            OK
        );
    }
    let mut st = State {
        keyring,
        sessions,
        tokens: Vec::new(),
        records: Vec::new(),
        now: 1_700_000_000_000,
    };
    run(&mut src, &mut st);
    unsafe {
        rt_sessions_free(st.sessions);
        rt_keyring_free(st.keyring);
    }
});
