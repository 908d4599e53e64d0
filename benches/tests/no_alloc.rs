//! The core allocates nothing: a counting global allocator around `System` proves it for
//! every hot-path entry point — compact and full verify, both mints, `Sessions::handle`
//! advance and read through the memory store, `Sessions::login`, the cookie helpers,
//! `log_id` and the record codec.
//!
//! The counter is per thread (the test harness allocates on its own threads while tests run),
//! and a control test shows that an allocation *is* counted, so a zero means something.
#![allow(clippy::expect_used, clippy::panic)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::hint::black_box;
use std::alloc::System;

use rolltoken::cookie::{self, MAX_SET_COOKIE_LEN};
use rolltoken::policy::Policy;
use rolltoken::record::{RECORD_LEN, Record};
use rolltoken::sessions::{Kind, Outcome, Request};
use rolltoken::store::Store;
use rolltoken::token::{self, SessionId, Subject};
use rolltoken_benches as fx;

/// Counts allocations, reallocations and zeroed allocations made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: allocations during thread teardown, after the slot is gone, are not ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; counting touches only a
// thread-local `Cell` with a const initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by the current thread while `f` runs, and its result.
fn allocations<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = black_box(f());
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, out)
}

/// Asserts that `f` allocates nothing; returns its result.
#[track_caller]
fn assert_no_alloc<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (n, out) = allocations(f);
    assert_eq!(n, 0, "{what} allocated {n} time(s)");
    out
}

#[test]
fn control_an_allocation_is_counted() {
    let (n, v) = allocations(|| Vec::<u8>::with_capacity(1));
    assert_eq!(
        n, 1,
        "the counting allocator must see Vec::with_capacity(1)"
    );
    drop(v);
    let (n, b) = allocations(|| Box::new([0u8; 64]));
    assert!(n >= 1);
    drop(b);
    let (n, s) = allocations(|| String::from("x").repeat(100));
    assert!(n >= 1);
    drop(s);
}

#[test]
fn verify_and_mint_allocate_nothing() {
    let keys = fx::keyring();
    let compact = fx::compact_token(&keys);
    let full = fx::full_token(&keys);
    let claims = fx::full_claims(&keys);
    let sid = SessionId(fx::SESSION_ID);

    let ok = assert_no_alloc("compact verify", || {
        fx::verify_compact(&keys, compact.as_bytes(), fx::COMPACT_COUNTER)
    });
    assert!(ok);
    let wrong = assert_no_alloc("compact verify (wrong counter)", || {
        fx::verify_compact(&keys, compact.as_bytes(), fx::COMPACT_COUNTER + 1)
    });
    assert!(!wrong);
    assert!(assert_no_alloc("full verify", || fx::verify_full(
        &keys,
        full.as_bytes()
    )));
    assert_no_alloc("parse of garbage", || {
        token::parse(b"rtc1_not base64!").is_err()
    });

    let c = assert_no_alloc("mint_compact", || {
        token::mint_compact(&keys, fx::KEY_ID, &sid, 7).expect("mint")
    });
    assert_eq!(c.as_bytes().len(), token::COMPACT_TOKEN_LEN);
    let f = assert_no_alloc("mint_full", || {
        token::mint_full(&keys, &claims).expect("mint")
    });
    assert_eq!(f.as_bytes().len(), token::FULL_TOKEN_LEN);
    // Dropping a token zeroizes it in place: no allocation either.
    assert_no_alloc("drop of tokens", || drop((c, f)));

    let id = assert_no_alloc("log_id", || rolltoken::log_id(&sid));
    assert_eq!(id.as_str().len(), 16);
}

