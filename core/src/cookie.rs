//! Cookie helpers for carrying a session token over HTTP, with no allocation
//! and no panics: [`find_cookie`] reads one cookie from a `Cookie:` request
//! header, [`write_set_cookie`] and [`write_clear_cookie`] write a
//! `Set-Cookie:` response header value into a caller-provided buffer.
//!
//! The defaults are the strict ones: a `__Host-` name (browsers then refuse
//! the cookie unless it is `Secure` with `Path=/` and no `Domain`, so a
//! sibling subdomain cannot set or shadow it), `HttpOnly` and `SameSite=Lax`.
//! No `Domain` attribute is ever written.

use core::fmt;

/// Cookie name used by [`CookieConfig::default`].
pub const DEFAULT_COOKIE_NAME: &str = "__Host-rolltoken";

/// Longest `Cookie:` header value [`find_cookie`] will look at, in bytes.
pub const MAX_COOKIE_HEADER_LEN: usize = 8192;

/// Longest accepted cookie name, in bytes.
pub const MAX_COOKIE_NAME_LEN: usize = 64;

/// Longest accepted cookie `Path`, in bytes.
pub const MAX_COOKIE_PATH_LEN: usize = 64;

/// Longest cookie value [`write_set_cookie`] will write, in bytes.
pub const MAX_COOKIE_VALUE_LEN: usize = 128;

const MAX_AGE_ATTR: &[u8] = b"; Max-Age=";
const PATH_ATTR: &[u8] = b"; Path=";
const SECURE_ATTR: &[u8] = b"; Secure";
const HTTP_ONLY_ATTR: &[u8] = b"; HttpOnly";
const SAME_SITE_ATTR: &[u8] = b"; SameSite=";
/// `u64::MAX` has 20 decimal digits.
const MAX_U64_DIGITS: usize = 20;

/// Upper bound on the length of any `Set-Cookie` value written by
/// [`write_set_cookie`] or [`write_clear_cookie`] (329 bytes): the name, path
/// and value at their maximum lengths, a 20-digit `Max-Age`, `Secure`,
/// `HttpOnly` and the longest `SameSite` value (`Strict`). A buffer of this
/// size never fails with [`CookieError::BufferTooSmall`].
pub const MAX_SET_COOKIE_LEN: usize = MAX_COOKIE_NAME_LEN
    + 1
    + MAX_COOKIE_VALUE_LEN
    + MAX_AGE_ATTR.len()
    + MAX_U64_DIGITS
    + PATH_ATTR.len()
    + MAX_COOKIE_PATH_LEN
    + SECURE_ATTR.len()
    + HTTP_ONLY_ATTR.len()
    + SAME_SITE_ATTR.len()
    + SameSite::Strict.as_str().len();

/// The `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on same-site requests and top-level cross-site navigations.
    #[default]
    Lax,
    /// Sent on same-site requests only.
    Strict,
    /// Sent on all requests; browsers require `Secure` with it.
    None,
}

impl SameSite {
    /// Every variant, in declaration order.
    pub const ALL: [SameSite; 3] = [SameSite::Lax, SameSite::Strict, SameSite::None];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            SameSite::Lax => "lax",
            SameSite::Strict => "strict",
            SameSite::None => "none",
        }
    }
}

impl SameSite {
    /// The attribute value as written in `Set-Cookie`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }
}

/// Errors from cookie parsing and writing. They carry no data, so they can
/// be logged without leaking a cookie value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// The output buffer is too small for the `Set-Cookie` value.
    BufferTooSmall,
    /// The cookie name is empty, longer than [`MAX_COOKIE_NAME_LEN`], or not
    /// an RFC 6265 token.
    InvalidName,
    /// The cookie value is not made of RFC 6265 cookie-octets (or, when
    /// writing, is empty or longer than [`MAX_COOKIE_VALUE_LEN`]).
    InvalidValue,
    /// The path is empty, longer than [`MAX_COOKIE_PATH_LEN`], does not start
    /// with `/`, or contains a byte other than visible ASCII except `;`.
    InvalidPath,
    /// A `__Host-` cookie must be `Secure`.
    HostPrefixNeedsSecure,
    /// A `__Host-` cookie must have `Path=/`.
    HostPrefixNeedsRootPath,
    /// A `__Secure-` cookie must be `Secure`.
    SecurePrefixNeedsSecure,
    /// `SameSite=None` must be `Secure`.
    SameSiteNoneNeedsSecure,
    /// The cookie appears more than once with different values.
    Duplicate,
    /// The header contains a control character other than tab.
    Malformed,
    /// The header is longer than [`MAX_COOKIE_HEADER_LEN`].
    TooLong,
}

