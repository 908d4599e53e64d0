//! rolltoken against the HMAC floor and its peers, one criterion group per operation, the
//! floor and the peers measured in the same group of the same run (compare ratios, not
//! nanoseconds: this is a shared 2-core machine).
//!
//! Definitions (every op function is `#[inline(never)]`, every input goes through
//! `black_box`, and the fixture checks that each op succeeds before timing):
//!
//! - **floor** (in every group): a clone of a keyed `Hmac<Sha256>` (`hmac` 0.13, `sha2` 0.11,
//!   the crates the core uses) + `update` + `finalize` over the compact tag's 29-byte MAC
//!   input (`"rtc1" ‖ key id ‖ session id ‖ counter`): two SHA-256 compressions.
//! - **verify_compact**: `token::parse` of a 49-character `rtc1_` token +
//!   `CompactToken::matches(keys, counter)` with the counter in hand (the record already
//!   loaded). Peer: `jsonwebtoken` HS256 `decode` + validation (exp, alg) of equivalent claims.
//! - **verify_full**: `token::parse` of a 115-character `rtf1_` token + `FullToken::verify`.
//!   Peer: the same `jsonwebtoken` decode.
//! - **advance_memory**: `Sessions::handle` with `Kind::Advance` through `MemoryStore` (load,
//!   decide, mint, compare-and-swap save) on one session among 256, as a **chain**: each
//!   iteration presents the token the previous one rolled, 1 ms later, so every iteration is
//!   rule 1 (`fresh`) on live state (no `iter_batched` reset). Compact form (the default
//!   policy) and full form (strict mode). Peer: `jsonwebtoken` decode + encode of the next
//!   claims (what rolling a JWT costs, without any store).
//! - **mint**: `token::mint_compact` and `token::mint_full` into their stack buffers. Peer:
//!   `jsonwebtoken` HS256 `encode` (allocates the `String`).
//! - **parse**: `token::parse` alone, both forms. Peer: `jsonwebtoken::dangerous::insecure_decode`
//!   (split, base64 and JSON, no signature).
//! - **cookie_header**: `cookie::find_cookie` on a realistic 400-byte `Cookie:` header,
//!   `cookie::write_set_cookie` into a stack buffer, both together, and the whole cookie round
//!   trip (find + compact verify + mint the successor + write). Peers: the `cookie` crate's
//!   signed jar (`signed` feature): `get` from a jar holding the parsed header, `add` + render
//!   the `Set-Cookie` value, and the whole round trip (parse the header into a jar + signed
//!   `get` + signed `add` + render).
//!
//! - **components** (not a target, for finding where the time goes): the pieces the
//!   operations above are made of — `CompactToken::matches` and `FullToken::verify` on an
//!   already-parsed token, `Keyring::binding` (two keyed hashes of a 105-byte user agent and a
//!   /24), `log_id`, `engine::decide` of an advance on a record in hand, a memory-store load +
//!   compare-and-swap save, `Sessions::handle` of a read with the current token, and
//!   `addr::parse_ip` beside `str::parse::<IpAddr>` (IPv4 and IPv6 text).
//!
//! - **ratio mode** (`ROLLTOKEN_RATIOS=1`, no criterion): the floor and the target ops
//!   (compact and full verify, both advances, their jsonwebtoken peers) timed in alternating
//!   batches, so each ratio compares two measurements taken under the same load; see
//!   [`ratios`].
//!
//! jsonwebtoken claims equivalent to a full token: `{sub, sid, ctr, iat, exp, bnd}` (subject,
//! session id as hex, counter, issued-at and expiry in seconds, binding as hex), HS256,
//! `Validation::new(HS256)` (validates `exp` against the system clock).
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

