//! The C ABI against direct Rust: the same operation, through the `extern "C"` `rt_*`
//! functions of `rolltoken-ffi` and through the core's Rust API, in the SAME criterion group of
//! the same run, next to the floor (compare ratios, not nanoseconds: this is a shared 2-core
//! machine). Target (issue 7): C ABI ≤ 1.1 × direct Rust.
//!
//! The C side is called as a C program calls it: opaque handles from `rt_keyring_new` /
//! `rt_sessions_new`, inputs as (pointer, length), outputs into caller-owned stack buffers
//! (an uninitialised `rt_claims` / `rt_outcome`, a `RT_MAX_TOKEN_LEN` token buffer), the
//! client address as text, and the status checked. An `extern "C"` call from Rust uses the
//! platform C calling convention, exactly as a call from C does; the functions are not
//! inlined into the caller (no LTO), as in a C program linked against the static library.
//!
//! - **floor** (in every group): a clone of a keyed `Hmac<Sha256>` + `update` + `finalize`
//!   over the compact tag's 29-byte MAC input, as in `benches/rolltoken.rs`.
//! - **ffi_verify_compact**: `rust_direct` = `token::parse` of the 49-character token +
//!   `CompactToken::matches(keys, counter)` (the `verify_compact` op of `rolltoken.rs`);
//!   `c_abi` = `rt_token_verify(keyring, text, len, counter, &claims)`.
//! - **ffi_verify_full**: `rust_direct` = `token::parse` of the 115-character token +
//!   `FullToken::verify`; `c_abi` = `rt_token_verify(keyring, text, len, 0, &claims)` (the
//!   claims copied out to the caller's `rt_claims`).
//! - **ffi_advance**: a chain of advances (each iteration presents the token the previous one
//!   rolled, 1 ms later: rule `fresh` every time) of one session among 256 in the memory
//!   store. `rust_direct_*` = `Sessions::handle` (the `advance_memory` op of `rolltoken.rs`,
//!   façade over `&Keyring`); `c_abi_*` = `rt_sessions_handle` on an `rt_sessions` handle
//!   (its `Arc<Keyring>`, mutex, the address parsed from text, the `rt_outcome` filled, the
//!   token copied to the caller's buffer). Compact (default policy) and full form.
//!
//! After the criterion groups, **ffi_paired** measures the same pairs again in interleaved
//! batches (Rust, C, floor; 400 rounds, `FFI_PAIRED_ROUNDS=` to change) and reports the
//! ratio of the minima and the median of the per-round ratios: criterion times one function
//! after another for seconds each, and on a shared 2-core box the load moves between them by
//! more than the 10% the target is about. Both are written to `target/bench/ffi.json`
//! (`$CARGO_TARGET_DIR/bench/ffi.json`): the paired figures and criterion's medians.
#![allow(clippy::expect_used, clippy::panic, missing_docs)]

use core::ffi::CStr;
use core::hint::black_box;
use core::mem::MaybeUninit;
use core::ptr;
use core::time::Duration;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use criterion::{Criterion, criterion_group};
use rolltoken::keys::Keyring;
use rolltoken::policy::Policy;
use rolltoken::token::{self, Subject};
use rolltoken_benches as fx;
use rolltoken_ffi::{
    RT_FORM_FULL, RT_KIND_ADVANCE, RT_MAX_TOKEN_LEN, rt_claims, rt_keyring, rt_keyring_free,
    rt_keyring_new, rt_outcome, rt_policy, rt_policy_default, rt_rule_name, rt_sessions,
    rt_sessions_free, rt_sessions_handle, rt_sessions_login, rt_sessions_new, rt_status,
    rt_token_verify,
};

/// The client address as a C caller passes it (text).
const CLIENT_IP_TEXT: &[u8] = b"203.0.113.7";

// ---------------------------------------------------------------------------------------------
// The floor (as in benches/rolltoken.rs)

#[path = "common/floor.rs"]
mod floor;
use floor::{Floor, bench_floor, floor_hmac};

// ---------------------------------------------------------------------------------------------
// C handles

/// An `rt_keyring` holding the fixture's key, freed on drop.
struct CKeyring(*mut rt_keyring);