impl CookieError {
    /// Every variant, in declaration order.
    pub const ALL: [CookieError; 11] = [
        CookieError::BufferTooSmall,
        CookieError::InvalidName,
        CookieError::InvalidValue,
        CookieError::InvalidPath,
        CookieError::HostPrefixNeedsSecure,
        CookieError::HostPrefixNeedsRootPath,
        CookieError::SecurePrefixNeedsSecure,
        CookieError::SameSiteNoneNeedsSecure,
        CookieError::Duplicate,
        CookieError::Malformed,
        CookieError::TooLong,
    ];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            CookieError::BufferTooSmall => "buffer_too_small",
            CookieError::InvalidName => "invalid_name",
            CookieError::InvalidValue => "invalid_value",
            CookieError::InvalidPath => "invalid_path",
            CookieError::HostPrefixNeedsSecure => "host_prefix_needs_secure",
            CookieError::HostPrefixNeedsRootPath => "host_prefix_needs_root_path",
            CookieError::SecurePrefixNeedsSecure => "secure_prefix_needs_secure",
            CookieError::SameSiteNoneNeedsSecure => "same_site_none_needs_secure",
            CookieError::Duplicate => "duplicate",
            CookieError::Malformed => "malformed",
            CookieError::TooLong => "too_long",
        }
    }
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BufferTooSmall => "cookie buffer too small",
            Self::InvalidName => "invalid cookie name",
            Self::InvalidValue => "invalid cookie value",
            Self::InvalidPath => "invalid cookie path",
            Self::HostPrefixNeedsSecure => "__Host- cookie must be secure",
            Self::HostPrefixNeedsRootPath => "__Host- cookie must have path /",
            Self::SecurePrefixNeedsSecure => "__Secure- cookie must be secure",
            Self::SameSiteNoneNeedsSecure => "samesite=none cookie must be secure",
            Self::Duplicate => "cookie sent twice with different values",
            Self::Malformed => "malformed cookie header",
            Self::TooLong => "cookie header too long",
        })
    }
}

/// How the session cookie is named and scoped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieConfig<'a> {
    /// Cookie name: an RFC 6265 token of at most [`MAX_COOKIE_NAME_LEN`] bytes.
    pub name: &'a str,
    /// Write the `Secure` attribute (cookie only sent over HTTPS).
    pub secure: bool,
    /// Write the `HttpOnly` attribute (cookie hidden from scripts).
    pub http_only: bool,
    /// The `SameSite` attribute, always written explicitly.
    pub same_site: SameSite,
    /// The `Path` attribute, at most [`MAX_COOKIE_PATH_LEN`] bytes.
    pub path: &'a str,
    /// Write no `Max-Age`: a session-only cookie that the browser drops when it closes
    /// (OWASP Session Management Cheat Sheet: prefer non-persistent cookies). The session still
    /// ends at its idle and absolute timeouts on the server. Off by default.
    pub session_only: bool,
}

impl Default for CookieConfig<'_> {
    /// `__Host-rolltoken`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, with a `Max-Age`.
    fn default() -> Self {
        Self {
            name: DEFAULT_COOKIE_NAME,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/",
            session_only: false,
        }
    }
}

impl CookieConfig<'_> {
    /// Configuration for plain-HTTP local development: `rolltoken`, not
    /// `Secure` (a `__Host-` name would be refused without it), `HttpOnly`,
    /// `SameSite=Lax`, `Path=/`, with a `Max-Age`. Do not use in production.
    #[must_use]
    pub const fn insecure_local() -> CookieConfig<'static> {
        CookieConfig {
            name: "rolltoken",
            secure: false,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/",
            session_only: false,
        }
    }

    /// Checks the configuration against RFC 6265 and the rules browsers
    /// enforce, so that a cookie written with it is not silently dropped.
    ///
    /// # Errors
    ///
    /// [`CookieError::InvalidName`] or [`CookieError::InvalidPath`] for a
    /// malformed or too long name or path; [`CookieError::HostPrefixNeedsSecure`],
    /// [`CookieError::HostPrefixNeedsRootPath`] or
    /// [`CookieError::SecurePrefixNeedsSecure`] when a `__Host-` / `__Secure-`
    /// name (prefix matched case-insensitively, as browsers do) lacks what the
    /// prefix demands; [`CookieError::SameSiteNoneNeedsSecure`] for
    /// `SameSite=None` without `Secure`.
    pub fn validate(&self) -> Result<(), CookieError> {
        validate_name(self.name)?;
        let path = self.path.as_bytes();
        if path.len() > MAX_COOKIE_PATH_LEN
            || path.first() != Some(&b'/')
            || !path
                .iter()
                .all(|&b| (0x21..=0x7e).contains(&b) && b != b';')
        {
            return Err(CookieError::InvalidPath);
        }
        if has_prefix_ignore_case(self.name, "__Host-") {
            if !self.secure {
                return Err(CookieError::HostPrefixNeedsSecure);
            }
            if self.path != "/" {
                return Err(CookieError::HostPrefixNeedsRootPath);
            }
        }
        if has_prefix_ignore_case(self.name, "__Secure-") && !self.secure {
            return Err(CookieError::SecurePrefixNeedsSecure);
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(CookieError::SameSiteNoneNeedsSecure);
        }
        Ok(())
    }
}