use core::hint::black_box;
use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use cookie::{Cookie, CookieJar, Key};
use criterion::{Criterion, criterion_group};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rolltoken::cookie::{MAX_SET_COOKIE_LEN, find_cookie, write_set_cookie};
use rolltoken::engine;
use rolltoken::keys::{BindingInput, Keyring};
use rolltoken::policy::Policy;
use rolltoken::record::Record;
use rolltoken::sessions::{Kind, Outcome, Request};
use rolltoken::store::{MemoryStore, Store};
use rolltoken::token::{self, Claims, Parsed, SessionId, TokenBuf};
use rolltoken_benches as fx;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// The floor

#[path = "common/floor.rs"]
mod floor;
use floor::{Floor, bench_floor, floor_hmac};

// ---------------------------------------------------------------------------------------------
// jsonwebtoken

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct JwtClaims {
    sub: String,
    sid: String,
    ctr: u64,
    iat: u64,
    exp: u64,
    bnd: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Jwt {
    header: Header,
    enc: EncodingKey,
    dec: DecodingKey,
    validation: Validation,
    claims: JwtClaims,
    token: String,
}

impl Jwt {
    fn new(c: &Claims) -> Jwt {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let claims = JwtClaims {
            sub: format!("user-{:06}", fx::SUBJECT),
            sid: hex(&c.session_id.0),
            ctr: c.counter,
            iat: now,
            exp: now + 12 * 3600,
            bnd: hex(&c.binding.to_bytes()),
        };
        let header = Header::new(Algorithm::HS256);
        let enc = EncodingKey::from_secret(&fx::SECRET);
        let dec = DecodingKey::from_secret(&fx::SECRET);
        let validation = Validation::new(Algorithm::HS256);
        let token = jsonwebtoken::encode(&header, &claims, &enc).expect("jwt encode");
        let jwt = Jwt {
            header,
            enc,
            dec,
            validation,
            claims,
            token,
        };
        assert_eq!(jwt_decode(&jwt).ctr, c.counter, "jwt must verify");
        jwt
    }
}

#[inline(never)]
fn jwt_decode(j: &Jwt) -> JwtClaims {
    jsonwebtoken::decode::<JwtClaims>(&j.token, &j.dec, &j.validation)
        .expect("jwt decode")
        .claims
}

#[inline(never)]
fn jwt_encode(j: &Jwt, claims: &JwtClaims) -> String {
    jsonwebtoken::encode(&j.header, claims, &j.enc).expect("jwt encode")
}

/// Rolling a JWT: verify the presented one, mint the next (no store).
#[inline(never)]
fn jwt_roll(j: &Jwt) -> String {
    let mut c = jsonwebtoken::decode::<JwtClaims>(&j.token, &j.dec, &j.validation)
        .expect("jwt decode")
        .claims;
    c.ctr += 1;
    jsonwebtoken::encode(&j.header, &c, &j.enc).expect("jwt encode")
}

#[inline(never)]
fn jwt_insecure_decode(j: &Jwt) -> JwtClaims {
    jsonwebtoken::dangerous::insecure_decode::<JwtClaims>(&j.token)
        .expect("jwt parse")
        .claims
}

// ---------------------------------------------------------------------------------------------
// rolltoken ops

#[inline(never)]
fn rt_verify_compact(keys: &Keyring, text: &[u8], counter: u64) -> bool {
    fx::verify_compact(keys, text, counter)
}

#[inline(never)]
fn rt_verify_full(keys: &Keyring, text: &[u8]) -> bool {
    fx::verify_full(keys, text)
}

#[inline(never)]
fn rt_parse(text: &[u8]) -> Option<Parsed> {
    token::parse(text).ok()
}

#[inline(never)]
fn rt_mint_compact(keys: &Keyring, sid: &SessionId, counter: u64) -> Option<TokenBuf> {
    token::mint_compact(keys, fx::KEY_ID, sid, counter).ok()
}

#[inline(never)]
fn rt_mint_full(keys: &Keyring, claims: &Claims) -> Option<TokenBuf> {
    token::mint_full(keys, claims).ok()
}

// ---------------------------------------------------------------------------------------------
// Groups

fn verify_compact(c: &mut Criterion) {
    let keys = fx::keyring();
    let t = fx::compact_token(&keys);
    let jwt = Jwt::new(&fx::full_claims(&keys));
    assert!(rt_verify_compact(&keys, t.as_bytes(), fx::COMPACT_COUNTER));
    let mut g = c.benchmark_group("verify_compact");
    g.bench_function("rolltoken", |b| {
        b.iter(|| {
            rt_verify_compact(
                black_box(&keys),
                black_box(t.as_bytes()),
                black_box(fx::COMPACT_COUNTER),
            )
        })
    });
    bench_floor(&mut g);
    g.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jwt_decode(black_box(&jwt)))
    });
    g.finish();
}