/// Advance and read through the memory store, from the very first request (no lazy
/// initialisation to warm up), in both token forms.
#[test]
fn sessions_allocate_nothing() {
    let keys = fx::keyring();
    let client = fx::client();
    for form in [token::Form::Compact, token::Form::Full] {
        let policy = Policy {
            form,
            ..Policy::default()
        };
        let (mut sessions, first) = fx::sessions(&keys, policy);
        let mut chain = fx::Chain::new(first);
        // The first advance on a fresh façade, then many more.
        for i in 0..64 {
            let rolled = assert_no_alloc("Sessions::handle advance", || {
                chain.advance(&mut sessions, &client)
            });
            assert!(rolled, "{form:?} advance {i} must roll");
        }
        for _ in 0..8 {
            let req = Request {
                cookie: Some(chain.token.as_bytes()),
                kind: Kind::Read,
                now_ms: chain.now + 5,
                binding: &client,
                new_session_id: [0; 16],
            };
            let out = assert_no_alloc("Sessions::handle read", || sessions.handle(&req));
            assert!(
                matches!(out, Outcome::Proceed { token: None, .. }),
                "read must proceed: {out:?}"
            );
        }
        // A stale token inside the grace window (rule 2) and a request without a cookie
        // (a new anonymous session) take other paths through the same façade.
        let req = Request {
            cookie: None,
            kind: Kind::Advance,
            now_ms: chain.now + 6,
            binding: &client,
            new_session_id: [0x77; 16],
        };
        let out = assert_no_alloc("Sessions::handle anonymous", || sessions.handle(&req));
        assert!(matches!(out, Outcome::Proceed { token: Some(_), .. }));

        let mut new_id = [0x99; 16];
        new_id[0] = form as u8;
        let login = assert_no_alloc("Sessions::login", || {
            sessions
                .login(
                    Some(chain.token.as_bytes()),
                    new_id,
                    Subject::from_u64(7).0,
                    chain.now + 7,
                    &client,
                )
                .expect("login")
        });
        assert_eq!(login.view.session_id, SessionId(new_id));

        let loaded = assert_no_alloc("MemoryStore::load", || {
            sessions.store_mut().load(&SessionId(new_id)).expect("load")
        });
        assert!(loaded.is_some());
    }
}

#[test]
fn cookie_helpers_allocate_nothing() {
    let keys = fx::keyring();
    let t = fx::compact_token(&keys);
    let header = fx::cookie_header(fx::COOKIE_NAME, t.as_str());
    let config = fx::cookie_config();
    let found = assert_no_alloc("find_cookie", || {
        cookie::find_cookie(header.as_bytes(), fx::COOKIE_NAME)
    });
    assert_eq!(found, Ok(Some(t.as_str())));
    let dup = format!("{header}; {}=other", fx::COOKIE_NAME);
    let err = assert_no_alloc("find_cookie (duplicate)", || {
        cookie::find_cookie(dup.as_bytes(), fx::COOKIE_NAME)
    });
    assert_eq!(err, Err(cookie::CookieError::Duplicate));

    let mut out = [0u8; MAX_SET_COOKIE_LEN];
    let n = assert_no_alloc("write_set_cookie", || {
        cookie::write_set_cookie(&mut out, &config, t.as_str(), 43_200).map(str::len)
    });
    assert!(n.expect("written") > t.as_str().len());
    let n = assert_no_alloc("write_clear_cookie", || {
        cookie::write_clear_cookie(&mut out, &config).map(str::len)
    });
    assert!(n.expect("written") > 0);
    let mut short = [0u8; 16];
    let err = assert_no_alloc("write_set_cookie (short buffer)", || {
        cookie::write_set_cookie(&mut short, &config, t.as_str(), 1).map(str::len)
    });
    assert_eq!(err, Err(cookie::CookieError::BufferTooSmall));
}

#[test]
fn record_codec_allocates_nothing() {
    let keys = fx::keyring();
    let record = Record::new(
        SessionId(fx::SESSION_ID),
        Some(SessionId([3; 16])),
        Subject::from_u64(fx::SUBJECT),
        token::Form::Compact,
        fx::T0,
        fx::T0 + 1_000,
        fx::client_binding(&keys),
        fx::KEY_ID,
    );
    let bytes = assert_no_alloc("Record::encode", || record.encode());
    assert_eq!(bytes.len(), RECORD_LEN);
    let back = assert_no_alloc("Record::decode", || Record::decode(&bytes));
    assert_eq!(back, Ok(record));
    let bad = assert_no_alloc("Record::decode (damaged)", || Record::decode(&bytes[1..]));
    assert!(bad.is_err());
}
