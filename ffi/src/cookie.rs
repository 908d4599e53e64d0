//! Cookie helpers for raw-HTTP servers: find the session cookie in a `Cookie:` header, write
//! `Set-Cookie` values into caller buffers. No allocation.

use std::ffi::{CStr, c_char};

use rolltoken::cookie::{self, CookieConfig, SameSite};

use crate::RT_MAX_SET_COOKIE_LEN;
use crate::boundary::{self, OutBuf, guard, need, put};
use crate::status::rt_status;

/// SameSite=Lax (default): sent on same-site requests and top-level navigations.
pub const RT_SAME_SITE_LAX: u8 = 0;
/// SameSite=Strict: sent on same-site requests only.
pub const RT_SAME_SITE_STRICT: u8 = 1;
/// SameSite=None (needs secure).
pub const RT_SAME_SITE_NONE: u8 = 2;

/// How the session cookie is named and flagged. Fill it with rt_cookie_config_default (a
/// `__Host-rolltoken` cookie: Secure, HttpOnly, SameSite=Lax, Path=/, with a Max-Age) or
/// rt_cookie_config_insecure_local (plain-HTTP development). `name` and `path` are
/// NUL-terminated and must outlive the calls that use the config.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rt_cookie_config {
    /// The cookie name.
    pub name: *const c_char,
    /// The cookie path.
    pub path: *const c_char,
    /// Write `Secure` (required by `__Host-` and `__Secure-` names).
    pub secure: bool,
    /// Write `HttpOnly`.
    pub http_only: bool,
    /// RT_SAME_SITE_LAX, RT_SAME_SITE_STRICT or RT_SAME_SITE_NONE.
    pub same_site: u8,
    /// Write no `Max-Age`: a session-only cookie the browser drops when it closes (the session
    /// still ends at its timeouts on the server). Clearing still writes `Max-Age=0`. Last, and
    /// false when left out of an initializer, so existing code keeps a persistent cookie.
    pub session_only: bool,
}

