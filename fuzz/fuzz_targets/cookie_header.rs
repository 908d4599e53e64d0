//! `Cookie:` request header lookup (`cookie::find_cookie`) with arbitrary header bytes and an
//! arbitrary cookie name.
//!
//! Input: the first byte picks the name (below 0x80: one of a few real names; 0x40 and 0x41
//! also pad the header with spaces to 8192 or 8193 bytes; else a name of `(b & 0x7f) % 80` fuzz bytes
//! that follow), the rest is the header value.
//!
//! Checks: never panics; the result equals a reference lookup written from the function's
//! documentation (name validation, the 8192-byte limit, control characters, `;` pairs split at
//! the first `=`, optional whitespace, one pair of quotes, cookie-octets, the same value twice
//! is fine, two different values fail closed); a value found is a sub-slice of the header made
//! only of cookie-octets; `find_cookie_str` agrees on UTF-8 headers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolltoken::cookie::{self, CookieError, MAX_COOKIE_HEADER_LEN};
use rolltoken_fuzz::{is_cookie_octet, is_valid_cookie_name, show, Src};

const NAMES: [&str; 6] = [
    "__Host-rolltoken",
    "rolltoken",
    "a",
    "__Secure-sid",
    "sid",
    "x-y.z",
];

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The documented behaviour, step by step.
fn reference<'h>(header: &'h [u8], name: &str) -> Result<Option<&'h [u8]>, CookieError> {
    if !is_valid_cookie_name(name.as_bytes()) {
        return Err(CookieError::InvalidName);
    }
    if header.len() > MAX_COOKIE_HEADER_LEN {
        return Err(CookieError::TooLong);
    }
    if header
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(CookieError::Malformed);
    }
    let mut found: Option<&[u8]> = None;
    for pair in header.split(|&b| b == b';') {
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            continue;
        };
        if trim(&pair[..eq]) != name.as_bytes() {
            continue;
        }
        let mut v = trim(&pair[eq + 1..]);
        if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
            v = &v[1..v.len() - 1];
        }
        if !v.iter().all(|&b| is_cookie_octet(b)) {
            return Err(CookieError::InvalidValue);
        }
        if let Some(prev) = found {
            if prev != v {
                return Err(CookieError::Duplicate);
            }
        }
        found = Some(v);
    }
    Ok(found)
}

fuzz_target!(|data: &[u8]| {
    let mut src = Src::new(data);
    let sel = src.u8();
    let owned;
    let name: &str = if sel < 0x80 {
        NAMES[usize::from(sel) % NAMES.len()]
    } else {
        let n = usize::from(sel & 0x7f) % 80;
        owned = String::from_utf8_lossy(src.bytes(n)).into_owned();
        &owned
    };
    let mut header = src.rest();
    // Selectors 0x40 and 0x41 pad the header with spaces to 8192 or 8193 bytes, so short
    // inputs reach the length limit from both sides.
    let padded;
    if sel & 0xfe == 0x40 && header.len() <= MAX_COOKIE_HEADER_LEN {
        let mut v = header.to_vec();
        v.resize(MAX_COOKIE_HEADER_LEN + usize::from(sel & 1), b' ');
        padded = v;
        header = &padded;
    }
    let got = cookie::find_cookie(header, name);
    let want = reference(header, name);
    assert_eq!(
        got.map(|o| o.map(str::as_bytes)),
        want,
        "find_cookie({}, {name:?})",
        show(header)
    );
    if let Ok(Some(v)) = got {
        let (lo, hi) = (
            header.as_ptr() as usize,
            header.as_ptr() as usize + header.len(),
        );
        let p = v.as_ptr() as usize;
        assert!(
            p >= lo && p + v.len() <= hi,
            "value is not inside the header"
        );
        assert!(v.bytes().all(is_cookie_octet));
    }
    if let Ok(text) = std::str::from_utf8(header) {
        assert_eq!(cookie::find_cookie_str(text, name), got);
    }
});