impl CKeyring {
    fn new() -> CKeyring {
        let mut k: *mut rt_keyring = ptr::null_mut();
        let ids = [fx::KEY_ID];
        // SAFETY: one id, 32 secret bytes, `k` writable: rt_keyring_new's contract.
        let st =
            unsafe { rt_keyring_new(ids.as_ptr(), fx::SECRET.as_ptr(), 1, fx::KEY_ID, &mut k) };
        assert_eq!(st, rt_status::Ok, "rt_keyring_new");
        assert!(!k.is_null());
        CKeyring(k)
    }
}

impl Drop for CKeyring {
    fn drop(&mut self) {
        // SAFETY: from rt_keyring_new, freed once.
        unsafe { rt_keyring_free(self.0) };
    }
}

/// An `rt_sessions` handle, freed on drop.
struct CSessions(*mut rt_sessions);

impl Drop for CSessions {
    fn drop(&mut self) {
        // SAFETY: from rt_sessions_new, freed once, no call running.
        unsafe { rt_sessions_free(self.0) };
    }
}

fn rule_name(code: u8) -> &'static str {
    // SAFETY: rt_rule_name returns a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(rt_rule_name(code)) }
        .to_str()
        .expect("ASCII")
}

// ---------------------------------------------------------------------------------------------
// verify

#[inline(never)]
fn rust_verify_compact(keys: &Keyring, text: &[u8], counter: u64) -> bool {
    fx::verify_compact(keys, text, counter)
}

#[inline(never)]
fn rust_verify_full(keys: &Keyring, text: &[u8]) -> bool {
    fx::verify_full(keys, text)
}

/// `rt_token_verify` as C calls it: claims into an uninitialised stack `rt_claims`, the
/// status checked; returns the verified counter (0 on failure) so the output is used.
#[inline(never)]
fn c_verify(keyring: *const rt_keyring, text: &[u8], counter: u64) -> u64 {
    let mut claims = MaybeUninit::<rt_claims>::uninit();
    // SAFETY: a live keyring, `text` readable for its length, `claims` writable.
    let st = unsafe {
        rt_token_verify(
            keyring,
            text.as_ptr(),
            text.len(),
            counter,
            claims.as_mut_ptr(),
        )
    };
    if st != rt_status::Ok {
        return 0;
    }
    // SAFETY: RT_STATUS_OK means `claims` was written.
    unsafe { claims.assume_init_ref() }.counter
}

fn ffi_verify_compact(c: &mut Criterion) {
    let keys = fx::keyring();
    let ck = CKeyring::new();
    let t = fx::compact_token(&keys);
    assert_eq!(t.as_bytes().len(), 49);
    assert!(rust_verify_compact(
        &keys,
        t.as_bytes(),
        fx::COMPACT_COUNTER
    ));
    assert_eq!(
        c_verify(ck.0, t.as_bytes(), fx::COMPACT_COUNTER),
        fx::COMPACT_COUNTER,
        "rt_token_verify must accept the compact token"
    );
    assert_eq!(c_verify(ck.0, t.as_bytes(), fx::COMPACT_COUNTER + 1), 0);
    let mut g = c.benchmark_group("ffi_verify_compact");
    g.bench_function("rust_direct", |b| {
        b.iter(|| {
            rust_verify_compact(
                black_box(&keys),
                black_box(t.as_bytes()),
                black_box(fx::COMPACT_COUNTER),
            )
        })
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| {
            c_verify(
                black_box(ck.0),
                black_box(t.as_bytes()),
                black_box(fx::COMPACT_COUNTER),
            )
        })
    });
    bench_floor(&mut g);
    g.finish();
}