fn has_prefix_ignore_case(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// RFC 6265 / RFC 9110 token: visible ASCII except separators.
fn is_token_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// RFC 6265 cookie-octet: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}

/// Control characters other than tab (never valid in an HTTP field value).
fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn validate_name(name: &str) -> Result<(), CookieError> {
    if name.is_empty() || name.len() > MAX_COOKIE_NAME_LEN || !name.bytes().all(is_token_byte) {
        return Err(CookieError::InvalidName);
    }
    Ok(())
}

/// Strips optional whitespace (spaces and tabs) from both ends.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Finds the value of cookie `name` in the value of a `Cookie:` request
/// header (`a=1; b="2"`).
///
/// Pairs are split on `;`, whitespace around names and values is ignored, a
/// value wrapped in double quotes is returned without them, and pairs that
/// are empty or have no `=` are skipped. Names match exactly and
/// case-sensitively (RFC 6265). Other cookies may hold any bytes, including
/// non-ASCII ones: browsers send such junk, and an unrelated odd cookie must
/// not break the request. The returned value is only RFC 6265
/// cookie-octets, possibly empty (`name=` is what a cleared cookie looks
/// like).
///
/// If `name` appears several times with the same value, that value is
/// returned. With different values the lookup fails closed with
/// [`CookieError::Duplicate`]: a sibling subdomain or a plain-HTTP attacker
/// can plant a second cookie of the same name ("cookie tossing"), and the
/// browser gives no way to tell which one the server set.
///
/// # Errors
///
/// - [`CookieError::InvalidName`] if `name` is not a valid cookie name.
/// - [`CookieError::TooLong`] if `header` exceeds [`MAX_COOKIE_HEADER_LEN`].
/// - [`CookieError::Malformed`] if `header` contains, anywhere, a control
///   character other than tab (bytes 0x00-0x08, 0x0A-0x1F, 0x7F). These are
///   invalid in any HTTP field value and browsers refuse to store cookies
///   holding them, so they signal broken framing (a stray CR/LF) or a forged
///   header rather than an odd cookie.
/// - [`CookieError::InvalidValue`] if a `name` pair's value (after removing
///   surrounding whitespace and one pair of quotes) has a byte that is not a
///   cookie-octet, such as a space, comma, backslash, quote or non-ASCII byte.
/// - [`CookieError::Duplicate`] as described above.
pub fn find_cookie<'h>(header: &'h [u8], name: &str) -> Result<Option<&'h str>, CookieError> {
    validate_name(name)?;
    if header.len() > MAX_COOKIE_HEADER_LEN {
        return Err(CookieError::TooLong);
    }
    if header.iter().any(|&b| is_ctl(b)) {
        return Err(CookieError::Malformed);
    }
    let mut found: Option<&'h [u8]> = None;
    for pair in header.split(|&b| b == b';') {
        let mut halves = pair.splitn(2, |&b| b == b'=');
        let (Some(key), Some(raw)) = (halves.next(), halves.next()) else {
            continue;
        };
        if trim_ows(key) != name.as_bytes() {
            continue;
        }
        let value = match trim_ows(raw) {
            [b'"', inner @ .., b'"'] => inner,
            other => other,
        };
        if !value.iter().all(|&b| is_cookie_octet(b)) {
            return Err(CookieError::InvalidValue);
        }
        match found {
            Some(prev) if prev != value => return Err(CookieError::Duplicate),
            _ => found = Some(value),
        }
    }
    // Cookie-octets are ASCII, so this never fails.
    found
        .map(|v| core::str::from_utf8(v).map_err(|_| CookieError::InvalidValue))
        .transpose()
}

/// [`find_cookie`] for a header already held as `&str`.
///
/// # Errors
///
/// As for [`find_cookie`].
pub fn find_cookie_str<'h>(header: &'h str, name: &str) -> Result<Option<&'h str>, CookieError> {
    find_cookie(header.as_bytes(), name)
}

/// Writes `n` in decimal into the end of `buf`, returning the digits.
fn u64_decimal(mut n: u64, buf: &mut [u8; MAX_U64_DIGITS]) -> &[u8] {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        let digit = u8::try_from(n.checked_rem(10).unwrap_or(0)).unwrap_or(0);
        *slot = b'0'.wrapping_add(digit);
        start = start.saturating_sub(1);
        n = n.checked_div(10).unwrap_or(0);
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or_default()
}

