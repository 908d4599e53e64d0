//! Which requests advance the chain: decided once here from the request's headers, so every
//! middleware and gateway classifies alike (DESIGN §7, "Which requests advance").
//!
//! A top-level navigation advances: `Sec-Fetch-Mode: navigate`, or without Fetch Metadata a
//! `GET` whose `Accept` leads with `text/html`. Everything else reads, and so do:
//! - a navigation another site started (`Sec-Fetch-Site: cross-site`, which `SameSite=Lax`
//!   cookies accompany): no attacker page can make a victim's browser roll its token;
//! - prefetches and prerenders (`Sec-Purpose: prefetch`/`prerender`, `Purpose: prefetch`):
//!   their responses may never reach the page, and a rolled token lost there would be a
//!   lost response.
//!
//! Callers override per route (e.g. an endpoint whose response cannot set a cookie reads).

use crate::engine::Kind;

/// The request headers that decide between advance and read. Absent headers are `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchHeaders<'a> {
    /// The request method (`GET`, `POST`, ...).
    pub method: &'a [u8],
    /// `Sec-Fetch-Mode`.
    pub sec_fetch_mode: Option<&'a [u8]>,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: Option<&'a [u8]>,
    /// `Sec-Purpose`.
    pub sec_purpose: Option<&'a [u8]>,
    /// `Purpose` (older prefetch signal).
    pub purpose: Option<&'a [u8]>,
    /// `Accept`.
    pub accept: Option<&'a [u8]>,
}

/// Advance or read, by the rules of the module docs.
pub fn kind_of(h: &FetchHeaders<'_>) -> Kind {
    let prefetch = h
        .sec_purpose
        .is_some_and(|v| has_token(v, b"prefetch") || has_token(v, b"prerender"))
        || h.purpose.is_some_and(|v| has_token(v, b"prefetch"));
    if prefetch {
        return Kind::Read;
    }
    if let Some(mode) = h.sec_fetch_mode {
        let navigate = trim(mode).eq_ignore_ascii_case(b"navigate");
        let cross_site = h
            .sec_fetch_site
            .is_some_and(|s| trim(s).eq_ignore_ascii_case(b"cross-site"));
        return if navigate && !cross_site {
            Kind::Advance
        } else {
            Kind::Read
        };
    }
    // No Fetch Metadata (older browsers): a GET that asks for HTML first is a page load.
    let get = h.method.eq_ignore_ascii_case(b"GET");
    let html_first = h.accept.is_some_and(|a| {
        let first = a.split(|b| *b == b',').next().unwrap_or(&[]);
        let media = first.split(|b| *b == b';').next().unwrap_or(&[]);
        trim(media).eq_ignore_ascii_case(b"text/html")
    });
    if get && html_first {
        Kind::Advance
    } else {
        Kind::Read
    }
}

/// True when the comma- or semicolon-separated header value holds `token` (case-insensitive).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',' || *b == b';')
        .any(|part| trim(part).eq_ignore_ascii_case(token))
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut FetchHeaders<'static>)) -> Kind {
        let mut h = FetchHeaders {
            method: b"GET",
            ..FetchHeaders::default()
        };
        f(&mut h);
        kind_of(&h)
    }

    #[test]
    fn navigations_advance_everything_else_reads() {
        assert_eq!(
            with(|h| h.sec_fetch_mode = Some(b"navigate")),
            Kind::Advance
        );
        assert_eq!(
            with(|h| h.sec_fetch_mode = Some(b" Navigate ")),
            Kind::Advance
        );
        for site in [&b"same-origin"[..], b"same-site", b"none"] {
            let k = with(|h| {
                h.sec_fetch_mode = Some(b"navigate");
                h.sec_fetch_site = Some(site);
            });
            assert_eq!(k, Kind::Advance);
        }
        for mode in [&b"cors"[..], b"no-cors", b"same-origin", b"websocket"] {
            assert_eq!(with(|h| h.sec_fetch_mode = Some(mode)), Kind::Read);
        }
        // Fetch Metadata wins over Accept.
        let k = with(|h| {
            h.sec_fetch_mode = Some(b"cors");
            h.accept = Some(b"text/html");
        });
        assert_eq!(k, Kind::Read);
    }

    #[test]
    fn cross_site_navigations_and_prefetches_only_read() {
        let k = with(|h| {
            h.sec_fetch_mode = Some(b"navigate");
            h.sec_fetch_site = Some(b"cross-site");
        });
        assert_eq!(k, Kind::Read);
        for purpose in [&b"prefetch"[..], b"prefetch;prerender", b"PREFETCH"] {
            let k = with(|h| {
                h.sec_fetch_mode = Some(b"navigate");
                h.sec_purpose = Some(purpose);
            });
            assert_eq!(k, Kind::Read);
        }
        let k = with(|h| {
            h.purpose = Some(b"prefetch");
            h.accept = Some(b"text/html");
        });
        assert_eq!(k, Kind::Read);
    }

    #[test]
    fn without_fetch_metadata_a_get_for_html_advances() {
        assert_eq!(
            with(|h| h.accept = Some(b"text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")),
            Kind::Advance
        );
        assert_eq!(with(|h| h.accept = Some(b"text/html;q=0.9")), Kind::Advance);
        assert_eq!(
            with(|h| h.accept = Some(b"application/json, text/html")),
            Kind::Read
        );
        assert_eq!(with(|h| h.accept = Some(b"*/*")), Kind::Read);
        assert_eq!(with(|_| {}), Kind::Read);
        let k = with(|h| {
            h.method = b"POST";
            h.accept = Some(b"text/html");
        });
        assert_eq!(k, Kind::Read);
    }
}