fn verify_full(c: &mut Criterion) {
    let keys = fx::keyring();
    let t = fx::full_token(&keys);
    let jwt = Jwt::new(&fx::full_claims(&keys));
    assert!(rt_verify_full(&keys, t.as_bytes()));
    let mut g = c.benchmark_group("verify_full");
    g.bench_function("rolltoken", |b| {
        b.iter(|| rt_verify_full(black_box(&keys), black_box(t.as_bytes())))
    });
    bench_floor(&mut g);
    g.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jwt_decode(black_box(&jwt)))
    });
    g.finish();
}

fn advance_memory(c: &mut Criterion) {
    let keys = fx::keyring();
    let client = fx::client();
    let jwt = Jwt::new(&fx::full_claims(&keys));
    let mut g = c.benchmark_group("advance_memory");
    {
        let (mut sessions, first) = fx::sessions(&keys, Policy::default());
        assert_eq!(first.as_bytes().len(), token::COMPACT_TOKEN_LEN);
        let mut chain = fx::chain(&mut sessions, first, 2);
        g.bench_function("rolltoken_compact", |b| {
            b.iter(|| assert!(chain.advance(black_box(&mut sessions), black_box(&client))))
        });
    }
    {
        let policy = Policy {
            form: token::Form::Full,
            ..Policy::default()
        };
        let (mut sessions, first) = fx::sessions(&keys, policy);
        assert_eq!(first.as_bytes().len(), token::FULL_TOKEN_LEN);
        let mut chain = fx::chain(&mut sessions, first, 2);
        g.bench_function("rolltoken_full", |b| {
            b.iter(|| assert!(chain.advance(black_box(&mut sessions), black_box(&client))))
        });
    }
    bench_floor(&mut g);
    assert!(!jwt_roll(&jwt).is_empty());
    g.bench_function("jsonwebtoken_decode_encode", |b| {
        b.iter(|| jwt_roll(black_box(&jwt)))
    });
    g.finish();
}

fn mint(c: &mut Criterion) {
    let keys = fx::keyring();
    let claims = fx::full_claims(&keys);
    let sid = SessionId(fx::SESSION_ID);
    let jwt = Jwt::new(&claims);
    let compact = rt_mint_compact(&keys, &sid, fx::COMPACT_COUNTER).expect("mint");
    assert_eq!(compact.as_bytes().len(), 49);
    assert!(fx::verify_compact(
        &keys,
        compact.as_bytes(),
        fx::COMPACT_COUNTER
    ));
    let full = rt_mint_full(&keys, &claims).expect("mint");
    assert_eq!(full.as_bytes().len(), 115);
    assert!(fx::verify_full(&keys, full.as_bytes()));
    let encoded = jwt_encode(&jwt, &jwt.claims);
    assert_eq!(encoded, jwt.token);
    let mut g = c.benchmark_group("mint");
    g.bench_function("rolltoken_compact", |b| {
        b.iter(|| {
            rt_mint_compact(
                black_box(&keys),
                black_box(&sid),
                black_box(fx::COMPACT_COUNTER),
            )
        })
    });
    g.bench_function("rolltoken_full", |b| {
        b.iter(|| rt_mint_full(black_box(&keys), black_box(&claims)))
    });
    bench_floor(&mut g);
    g.bench_function("jsonwebtoken_encode", |b| {
        b.iter(|| jwt_encode(black_box(&jwt), black_box(&jwt.claims)))
    });
    g.finish();
}

