//! The session record: fixed-size ([`RECORD_LEN`] bytes), versioned, stored by the caller
//! wherever it likes and handed back on each request.
//!
//! The record holds no bearer secret: tags need the server key, so a leaked store yields no
//! usable token.
//!
//! Layout (big-endian, 128 bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 0..2 | magic `RT` |
//! | 2 | layout version (1) |
//! | 3 | state: 0 active, 1–4 revoked (logout, reuse, upgraded at login, admin) |
//! | 4 | flags: 1 authenticated, 2 current token confirmed, 4 compact form, 8 has parent |
//! | 5 | key id the binding hash was computed under |
//! | 6 | counter − floor (the grace span) |
//! | 7 | grace answers handed out in this step |
//! | 8..24 | session id |
//! | 24..40 | parent session id (the anonymous one), zero if none |
//! | 40..56 | subject |
//! | 56..64 | counter: the newest token issued |
//! | 64..72 | write version (bumped on every change; compare-and-swap key) |
//! | 72..80 | created at (ms) |
//! | 80..88 | absolute expiry (ms) |
//! | 88..96 | last advance (ms): when the current token was minted |
//! | 96..104 | binding hash of the last advancing request |
//! | 104..108 | observed lateness (ms), for adaptive grace |
//! | 108..112 | grace window end, as ms after the last advance |
//! | 112..116 | last seen (idle expiry), as ms after the last advance |
//! | 116..124 | revoked at (ms), zero while active |
//! | 124..128 | FNV-1a-32 checksum of bytes 0..124 |
//!
//! The two offsets are relative to the last advance so that all the state fits 128 bytes;
//! [`Record::encode`] clamps them into `last_advance ..= last_advance + u32::MAX` ms (about
//! 49 days), and the engine keeps them in that range so in-memory and encoded records agree.

use core::fmt;

use crate::keys::Binding;
use crate::token::{Form, SessionId, Subject};
use crate::util::{Reader, Writer};

/// Length of an encoded record in bytes.
pub const RECORD_LEN: usize = 128;
/// The layout version this library writes and reads.
pub const RECORD_LAYOUT_VERSION: u8 = 1;
const MAGIC: [u8; 2] = *b"RT";
const BODY_LEN: usize = RECORD_LEN - 4;

const FLAG_AUTHENTICATED: u8 = 0x01;
const FLAG_CONFIRMED: u8 = 0x02;
const FLAG_COMPACT: u8 = 0x04;
const FLAG_PARENT: u8 = 0x08;
const KNOWN_FLAGS: u8 = FLAG_AUTHENTICATED | FLAG_CONFIRMED | FLAG_COMPACT | FLAG_PARENT;

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// A token was used out of sequence: two parties held the session.
    Reuse,
    /// The anonymous session was replaced by an authenticated one at login.
    UpgradedAtLogin,
    /// An administrator or the application revoked it (e.g. revoke all after a password change).
    Admin,
}

impl RevokeReason {
    /// Every variant, in declaration order.
    pub const ALL: [RevokeReason; 4] = [
        RevokeReason::Logout,
        RevokeReason::Reuse,
        RevokeReason::UpgradedAtLogin,
        RevokeReason::Admin,
    ];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Reuse => "reuse",
            RevokeReason::UpgradedAtLogin => "upgraded_at_login",
            RevokeReason::Admin => "admin",
        }
    }
}

/// Whether a session is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Usable.
    Active,
    /// Revoked for good; revocation is a fence that only moves forward.
    Revoked(RevokeReason),
}

impl State {
    fn to_byte(self) -> u8 {
        match self {
            State::Active => 0,
            State::Revoked(RevokeReason::Logout) => 1,
            State::Revoked(RevokeReason::Reuse) => 2,
            State::Revoked(RevokeReason::UpgradedAtLogin) => 3,
            State::Revoked(RevokeReason::Admin) => 4,
        }
    }

    fn from_byte(b: u8) -> Option<State> {
        Some(match b {
            0 => State::Active,
            1 => State::Revoked(RevokeReason::Logout),
            2 => State::Revoked(RevokeReason::Reuse),
            3 => State::Revoked(RevokeReason::UpgradedAtLogin),
            4 => State::Revoked(RevokeReason::Admin),
            _ => return None,
        })
    }
}

