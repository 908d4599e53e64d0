//! Record encodings: fields to 128 bytes, and damaged or impossible record bytes.

use rolltoken::keys::Binding;
use rolltoken::record::{RECORD_LEN, Record, RecordError, RevokeReason, State};
use rolltoken::token::{Form, SessionId, Subject};
use serde_json::{Value, json};

use crate::Ctx;
use crate::enc::{self, hx};
use crate::fixtures::{IP_A, T0, T1, UA_A, binding, k1, ring, sid};

const HOUR: u64 = 3_600_000;

pub fn section(ctx: &mut Ctx) -> Value {
    json!({"testGroups": [
        {"type": "valid", "tests": valid(ctx)},
        {"type": "invalid", "tests": invalid(ctx)},
    ]})
}

fn anonymous() -> Record {
    let keys = ring(&[k1()], 1);
    Record::new(
        sid(0),
        None,
        Subject::ANONYMOUS,
        Form::Full,
        T0,
        T0 + 24 * HOUR,
        binding(&keys, 1, UA_A, Some(IP_A)),
        1,
    )
}

/// An authenticated compact session in the middle of its life.
fn busy() -> Record {
    let keys = ring(&[k1()], 1);
    let mut r = Record::new(
        sid(1),
        Some(sid(0)),
        Subject::from_u64(42),
        Form::Compact,
        T0,
        T0 + 12 * HOUR,
        binding(&keys, 1, UA_A, Some(IP_A)),
        1,
    );
    r.counter = 12;
    r.floor = 9;
    r.version = 77;
    r.last_advance_at = T1;
    r.grace_until = T1 + 10_000;
    r.last_seen_at = T1 + 5_000;
    r.grace_answers = 3;
    r.confirmed = true;
    r.lateness_ms = 1_234;
    r
}

fn revoked(reason: RevokeReason) -> Record {
    let mut r = busy();
    r.state = State::Revoked(reason);
    r.revoked_at = T1 + 7_000;
    r.version = 78;
    r
}

fn extreme() -> Record {
    Record {
        session_id: SessionId([0xff; 16]),
        parent: Some(SessionId([0xee; 16])),
        subject: Subject([0xff; 16]),
        state: State::Revoked(RevokeReason::Admin),
        authenticated: true,
        form: Form::Full,
        counter: u64::MAX,
        floor: u64::MAX - 255,
        version: u64::MAX,
        created_at: 0,
        expires_at: u64::MAX,
        last_advance_at: u64::MAX - u64::from(u32::MAX),
        grace_until: u64::MAX,
        last_seen_at: u64::MAX,
        grace_answers: u8::MAX,
        confirmed: true,
        lateness_ms: u32::MAX,
        binding: Binding::from_bytes([0xff; 8]),
        binding_key_id: u8::MAX,
        revoked_at: u64::MAX,
    }
}

fn zero() -> Record {
    Record::new(
        SessionId([0; 16]),
        None,
        Subject::ANONYMOUS,
        Form::Full,
        0,
        0,
        Binding::default(),
        0,
    )
}

