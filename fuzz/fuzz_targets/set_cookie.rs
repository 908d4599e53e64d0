//! `Set-Cookie` writers (`write_set_cookie`, `write_clear_cookie`, `set_cookie_len`,
//! `CookieConfig::validate`) with arbitrary names, paths, flags, values, `Max-Age` and
//! output buffer sizes.
//!
//! Input: flags byte (secure, http_only, SameSite, name mode, path mode), a u16 buffer size
//! (0..=511), a `Max-Age` byte (low two bits: 0, `u64::MAX` or a u64 from the input; bit 2:
//! session-only), then the name and path bytes when their modes take them from the input
//! (one length byte each), then the value.
//!
//! Checks: never panics; `validate` and both writers agree with a reference written from the
//! documentation (the error, its precedence, and the exact text
//! `NAME=VALUE; Max-Age=N; Path=P[; Secure][; HttpOnly]; SameSite=S`, without `; Max-Age=N`
//! for a session-only set line, with `Max-Age=0` on every clear line); `set_cookie_len` is the
//! reference length for any config; every line written is a valid header value (visible
//! ASCII and spaces only, at most `MAX_SET_COOKIE_LEN`, no `Domain`, `__Host-` lines carry
//! `Secure` and `Path=/`, `__Secure-` and `SameSite=None` lines carry `Secure`, a
//! session-only set line has no `Max-Age` or `Expires`), and its `NAME=VALUE` pair reads back
//! through `find_cookie`; the buffer past the line, and the whole buffer on any error, is left
//! untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolltoken::cookie::{self, CookieConfig, CookieError, SameSite, MAX_SET_COOKIE_LEN};
use rolltoken_fuzz::{is_cookie_octet, is_valid_cookie_name, Src};

const FILL: u8 = 0xA5;

fn starts_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn ref_validate(c: &CookieConfig<'_>) -> Result<(), CookieError> {
    if !is_valid_cookie_name(c.name.as_bytes()) {
        return Err(CookieError::InvalidName);
    }
    let p = c.path.as_bytes();
    if p.is_empty()
        || p.len() > 64
        || p[0] != b'/'
        || !p.iter().all(|&b| (0x21..=0x7e).contains(&b) && b != b';')
    {
        return Err(CookieError::InvalidPath);
    }
    if starts_ci(c.name, "__Host-") {
        if !c.secure {
            return Err(CookieError::HostPrefixNeedsSecure);
        }
        if c.path != "/" {
            return Err(CookieError::HostPrefixNeedsRootPath);
        }
    }
    if starts_ci(c.name, "__Secure-") && !c.secure {
        return Err(CookieError::SecurePrefixNeedsSecure);
    }
    if c.same_site == SameSite::None && !c.secure {
        return Err(CookieError::SameSiteNoneNeedsSecure);
    }
    Ok(())
}

/// `max_age`: `None` for no `Max-Age` attribute.
fn ref_line(c: &CookieConfig<'_>, value: &str, max_age: Option<u64>) -> String {
    let mut s = format!("{}={}", c.name, value);
    if let Some(n) = max_age {
        s.push_str(&format!("; Max-Age={n}"));
    }
    s.push_str("; Path=");
    s.push_str(c.path);
    if c.secure {
        s.push_str("; Secure");
    }
    if c.http_only {
        s.push_str("; HttpOnly");
    }
    s.push_str("; SameSite=");
    s.push_str(match c.same_site {
        SameSite::Lax => "Lax",
        SameSite::Strict => "Strict",
        SameSite::None => "None",
    });
    s
}

/// The `Max-Age` of a line: a set line has none when session-only; a clear line always has
/// `Max-Age=0`, since that is what makes the browser delete the cookie.
fn ref_max_age(c: &CookieConfig<'_>, max_age: u64, clear: bool) -> Option<u64> {
    if clear {
        Some(0)
    } else if c.session_only {
        None
    } else {
        Some(max_age)
    }
}

fn ref_write(
    c: &CookieConfig<'_>,
    value: &str,
    max_age: u64,
    cap: usize,
    clear: bool,
) -> Result<String, CookieError> {
    if !clear && value.is_empty() {
        return Err(CookieError::InvalidValue);
    }
    ref_validate(c)?;
    if value.len() > 128 || !value.bytes().all(is_cookie_octet) {
        return Err(CookieError::InvalidValue);
    }
    let line = ref_line(c, value, ref_max_age(c, max_age, clear));
    if cap < line.len() {
        return Err(CookieError::BufferTooSmall);
    }
    Ok(line)
}