impl rt_cookie_config {
    fn from_core(c: &CookieConfig<'static>) -> rt_cookie_config {
        let name: &'static CStr = if c.name == cookie::DEFAULT_COOKIE_NAME {
            c"__Host-rolltoken"
        } else {
            c"rolltoken"
        };
        rt_cookie_config {
            name: name.as_ptr(),
            path: c"/".as_ptr(),
            secure: c.secure,
            http_only: c.http_only,
            same_site: RT_SAME_SITE_LAX,
            session_only: c.session_only,
        }
    }

    /// # Safety
    /// `name` and `path` are NULL or NUL-terminated strings that outlive `'a`.
    unsafe fn to_core<'a>(self) -> Result<CookieConfig<'a>, rt_status> {
        if self.name.is_null() || self.path.is_null() {
            return Err(rt_status::NullParameter);
        }
        // SAFETY: non-NULL and NUL-terminated by contract.
        let name = unsafe { CStr::from_ptr(self.name) }
            .to_str()
            .map_err(|_| rt_status::InvalidUtf8)?;
        // SAFETY: as above.
        let path = unsafe { CStr::from_ptr(self.path) }
            .to_str()
            .map_err(|_| rt_status::InvalidUtf8)?;
        let same_site = match self.same_site {
            RT_SAME_SITE_LAX => SameSite::Lax,
            RT_SAME_SITE_STRICT => SameSite::Strict,
            RT_SAME_SITE_NONE => SameSite::None,
            _ => return Err(rt_status::InvalidArgument),
        };
        let config = CookieConfig {
            name,
            path,
            secure: self.secure,
            http_only: self.http_only,
            same_site,
            session_only: self.session_only,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Fills `*out` with the default cookie: `__Host-rolltoken`, Secure, HttpOnly, SameSite=Lax,
/// Path=/, not session-only (static strings).
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_cookie_config_default(out: *mut rt_cookie_config) -> rt_status {
    // SAFETY: `put` checks NULL.
    guard(|| unsafe { put(out, rt_cookie_config::from_core(&CookieConfig::default())) })
}

/// Fills `*out` with the plain-HTTP development cookie: `rolltoken`, no Secure, HttpOnly,
/// SameSite=Lax, Path=/, not session-only. Never use it in production.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`.
///
/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_cookie_config_insecure_local(out: *mut rt_cookie_config) -> rt_status {
    // SAFETY: `put` checks NULL.
    guard(|| unsafe {
        put(
            out,
            rt_cookie_config::from_core(&CookieConfig::insecure_local()),
        )
    })
}

/// Finds the cookie named `config->name` in the value of a `Cookie:` request header. When
/// `*found`, `*value` points into `header` (not a copy: valid while `header` is) and
/// `*value_len` is its length.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_COOKIE_DUPLICATE` (the name appears twice with
/// different values: refuse the request), `RT_STATUS_COOKIE_INVALID_VALUE`,
/// `RT_STATUS_COOKIE_MALFORMED`, `RT_STATUS_COOKIE_TOO_LONG`, and config errors.
///
/// # Safety
/// `config` points to a valid rt_cookie_config; `header` readable for `header_len`;
/// `found`, `value`, `value_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_cookie_find(
    config: *const rt_cookie_config,
    header: *const u8,
    header_len: usize,
    found: *mut bool,
    value: *mut *const u8,
    value_len: *mut usize,
) -> rt_status {
    guard(|| {
        need(found)?;
        need(value)?;
        need(value_len)?;
        // SAFETY: the caller's contract.
        let config = unsafe { config.as_ref().ok_or(rt_status::NullParameter)?.to_core() }?;
        // SAFETY: the caller's contract.
        let header = unsafe { boundary::bytes(header, header_len) }?;
        let hit = cookie::find_cookie(header, config.name)?;
        // SAFETY: checked non-NULL above.
        unsafe {
            put(value, hit.map_or(std::ptr::null(), str::as_ptr))?;
            put(value_len, hit.map_or(0, str::len))?;
            put(found, hit.is_some())
        }
    })
}

/// Writes the `Set-Cookie` header value for `token` (a session token, `token_len` bytes)
/// with `Max-Age=max_age_secs` into `out` (RT_MAX_SET_COOKIE_LEN bytes suffice). With
/// `config->session_only` no `Max-Age` is written and `max_age_secs` is ignored.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, `RT_STATUS_COOKIE_INVALID_VALUE`,
/// config errors.
///
/// # Safety
/// `config` valid; `token` readable for `token_len`; `out` writable for `out_cap`; `out_len`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_set_cookie_write(
    config: *const rt_cookie_config,
    token: *const u8,
    token_len: usize,
    max_age_secs: u64,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> rt_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { config.as_ref().ok_or(rt_status::NullParameter)?.to_core() }?;
        // SAFETY: the caller's contract.
        let token = unsafe { boundary::bytes(token, token_len) }?;
        let value = std::str::from_utf8(token).map_err(|_| rt_status::CookieInvalidValue)?;
        let need_len =
            cookie::set_cookie_len(&config, value.len(), max_age_secs).min(RT_MAX_SET_COOKIE_LEN);
        let buf = OutBuf::new(out, out_cap, out_len, need_len)?;
        let mut line = [0u8; RT_MAX_SET_COOKIE_LEN];
        let text = cookie::write_set_cookie(&mut line, &config, value, max_age_secs)?;
        // SAFETY: checked capacity for exactly this length.
        unsafe { buf.write(text.as_bytes()) };
        Ok(())
    })
}

/// Writes the `Set-Cookie` header value that deletes the session cookie (`Max-Age=0`, same
/// attributes, so browsers accept it for a `__Host-` cookie) into `out`. `Max-Age=0` is
/// written even with `config->session_only`.
///
/// # Errors
/// `RT_STATUS_NULL_PARAMETER`, `RT_STATUS_BUFFER_TOO_SMALL`, config errors.
///
/// # Safety
/// `config` valid; `out` writable for `out_cap`; `out_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rt_clear_cookie_write(
    config: *const rt_cookie_config,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> rt_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let config = unsafe { config.as_ref().ok_or(rt_status::NullParameter)?.to_core() }?;
        let mut line = [0u8; RT_MAX_SET_COOKIE_LEN];
        let text = cookie::write_clear_cookie(&mut line, &config)?;
        let buf = OutBuf::new(out, out_cap, out_len, text.len())?;
        // SAFETY: checked capacity for exactly this length.
        unsafe { buf.write(text.as_bytes()) };
        Ok(())
    })
}
