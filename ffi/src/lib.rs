//! C ABI for rolltoken. The header `include/rolltoken.h` is generated from this crate by
//! cbindgen and committed; `tests/header.rs` fails when it drifts.
//!
//! Every decision lives in the core crate: these functions only check pointers and lengths,
//! convert types and map errors to one status enum (rustls-ffi's conventions).
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

mod boundary;
mod cookie;
mod keyring;
mod policy;
mod primitives;
mod sessions;
mod status;

pub use cookie::*;
pub use keyring::*;
pub use policy::*;
pub use primitives::*;
pub use sessions::*;
pub use status::rt_status;

use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use rolltoken::record::RevokeReason;
use rolltoken::token::TokenError;
use rolltoken::verdict::{Expiry, Rule};

/// Length of a session id in bytes.
pub const RT_SESSION_ID_LEN: usize = 16;
/// Length of a key secret in bytes.
pub const RT_KEY_LEN: usize = 32;
/// The longest token text (a full token); size token buffers with it.
pub const RT_MAX_TOKEN_LEN: usize = 115;
/// Length of an encoded session record.
pub const RT_RECORD_LEN: usize = 128;
/// The longest Set-Cookie value the cookie writers produce.
pub const RT_MAX_SET_COOKIE_LEN: usize = 329;
/// The longest audience rt_keyring_new_for_audience takes, in bytes.
pub const RT_MAX_AUDIENCE_LEN: usize = 64;
/// Length of a log id: 16 hex characters (buffers need one more for the NUL).
pub const RT_LOG_ID_LEN: usize = 16;
/// Sessions the built-in memory store of an rt_sessions holds.
pub const RT_MEMORY_STORE_CAPACITY: usize = 1024;
/// Revoked session ids the deny list of an rt_sessions holds (cached mode).
pub const RT_DENY_LIST_CAPACITY: usize = 256;
/// Library version, major.
pub const RT_VERSION_MAJOR: u32 = 0;
/// Library version, minor.
pub const RT_VERSION_MINOR: u32 = 1;
/// Library version, patch.
pub const RT_VERSION_PATCH: u32 = 0;

// The published sizes are the core's: a mismatch fails the build.
const _: () = {
    assert!(RT_MAX_TOKEN_LEN == rolltoken::token::MAX_TOKEN_LEN);
    assert!(RT_RECORD_LEN == rolltoken::record::RECORD_LEN);
    assert!(RT_MAX_SET_COOKIE_LEN == rolltoken::cookie::MAX_SET_COOKIE_LEN);
    assert!(RT_SESSION_ID_LEN == rolltoken::token::SESSION_ID_LEN);
    assert!(RT_KEY_LEN == rolltoken::keys::KEY_LEN);
    assert!(RT_MAX_AUDIENCE_LEN == rolltoken::keys::MAX_AUDIENCE_LEN);
};

/// The library version as "major.minor.patch". Static; never NULL; do not free.
#[unsafe(no_mangle)]
pub extern "C" fn rt_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A static description of `status`; unknown values give "unknown status". Never NULL;
/// do not free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rt_status_str(status: u32) -> *const c_char {
    let msg = status::ALL_STATUSES
        .iter()
        .find(|s| **s as u32 == status)
        .map_or(&b"unknown status\0"[..], |s| s.message());
    msg.as_ptr().cast()
}

/// The snake_case name of a rule code (rt_outcome.rule), e.g. "fresh", "reuse"; unknown codes
/// give "unknown". Static; never NULL; do not free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rt_rule_name(rule: u8) -> *const c_char {
    // The core's names, made NUL-terminated once.
    static NAMES: OnceLock<Vec<(u8, CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Rule::ALL
            .iter()
            .filter_map(|r| Some((*r as u8, CString::new(r.name()).ok()?)))
            .collect()
    });
    names
        .iter()
        .find(|(code, _)| *code == rule)
        .map_or(c"unknown".as_ptr(), |(_, name)| name.as_ptr())
}