/// Why record bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Not exactly [`RECORD_LEN`] bytes (truncated or padded).
    WrongLength,
    /// Not a rolltoken record (wrong magic).
    Foreign,
    /// A rolltoken record of a layout version this library does not read.
    UnsupportedVersion,
    /// The checksum does not match: the bytes were damaged.
    Corrupt,
    /// The checksum matches but a field holds an impossible value.
    Invalid,
}

impl RecordError {
    /// Every variant, in declaration order.
    pub const ALL: [RecordError; 5] = [
        RecordError::WrongLength,
        RecordError::Foreign,
        RecordError::UnsupportedVersion,
        RecordError::Corrupt,
        RecordError::Invalid,
    ];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            RecordError::WrongLength => "wrong_length",
            RecordError::Foreign => "foreign",
            RecordError::UnsupportedVersion => "unsupported_version",
            RecordError::Corrupt => "corrupt",
            RecordError::Invalid => "invalid",
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordError::WrongLength => "session record has the wrong length",
            RecordError::Foreign => "not a rolltoken session record",
            RecordError::UnsupportedVersion => "unsupported session record version",
            RecordError::Corrupt => "session record checksum mismatch",
            RecordError::Invalid => "session record holds an impossible value",
        })
    }
}

/// One session's server-side state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The session.
    pub session_id: SessionId,
    /// The anonymous session this one replaced at login, for joining logs.
    pub parent: Option<SessionId>,
    /// The user.
    pub subject: Subject,
    /// Active or revoked.
    pub state: State,
    /// True once a subject has logged in.
    pub authenticated: bool,
    /// The form of the tokens this session is issued.
    pub form: Form,
    /// The newest token issued carries this counter.
    pub counter: u64,
    /// The lowest counter still accepted inside the grace window.
    pub floor: u64,
    /// Bumped on every change; saves compare-and-swap on it.
    pub version: u64,
    /// Creation time (ms).
    pub created_at: u64,
    /// Absolute expiry (ms).
    pub expires_at: u64,
    /// Time of the last advance (ms): when the current token was minted.
    pub last_advance_at: u64,
    /// End of the grace window (ms); at most `u32::MAX` ms after `last_advance_at`.
    pub grace_until: u64,
    /// Last request that counted as activity (ms), for idle expiry; at most `u32::MAX` ms
    /// after `last_advance_at`.
    pub last_seen_at: u64,
    /// Grace answers handed out for the current step (capped by policy).
    pub grace_answers: u8,
    /// True once the holder of the current token has presented it.
    pub confirmed: bool,
    /// Largest lateness observed for stale arrivals (ms), decayed; drives adaptive grace.
    pub lateness_ms: u32,
    /// Binding hash of the last advancing request.
    pub binding: Binding,
    /// Key id the binding hash was computed under.
    pub binding_key_id: u8,
    /// When the session was revoked (ms), zero while active.
    pub revoked_at: u64,
}