fn valid(ctx: &mut Ctx) -> Vec<Value> {
    let mut clamped_span = busy();
    clamped_span.counter = 1_000;
    clamped_span.floor = 0;
    let mut clamped_offsets = busy();
    clamped_offsets.grace_until = T1 + u64::from(u32::MAX) + 5;
    clamped_offsets.last_seen_at = T1 - 1;
    let cases: [(Record, &str, &[&'static str]); 9] = [
        (
            anonymous(),
            "a new anonymous session record",
            &["Valid", "Anonymous"],
        ),
        (
            busy(),
            "authenticated compact session with a parent, mid-window",
            &["Valid"],
        ),
        (
            revoked(RevokeReason::Logout),
            "revoked at logout",
            &["Valid", "Revoked"],
        ),
        (
            revoked(RevokeReason::Reuse),
            "revoked for reuse",
            &["Valid", "Revoked"],
        ),
        (
            revoked(RevokeReason::UpgradedAtLogin),
            "revoked when upgraded at login",
            &["Valid", "Revoked"],
        ),
        (
            revoked(RevokeReason::Admin),
            "revoked by an administrator",
            &["Valid", "Revoked"],
        ),
        (extreme(), "every field at its maximum", &["EdgeCase"]),
        (zero(), "every field zero", &["EdgeCase", "Anonymous"]),
        (
            clamped_span,
            "span of 1000 counters: the floor is raised to counter - 255",
            &["Clamped"],
        ),
    ];
    let mut out: Vec<Value> = cases
        .iter()
        .map(|(r, comment, flags)| test(ctx, r, comment, flags))
        .collect();
    out.push(test(
        ctx,
        &clamped_offsets,
        "grace end beyond 2^32-1 ms after the last advance, last seen before it: both clamped",
        &["Clamped"],
    ));
    out
}

fn test(ctx: &mut Ctx, r: &Record, comment: &str, flags: &[&'static str]) -> Value {
    let bytes = r.encode();
    let decoded = Record::decode(&bytes).unwrap();
    let mut t = ctx.test(comment, flags);
    t.insert("fields".into(), enc::record(r));
    t.insert("hex".into(), hx(&bytes));
    assert_eq!(decoded != *r, flags.contains(&"Clamped"), "{comment}");
    if decoded != *r {
        t.insert("decoded".into(), enc::record(&decoded));
    }
    t.insert("result".into(), "valid".into());
    t.into()
}

/// FNV-1a 32 of bytes 0..124, stored big-endian in 124..128 (the record's checksum).
fn reseal(mut b: [u8; RECORD_LEN]) -> [u8; RECORD_LEN] {
    let sum = b[..124].iter().fold(0x811c_9dc5_u32, |h, &x| {
        (h ^ u32::from(x)).wrapping_mul(0x0100_0193)
    });
    b[124..].copy_from_slice(&sum.to_be_bytes());
    b
}

fn invalid(ctx: &mut Ctx) -> Vec<Value> {
    let good = busy().encode();
    let edit = |f: &dyn Fn(&mut [u8; RECORD_LEN])| {
        let mut b = good;
        f(&mut b);
        b
    };
    let resealed = |f: &dyn Fn(&mut [u8; RECORD_LEN])| reseal(edit(f));
    let anon = anonymous().encode();
    let revoked = revoked(RevokeReason::Reuse).encode();
    let mut ext = extreme();
    ext.last_advance_at = u64::MAX - 10;
    ext.grace_until = u64::MAX;
    ext.last_seen_at = u64::MAX;
    let overflow = ext.encode();
    let mut overflow_grace = overflow;
    overflow_grace[108..112].copy_from_slice(&100u32.to_be_bytes());
    let overflow_grace = reseal(overflow_grace);

    #[rustfmt::skip]
    let cases: Vec<(Vec<u8>, RecordError, &str, &[&'static str])> = vec![
        (Vec::new(), RecordError::WrongLength, "no bytes", &["Malformed"]),
        (good[..127].to_vec(), RecordError::WrongLength, "truncated by one byte", &["Malformed"]),
        ([&good[..], &[0]].concat(), RecordError::WrongLength, "one byte appended", &["Malformed"]),
        (b"{\"session\":\"not a rolltoken record\"}".iter().copied().chain(core::iter::repeat_n(b' ', 92)).collect(), RecordError::Foreign, "128 bytes of JSON", &["Malformed"]),
        (vec![0; RECORD_LEN], RecordError::Foreign, "128 zero bytes", &["Malformed", "EdgeCase"]),
        (edit(&|b| b[1] = b'S').to_vec(), RecordError::Foreign, "second magic byte changed", &["Modified"]),
        (edit(&|b| b[2] = 2).to_vec(), RecordError::UnsupportedVersion, "layout version 2 (checked before the checksum)", &["Modified"]),
        (edit(&|b| b[2] = 0).to_vec(), RecordError::UnsupportedVersion, "layout version 0", &["Modified"]),
        (edit(&|b| b[63] ^= 0x01).to_vec(), RecordError::Corrupt, "one bit of the counter flipped", &["Modified"]),
        (edit(&|b| b[127] ^= 0x01).to_vec(), RecordError::Corrupt, "one bit of the checksum flipped", &["Modified"]),
        (edit(&|b| b[124..].fill(0)).to_vec(), RecordError::Corrupt, "checksum zeroed", &["Modified"]),
        (resealed(&|b| b[3] = 5).to_vec(), RecordError::Invalid, "state 5 does not exist", &["Modified"]),
        (resealed(&|b| b[4] |= 0x10).to_vec(), RecordError::Invalid, "unknown flag 0x10", &["Modified"]),
        (resealed(&|b| b[6] = 13).to_vec(), RecordError::Invalid, "span 13 above counter 12: the floor would be negative", &["Modified"]),
        (resealed(&|b| b[4] &= !0x01).to_vec(), RecordError::Invalid, "not authenticated, yet a subject", &["Modified"]),
        (reseal({ let mut b = anon; b[4] |= 0x01; b }).to_vec(), RecordError::Invalid, "authenticated without a subject", &["Modified", "Anonymous"]),
        (resealed(&|b| b[123] = 1).to_vec(), RecordError::Invalid, "active with a revocation time", &["Modified"]),
        (reseal({ let mut b = revoked; b[116..124].fill(0); b }).to_vec(), RecordError::Invalid, "revoked without a revocation time", &["Modified", "Revoked"]),
        (resealed(&|b| b[72..80].copy_from_slice(&(T0 + 13 * HOUR).to_be_bytes())).to_vec(), RecordError::Invalid, "created after its absolute expiry", &["Modified"]),
        (resealed(&|b| b[4] &= !0x08).to_vec(), RecordError::Invalid, "parent bytes set without the has-parent flag", &["Modified"]),
        (overflow_grace.to_vec(), RecordError::Invalid, "last advance + grace offset overflows 64 bits", &["Modified", "EdgeCase"]),
    ];
    cases
        .into_iter()
        .map(|(bytes, err, comment, flags)| {
            assert_eq!(Record::decode(&bytes), Err(err), "{comment}");
            let mut t = ctx.test(comment, flags);
            t.insert("hex".into(), hx(&bytes));
            t.insert("error".into(), enc::record_error(err).into());
            t.insert("result".into(), "invalid".into());
            t.into()
        })
        .collect()
}
