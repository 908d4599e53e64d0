//! Secret-taint driver (the ctgrind method) for rolltoken's verify, run under valgrind memcheck
//! by `taint.sh`.
//!
//! Secrets are marked undefined through the C shim (`shim/ct_shim.c`, over
//! `<valgrind/memcheck.h>`); memcheck then reports every conditional jump, and every memory
//! address, computed from them. The final verdict is declassified (marked defined) before this
//! driver looks at it.
//!
//! `taint verify` runs, for both forms and for a valid token, tags wrong at byte 0 and at byte
//! 15, and a random tag:
//!   key        the key secret (so every subkey, keyed HMAC state and expected tag) is secret;
//!              the keyring is built from the tainted secret (the key schedule is covered too).
//!   token      the decoded token's tag, session id and (compact) the store's counter are
//!              secret.
//!   key+token  both.
//!   claims     (full tokens) the signed claims too: counter, times, subject, binding, flag.
//!   text       the token text's characters that carry tag bits only (chars 23.. of a compact
//!              body, 88.. of a full one), before parsing: covers the base64url decoder. Its
//!              validity outcome (canonical or not) is branched on, a public verdict.
//! and checks, before declassifying each verdict, that the verdict IS still secret (the taint
//! reached the compare through HMAC-SHA256, so "0 errors" is not vacuous). It prints one line
//! per scenario with memcheck's error count for that scenario (VALGRIND_COUNT_ERRORS).
//!
//! `taint control` runs the deliberately leaky early-exit compare on an expected tag computed by
//! the core's own HMAC (`PrekeyedMac`) under the tainted key, and, for contrast, `subtle`'s
//! `ct_eq` on the same bytes.
use core::ffi::{c_int, c_uint, c_void};
use std::hint::black_box;
use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};

use rolltoken::keys::{Keyring, PrekeyedMac};
use rolltoken::token::{self, Claims, CompactToken, Form, FullToken, Parsed, TAG_LEN};
use rolltoken_ct::{
    Gen, KEY_ID, SECRET, fail, keyring, keyring_from, leaky_eq, mint, tag_of, with_tag_byte_changed,
};
use subtle::ConstantTimeEq;

unsafe extern "C" {
    fn rt_ct_secret(p: *mut c_void, n: usize);
    fn rt_ct_public(p: *mut c_void, n: usize);
    fn rt_ct_on_valgrind() -> c_int;
    fn rt_ct_error_count() -> c_uint;
    fn rt_ct_is_secret(p: *const c_void, n: usize) -> c_int;
}

/// Marks `n` bytes at `p` secret. `p` is a `*mut`: the compiler must assume the bytes changed.
fn secret_bytes(p: *mut u8, n: usize) {
    // SAFETY: a valgrind client request on memory the caller owns; outside valgrind a no-op.
    unsafe { rt_ct_secret(p.cast(), n) }
}

fn secret<T>(v: &mut T) {
    secret_bytes((v as *mut T).cast(), size_of::<T>());
}

/// Declassifies `v` (the final verdict).
fn public<T>(v: &mut T) {
    // SAFETY: as in `secret_bytes`.
    unsafe { rt_ct_public((v as *mut T).cast(), size_of::<T>()) }
}

/// True when any bit of `v` is secret-dependent.
fn is_secret<T>(v: &T) -> bool {
    // SAFETY: reads the shadow bits of memory the caller owns.
    match unsafe { rt_ct_is_secret((v as *const T).cast(), size_of::<T>()) } {
        1 => true,
        0 => false,
        r => fail(&format!("rt_ct_is_secret: {r} (not under memcheck?)")),
    }
}

fn errors() -> u32 {
    // SAFETY: a client request without arguments.
    unsafe { rt_ct_error_count() }
}

/// What is secret in a scenario.
#[derive(Clone, Copy, PartialEq)]
enum Taint {
    Key,
    Token,
    KeyToken,
    Claims,
    Text,
}