fn ffi_verify_full(c: &mut Criterion) {
    let keys = fx::keyring();
    let ck = CKeyring::new();
    let t = fx::full_token(&keys);
    assert_eq!(t.as_bytes().len(), 115);
    assert!(rust_verify_full(&keys, t.as_bytes()));
    assert_eq!(
        c_verify(ck.0, t.as_bytes(), 0),
        fx::full_claims(&keys).counter,
        "rt_token_verify must accept the full token"
    );
    let mut g = c.benchmark_group("ffi_verify_full");
    g.bench_function("rust_direct", |b| {
        b.iter(|| rust_verify_full(black_box(&keys), black_box(t.as_bytes())))
    });
    g.bench_function("c_abi", |b| {
        b.iter(|| c_verify(black_box(ck.0), black_box(t.as_bytes()), black_box(0)))
    });
    bench_floor(&mut g);
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// advance

/// The C caller's side of the advance chain: the current cookie and the buffer the next
/// token is written to, swapped after each call (a server reads the cookie from the request
/// and sends `token_out` in the response: no copy of its own).
struct CChain {
    bufs: [[u8; RT_MAX_TOKEN_LEN]; 2],
    lens: [usize; 2],
    cur: usize,
    now: u64,
    new_id: [u8; 16],
}

impl CChain {
    fn new(first: &[u8]) -> CChain {
        let mut bufs = [[0u8; RT_MAX_TOKEN_LEN]; 2];
        bufs[0][..first.len()].copy_from_slice(first);
        CChain {
            bufs,
            lens: [first.len(), 0],
            cur: 0,
            now: fx::T0,
            new_id: [0x77; 16],
        }
    }
}

/// One page load through `rt_sessions_handle`; true when it proceeded with a new token
/// (which becomes the cookie of the next call).
#[inline(never)]
fn c_advance(s: *const rt_sessions, chain: &mut CChain) -> bool {
    chain.now += 1;
    let (cur, next) = (chain.cur, chain.cur ^ 1);
    let [b0, b1] = &mut chain.bufs;
    let (cookie, token_out) = if cur == 0 { (&*b0, b1) } else { (&*b1, b0) };
    let mut out = MaybeUninit::<rt_outcome>::uninit();
    let mut token_len = 0usize;
    // SAFETY: a live handle; every (pointer, length) pair readable; `out` writable;
    // `token_out` writable for RT_MAX_TOKEN_LEN bytes and distinct from `cookie`.
    let st = unsafe {
        rt_sessions_handle(
            s,
            cookie.as_ptr(),
            chain.lens[cur],
            RT_KIND_ADVANCE,
            chain.now,
            fx::USER_AGENT.as_ptr(),
            fx::USER_AGENT.len(),
            CLIENT_IP_TEXT.as_ptr(),
            CLIENT_IP_TEXT.len(),
            chain.new_id.as_ptr(),
            out.as_mut_ptr(),
            token_out.as_mut_ptr(),
            token_out.len(),
            &mut token_len,
        )
    };
    if st != rt_status::Ok {
        return false;
    }
    // SAFETY: RT_STATUS_OK means `out` was written.
    let out = unsafe { out.assume_init_ref() };
    if !(out.proceed && out.has_token) {
        return false;
    }
    chain.lens[next] = token_len;
    chain.cur = next;
    true
}

/// The C façade of `fx::sessions`: the same 255 other sessions and the bench session logged
/// in at T0 from the same client, then `warm` checked advances. Returns the handle and the
/// chain.
fn c_sessions(ck: &CKeyring, form: u8, warm: u64) -> (CSessions, CChain) {
    let mut policy = MaybeUninit::<rt_policy>::uninit();
    // SAFETY: `policy` writable.
    let st = unsafe { rt_policy_default(policy.as_mut_ptr()) };
    assert_eq!(st, rt_status::Ok, "rt_policy_default");
    // SAFETY: written by rt_policy_default.
    let mut policy = unsafe { policy.assume_init() };
    policy.form = form;
    let mut s: *mut rt_sessions = ptr::null_mut();
    // SAFETY: a live keyring, a valid policy, `s` writable.
    let st = unsafe { rt_sessions_new(ck.0, &policy, &mut s) };
    assert_eq!(st, rt_status::Ok, "rt_sessions_new");
    let handle = CSessions(s);
    let login = |id: [u8; 16], subject: Subject| -> Vec<u8> {
        let mut out = MaybeUninit::<rt_outcome>::uninit();
        let mut tok = [0u8; RT_MAX_TOKEN_LEN];
        let mut len = 0usize;
        // SAFETY: a live handle, 16-byte id and subject, the pairs readable, outputs writable.
        let st = unsafe {
            rt_sessions_login(
                s,
                ptr::null(),
                0,
                id.as_ptr(),
                subject.0.as_ptr(),
                fx::T0,
                fx::USER_AGENT.as_ptr(),
                fx::USER_AGENT.len(),
                CLIENT_IP_TEXT.as_ptr(),
                CLIENT_IP_TEXT.len(),
                out.as_mut_ptr(),
                tok.as_mut_ptr(),
                tok.len(),
                &mut len,
            )
        };
        assert_eq!(st, rt_status::Ok, "rt_sessions_login");
        tok[..len].to_vec()
    };
    for i in 0..fx::OTHER_SESSIONS {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(i as u64).to_be_bytes());
        id[8] = 0xee;
        login(id, Subject::from_u64(1_000 + i as u64));
    }
    let first = login(fx::SESSION_ID, Subject::from_u64(fx::SUBJECT));
    let want_len = if form == RT_FORM_FULL {
        token::FULL_TOKEN_LEN
    } else {
        token::COMPACT_TOKEN_LEN
    };
    assert_eq!(first.len(), want_len);
    let mut chain = CChain::new(&first);
    for _ in 0..warm {
        assert!(
            c_advance(s, &mut chain),
            "rt_sessions_handle must roll the token"
        );
    }
    // One more, checked in full: rule "fresh", the next counter, a token of the form.
    let mut out = MaybeUninit::<rt_outcome>::uninit();
    let mut tok = [0u8; RT_MAX_TOKEN_LEN];
    let mut len = 0usize;
    chain.now += 1;
    // SAFETY: as in c_advance.
    let st = unsafe {
        rt_sessions_handle(
            s,
            chain.bufs[chain.cur].as_ptr(),
            chain.lens[chain.cur],
            RT_KIND_ADVANCE,
            chain.now,
            fx::USER_AGENT.as_ptr(),
            fx::USER_AGENT.len(),
            CLIENT_IP_TEXT.as_ptr(),
            CLIENT_IP_TEXT.len(),
            chain.new_id.as_ptr(),
            out.as_mut_ptr(),
            tok.as_mut_ptr(),
            tok.len(),
            &mut len,
        )
    };
    assert_eq!(st, rt_status::Ok);
    // SAFETY: RT_STATUS_OK means `out` was written.
    let o = unsafe { out.assume_init() };
    assert!(o.proceed && o.has_token && o.binding_user_agent && o.binding_ip);
    assert_eq!(rule_name(o.rule), "fresh");
    assert_eq!(o.counter, warm + 1, "login mints counter 0");
    assert_eq!(len, want_len);
    let next = chain.cur ^ 1;
    chain.bufs[next][..len].copy_from_slice(&tok[..len]);
    chain.lens[next] = len;
    chain.cur = next;
    (handle, chain)
}