/// The snake_case name of an rt_outcome's `detail` for its rule: the revocation reason
/// ("logout", "reuse", "upgraded_at_login", "admin") for "revoked", the limit ("absolute",
/// "idle", "counter_exhausted") for "expired", the token error ("bad_tag", ...) for
/// "malformed"; "none" when the rule has no detail, "unknown" for codes out of range. Static;
/// never NULL; do not free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn rt_detail_name(rule: u8, detail: u8) -> *const c_char {
    static NAMES: OnceLock<Vec<(u8, u8, CString)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut all = Vec::new();
        let mut add = |rule: Rule, names: &mut dyn Iterator<Item = &'static str>| {
            for (i, name) in names.enumerate() {
                if let (Ok(code), Ok(name)) = (u8::try_from(i + 1), CString::new(name)) {
                    all.push((rule as u8, code, name));
                }
            }
        };
        add(
            Rule::Revoked,
            &mut RevokeReason::ALL.iter().map(|r| r.name()),
        );
        add(Rule::Expired, &mut Expiry::ALL.iter().map(|e| e.name()));
        add(
            Rule::Malformed,
            &mut TokenError::ALL.iter().map(|e| e.name()),
        );
        all
    });
    if detail == 0 {
        return c"none".as_ptr();
    }
    names
        .iter()
        .find(|(r, d, _)| *r == rule && *d == detail)
        .map_or(c"unknown".as_ptr(), |(_, _, name)| name.as_ptr())
}

/// Writes the log id of a session id (16 lowercase hex characters and a NUL) into `out`.
/// `session_id` must point to 16 bytes, `out` to 17 writable bytes.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// Pointers as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_log_id(session_id: *const u8, out: *mut c_char) -> rt_status {
    boundary::guard(|| {
        boundary::need(out)?;
        // SAFETY: the caller passes 16 readable bytes.
        let sid = unsafe { boundary::array::<16>(session_id) }?;
        let id = rolltoken::log_id(&rolltoken::SessionId(sid));
        let mut text = [0u8; RT_LOG_ID_LEN + 1];
        if let Some(dst) = text.get_mut(..RT_LOG_ID_LEN) {
            dst.copy_from_slice(id.as_str().as_bytes());
        }
        // SAFETY: the caller passes 17 writable bytes; `text` is a distinct local.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast::<u8>(), text.len()) };
        Ok(())
    })
}

/// Writes HMAC-SHA256(`key`, `msg`) (32 bytes) into `out`. `key` points to RT_KEY_LEN (32)
/// bytes, the length of a keyring secret; `msg` to `msg_len` bytes (NULL only when 0).
///
/// Computed by the core's precomputed-state HMAC (`rolltoken::keys::PrekeyedMac`), the one
/// each keyring keys with its secrets. It reads no keyring and makes no token: it exists so
/// that published HMAC-SHA256 vectors (RFC 4231, Project Wycheproof) can be checked through
/// this library's HMAC from C and the bindings. A key of another length has the same HMAC
/// as a 32-byte key when it is shorter (padded with zeros) or longer than 64 bytes (its
/// SHA-256 hash), as RFC 2104 defines. Thread-safe.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `key` readable for 32 bytes, `msg` readable for `msg_len`, `out` writable for 32 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_hmac_sha256(
    key: *const u8,
    msg: *const u8,
    msg_len: usize,
    out: *mut u8,
) -> rt_status {
    boundary::guard(|| {
        boundary::need(out)?;
        // SAFETY: the caller passes 32 readable bytes (borrowed, not copied: the keyed state
        // below is the only copy, and it is zeroized on drop).
        let key = unsafe { boundary::bytes(key, RT_KEY_LEN) }?;
        // SAFETY: the caller passes `msg_len` readable bytes.
        let msg = unsafe { boundary::bytes(msg, msg_len) }?;
        let mac = rolltoken::keys::PrekeyedMac::new(key).mac(&[msg]);
        // SAFETY: the caller passes 32 writable bytes; `mac` is a distinct local.
        unsafe { std::ptr::copy_nonoverlapping(mac.as_ptr(), out, mac.len()) };
        Ok(())
    })
}