impl Taint {
    fn name(self) -> &'static str {
        match self {
            Taint::Key => "key",
            Taint::Token => "token",
            Taint::KeyToken => "key+token",
            Taint::Claims => "key+token+claims",
            Taint::Text => "text",
        }
    }
    fn key(self) -> bool {
        matches!(self, Taint::Key | Taint::KeyToken | Taint::Claims)
    }
}

/// A keyring built from a secret that is marked secret first: the key schedule (subkey
/// derivation, keyed HMAC states) runs on secret data too.
fn tainted_keyring() -> Keyring {
    let mut s = black_box(SECRET);
    secret(&mut s);
    keyring_from(s)
}

/// Offsets and lengths of the compact token's session id and tag inside its (private) layout,
/// found by value. The key id stays public: it names the key.
fn compact_regions(t: &CompactToken, tag: &[u8; TAG_LEN]) -> [(usize, usize); 2] {
    if size_of::<CompactToken>() != 1 + 16 + TAG_LEN {
        fail("CompactToken is no longer key id + session id + tag: update taint.rs");
    }
    // SAFETY: CompactToken is three byte arrays (size checked): no padding, every byte init.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            (t as *const CompactToken).cast::<u8>(),
            size_of::<CompactToken>(),
        )
    };
    let find = |needle: &[u8]| {
        let hits: Vec<usize> = (0..=bytes.len() - needle.len())
            .filter(|&i| &bytes[i..i + needle.len()] == needle)
            .collect();
        match hits.as_slice() {
            [one] => *one,
            _ => fail("session id or tag not found exactly once in CompactToken"),
        }
    };
    let sid = find(&t.session_id().0);
    let tg = find(tag);
    let rest: Vec<usize> = (0..bytes.len())
        .filter(|i| !(sid..sid + 16).contains(i) && !(tg..tg + TAG_LEN).contains(i))
        .collect();
    if rest.len() != 1 || bytes[rest[0]] != t.key_id() {
        fail("CompactToken layout not understood");
    }
    [(sid, 16), (tg, TAG_LEN)]
}

/// Offsets and lengths of the full token's tag, session id and (with `claims`) every other
/// claim except the key id, from the claims' own addresses; the tag is the rest of the value.
fn full_regions(t: &FullToken, tag: &[u8; TAG_LEN], claims: bool) -> Vec<(usize, usize)> {
    if size_of::<FullToken>() != size_of::<Claims>() + TAG_LEN {
        fail("FullToken is no longer claims + tag: update taint.rs");
    }
    let base = t as *const FullToken as usize;
    let c = t.unverified_claims();
    let at = |p: *const u8| (p as usize) - base;
    let claims_off = at((c as *const Claims).cast());
    let tag_off = match claims_off {
        0 => size_of::<Claims>(),
        TAG_LEN => 0,
        _ => fail("FullToken layout not understood"),
    };
    // SAFETY: inside `t`, and a `[u8; 16]` field (every byte initialised).
    let tag_bytes = unsafe { core::slice::from_raw_parts((base + tag_off) as *const u8, TAG_LEN) };
    if tag_bytes != tag {
        fail("FullToken tag not where expected");
    }
    let mut out = vec![(tag_off, TAG_LEN), (at(c.session_id.0.as_ptr()), 16)];
    if claims {
        out.extend([
            (at((&c.counter as *const u64).cast()), 8),
            (at((&c.issued_at as *const u64).cast()), 8),
            (at((&c.expires_at as *const u64).cast()), 8),
            (at(c.subject.0.as_ptr()), 16),
            (at(c.binding.user_agent.as_ptr()), 4),
            (at(c.binding.ip.as_ptr()), 4),
            (at((&c.authenticated as *const bool).cast()), 1),
        ]);
    }
    out
}