#[inline(never)]
fn rust_advance(
    chain: &mut fx::Chain,
    sessions: &mut fx::BenchSessions<'_>,
    client: &rolltoken::keys::BindingInput<'_>,
) -> bool {
    chain.advance(sessions, client)
}

fn ffi_advance(c: &mut Criterion) {
    let keys = fx::keyring();
    let client = fx::client();
    let ck = CKeyring::new();
    let mut g = c.benchmark_group("ffi_advance");
    for (name, form, policy) in [
        ("compact", rolltoken_ffi::RT_FORM_COMPACT, Policy::default()),
        (
            "full",
            RT_FORM_FULL,
            Policy {
                form: token::Form::Full,
                ..Policy::default()
            },
        ),
    ] {
        let (mut sessions, first) = fx::sessions(&keys, policy);
        let mut chain = fx::chain(&mut sessions, first, 2);
        assert!(rust_advance(&mut chain, &mut sessions, &client));
        g.bench_function(format!("rust_direct_{name}"), |b| {
            b.iter(|| {
                assert!(rust_advance(
                    black_box(&mut chain),
                    black_box(&mut sessions),
                    black_box(&client)
                ))
            })
        });
        let (cs, mut cchain) = c_sessions(&ck, form, 2);
        g.bench_function(format!("c_abi_{name}"), |b| {
            b.iter(|| assert!(c_advance(black_box(cs.0), black_box(&mut cchain))))
        });
    }
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
    targets = ffi_verify_compact, ffi_verify_full, ffi_advance
}

// ---------------------------------------------------------------------------------------------
// The paired pass: C ABI and direct Rust interleaved

/// Per-batch ns/op of one side over all rounds.
struct Side(Vec<f64>);