/// The pieces of a `Set-Cookie` value in order; the single source of truth
/// for both [`set_cookie_len`] and the writers. `digits` is the `Max-Age`
/// in decimal, or `None` for no `Max-Age` attribute at all.
fn pieces<'p>(
    config: &'p CookieConfig<'_>,
    value: &'p [u8],
    digits: Option<&'p [u8]>,
) -> [&'p [u8]; 11] {
    let (max_age_attr, digits) = match digits {
        Some(d) => (MAX_AGE_ATTR, d),
        None => (&b""[..], &b""[..]),
    };
    [
        config.name.as_bytes(),
        b"=",
        value,
        max_age_attr,
        digits,
        PATH_ATTR,
        config.path.as_bytes(),
        if config.secure { SECURE_ATTR } else { b"" },
        if config.http_only {
            HTTP_ONLY_ATTR
        } else {
            b""
        },
        SAME_SITE_ATTR,
        config.same_site.as_str().as_bytes(),
    ]
}

fn total_len(parts: &[&[u8]]) -> usize {
    parts.iter().fold(0, |acc, p| acc.saturating_add(p.len()))
}

/// The `Max-Age` [`write_set_cookie`] writes: none for a session-only cookie.
fn set_max_age(config: &CookieConfig<'_>, max_age_secs: u64) -> Option<u64> {
    if config.session_only {
        None
    } else {
        Some(max_age_secs)
    }
}

/// Exact length of the `Set-Cookie` value [`write_set_cookie`] would write
/// for `config`, a value of `value_len` bytes and `max_age_secs` (ignored
/// when `config.session_only`). Does not validate; saturates at `usize::MAX`
/// instead of overflowing. For valid inputs it is at most
/// [`MAX_SET_COOKIE_LEN`].
#[must_use]
pub fn set_cookie_len(config: &CookieConfig<'_>, value_len: usize, max_age_secs: u64) -> usize {
    let mut digit_buf = [0; MAX_U64_DIGITS];
    let digits = set_max_age(config, max_age_secs).map(|n| u64_decimal(n, &mut digit_buf));
    total_len(&pieces(config, b"", digits)).saturating_add(value_len)
}

/// Writes `NAME=VALUE; Max-Age=N; Path=P; Secure; HttpOnly; SameSite=S`
/// into `out` (`Secure` and `HttpOnly` only when configured) and returns the
/// written prefix of `out`. With `config.session_only` the `; Max-Age=N` part
/// is left out and `max_age_secs` is ignored: the browser then keeps the
/// cookie until it closes. Never writes a `Domain` attribute, so the cookie
/// stays host-only.
///
/// # Errors
///
/// Any error from [`CookieConfig::validate`];
/// [`CookieError::InvalidValue`] if `value` is empty, longer than
/// [`MAX_COOKIE_VALUE_LEN`] or not all cookie-octets;
/// [`CookieError::BufferTooSmall`] if `out` is shorter than
/// [`set_cookie_len`], in which case nothing is written.
pub fn write_set_cookie<'b>(
    out: &'b mut [u8],
    config: &CookieConfig<'_>,
    value: &str,
    max_age_secs: u64,
) -> Result<&'b str, CookieError> {
    if value.is_empty() {
        return Err(CookieError::InvalidValue);
    }
    write_cookie(out, config, value, set_max_age(config, max_age_secs))
}

/// Writes a `Set-Cookie` value that deletes the cookie:
/// `NAME=; Max-Age=0` followed by the same attributes as
/// [`write_set_cookie`] (browsers only delete a `__Host-` cookie when the
/// deleting cookie would itself be accepted). `Max-Age=0` is written even
/// with `config.session_only`: without it the browser would keep an empty
/// cookie instead of deleting it.
///
/// # Errors
///
/// Any error from [`CookieConfig::validate`];
/// [`CookieError::BufferTooSmall`] if `out` is too short, in which case
/// nothing is written.
pub fn write_clear_cookie<'b>(
    out: &'b mut [u8],
    config: &CookieConfig<'_>,
) -> Result<&'b str, CookieError> {
    write_cookie(out, config, "", Some(0))
}