fn taint_regions<T>(v: &mut T, regions: &[(usize, usize)]) {
    let base = (v as *mut T).cast::<u8>();
    for &(off, len) in regions {
        // SAFETY: every region lies inside `v` (computed from its own layout above).
        secret_bytes(unsafe { base.add(off) }, len);
    }
}

/// Index of the first text character that carries tag bits only (the tag is the last
/// `TAG_LEN` bytes of the body; each character carries 6 bits).
fn tag_only_chars(text: &[u8]) -> usize {
    let (_, body_len) = rolltoken_ct::decode_body(text);
    let first_tag_bit = (body_len - TAG_LEN) * 8;
    token::PREFIX_LEN + first_tag_bit.div_ceil(6)
}

/// Parses of a tainted text, and verify calls, for taint.sh's bounds (at most one reported
/// branch per call: the outcome).
static TAINTED_PARSES: AtomicUsize = AtomicUsize::new(0);
static VERIFY_CALLS: AtomicUsize = AtomicUsize::new(0);

/// One verify under one scenario; returns (declassified verdict, verdict was secret).
fn run_one(form: Form, taint: Taint, text: &[u8], counter: u64, keys: &Keyring) -> (bool, bool) {
    let tag = tag_of(text);
    let mut text = black_box(text.to_vec());
    if taint == Taint::Text {
        let from = tag_only_chars(&text);
        secret_bytes(text[from..].as_mut_ptr(), text.len() - from);
        TAINTED_PARSES.fetch_add(1, Ordering::Relaxed);
    }
    VERIFY_CALLS.fetch_add(1, Ordering::Relaxed);
    let parsed = match token::parse(&text) {
        Ok(p) => p,
        Err(e) => fail(&format!("fixture token does not parse: {e}")),
    };
    let tainted_token = matches!(taint, Taint::Token | Taint::KeyToken | Taint::Claims);
    let mut verdict: bool = match (form, parsed) {
        (Form::Compact, Parsed::Compact(t)) => {
            let mut t = black_box(t);
            let mut counter = black_box(counter);
            if tainted_token {
                let regions = compact_regions(&t, &tag);
                taint_regions(&mut t, &regions);
                secret(&mut counter);
            }
            let r = black_box(&t).matches(keys, counter);
            // The Ok/Err discriminant says only whether the key id is in the ring (public).
            match r {
                Ok(v) => v,
                Err(e) => fail(&format!("matches: {e}")),
            }
        }
        (Form::Full, Parsed::Full(t)) => {
            let mut t = black_box(t);
            if tainted_token {
                let regions = full_regions(&t, &tag, taint == Taint::Claims);
                taint_regions(&mut t, &regions);
            }
            let r = black_box(&t).verify(keys);
            r.is_ok()
        }
        _ => fail("form mismatch"),
    };
    let was_secret = is_secret(&verdict);
    public(&mut verdict);
    (verdict, was_secret)
}