fn check_line(c: &CookieConfig<'_>, line: &str, value: &str, clear: bool) {
    assert!(
        line.len() <= MAX_SET_COOKIE_LEN,
        "longer than MAX_SET_COOKIE_LEN"
    );
    assert!(
        line.bytes().all(|b| (0x20..=0x7e).contains(&b)),
        "not a header value: {line:?}"
    );
    // The attributes after NAME=VALUE (the value holds no `;`).
    let attrs = || line.split("; ").skip(1);
    assert!(
        !attrs().any(|a| starts_ci(a, "domain=")),
        "a Domain attribute: {line:?}"
    );
    if starts_ci(c.name, "__Host-") {
        assert!(
            attrs().any(|a| a == "Secure") && attrs().any(|a| a == "Path=/"),
            "__Host- line: {line:?}"
        );
    }
    if starts_ci(c.name, "__Secure-") || c.same_site == SameSite::None {
        assert!(attrs().any(|a| a == "Secure"), "needs Secure: {line:?}");
    }
    if clear {
        assert!(attrs().any(|a| a == "Max-Age=0"), "clear line: {line:?}");
    } else if c.session_only {
        assert!(
            !attrs().any(|a| starts_ci(a, "max-age=") || starts_ci(a, "expires=")),
            "a session-only line that persists: {line:?}"
        );
    }
    let pair = line.split(';').next().unwrap();
    let back = cookie::find_cookie_str(pair, c.name);
    if value.is_empty() {
        assert_eq!(back, Ok(Some("")));
    } else {
        assert_eq!(back, Ok(Some(value)), "pair {pair:?} does not read back");
    }
}

fn run(c: &CookieConfig<'_>, value: &str, max_age: u64, cap: usize, clear: bool) {
    let mut buf = vec![FILL; cap];
    let got = if clear {
        cookie::write_clear_cookie(&mut buf, c).map(str::to_owned)
    } else {
        cookie::write_set_cookie(&mut buf, c, value, max_age).map(str::to_owned)
    };
    let (value, max_age) = if clear { ("", 0) } else { (value, max_age) };
    let want = ref_write(c, value, max_age, cap, clear);
    assert_eq!(
        got, want,
        "clear={clear} config={c:?} value={value:?} cap={cap}"
    );
    match &got {
        Ok(line) => {
            assert_eq!(&buf[..line.len()], line.as_bytes());
            assert!(
                buf[line.len()..].iter().all(|&b| b == FILL),
                "wrote past the line"
            );
            // `set_cookie_len` describes set lines; a clear line is the persistent one's shape.
            let shape = CookieConfig {
                session_only: c.session_only && !clear,
                ..*c
            };
            assert_eq!(
                line.len(),
                cookie::set_cookie_len(&shape, value.len(), max_age)
            );
            check_line(c, line, value, clear);
        }
        Err(_) => assert!(
            buf.iter().all(|&b| b == FILL),
            "wrote into the buffer on an error"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut src = Src::new(data);
    let flags = src.u8();
    let cap = usize::from(src.u16() % 512);
    let max_age_byte = src.u8();
    let max_age = match max_age_byte % 4 {
        0 => 0,
        1 => u64::MAX,
        _ => src.u64(),
    };
    let name_owned;
    let name: &str = match (flags >> 4) & 3 {
        0 => "__Host-rolltoken",
        1 => "rolltoken",
        2 => ["__Secure-rt", "__host-rt", "__HOST-", "__Secure-"][usize::from(src.u8() % 4)],
        _ => {
            name_owned = String::from_utf8_lossy(src.short_bytes(80)).into_owned();
            &name_owned
        }
    };
    let path_owned;
    let path: &str = match flags >> 6 {
        0 => "/",
        1 => "/app",
        2 => "",
        _ => {
            path_owned = String::from_utf8_lossy(src.short_bytes(80)).into_owned();
            &path_owned
        }
    };
    let same_site = match (flags >> 2) & 3 {
        0 | 3 => SameSite::Lax,
        1 => SameSite::Strict,
        _ => SameSite::None,
    };
    let c = CookieConfig {
        name,
        path,
        secure: flags & 1 == 1,
        http_only: flags & 2 == 2,
        same_site,
        session_only: max_age_byte & 4 == 4,
    };
    let value = String::from_utf8_lossy(src.rest()).into_owned();

    assert_eq!(c.validate(), ref_validate(&c), "validate({c:?})");
    assert_eq!(
        cookie::set_cookie_len(&c, value.len(), max_age),
        ref_line(&c, &value, ref_max_age(&c, max_age, false)).len(),
        "set_cookie_len"
    );
    run(&c, &value, max_age, cap, false);
    run(&c, &value, max_age, cap, true);
});