impl Side {
    fn min(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn median(&self) -> f64 {
        median(self.0.clone())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The ratio of one op, measured in interleaved batches.
struct Paired {
    op: &'static str,
    rust: Side,
    c: Side,
    floor: Side,
    /// C ÷ Rust of the two batches of each round (neighbours in time share the load).
    round_ratios: Vec<f64>,
}

/// `rounds` rounds of a batch of `rust`, a batch of `c` (the order alternating) and a batch of
/// the floor, `batch` calls each. Criterion's groups measure one function after the other
/// for seconds each, so on a shared box a change of load between them moves the ratio by
/// more than the 10% the target allows; batches milliseconds apart see the same load, and
/// the minimum over rounds is the cost without preemption.
fn paired(
    op: &'static str,
    rounds: usize,
    batch: usize,
    floor: &Floor,
    mut rust: impl FnMut(),
    mut c: impl FnMut(),
) -> Paired {
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed().as_nanos() as f64 / batch as f64
    };
    let mut fl = || {
        black_box(floor_hmac(black_box(floor)));
    };
    let (mut r, mut cc, mut f, mut q) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let (rn, cn) = if i % 2 == 0 {
            let rn = time(&mut rust);
            (rn, time(&mut c))
        } else {
            let cn = time(&mut c);
            (time(&mut rust), cn)
        };
        f.push(time(&mut fl));
        r.push(rn);
        cc.push(cn);
        q.push(cn / rn);
    }
    Paired {
        op,
        rust: Side(r),
        c: Side(cc),
        floor: Side(f),
        round_ratios: q,
    }
}

/// The paired measurement of the three operations (full rounds under `cargo bench`, a few
/// under `cargo test --benches`, which only checks that it runs).
fn paired_all(rounds: usize) -> Vec<Paired> {
    let floor = Floor::new();
    let keys = fx::keyring();
    let ck = CKeyring::new();
    let client = fx::client();
    let compact = fx::compact_token(&keys);
    let full = fx::full_token(&keys);
    assert_eq!(
        c_verify(ck.0, compact.as_bytes(), fx::COMPACT_COUNTER),
        fx::COMPACT_COUNTER
    );
    assert!(c_verify(ck.0, full.as_bytes(), 0) > 0);
    let mut out = vec![
        paired(
            "verify_compact",
            rounds,
            2_000,
            &floor,
            || {
                assert!(rust_verify_compact(
                    black_box(&keys),
                    black_box(compact.as_bytes()),
                    black_box(fx::COMPACT_COUNTER)
                ));
            },
            || {
                assert_ne!(
                    c_verify(
                        black_box(ck.0),
                        black_box(compact.as_bytes()),
                        black_box(fx::COMPACT_COUNTER)
                    ),
                    0
                );
            },
        ),
        paired(
            "verify_full",
            rounds,
            1_000,
            &floor,
            || {
                assert!(rust_verify_full(
                    black_box(&keys),
                    black_box(full.as_bytes())
                ))
            },
            || assert_ne!(c_verify(black_box(ck.0), black_box(full.as_bytes()), 0), 0),
        ),
    ];
    for (op, form, policy) in [
        (
            "advance_compact",
            rolltoken_ffi::RT_FORM_COMPACT,
            Policy::default(),
        ),
        (
            "advance_full",
            RT_FORM_FULL,
            Policy {
                form: token::Form::Full,
                ..Policy::default()
            },
        ),
    ] {
        let (mut sessions, first) = fx::sessions(&keys, policy);
        let mut chain = fx::chain(&mut sessions, first, 2);
        let (cs, mut cchain) = c_sessions(&ck, form, 2);
        out.push(paired(
            op,
            rounds.div_ceil(2),
            300,
            &floor,
            || {
                assert!(rust_advance(
                    black_box(&mut chain),
                    black_box(&mut sessions),
                    black_box(&client)
                ))
            },
            || assert!(c_advance(black_box(cs.0), black_box(&mut cchain))),
        ));
    }
    out
}

/// `$CARGO_TARGET_DIR`, else the `target` directory this binary was built in
/// (`target/release/deps/ffi-…`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Criterion's median (ns) of `group/bench` from its `estimates.json`, if it was written by
/// this run (at or after `since`): a filtered run leaves older estimates behind.
fn criterion_median(target: &Path, group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    let home =
        std::env::var_os("CRITERION_HOME").map_or_else(|| target.join("criterion"), PathBuf::from);
    let file = home.join(group).join(bench).join("new/estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(file).ok()?;
    let median = &text[text.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

fn json_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "null".to_owned()
    }
}

/// `target/bench/ffi.json`: the paired figures, and criterion's medians of the same run (none
/// when a filter left the criterion groups out).
fn write_json(results: &[Paired], rounds: usize, since: SystemTime) -> PathBuf {
    let target = target_dir();
    let mut ops = Vec::new();
    for p in results {
        ops.push(format!(
            "    \"{}\": {{\"rust_min_ns\": {}, \"c_abi_min_ns\": {}, \"floor_min_ns\": {}, \
             \"rust_median_ns\": {}, \"c_abi_median_ns\": {}, \"c_over_rust_min\": {}, \
             \"c_over_rust_paired_median\": {}, \"rust_x_floor\": {}, \"c_abi_x_floor\": {}}}",
            p.op,
            json_num(p.rust.min()),
            json_num(p.c.min()),
            json_num(p.floor.min()),
            json_num(p.rust.median()),
            json_num(p.c.median()),
            json_num(p.c.min() / p.rust.min()),
            json_num(median(p.round_ratios.clone())),
            json_num(p.rust.min() / p.floor.min()),
            json_num(p.c.min() / p.floor.min()),
        ));
    }
    let mut crit = Vec::new();
    for (group, pairs) in [
        ("ffi_verify_compact", &[("c_abi", "rust_direct")][..]),
        ("ffi_verify_full", &[("c_abi", "rust_direct")][..]),
        (
            "ffi_advance",
            &[
                ("c_abi_compact", "rust_direct_compact"),
                ("c_abi_full", "rust_direct_full"),
            ][..],
        ),
    ] {
        let floor = criterion_median(&target, group, "floor_hmac_29B", since);
        for (c, r) in pairs {
            if let (Some(cn), Some(rn), Some(fl)) = (
                criterion_median(&target, group, c, since),
                criterion_median(&target, group, r, since),
                floor,
            ) {
                crit.push(format!(
                    "    \"{group}/{c}\": {{\"c_abi_ns\": {}, \"rust_ns\": {}, \"floor_ns\": {}, \
                     \"c_over_rust\": {}}}",
                    json_num(cn),
                    json_num(rn),
                    json_num(fl),
                    json_num(cn / rn)
                ));
            }
        }
    }
    let json = format!(
        "{{\n  \"tool\": \"cargo bench -p rolltoken-benches --bench ffi\",\n  \
         \"target\": \"c_abi <= 1.1 x rust_direct\",\n  \"unit\": \"ns/op\",\n  \
         \"paired\": {{\n  \"rounds\": {rounds},\n  \"ops\": {{\n{}\n  }}\n  }},\n  \
         \"criterion_medians\": {{\n{}\n  }}\n}}\n",
        ops.join(",\n"),
        crit.join(",\n")
    );
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).expect("create target/bench");
    let path = dir.join("ffi.json");
    std::fs::write(&path, json).expect("write target/bench/ffi.json");
    path
}

/// criterion_main!, then the paired pass (`cargo bench`: full, written to
/// target/bench/ffi.json unless a filter excludes "ffi_paired"; `cargo test --benches`: a few
/// rounds, nothing written).
fn main() {
    let started = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench_mode = args.iter().any(|a| a == "--bench");
    let profiling = args.iter().any(|a| a.starts_with("--profile-time"));
    // Positional arguments are criterion's filters (flags and their values aside).
    let mut filters = Vec::new();
    let mut skip_value = false;
    for a in &args {
        if skip_value {
            skip_value = false;
        } else if a.starts_with("--") {
            skip_value = !a.contains('=')
                && !matches!(
                    a.as_str(),
                    "--bench" | "--test" | "--list" | "--exact" | "--quiet" | "--verbose"
                );
        } else if !a.starts_with('-') {
            filters.push(a.as_str());
        }
    }
    let wanted = filters.is_empty() || filters.iter().any(|f| "ffi_paired".contains(f));
    if profiling || !wanted {
        return;
    }
    if !bench_mode {
        let results = paired_all(2);
        assert_eq!(results.len(), 4);
        println!("Testing ffi_paired\nSuccess\n");
        return;
    }
    let rounds = std::env::var("FFI_PAIRED_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let results = paired_all(rounds);
    println!("ffi_paired (interleaved batches, {rounds} rounds; min ns/op, C ABI ÷ Rust):");
    for p in &results {
        println!(
            "  {:<16} rust {:>8.1}  c_abi {:>8.1}  floor {:>6.1}  c/rust min {:.3}  paired median {:.3}",
            p.op,
            p.rust.min(),
            p.c.min(),
            p.floor.min(),
            p.c.min() / p.rust.min(),
            median(p.round_ratios.clone())
        );
    }
    println!(
        "ffi_paired: wrote {}",
        write_json(&results, rounds, started).display()
    );
}