fn verify_mode() -> bool {
    let clean = keyring();
    let before = errors();
    let tainted = tainted_keyring();
    println!(
        "taint scenario keyring-from-secret: {} errors (key schedule: HMAC subkeys, keyed states)",
        errors() - before
    );
    let mut g = Gen(0x5eed_0001);
    let mut ok = true;
    for form in [Form::Compact, Form::Full] {
        let (valid, counter) = mint(&clean, form, &mut g);
        let mut random = valid.clone();
        for pos in 0..TAG_LEN {
            random = with_tag_byte_changed(&random, pos, g.nonzero_byte());
        }
        let cases: [(&str, Vec<u8>, bool); 4] = [
            ("valid", valid.clone(), true),
            (
                "wrong@0",
                with_tag_byte_changed(&valid, 0, g.nonzero_byte()),
                false,
            ),
            (
                "wrong@15",
                with_tag_byte_changed(&valid, TAG_LEN - 1, g.nonzero_byte()),
                false,
            ),
            ("random", random, false),
        ];
        let mut taints = vec![Taint::Key, Taint::Token, Taint::KeyToken];
        if form == Form::Full {
            taints.push(Taint::Claims);
        }
        taints.push(Taint::Text);
        for taint in taints {
            let keys = if taint.key() { &tainted } else { &clean };
            let before = errors();
            let mut secret_verdicts = 0;
            for (label, text, want) in &cases {
                let (got, was_secret) = run_one(form, taint, text, counter, keys);
                if got != *want {
                    println!(
                        "taint: FAIL {} {label}: verdict {got}, expected {want}",
                        form.name()
                    );
                    ok = false;
                }
                secret_verdicts += usize::from(was_secret);
            }
            let n = errors() - before;
            println!(
                "taint scenario {}/{}: {n} errors, verdict secret before declassification in {}/{} cases",
                form.name(),
                taint.name(),
                secret_verdicts,
                cases.len()
            );
            // Not vacuous: in every case the taint reached the verdict, which is either still
            // secret after verify, or was branched on inside verify (reported by memcheck).
            // Text: the decoder's outcome is branched on in every case.
            let reached = if taint == Taint::Text {
                n as usize >= cases.len()
            } else {
                secret_verdicts + n as usize >= cases.len()
            };
            if !reached {
                println!(
                    "taint: FAIL {}/{}: the taint did not reach the verdict",
                    form.name(),
                    taint.name()
                );
                ok = false;
            }
        }
    }
    println!(
        "taint calls: {} parses of tainted text, {} verify calls",
        TAINTED_PARSES.load(Ordering::Relaxed),
        VERIFY_CALLS.load(Ordering::Relaxed)
    );
    ok
}

fn control_mode() {
    // The expected tag of a compact token under the tainted key, by the core's own HMAC-SHA256
    // (keyed state from the secret), then compared early-exit with the presented tag.
    let mut s = black_box(SECRET);
    secret(&mut s);
    let mac = PrekeyedMac::new(&s);
    let mut g = Gen(0x5eed_0002);
    let (text, counter) = mint(&keyring(), Form::Compact, &mut g);
    let sid: [u8; 16] = text_sid(&text);
    let mut expected = mac.tag16(&[b"rtc1", &[KEY_ID], &sid, &counter.to_be_bytes()]);
    let presented = tag_of(&text);
    let before = errors();
    // Equal bytes walk the whole loop: one branch per byte on secret data.
    let mut same = black_box(leaky_eq(&expected, black_box(&expected.clone())));
    let mut other = black_box(leaky_eq(&expected, &presented));
    public(&mut same);
    public(&mut other);
    let leaky = errors() - before;
    println!("taint control leaky-early-exit: {leaky} errors");
    let before = errors();
    let mut ct = bool::from(expected.ct_eq(&presented));
    public(&mut ct);
    let mut ct_same = bool::from(expected.ct_eq(&black_box(expected)));
    public(&mut ct_same);
    println!(
        "taint contrast subtle-ct_eq on the same bytes: {} errors",
        errors() - before
    );
    public(&mut expected);
    black_box((same, other, ct, ct_same, expected));
}

/// The session id of a compact token text (decoded bytes 1..17).
fn text_sid(text: &[u8]) -> [u8; 16] {
    let (body, _) = rolltoken_ct::decode_body(text);
    let mut sid = [0u8; 16];
    sid.copy_from_slice(&body[1..17]);
    sid
}

fn main() {
    // SAFETY: a client request without arguments.
    if unsafe { rt_ct_on_valgrind() } == 0 {
        fail("run me under valgrind --tool=memcheck (taint.sh does)");
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    println!(
        "taint cpu: SHA-NI {} by the CPU valgrind presents",
        if std::arch::is_x86_feature_detected!("sha") {
            "reported"
        } else {
            "not reported"
        }
    );
    match std::env::args().nth(1).as_deref() {
        Some("verify") => {
            if !verify_mode() {
                std::process::exit(1);
            }
        }
        Some("control") => control_mode(),
        _ => fail("usage: taint verify|control"),
    }
}