fn parse(c: &mut Criterion) {
    let keys = fx::keyring();
    let compact = fx::compact_token(&keys);
    let full = fx::full_token(&keys);
    let jwt = Jwt::new(&fx::full_claims(&keys));
    assert!(matches!(
        rt_parse(compact.as_bytes()),
        Some(Parsed::Compact(_))
    ));
    assert!(matches!(rt_parse(full.as_bytes()), Some(Parsed::Full(_))));
    assert_eq!(jwt_insecure_decode(&jwt), jwt.claims);
    let mut g = c.benchmark_group("parse");
    g.bench_function("rolltoken_compact", |b| {
        b.iter(|| rt_parse(black_box(compact.as_bytes())))
    });
    g.bench_function("rolltoken_full", |b| {
        b.iter(|| rt_parse(black_box(full.as_bytes())))
    });
    bench_floor(&mut g);
    g.bench_function("jsonwebtoken_insecure_decode", |b| {
        b.iter(|| jwt_insecure_decode(black_box(&jwt)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// cookie_header

#[inline(never)]
fn rt_find(header: &[u8]) -> Option<&str> {
    find_cookie(header, fx::COOKIE_NAME).ok().flatten()
}

#[inline(never)]
fn rt_write(out: &mut [u8; MAX_SET_COOKIE_LEN], value: &str) -> usize {
    write_set_cookie(out, &fx::cookie_config(), value, 43_200)
        .map(str::len)
        .unwrap_or(0)
}

#[inline(never)]
fn rt_find_write(header: &[u8], value: &str, out: &mut [u8; MAX_SET_COOKIE_LEN]) -> usize {
    match find_cookie(header, fx::COOKIE_NAME) {
        Ok(Some(_)) => write_set_cookie(out, &fx::cookie_config(), value, 43_200)
            .map(str::len)
            .unwrap_or(0),
        _ => 0,
    }
}

/// The whole round trip of a compact cookie with the counter in hand: find it, verify it,
/// mint the successor, write its `Set-Cookie` value.
#[inline(never)]
fn rt_round_trip(
    keys: &Keyring,
    header: &[u8],
    counter: u64,
    out: &mut [u8; MAX_SET_COOKIE_LEN],
) -> usize {
    let Ok(Some(value)) = find_cookie(header, fx::COOKIE_NAME) else {
        return 0;
    };
    let Ok(Parsed::Compact(t)) = token::parse(value.as_bytes()) else {
        return 0;
    };
    if !t.matches(keys, counter).unwrap_or(false) {
        return 0;
    }
    let Ok(next) = token::mint_compact(keys, t.key_id(), &t.session_id(), counter + 1) else {
        return 0;
    };
    write_set_cookie(out, &fx::cookie_config(), next.as_str(), 43_200)
        .map(str::len)
        .unwrap_or(0)
}

struct CookieCrate {
    key: Key,
    /// The jar of a request: the header's cookies as originals, the session cookie signed.
    jar: CookieJar,
    /// The request header carrying the signed session cookie.
    header: String,
    /// The value the session cookie holds (signed by the jar).
    value: String,
}

const COOKIE_CRATE_NAME: &str = "session";

impl CookieCrate {
    fn new(value: &str) -> CookieCrate {
        let key = Key::from(&[0x5a; 64]);
        let mut signer = CookieJar::new();
        signer
            .signed_mut(&key)
            .add(Cookie::new(COOKIE_CRATE_NAME, value.to_owned()));
        let signed = signer
            .get(COOKIE_CRATE_NAME)
            .expect("signed")
            .value()
            .to_owned();
        let header = fx::cookie_header(COOKIE_CRATE_NAME, &signed);
        let jar = cookie_jar_of(&header);
        let cc = CookieCrate {
            key,
            jar,
            header,
            value: value.to_owned(),
        };
        assert_eq!(cookie_signed_get(&cc).as_deref(), Some(value));
        cc
    }
}

fn cookie_jar_of(header: &str) -> CookieJar {
    let mut jar = CookieJar::new();
    for c in Cookie::split_parse(header).flatten() {
        jar.add_original(c.into_owned());
    }
    jar
}

#[inline(never)]
fn cookie_signed_get(cc: &CookieCrate) -> Option<String> {
    cc.jar
        .signed(&cc.key)
        .get(COOKIE_CRATE_NAME)
        .map(|c| c.value().to_owned())
}

#[inline(never)]
fn cookie_parse_get(cc: &CookieCrate) -> Option<String> {
    let jar = cookie_jar_of(&cc.header);
    jar.signed(&cc.key)
        .get(COOKIE_CRATE_NAME)
        .map(|c| c.value().to_owned())
}

/// Signed `add` of the next cookie, then its `Set-Cookie` value from the jar's delta.
#[inline(never)]
fn cookie_add_render(cc: &CookieCrate, jar: &mut CookieJar) -> String {
    let cookie = Cookie::build((COOKIE_CRATE_NAME, cc.value.clone()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(43_200));
    jar.signed_mut(&cc.key).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

/// The whole round trip with the cookie crate: parse the header into a jar, signed `get`,
/// signed `add` of the next value, render its `Set-Cookie` value.
#[inline(never)]
fn cookie_round_trip(cc: &CookieCrate) -> String {
    let mut jar = cookie_jar_of(&cc.header);
    let Some(current) = jar.signed(&cc.key).get(COOKIE_CRATE_NAME) else {
        return String::new();
    };
    let cookie = Cookie::build((COOKIE_CRATE_NAME, current.value().to_owned()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(43_200));
    jar.signed_mut(&cc.key).add(cookie);
    jar.delta()
        .next()
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn cookie_header(c: &mut Criterion) {
    let keys = fx::keyring();
    let t = fx::compact_token(&keys);
    let header = fx::cookie_header(fx::COOKIE_NAME, t.as_str());
    let mut out = [0u8; MAX_SET_COOKIE_LEN];
    assert_eq!(rt_find(header.as_bytes()), Some(t.as_str()));
    let written = rt_write(&mut out, t.as_str());
    assert!(written > 100, "Set-Cookie written");
    assert_eq!(
        rt_find_write(header.as_bytes(), t.as_str(), &mut out),
        written
    );
    assert_eq!(
        rt_round_trip(&keys, header.as_bytes(), fx::COMPACT_COUNTER, &mut out),
        written
    );
    // The cookie crate signs a value as long as a compact token, in a header of the same size.
    let cc = CookieCrate::new(t.as_str());
    assert!(cc.header.len().abs_diff(header.len()) <= 64);
    assert_eq!(cookie_parse_get(&cc).as_deref(), Some(t.as_str()));
    let mut jar = CookieJar::new();
    assert!(cookie_add_render(&cc, &mut jar).starts_with("session="));
    assert!(cookie_round_trip(&cc).starts_with("session="));

    let mut g = c.benchmark_group("cookie_header");
    g.bench_function("rolltoken_find_cookie", |b| {
        b.iter(|| rt_find(black_box(header.as_bytes())).is_some())
    });
    g.bench_function("rolltoken_write_set_cookie", |b| {
        b.iter(|| rt_write(black_box(&mut out), black_box(t.as_str())))
    });
    g.bench_function("rolltoken_find_write", |b| {
        b.iter(|| {
            rt_find_write(
                black_box(header.as_bytes()),
                black_box(t.as_str()),
                black_box(&mut out),
            )
        })
    });
    g.bench_function("rolltoken_round_trip", |b| {
        b.iter(|| {
            rt_round_trip(
                black_box(&keys),
                black_box(header.as_bytes()),
                black_box(fx::COMPACT_COUNTER),
                black_box(&mut out),
            )
        })
    });
    bench_floor(&mut g);
    g.bench_function("cookie_signed_get", |b| {
        b.iter(|| cookie_signed_get(black_box(&cc)))
    });
    g.bench_function("cookie_parse_signed_get", |b| {
        b.iter(|| cookie_parse_get(black_box(&cc)))
    });
    g.bench_function("cookie_signed_add_render", |b| {
        b.iter(|| cookie_add_render(black_box(&cc), black_box(&mut jar)))
    });
    g.bench_function("cookie_round_trip", |b| {
        b.iter(|| cookie_round_trip(black_box(&cc)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// components

#[inline(never)]
fn rt_matches(keys: &Keyring, t: &token::CompactToken, counter: u64) -> bool {
    t.matches(keys, counter).unwrap_or(false)
}

#[inline(never)]
fn rt_verify_tag(keys: &Keyring, t: &token::FullToken) -> bool {
    t.verify(keys).is_ok()
}

#[inline(never)]
fn rt_binding(keys: &Keyring, client: &BindingInput<'_>) -> Option<rolltoken::keys::Binding> {
    keys.binding(fx::KEY_ID, client)
}

#[inline(never)]
fn rt_log_id(sid: &SessionId) -> rolltoken::LogId {
    rolltoken::log_id(sid)
}

#[inline(never)]
fn rt_decide(
    keys: &Keyring,
    policy: &Policy,
    record: &Record,
    parsed: &Parsed,
    client: &BindingInput<'_>,
    now: u64,
) -> engine::Decision {
    engine::decide(keys, policy, record, parsed, Kind::Advance, client, now)
}

/// Load + compare-and-swap save of the same record, its version bumped each time.
#[inline(never)]
fn rt_load_save(store: &mut MemoryStore<{ fx::STORE_CAPACITY }>, sid: &SessionId) -> bool {
    let Ok(Some(mut r)) = store.load(sid) else {
        return false;
    };
    let expected = r.version;
    r.version += 1;
    store.save(&r, Some(expected), r.last_advance_at).is_ok()
}

fn components(c: &mut Criterion) {
    let keys = fx::keyring();
    let client = fx::client();
    let sid = SessionId(fx::SESSION_ID);
    let Some(Parsed::Compact(compact)) = rt_parse(fx::compact_token(&keys).as_bytes()) else {
        panic!("compact token");
    };
    assert!(rt_matches(&keys, &compact, fx::COMPACT_COUNTER));
    let Some(Parsed::Full(full)) = rt_parse(fx::full_token(&keys).as_bytes()) else {
        panic!("full token");
    };
    assert!(rt_verify_tag(&keys, &full));
    assert_eq!(rt_binding(&keys, &client), Some(fx::client_binding(&keys)));

    let policy = Policy::default();
    let (mut sessions, first) = fx::sessions(&keys, policy);
    let chain = fx::chain(&mut sessions, first, 2);
    let record = sessions
        .store_mut()
        .load(&sid)
        .expect("load")
        .expect("record");
    let parsed = token::parse(chain.token.as_bytes()).expect("parse");
    let now = chain.now + 1;
    let d = rt_decide(&keys, &policy, &record, &parsed, &client, now);
    assert!(d.token.is_some() && d.save.is_some(), "decide must advance");
    let read = Request {
        cookie: Some(chain.token.as_bytes()),
        kind: Kind::Read,
        now_ms: now,
        binding: &client,
        new_session_id: [0; 16],
    };
    assert!(matches!(
        sessions.handle(&read),
        Outcome::Proceed { token: None, .. }
    ));
    // A store of 256 records like the façade's, for the load + save pair on its own.
    let mut store = MemoryStore::<{ fx::STORE_CAPACITY }>::new();
    for i in 0..=fx::OTHER_SESSIONS {
        let mut r = record;
        if i > 0 {
            r.session_id.0[..8].copy_from_slice(&(i as u64).to_be_bytes());
        }
        store.save(&r, None, now).expect("save");
    }
    assert!(rt_load_save(&mut store, &sid));

    let mut g = c.benchmark_group("components");
    g.bench_function("compact_matches", |b| {
        b.iter(|| {
            rt_matches(
                black_box(&keys),
                black_box(&compact),
                black_box(fx::COMPACT_COUNTER),
            )
        })
    });
    g.bench_function("full_verify_tag", |b| {
        b.iter(|| rt_verify_tag(black_box(&keys), black_box(&full)))
    });
    g.bench_function("keyring_binding", |b| {
        b.iter(|| rt_binding(black_box(&keys), black_box(&client)))
    });
    g.bench_function("log_id", |b| b.iter(|| rt_log_id(black_box(&sid))));
    // The core's address parser beside the standard one it replaces in the bindings (the
    // claim in core/src/addr.rs), on the fixture's IPv4 text and an IPv6 one.
    for text in [&b"203.0.113.7"[..], b"2001:db8:85a3::8a2e:370:7334"] {
        let want = core::str::from_utf8(text).ok().and_then(|t| t.parse().ok());
        assert!(want.is_some() && rolltoken::addr::parse_ip(text) == want);
        let v = if text.contains(&b':') { "v6" } else { "v4" };
        g.bench_function(format!("addr_parse_ip_{v}"), |b| {
            b.iter(|| rolltoken::addr::parse_ip(black_box(text)))
        });
        g.bench_function(format!("std_str_parse_ip_{v}"), |b| {
            b.iter(|| {
                core::str::from_utf8(black_box(text))
                    .ok()
                    .and_then(|t| t.parse::<core::net::IpAddr>().ok())
            })
        });
    }
    g.bench_function("engine_decide_advance", |b| {
        b.iter(|| {
            rt_decide(
                black_box(&keys),
                black_box(&policy),
                black_box(&record),
                black_box(&parsed),
                black_box(&client),
                black_box(now),
            )
        })
    });
    g.bench_function("memory_store_load_save", |b| {
        b.iter(|| assert!(rt_load_save(black_box(&mut store), black_box(&sid))))
    });
    g.bench_function("sessions_handle_read", |b| {
        b.iter(|| sessions.handle(black_box(&read)))
    });
    bench_floor(&mut g);
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = verify_compact, verify_full, advance_memory, mint, parse, cookie_header, components
}

/// `criterion_main!(benches)`, plus the interleaved ratio mode (`ROLLTOKEN_RATIOS=1`).
fn main() {
    if std::env::var_os("ROLLTOKEN_RATIOS").is_some() {
        ratios();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

// ---------------------------------------------------------------------------------------------
// Interleaved ratios (`ROLLTOKEN_RATIOS=1 cargo bench -p rolltoken-benches --bench rolltoken`)
//
// Criterion measures one benchmark after the other, ~2.5 s each, so on a shared machine whose
// load changes from second to second a group's floor and its rolltoken row can be measured
// under different loads, and the ratio between them swings (0.5× to 1.1× for the same code).
// This mode times the floor and every target op in alternating batches of ~20 µs, round after
// round, so each op's batch is timed next to a floor batch under the same load; it prints
// the median over rounds of each op/floor ratio (and the 10th–90th percentile), the ratio of
// the fastest batches (the least disturbed: what a quiet machine gives), and the median
// peer/op speed-up.

/// Runs `op` `n` times; nanoseconds per run.
fn time_batch(op: &mut dyn FnMut(), n: u32) -> f64 {
    let t = std::time::Instant::now();
    for _ in 0..n {
        op();
    }
    t.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// A named op of the ratio mode.
type NamedOp<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn ratios() {
    let keys = fx::keyring();
    let client = fx::client();
    let floor = Floor::new();
    let compact = fx::compact_token(&keys);
    let full = fx::full_token(&keys);
    let jwt = Jwt::new(&fx::full_claims(&keys));
    let (mut s_compact, first) = fx::sessions(&keys, Policy::default());
    let mut chain_compact = fx::chain(&mut s_compact, first, 2);
    let full_policy = Policy {
        form: token::Form::Full,
        ..Policy::default()
    };
    let (mut s_full, first) = fx::sessions(&keys, full_policy);
    let mut chain_full = fx::chain(&mut s_full, first, 2);
    // (name, op); the floor first.
    let mut ops: Vec<NamedOp<'_>> = vec![
        (
            "floor_hmac_29B",
            Box::new(|| {
                black_box(floor_hmac(black_box(&floor)));
            }),
        ),
        (
            "verify_compact",
            Box::new(|| {
                assert!(rt_verify_compact(
                    black_box(&keys),
                    black_box(compact.as_bytes()),
                    black_box(fx::COMPACT_COUNTER),
                ));
            }),
        ),
        (
            "verify_full",
            Box::new(|| assert!(rt_verify_full(black_box(&keys), black_box(full.as_bytes())))),
        ),
        (
            "jsonwebtoken_decode",
            Box::new(|| {
                black_box(jwt_decode(black_box(&jwt)));
            }),
        ),
        (
            "advance_memory_compact",
            Box::new(|| {
                assert!(chain_compact.advance(black_box(&mut s_compact), black_box(&client)))
            }),
        ),
        (
            "advance_memory_full",
            Box::new(|| assert!(chain_full.advance(black_box(&mut s_full), black_box(&client)))),
        ),
        (
            "jsonwebtoken_decode_encode",
            Box::new(|| {
                black_box(jwt_roll(black_box(&jwt)));
            }),
        ),
    ];
    // Batch sizes for ~20 µs per batch, from a first estimate.
    let sizes: Vec<u32> = ops
        .iter_mut()
        .map(|(_, op)| {
            for _ in 0..1000 {
                op();
            }
            let ns = time_batch(op.as_mut(), 1000);
            (20_000.0 / ns).clamp(1.0, 10_000.0) as u32
        })
        .collect();
    let rounds = 600;
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); ops.len()];
    for _ in 0..rounds {
        for (i, (_, op)) in ops.iter_mut().enumerate() {
            times[i].push(time_batch(op.as_mut(), sizes[i]));
        }
    }
    let median_of = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (
            percentile(&v, 0.5),
            percentile(&v, 0.1),
            percentile(&v, 0.9),
        )
    };
    let per_round = |a: usize, b: usize| -> Vec<f64> {
        times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect()
    };
    let index = |name: &str| ops.iter().position(|(n, _)| *n == name).expect("op");
    println!("interleaved: {rounds} rounds, each op timed next to the floor; medians over rounds");
    println!();
    println!(
        "| op | median ns | × floor (p10–p90) | × floor, fastest batches | peer speed-up (p10–p90) |"
    );
    println!("|---|---:|---:|---:|---:|");
    let peers = [
        ("verify_compact", "jsonwebtoken_decode"),
        ("verify_full", "jsonwebtoken_decode"),
        ("advance_memory_compact", "jsonwebtoken_decode_encode"),
        ("advance_memory_full", "jsonwebtoken_decode_encode"),
    ];
    for (i, (name, _)) in ops.iter().enumerate() {
        let (ns, _, _) = median_of(times[i].clone());
        let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let quiet = fastest(&times[i]) / fastest(&times[0]);
        let (r, r10, r90) = median_of(per_round(i, 0));
        let peer = peers
            .iter()
            .find(|(op, _)| op == name)
            .map(|(_, peer)| {
                let (s, s10, s90) = median_of(per_round(index(peer), i));
                format!("{s:.1}× vs {peer} ({s10:.1}–{s90:.1})")
            })
            .unwrap_or_else(|| "—".into());
        println!("| {name} | {ns:.0} | {r:.2} ({r10:.2}–{r90:.2}) | {quiet:.2} | {peer} |");
    }
}