impl Record {
    /// A new active session at counter 0, whose first token is minted at `now_ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        session_id: SessionId,
        parent: Option<SessionId>,
        subject: Subject,
        form: Form,
        now_ms: u64,
        expires_at: u64,
        binding: Binding,
        binding_key_id: u8,
    ) -> Record {
        Record {
            session_id,
            parent,
            subject,
            state: State::Active,
            authenticated: !subject.is_anonymous(),
            form,
            counter: 0,
            floor: 0,
            version: 0,
            created_at: now_ms,
            expires_at,
            last_advance_at: now_ms,
            grace_until: now_ms,
            last_seen_at: now_ms,
            grace_answers: 0,
            confirmed: false,
            lateness_ms: 0,
            binding,
            binding_key_id,
            revoked_at: 0,
        }
    }

    /// True unless revoked.
    pub fn is_active(&self) -> bool {
        self.state == State::Active
    }

    /// Encodes the record into its fixed [`RECORD_LEN`]-byte form.
    ///
    /// A span (`counter - floor`) wider than 255 is clamped by raising the floor, which only
    /// narrows what is accepted.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut out = [0u8; RECORD_LEN];
        let span = u8::try_from(self.counter.saturating_sub(self.floor)).unwrap_or(u8::MAX);
        let mut flags = 0;
        if self.authenticated {
            flags |= FLAG_AUTHENTICATED;
        }
        if self.confirmed {
            flags |= FLAG_CONFIRMED;
        }
        if self.form == Form::Compact {
            flags |= FLAG_COMPACT;
        }
        if self.parent.is_some() {
            flags |= FLAG_PARENT;
        }
        let mut w = Writer::new(&mut out);
        let _ = (|| {
            w.put(&MAGIC)?;
            w.u8(RECORD_LAYOUT_VERSION)?;
            w.u8(self.state.to_byte())?;
            w.u8(flags)?;
            w.u8(self.binding_key_id)?;
            w.u8(span)?;
            w.u8(self.grace_answers)?;
            w.put(&self.session_id.0)?;
            w.put(&self.parent.unwrap_or_default().0)?;
            w.put(&self.subject.0)?;
            w.u64(self.counter)?;
            w.u64(self.version)?;
            w.u64(self.created_at)?;
            w.u64(self.expires_at)?;
            w.u64(self.last_advance_at)?;
            w.put(&self.binding.to_bytes())?;
            w.u32(self.lateness_ms)?;
            w.u32(offset(self.last_advance_at, self.grace_until))?;
            w.u32(offset(self.last_advance_at, self.last_seen_at))?;
            w.u64(self.revoked_at)
        })();
        let sum = checksum(out.get(..BODY_LEN).unwrap_or(&[]));
        if let Some(tail) = out.last_chunk_mut::<4>() {
            *tail = sum.to_be_bytes();
        }
        out
    }

    /// Decodes record bytes, checking length, magic, version, checksum and every field.
    ///
    /// # Errors
    /// A [`RecordError`] naming what is wrong; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        if bytes.len() != RECORD_LEN {
            return Err(RecordError::WrongLength);
        }
        let (body, sum) = bytes
            .split_last_chunk::<4>()
            .ok_or(RecordError::WrongLength)?;
        if body.get(..2) != Some(&MAGIC[..]) {
            return Err(RecordError::Foreign);
        }
        if body.get(2) != Some(&RECORD_LAYOUT_VERSION) {
            return Err(RecordError::UnsupportedVersion);
        }
        if checksum(body) != u32::from_be_bytes(*sum) {
            return Err(RecordError::Corrupt);
        }
        let mut r = Reader::new(body.get(3..).unwrap_or(&[]));
        let rec = (|| {
            let state = State::from_byte(r.u8()?)?;
            let flags = r.u8()?;
            if flags & !KNOWN_FLAGS != 0 {
                return None;
            }
            let binding_key_id = r.u8()?;
            let span = r.u8()?;
            let grace_answers = r.u8()?;
            let session_id = SessionId(r.array()?);
            let parent = SessionId(r.array()?);
            let subject = Subject(r.array()?);
            let counter = r.u64()?;
            let version = r.u64()?;
            let created_at = r.u64()?;
            let expires_at = r.u64()?;
            let last_advance_at = r.u64()?;
            let binding = Binding::from_bytes(r.array()?);
            let lateness_ms = r.u32()?;
            let grace_until = last_advance_at.checked_add(u64::from(r.u32()?))?;
            let last_seen_at = last_advance_at.checked_add(u64::from(r.u32()?))?;
            let rec = Record {
                session_id,
                parent: if flags & FLAG_PARENT != 0 {
                    Some(parent)
                } else {
                    None
                },
                subject,
                state,
                authenticated: flags & FLAG_AUTHENTICATED != 0,
                form: if flags & FLAG_COMPACT != 0 {
                    Form::Compact
                } else {
                    Form::Full
                },
                counter,
                floor: counter.checked_sub(u64::from(span))?,
                version,
                created_at,
                expires_at,
                last_advance_at,
                grace_until,
                last_seen_at,
                grace_answers,
                confirmed: flags & FLAG_CONFIRMED != 0,
                binding,
                lateness_ms,
                binding_key_id,
                revoked_at: r.u64()?,
            };
            let parent_ok = rec.parent.is_some() || parent == SessionId::default();
            let subject_ok = rec.authenticated != rec.subject.is_anonymous();
            let revoked_ok = rec.is_active() == (rec.revoked_at == 0);
            let times_ok = rec.created_at <= rec.expires_at;
            (r.is_empty() && parent_ok && subject_ok && revoked_ok && times_ok).then_some(rec)
        })();
        rec.ok_or(RecordError::Invalid)
    }
}