/// `max_age_secs`: `None` writes no `Max-Age` attribute.
fn write_cookie<'b>(
    out: &'b mut [u8],
    config: &CookieConfig<'_>,
    value: &str,
    max_age_secs: Option<u64>,
) -> Result<&'b str, CookieError> {
    config.validate()?;
    if value.len() > MAX_COOKIE_VALUE_LEN || !value.bytes().all(is_cookie_octet) {
        return Err(CookieError::InvalidValue);
    }
    let mut digit_buf = [0; MAX_U64_DIGITS];
    let digits = max_age_secs.map(|n| u64_decimal(n, &mut digit_buf));
    let parts = pieces(config, value.as_bytes(), digits);
    // Check the whole length first so a short buffer is left untouched.
    let dest = out
        .get_mut(..total_len(&parts))
        .ok_or(CookieError::BufferTooSmall)?;
    let mut rest = &mut *dest;
    for part in parts {
        let (head, tail) = rest
            .split_at_mut_checked(part.len())
            .ok_or(CookieError::BufferTooSmall)?;
        head.copy_from_slice(part);
        rest = tail;
    }
    // Everything written was checked to be ASCII, so this never fails.
    core::str::from_utf8(dest).map_err(|_| CookieError::InvalidValue)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    extern crate std;
    use super::*;
    use std::{string::ToString, vec, vec::Vec};

    fn set(
        config: &CookieConfig<'_>,
        value: &str,
        max_age: u64,
    ) -> Result<std::string::String, CookieError> {
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        write_set_cookie(&mut buf, config, value, max_age).map(ToString::to_string)
    }

    fn cfg(
        name: &'static str,
        secure: bool,
        same_site: SameSite,
        path: &'static str,
    ) -> CookieConfig<'static> {
        CookieConfig {
            name,
            secure,
            http_only: true,
            same_site,
            path,
            session_only: false,
        }
    }

    #[test]
    fn rfc6265_examples() {
        let h = "SID=31d4d96e407fad42; lang=en-US";
        assert_eq!(find_cookie_str(h, "SID"), Ok(Some("31d4d96e407fad42")));
        assert_eq!(find_cookie_str(h, "lang"), Ok(Some("en-US")));
        assert_eq!(find_cookie_str(h, "sid"), Ok(None));
        assert_eq!(find_cookie_str("", "SID"), Ok(None));
        assert_eq!(find_cookie_str(" ; ;;", "SID"), Ok(None));
    }

    #[test]
    fn exact_output() {
        let d = CookieConfig::default();
        assert_eq!(
            set(&d, "abc", 3600).unwrap(),
            "__Host-rolltoken=abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            set(&CookieConfig::insecure_local(), "abc", 3600).unwrap(),
            "rolltoken=abc; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax"
        );
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        assert_eq!(
            write_clear_cookie(&mut buf, &d),
            Ok("__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        let c = CookieConfig {
            http_only: false,
            ..cfg("sid", true, SameSite::None, "/app")
        };
        assert_eq!(
            set(&c, "v", 0).unwrap(),
            "sid=v; Max-Age=0; Path=/app; Secure; SameSite=None"
        );
        let c = cfg("sid", false, SameSite::Strict, "/");
        assert_eq!(
            set(&c, "v", u64::MAX).unwrap(),
            "sid=v; Max-Age=18446744073709551615; Path=/; HttpOnly; SameSite=Strict"
        );
        assert_eq!(SameSite::default(), SameSite::Lax);
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(CookieConfig::insecure_local().validate(), Ok(()));
        assert!(!d.session_only && !CookieConfig::insecure_local().session_only);
    }

    #[test]
    fn session_only_output() {
        let d = CookieConfig {
            session_only: true,
            ..CookieConfig::default()
        };
        // No Max-Age whatever the caller passes; the rest is unchanged.
        for max_age in [0, 3600, u64::MAX] {
            assert_eq!(
                set(&d, "abc", max_age).unwrap(),
                "__Host-rolltoken=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
            );
        }
        let c = CookieConfig {
            http_only: false,
            session_only: true,
            ..cfg("sid", true, SameSite::None, "/app")
        };
        assert_eq!(
            set(&c, "v", 60).unwrap(),
            "sid=v; Path=/app; Secure; SameSite=None"
        );
        let l = CookieConfig {
            session_only: true,
            ..CookieConfig::insecure_local()
        };
        assert_eq!(
            set(&l, "abc", 3600).unwrap(),
            "rolltoken=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        // Clearing must still carry Max-Age=0, or the browser keeps an empty cookie.
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        assert_eq!(
            write_clear_cookie(&mut buf, &d),
            Ok("__Host-rolltoken=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
        assert_eq!(
            write_clear_cookie(&mut buf, &l),
            Ok("rolltoken=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
        );
        // The flag changes the output only, never what validates.
        for c in [d, c, l] {
            let persistent = CookieConfig {
                session_only: false,
                ..c
            };
            assert_eq!(c.validate(), persistent.validate());
        }
        let bad = CookieConfig {
            session_only: true,
            ..cfg("__Host-x", false, SameSite::Lax, "/")
        };
        assert_eq!(set(&bad, "v", 1), Err(CookieError::HostPrefixNeedsSecure));
    }

    #[test]
    fn quoting_and_whitespace() {
        assert_eq!(find_cookie_str("a=\"xyz\"", "a"), Ok(Some("xyz")));
        assert_eq!(find_cookie_str("a=\"\"", "a"), Ok(Some("")));
        assert_eq!(find_cookie_str("a=", "a"), Ok(Some("")));
        assert_eq!(
            find_cookie_str("a=\"x", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            find_cookie_str("a=x\"", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(find_cookie_str("a=\"", "a"), Err(CookieError::InvalidValue));
        assert_eq!(
            find_cookie_str("a=\"x\"y\"", "a"),
            Err(CookieError::InvalidValue)
        );
        let h = "  a = 1 ;\tb=2\t;c=\t\"3\" ";
        assert_eq!(find_cookie_str(h, "a"), Ok(Some("1")));
        assert_eq!(find_cookie_str(h, "b"), Ok(Some("2")));
        assert_eq!(find_cookie_str(h, "c"), Ok(Some("3")));
        assert_eq!(
            find_cookie_str("a=x y", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            find_cookie_str("a=x,y", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            find_cookie_str("a=x\\y", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            find_cookie_str("a=x\ty", "a"),
            Err(CookieError::InvalidValue)
        );
        assert_eq!(
            find_cookie(b"a=\xc3\xa9", "a"),
            Err(CookieError::InvalidValue)
        );
    }

    #[test]
    fn duplicates() {
        assert_eq!(find_cookie_str("a=1; b=2; a=1", "a"), Ok(Some("1")));
        assert_eq!(find_cookie_str("a=1; a=\"1\"", "a"), Ok(Some("1")));
        assert_eq!(
            find_cookie_str("a=1; b=2; a=2", "a"),
            Err(CookieError::Duplicate)
        );
        assert_eq!(find_cookie_str("a=1; a=", "a"), Err(CookieError::Duplicate));
        assert_eq!(find_cookie_str("b=1; b=2; a=3", "a"), Ok(Some("3")));
    }

    #[test]
    fn name_matching() {
        assert_eq!(find_cookie_str("ab=1", "a"), Ok(None));
        assert_eq!(find_cookie_str("ab=1; a=2", "a"), Ok(Some("2")));
        assert_eq!(find_cookie_str("a=1", "ab"), Ok(None));
        assert_eq!(find_cookie_str("x=a=1", "a"), Ok(None));
        assert_eq!(find_cookie_str("x=a=1", "x"), Ok(Some("a=1")));
        assert_eq!(find_cookie_str("a; b=1", "a"), Ok(None));
        assert_eq!(find_cookie_str("b a=1", "a"), Ok(None));
        assert_eq!(find_cookie_str("A=1", "a"), Ok(None));
    }

    #[test]
    fn lenient_with_other_cookies() {
        let h = b"junk=\xff\xfe \"x,\\\"; =; \xe2\x82\xac=1; noeq; a=ok; z=\"";
        assert_eq!(find_cookie(h, "a"), Ok(Some("ok")));
        assert_eq!(find_cookie(h, "b"), Ok(None));
    }

    #[test]
    fn every_error_variant() {
        use CookieError as E;
        let mut tiny = [0; 4];
        assert_eq!(
            write_set_cookie(&mut tiny, &CookieConfig::default(), "v", 1),
            Err(E::BufferTooSmall)
        );
        assert_eq!(
            write_clear_cookie(&mut tiny, &CookieConfig::default()),
            Err(E::BufferTooSmall)
        );

        let long_name = "n".repeat(MAX_COOKIE_NAME_LEN + 1);
        for name in [
            "",
            "a b",
            "a;b",
            "a=b",
            "é",
            "a\tb",
            "(x)",
            long_name.as_str(),
        ] {
            let c = CookieConfig {
                name,
                ..CookieConfig::insecure_local()
            };
            assert_eq!(c.validate(), Err(E::InvalidName), "{name:?}");
            assert_eq!(find_cookie_str("a=1", name), Err(E::InvalidName));
        }
        let ok_name = "n".repeat(MAX_COOKIE_NAME_LEN);
        assert_eq!(
            CookieConfig {
                name: &ok_name,
                ..CookieConfig::insecure_local()
            }
            .validate(),
            Ok(())
        );

        let long_path = std::format!("/{}", "p".repeat(MAX_COOKIE_PATH_LEN));
        for path in ["", "app", "/a;b", "/a b", "/a\nb", "/é", long_path.as_str()] {
            let c = CookieConfig {
                path,
                ..CookieConfig::insecure_local()
            };
            assert_eq!(c.validate(), Err(E::InvalidPath), "{path:?}");
        }

        let long_value = "v".repeat(MAX_COOKIE_VALUE_LEN + 1);
        for value in ["", "a b", "a;b", "a\"b", "é", long_value.as_str()] {
            assert_eq!(
                set(&CookieConfig::default(), value, 1),
                Err(E::InvalidValue),
                "{value:?}"
            );
        }
        assert_eq!(find_cookie_str("a=b c", "a"), Err(E::InvalidValue));

        assert_eq!(
            cfg("__Host-x", false, SameSite::Lax, "/").validate(),
            Err(E::HostPrefixNeedsSecure)
        );
        assert_eq!(
            cfg("__host-x", false, SameSite::Lax, "/").validate(),
            Err(E::HostPrefixNeedsSecure)
        );
        assert_eq!(
            cfg("__HOST-x", true, SameSite::Lax, "/app").validate(),
            Err(E::HostPrefixNeedsRootPath)
        );
        assert_eq!(
            cfg("__Secure-x", false, SameSite::Lax, "/").validate(),
            Err(E::SecurePrefixNeedsSecure)
        );
        assert_eq!(
            cfg("__secure-x", false, SameSite::Lax, "/").validate(),
            Err(E::SecurePrefixNeedsSecure)
        );
        assert_eq!(
            cfg("__Secure-x", true, SameSite::Lax, "/app").validate(),
            Ok(())
        );
        assert_eq!(
            cfg("x", false, SameSite::None, "/").validate(),
            Err(E::SameSiteNoneNeedsSecure)
        );
        assert_eq!(cfg("x", true, SameSite::None, "/").validate(), Ok(()));
        // Writers validate the config too.
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        let bad = cfg("__Host-x", false, SameSite::Lax, "/");
        assert_eq!(
            write_clear_cookie(&mut buf, &bad),
            Err(E::HostPrefixNeedsSecure)
        );

        assert_eq!(find_cookie_str("a=1; a=2", "a"), Err(E::Duplicate));

        for h in [
            &b"a=1\r\nb=2"[..],
            b"a=1\0",
            b"b=\x7f; a=1",
            b"\x1b",
            b"a=\n1",
        ] {
            assert_eq!(find_cookie(h, "a"), Err(E::Malformed), "{h:?}");
        }
        assert_eq!(find_cookie(b"\ta=1\t", "a"), Ok(Some("1")));

        let mut h = vec![b'x'; MAX_COOKIE_HEADER_LEN - 4];
        h.extend_from_slice(b";a=1");
        assert_eq!(find_cookie(&h, "a"), Ok(Some("1")));
        h.push(b' ');
        assert_eq!(find_cookie(&h, "a"), Err(E::TooLong));

        for e in [
            E::BufferTooSmall,
            E::InvalidName,
            E::InvalidValue,
            E::InvalidPath,
            E::HostPrefixNeedsSecure,
            E::HostPrefixNeedsRootPath,
            E::SecurePrefixNeedsSecure,
            E::SameSiteNoneNeedsSecure,
            E::Duplicate,
            E::Malformed,
            E::TooLong,
        ] {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert!(!msg.ends_with('.'));
            assert_eq!(
                msg.chars().next().unwrap(),
                msg.chars().next().unwrap().to_ascii_lowercase(),
                "{msg}"
            );
        }
    }

    #[test]
    fn worst_case_fits_and_len_is_exact() {
        let name = std::format!("__Secure-{}", "n".repeat(MAX_COOKIE_NAME_LEN - 9));
        let path = std::format!("/{}", "p".repeat(MAX_COOKIE_PATH_LEN - 1));
        let value = "v".repeat(MAX_COOKIE_VALUE_LEN);
        for same_site in [SameSite::Lax, SameSite::Strict, SameSite::None] {
            for session_only in [false, true] {
                let c = CookieConfig {
                    name: &name,
                    secure: true,
                    http_only: true,
                    same_site,
                    path: &path,
                    session_only,
                };
                let mut buf = [0; MAX_SET_COOKIE_LEN];
                let s = write_set_cookie(&mut buf, &c, &value, u64::MAX).unwrap();
                assert_eq!(s.len(), set_cookie_len(&c, value.len(), u64::MAX));
                if same_site == SameSite::Strict && !session_only {
                    assert_eq!(s.len(), MAX_SET_COOKIE_LEN);
                }
                // The clear cookie keeps its Max-Age=0, so it must fit too.
                assert!(write_clear_cookie(&mut buf, &c).is_ok());
            }
        }
        assert_eq!(MAX_SET_COOKIE_LEN, 329);
        for max_age in [0, 1, 9, 10, 99, 100, 3600, 1 << 40, u64::MAX - 1, u64::MAX] {
            for c in [CookieConfig::default(), CookieConfig::insecure_local()] {
                let s = set(&c, "tok", max_age).unwrap();
                assert_eq!(s.len(), set_cookie_len(&c, 3, max_age));
                assert!(s.contains(&std::format!("; Max-Age={max_age};")));
                let c = CookieConfig {
                    session_only: true,
                    ..c
                };
                let s = set(&c, "tok", max_age).unwrap();
                assert_eq!(s.len(), set_cookie_len(&c, 3, max_age));
                assert_eq!(set_cookie_len(&c, 3, max_age), set_cookie_len(&c, 3, 0));
                assert!(!s.contains("Max-Age"), "{s}");
            }
        }
        let c = CookieConfig::default();
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        let cleared = write_clear_cookie(&mut buf, &c).unwrap();
        assert_eq!(cleared.len(), set_cookie_len(&c, 0, 0));
        assert_eq!(set_cookie_len(&c, usize::MAX, u64::MAX), usize::MAX);
        let c = CookieConfig {
            session_only: true,
            ..c
        };
        assert_eq!(set_cookie_len(&c, usize::MAX, u64::MAX), usize::MAX);
    }

    #[test]
    fn short_buffer_sweep() {
        for session_only in [false, true] {
            let c = CookieConfig {
                session_only,
                ..CookieConfig::default()
            };
            let needed = set_cookie_len(&c, 5, 86_400);
            let expected = set(&c, "hello", 86_400).unwrap();
            for size in 0..=needed + 3 {
                let mut buf = vec![0u8; size];
                let r = write_set_cookie(&mut buf, &c, "hello", 86_400);
                if size < needed {
                    assert_eq!(r, Err(CookieError::BufferTooSmall), "size {size}");
                    assert!(buf.iter().all(|&b| b == 0), "partial write at size {size}");
                } else {
                    assert_eq!(r, Ok(expected.as_str()));
                }
            }
            // The clear cookie always has its Max-Age=0, session-only or not.
            let needed = set_cookie_len(&CookieConfig::default(), 0, 0);
            for size in 0..=needed {
                let mut buf = vec![0u8; size];
                let r = write_clear_cookie(&mut buf, &c);
                if size < needed {
                    assert_eq!(r, Err(CookieError::BufferTooSmall), "size {size}");
                } else {
                    assert_eq!(r.map(str::len), Ok(needed));
                }
            }
        }
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap()
        }
        /// Mostly cookie-syntax bytes, sometimes anything.
        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            const ALPHABET: &[u8] = b";;== \t\"aab,\\x\xff";
            let len = self.below(max_len + 1);
            (0..len)
                .map(|_| match self.below(16) {
                    0 => self.next().to_le_bytes()[0],
                    _ => ALPHABET[self.below(ALPHABET.len())],
                })
                .collect()
        }
    }

    #[test]
    fn never_panics() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let names = [
            "a",
            "ab",
            "__Host-a",
            "__Secure-a",
            "__host-a",
            "x",
            "a b",
            "",
        ];
        let paths = ["/", "/app", "", "a", "/a;b"];
        let mut buf = [0; MAX_SET_COOKIE_LEN];
        let (mut found, mut written, mut session_only_written) = (0, 0, 0);
        for _ in 0..200_000 {
            let name = names[rng.below(names.len())];
            let mut header = rng.bytes(40);
            if rng.below(2) == 0 {
                // Plant the name so that matches are common.
                let at = rng.below(header.len() + 1);
                header.splice(at..at, std::format!(";{name}=").into_bytes());
            }
            if let Ok(Some(v)) = find_cookie(&header, name) {
                assert!(v.bytes().all(is_cookie_octet));
                found += 1;
            }

            let value_bytes = rng.bytes(8);
            let Ok(value) = core::str::from_utf8(&value_bytes) else {
                continue;
            };
            let config = CookieConfig {
                name,
                secure: rng.below(2) == 0,
                http_only: rng.below(2) == 0,
                same_site: [SameSite::Lax, SameSite::Strict, SameSite::None][rng.below(3)],
                path: paths[rng.below(paths.len())],
                session_only: rng.below(2) == 0,
            };
            let max_age = rng.next() >> rng.below(64);
            let size = rng.below(MAX_SET_COOKIE_LEN + 1);
            if let Ok(s) = write_set_cookie(&mut buf[..size], &config, value, max_age) {
                assert_eq!(s.len(), set_cookie_len(&config, value.len(), max_age));
                let pair = s.split("; ").next().unwrap();
                assert_eq!(find_cookie_str(pair, name), Ok(Some(value)));
                assert_eq!(
                    s.contains("; Max-Age="),
                    !config.session_only,
                    "{config:?}: {s}"
                );
                written += 1;
                session_only_written += usize::from(config.session_only);
            }
        }
        // Make sure the loop exercised the success paths, not only errors.
        assert!(
            found > 1000 && written > 1000 && session_only_written > 400,
            "found {found}, written {written}, session-only {session_only_written}"
        );
    }
}