/// `at - base` in ms, clamped to `0..=u32::MAX`.
pub(crate) fn offset(base: u64, at: u64) -> u32 {
    u32::try_from(at.saturating_sub(base)).unwrap_or(u32::MAX)
}

/// FNV-1a, 32 bits: detects damage (bit flips, truncation to zeros), not tampering; the
/// store is trusted with the records it holds.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::panic,
        clippy::expect_used,
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    fn sample() -> Record {
        let mut r = Record::new(
            SessionId([7; 16]),
            Some(SessionId([6; 16])),
            Subject::from_u64(42),
            Form::Compact,
            1_000,
            50_000,
            Binding {
                user_agent: [1, 2, 3, 4],
                ip: [9, 9, 9, 9],
            },
            3,
        );
        r.counter = 12;
        r.floor = 9;
        r.version = 77;
        r.grace_until = 2_000;
        r.last_seen_at = 1_500;
        r.grace_answers = 5;
        r.confirmed = true;
        r.lateness_ms = 1234;
        r
    }

    #[test]
    fn round_trip() {
        let r = sample();
        assert_eq!(Record::decode(&r.encode()), Ok(r));
        let mut revoked = r;
        revoked.state = State::Revoked(RevokeReason::Reuse);
        revoked.revoked_at = 3_000;
        revoked.parent = None;
        assert_eq!(Record::decode(&revoked.encode()), Ok(revoked));
    }

    #[test]
    fn each_defect_has_its_error() {
        let bytes = sample().encode();
        assert_eq!(Record::decode(&bytes[..127]), Err(RecordError::WrongLength));
        assert_eq!(Record::decode(&[0; 129]), Err(RecordError::WrongLength));
        assert_eq!(Record::decode(&[]), Err(RecordError::WrongLength));
        let mut foreign = bytes;
        foreign[0] = b'{';
        assert_eq!(Record::decode(&foreign), Err(RecordError::Foreign));
        let mut future = bytes;
        future[2] = 2;
        assert_eq!(
            Record::decode(&future),
            Err(RecordError::UnsupportedVersion)
        );
        // Every single-bit flip past the version byte is caught.
        for i in 3..RECORD_LEN {
            for bit in 0..8 {
                let mut b = bytes;
                b[i] ^= 1 << bit;
                assert_eq!(
                    Record::decode(&b),
                    Err(RecordError::Corrupt),
                    "byte {i} bit {bit}"
                );
            }
        }
        // Impossible values with a valid checksum.
        let reseal = |mut b: [u8; RECORD_LEN]| {
            let sum = checksum(&b[..BODY_LEN]);
            b[BODY_LEN..].copy_from_slice(&sum.to_be_bytes());
            b
        };
        let mut state = bytes;
        state[3] = 9;
        assert_eq!(Record::decode(&reseal(state)), Err(RecordError::Invalid));
        let mut flags = bytes;
        flags[4] |= 0x80;
        assert_eq!(Record::decode(&reseal(flags)), Err(RecordError::Invalid));
        let mut span = bytes;
        span[6] = 13; // floor below zero: counter is 12
        assert_eq!(Record::decode(&reseal(span)), Err(RecordError::Invalid));
        let mut anon = bytes;
        anon[4] &= !FLAG_AUTHENTICATED; // anonymous flag with a subject
        assert_eq!(Record::decode(&reseal(anon)), Err(RecordError::Invalid));
        let mut revoked_at = bytes;
        revoked_at[123] = 1; // revoked-at set on an active record
        assert_eq!(
            Record::decode(&reseal(revoked_at)),
            Err(RecordError::Invalid)
        );
    }

    #[test]
    fn wide_span_is_narrowed_not_widened() {
        let mut r = sample();
        r.counter = 1000;
        r.floor = 0;
        let back = Record::decode(&r.encode()).unwrap();
        assert_eq!(back.floor, 1000 - 255);
    }

    #[test]
    fn offsets_are_clamped_into_range() {
        let mut r = sample();
        r.grace_until = r.last_advance_at + u64::from(u32::MAX) + 5;
        r.last_seen_at = r.last_advance_at - 1; // a clock that stepped back
        let back = Record::decode(&r.encode()).unwrap();
        assert_eq!(back.grace_until, r.last_advance_at + u64::from(u32::MAX));
        assert_eq!(back.last_seen_at, r.last_advance_at);
    }
}
