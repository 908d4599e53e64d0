//! The two token forms, their text encoding, minting and verification.
//!
//! Text form: a 5-character prefix that names form and version (`rtf1_` full, `rtc1_`
//! compact), so secret scanners can find leaked tokens, then unpadded base64url. The tag is
//! HMAC-SHA256 under the key's token subkey, truncated to 16 bytes, over the 4 prefix
//! characters and every body byte before the tag, so form, version and key id are all bound.
//!
//! **Full** (`rtf1_`, 115 characters): key id, session id, counter, issued-at, session
//! expiry, subject, binding hash, flags, tag. Self-contained: usable without the store inside
//! the fresh window. Claims are signed, not encrypted.
//!
//! **Compact** (`rtc1_`, 49 characters): key id, session id, tag over (prefix, key id,
//! session id, counter). The counter lives only in the store; the 29-byte MAC input fits one
//! SHA-256 block, so a check costs two compressions with the precomputed key state.
//!
//! # Security
//! Parsing never panics and never reads out of bounds. Base64 decoding is constant-time in
//! the data (not in the length) and tags are compared with `subtle`.

use core::fmt;

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::{Binding, Keyring};
use crate::util::{Reader, Writer};

/// Length of a session id in bytes (128 random bits).
pub const SESSION_ID_LEN: usize = 16;
/// Length of a token tag in bytes (HMAC-SHA256 truncated to 128 bits).
pub const TAG_LEN: usize = 16;
/// Text prefix of a full token, version 1.
pub const FULL_PREFIX: &str = "rtf1_";
/// Text prefix of a compact token, version 1.
pub const COMPACT_PREFIX: &str = "rtc1_";
/// Length of the text prefix.
pub const PREFIX_LEN: usize = 5;

const FULL_BODY_LEN: usize = 1 + 16 + 8 + 8 + 8 + 16 + 8 + 1 + TAG_LEN;
const COMPACT_BODY_LEN: usize = 1 + 16 + TAG_LEN;
const FULL_B64_LEN: usize = (FULL_BODY_LEN * 4).div_ceil(3);
const COMPACT_B64_LEN: usize = (COMPACT_BODY_LEN * 4).div_ceil(3);

/// Length of a full token's text.
pub const FULL_TOKEN_LEN: usize = PREFIX_LEN + FULL_B64_LEN;
/// Length of a compact token's text.
pub const COMPACT_TOKEN_LEN: usize = PREFIX_LEN + COMPACT_B64_LEN;
/// The longest token text (a full token).
pub const MAX_TOKEN_LEN: usize = FULL_TOKEN_LEN;

/// Flag bit: the session is authenticated (a subject logged in); clear for anonymous.
const FLAG_AUTHENTICATED: u8 = 0x01;

/// A session id: 16 bytes from the caller's CSPRNG.
///
/// It travels only inside tokens; `Debug` prints its [`log_id`], never the id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SessionId(pub [u8; SESSION_ID_LEN]);

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId(log:{})", log_id(self))
    }
}

/// The subject (user) of a session: opaque 16 bytes, such as a UUID or a big-endian `u64`.
/// All zeros means anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Subject(pub [u8; 16]);

impl Subject {
    /// The subject of anonymous sessions.
    pub const ANONYMOUS: Subject = Subject([0; 16]);

    /// A subject from a numeric user id, big-endian in the last 8 bytes.
    pub const fn from_u64(id: u64) -> Subject {
        let [a, b, c, d, e, f, g, h] = id.to_be_bytes();
        Subject([0, 0, 0, 0, 0, 0, 0, 0, a, b, c, d, e, f, g, h])
    }

    /// True for the anonymous subject.
    pub fn is_anonymous(&self) -> bool {
        *self == Subject::ANONYMOUS
    }
}

/// A short, stable, non-bearer handle of a session for logs: the first 8 bytes of
/// SHA-256("rolltoken/v1/log-id" ‖ session id), as 16 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogId([u8; 16]);

impl LogId {
    /// The 16 hex characters.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogId({})", self.as_str())
    }
}

/// The [`LogId`] of a session id.
pub fn log_id(session_id: &SessionId) -> LogId {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(b"rolltoken/v1/log-id")
        .chain_update(session_id.0)
        .finalize()
        .into();
    let mut out = [0u8; 16];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        for (slot, nibble) in pair.iter_mut().zip([byte >> 4, byte & 0x0f]) {
            *slot = hex_digit(nibble);
        }
    }
    LogId(out)
}

fn hex_digit(nibble: u8) -> u8 {
    match nibble {
        0..=9 => b'0'.wrapping_add(nibble),
        _ => b'a'.wrapping_add(nibble.wrapping_sub(10)),
    }
}

/// Which of the two token forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Self-contained claims; usable without the store inside the fresh window.
    Full,
    /// Session id and tag only; the store holds everything else.
    Compact,
}

impl Form {
    /// Every variant, in declaration order.
    pub const ALL: [Form; 2] = [Form::Full, Form::Compact];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Form::Full => "full",
            Form::Compact => "compact",
        }
    }
}

/// Why a token text was refused. Every malformed input maps to exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// The text is empty.
    Empty,
    /// The text is longer than any token.
    TooLong,
    /// The text does not start with a rolltoken prefix (`rtf1_` or `rtc1_`).
    WrongPrefix,
    /// The prefix names a rolltoken form with a version this library does not read.
    UnsupportedVersion,
    /// The prefix is right but the text has the wrong length for its form.
    WrongLength,
    /// The body is not canonical unpadded base64url.
    BadBase64,
    /// Reserved flag bits are set.
    BadFlags,
    /// The token names a key id that is not in the keyring.
    UnknownKey,
    /// The tag does not verify.
    BadTag,
}

impl TokenError {
    /// Every variant, in declaration order.
    pub const ALL: [TokenError; 9] = [
        TokenError::Empty,
        TokenError::TooLong,
        TokenError::WrongPrefix,
        TokenError::UnsupportedVersion,
        TokenError::WrongLength,
        TokenError::BadBase64,
        TokenError::BadFlags,
        TokenError::UnknownKey,
        TokenError::BadTag,
    ];

    /// The stable snake_case name used in logs, bindings and the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            TokenError::Empty => "empty",
            TokenError::TooLong => "too_long",
            TokenError::WrongPrefix => "wrong_prefix",
            TokenError::UnsupportedVersion => "unsupported_version",
            TokenError::WrongLength => "wrong_length",
            TokenError::BadBase64 => "bad_base64",
            TokenError::BadFlags => "bad_flags",
            TokenError::UnknownKey => "unknown_key",
            TokenError::BadTag => "bad_tag",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Empty => "empty token",
            TokenError::TooLong => "token too long",
            TokenError::WrongPrefix => "not a rolltoken token",
            TokenError::UnsupportedVersion => "unsupported token version",
            TokenError::WrongLength => "wrong token length",
            TokenError::BadBase64 => "token is not canonical base64url",
            TokenError::BadFlags => "token has unknown flags",
            TokenError::UnknownKey => "token names an unknown key id",
            TokenError::BadTag => "token tag does not verify",
        })
    }
}

/// The claims of a full token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claims {
    /// Id of the key that tagged the token.
    pub key_id: u8,
    /// The session.
    pub session_id: SessionId,
    /// The position of this token in the session's chain.
    pub counter: u64,
    /// When the token was minted (ms since the Unix epoch); starts its fresh window.
    pub issued_at: u64,
    /// Absolute expiry of the session (ms since the Unix epoch).
    pub expires_at: u64,
    /// The user; [`Subject::ANONYMOUS`] for anonymous sessions.
    pub subject: Subject,
    /// Keyed hash of the client that caused this token to be minted.
    pub binding: Binding,
    /// True once a subject has logged in.
    pub authenticated: bool,
}

/// A parsed token whose tag has not been checked yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A full token: claims and tag.
    Full(FullToken),
    /// A compact token: key id, session id and tag.
    Compact(CompactToken),
}

impl Parsed {
    /// The key id the token names.
    pub fn key_id(&self) -> u8 {
        match self {
            Parsed::Full(t) => t.claims.key_id,
            Parsed::Compact(t) => t.key_id,
        }
    }

    /// The session id the token names.
    pub fn session_id(&self) -> SessionId {
        match self {
            Parsed::Full(t) => t.claims.session_id,
            Parsed::Compact(t) => t.session_id,
        }
    }

    /// The form.
    pub fn form(&self) -> Form {
        match self {
            Parsed::Full(_) => Form::Full,
            Parsed::Compact(_) => Form::Compact,
        }
    }
}

/// An unverified full token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FullToken {
    claims: Claims,
    tag: [u8; TAG_LEN],
}

impl FullToken {
    /// The claims, **not yet verified**: for inspection (the CLI's `inspect`) and logs only.
    pub fn unverified_claims(&self) -> &Claims {
        &self.claims
    }

    /// Checks the tag and returns the claims.
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] when the ring lacks the named key (no other key is tried),
    /// [`TokenError::BadTag`] when the tag does not verify.
    pub fn verify(&self, keys: &Keyring) -> Result<Claims, TokenError> {
        let mac = keys
            .token_mac(self.claims.key_id)
            .ok_or(TokenError::UnknownKey)?;
        let msg = full_message(&self.claims);
        let want = mac.tag16(&[FULL_PREFIX.as_bytes().get(..4).unwrap_or(&[]), &msg]);
        if tags_equal(&want, &self.tag) {
            Ok(self.claims)
        } else {
            Err(TokenError::BadTag)
        }
    }
}

impl fmt::Debug for FullToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FullToken")
            .field("log_id", &log_id(&self.claims.session_id))
            .field("counter", &self.claims.counter)
            .finish_non_exhaustive()
    }
}

/// An unverified compact token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CompactToken {
    key_id: u8,
    session_id: SessionId,
    tag: [u8; TAG_LEN],
}

impl CompactToken {
    /// The key id the token names.
    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The session id the token names.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// True when this token is the one minted for `counter`, in constant time.
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] when the ring lacks the named key.
    pub fn matches(&self, keys: &Keyring, counter: u64) -> Result<bool, TokenError> {
        let want = compact_tag(keys, self.key_id, &self.session_id, counter)?;
        Ok(tags_equal(&want, &self.tag))
    }
}

impl fmt::Debug for CompactToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompactToken")
            .field("log_id", &log_id(&self.session_id))
            .finish_non_exhaustive()
    }
}

/// Constant-time equality of two tags, on whole 128-bit words.
fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    bool::from(u128::from_ne_bytes(*a).ct_eq(&u128::from_ne_bytes(*b)))
}

fn full_message(c: &Claims) -> [u8; FULL_BODY_LEN - TAG_LEN] {
    let mut msg = [0u8; FULL_BODY_LEN - TAG_LEN];
    let mut w = Writer::new(&mut msg);
    let flags = if c.authenticated {
        FLAG_AUTHENTICATED
    } else {
        0
    };
    let _ = (|| {
        w.u8(c.key_id)?;
        w.put(&c.session_id.0)?;
        w.u64(c.counter)?;
        w.u64(c.issued_at)?;
        w.u64(c.expires_at)?;
        w.put(&c.subject.0)?;
        w.put(&c.binding.to_bytes())?;
        w.u8(flags)
    })();
    msg
}

fn compact_tag(
    keys: &Keyring,
    key_id: u8,
    session_id: &SessionId,
    counter: u64,
) -> Result<[u8; TAG_LEN], TokenError> {
    let mac = keys.token_mac(key_id).ok_or(TokenError::UnknownKey)?;
    let prefix = COMPACT_PREFIX.as_bytes().get(..4).unwrap_or(&[]);
    Ok(mac.tag16(&[prefix, &[key_id], &session_id.0, &counter.to_be_bytes()]))
}

/// Parses a token text (a cookie value) without checking its tag.
///
/// # Errors
/// One [`TokenError`] per kind of malformation: [`Empty`](TokenError::Empty),
/// [`TooLong`](TokenError::TooLong), [`WrongPrefix`](TokenError::WrongPrefix),
/// [`UnsupportedVersion`](TokenError::UnsupportedVersion),
/// [`WrongLength`](TokenError::WrongLength), [`BadBase64`](TokenError::BadBase64),
/// [`BadFlags`](TokenError::BadFlags).
pub fn parse(text: &[u8]) -> Result<Parsed, TokenError> {
    if text.is_empty() {
        return Err(TokenError::Empty);
    }
    if text.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    let (prefix, body) = text
        .split_first_chunk::<PREFIX_LEN>()
        .ok_or(TokenError::WrongPrefix)?;
    let form = match prefix {
        [b'r', b't', b'f', b'1', b'_'] => Form::Full,
        [b'r', b't', b'c', b'1', b'_'] => Form::Compact,
        [b'r', b't', b'f' | b'c', b'0'..=b'9', b'_'] => return Err(TokenError::UnsupportedVersion),
        _ => return Err(TokenError::WrongPrefix),
    };
    match form {
        Form::Full => {
            if body.len() != FULL_B64_LEN {
                return Err(TokenError::WrongLength);
            }
            let mut raw = [0u8; FULL_BODY_LEN];
            decode_exact(body, &mut raw)?;
            let mut r = Reader::new(&raw);
            let parsed = (|| {
                let claims = Claims {
                    key_id: r.u8()?,
                    session_id: SessionId(r.array()?),
                    counter: r.u64()?,
                    issued_at: r.u64()?,
                    expires_at: r.u64()?,
                    subject: Subject(r.array()?),
                    binding: Binding::from_bytes(r.array()?),
                    authenticated: false,
                };
                let flags = r.u8()?;
                let tag = r.array()?;
                Some((claims, flags, tag))
            })();
            raw.zeroize();
            let (mut claims, flags, tag) = parsed.ok_or(TokenError::WrongLength)?;
            if flags & !FLAG_AUTHENTICATED != 0 {
                return Err(TokenError::BadFlags);
            }
            claims.authenticated = flags & FLAG_AUTHENTICATED != 0;
            Ok(Parsed::Full(FullToken { claims, tag }))
        }
        Form::Compact => {
            if body.len() != COMPACT_B64_LEN {
                return Err(TokenError::WrongLength);
            }
            let mut raw = [0u8; COMPACT_BODY_LEN];
            decode_exact(body, &mut raw)?;
            let mut r = Reader::new(&raw);
            let parsed = (|| Some((r.u8()?, SessionId(r.array()?), r.array()?)))();
            raw.zeroize();
            let (key_id, session_id, tag) = parsed.ok_or(TokenError::WrongLength)?;
            Ok(Parsed::Compact(CompactToken {
                key_id,
                session_id,
                tag,
            }))
        }
    }
}

/// Decodes canonical unpadded base64url filling `out` exactly.
fn decode_exact(body: &[u8], out: &mut [u8]) -> Result<(), TokenError> {
    let want = out.len();
    match Base64UrlUnpadded::decode(body, out) {
        Ok(decoded) if decoded.len() == want => Ok(()),
        _ => Err(TokenError::BadBase64),
    }
}

/// A minted token's text in a fixed buffer (no allocation). Zeroized on drop: it is a bearer
/// secret. `Debug` prints only its length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TokenBuf {
    buf: [u8; MAX_TOKEN_LEN],
    len: u8,
}

impl TokenBuf {
    /// The token text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The token text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Which form this token is.
    pub fn form(&self) -> Form {
        if self.as_bytes().starts_with(FULL_PREFIX.as_bytes()) {
            Form::Full
        } else {
            Form::Compact
        }
    }

    fn encode(prefix: &str, body: &[u8]) -> TokenBuf {
        let mut out = TokenBuf {
            buf: [0; MAX_TOKEN_LEN],
            len: 0,
        };
        let mut w = Writer::new(&mut out.buf);
        if w.put(prefix.as_bytes()).is_some()
            && let Some(dst) = out.buf.get_mut(PREFIX_LEN..)
            && let Ok(text) = Base64UrlUnpadded::encode(body, dst)
        {
            out.len = u8::try_from(PREFIX_LEN.saturating_add(text.len())).unwrap_or(0);
        }
        out
    }
}

impl PartialEq for TokenBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for TokenBuf {}

impl fmt::Debug for TokenBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenBuf(<redacted {} chars>)", self.len)
    }
}

/// Mints a full token for `claims` under the key `claims.key_id`.
///
/// # Errors
/// [`TokenError::UnknownKey`] when the ring lacks that key.
pub fn mint_full(keys: &Keyring, claims: &Claims) -> Result<TokenBuf, TokenError> {
    let mac = keys
        .token_mac(claims.key_id)
        .ok_or(TokenError::UnknownKey)?;
    let msg = full_message(claims);
    let tag = mac.tag16(&[FULL_PREFIX.as_bytes().get(..4).unwrap_or(&[]), &msg]);
    let mut body = [0u8; FULL_BODY_LEN];
    let mut w = Writer::new(&mut body);
    let _ = w.put(&msg).and_then(|()| w.put(&tag));
    let out = TokenBuf::encode(FULL_PREFIX, &body);
    body.zeroize();
    Ok(out)
}

/// Mints the compact token of `session_id` at `counter` under the key `key_id`.
///
/// # Errors
/// [`TokenError::UnknownKey`] when the ring lacks that key.
pub fn mint_compact(
    keys: &Keyring,
    key_id: u8,
    session_id: &SessionId,
    counter: u64,
) -> Result<TokenBuf, TokenError> {
    let tag = compact_tag(keys, key_id, session_id, counter)?;
    let mut body = [0u8; COMPACT_BODY_LEN];
    let mut w = Writer::new(&mut body);
    let _ = w
        .u8(key_id)
        .and_then(|()| w.put(&session_id.0))
        .and_then(|()| w.put(&tag));
    let out = TokenBuf::encode(COMPACT_PREFIX, &body);
    body.zeroize();
    Ok(out)
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
    use crate::keys::KeyMaterial;
    extern crate std;
    use std::{format, string::String, vec::Vec};

    fn ring() -> Keyring {
        Keyring::new(
            &[KeyMaterial::new(1, [1; 32]), KeyMaterial::new(2, [2; 32])],
            1,
        )
        .unwrap()
    }

    fn claims() -> Claims {
        Claims {
            key_id: 1,
            session_id: SessionId([0x11; 16]),
            counter: 42,
            issued_at: 1_700_000_000_000,
            expires_at: 1_700_043_200_000,
            subject: Subject::from_u64(7),
            binding: Binding {
                user_agent: [1, 2, 3, 4],
                ip: [5, 6, 7, 8],
            },
            authenticated: true,
        }
    }

    #[test]
    fn lengths_are_as_documented() {
        assert_eq!(FULL_TOKEN_LEN, 115);
        assert_eq!(COMPACT_TOKEN_LEN, 49);
        let t = mint_full(&ring(), &claims()).unwrap();
        assert_eq!(t.as_str().len(), FULL_TOKEN_LEN);
        assert!(t.as_str().starts_with("rtf1_"));
        let c = mint_compact(&ring(), 1, &SessionId([3; 16]), 9).unwrap();
        assert_eq!(c.as_str().len(), COMPACT_TOKEN_LEN);
        assert_eq!(c.form(), Form::Compact);
    }

    #[test]
    fn full_round_trip_and_tamper() {
        let keys = ring();
        let t = mint_full(&keys, &claims()).unwrap();
        let Parsed::Full(p) = parse(t.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(p.verify(&keys).unwrap(), claims());
        // Same claims under key 2: a different tag, and neither verifies as the other.
        let t2 = mint_full(
            &keys,
            &Claims {
                key_id: 2,
                ..claims()
            },
        )
        .unwrap();
        assert_ne!(t, t2);
        // Every field change changes the tag.
        let variants = [
            Claims {
                counter: 43,
                ..claims()
            },
            Claims {
                session_id: SessionId([0x12; 16]),
                ..claims()
            },
            Claims {
                issued_at: 1,
                ..claims()
            },
            Claims {
                expires_at: 1,
                ..claims()
            },
            Claims {
                subject: Subject::from_u64(8),
                ..claims()
            },
            Claims {
                binding: Binding::default(),
                ..claims()
            },
            Claims {
                authenticated: false,
                ..claims()
            },
        ];
        for v in variants {
            let Parsed::Full(mut forged) = parse(t.as_bytes()).unwrap() else {
                panic!()
            };
            forged.claims = v;
            assert_eq!(forged.verify(&keys), Err(TokenError::BadTag));
        }
        // Unknown key id: refused without trying the other keys.
        let lone = Keyring::new(&[KeyMaterial::new(2, [1; 32])], 2).unwrap();
        let Parsed::Full(p) = parse(t.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(p.verify(&lone), Err(TokenError::UnknownKey));
    }

    #[test]
    fn compact_matches_only_its_counter_session_and_key() {
        let keys = ring();
        let sid = SessionId([9; 16]);
        let t = mint_compact(&keys, 1, &sid, 5).unwrap();
        let Parsed::Compact(c) = parse(t.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(c.session_id(), sid);
        assert!(c.matches(&keys, 5).unwrap());
        assert!(!c.matches(&keys, 4).unwrap() && !c.matches(&keys, 6).unwrap());
        let other = mint_compact(&keys, 2, &sid, 5).unwrap();
        assert_ne!(other, t);
        let other_sid = mint_compact(&keys, 1, &SessionId([8; 16]), 5).unwrap();
        assert_ne!(other_sid.as_str()[22..], t.as_str()[22..]);
    }

    #[test]
    fn each_malformation_has_its_error() {
        let keys = ring();
        let full = String::from(mint_full(&keys, &claims()).unwrap().as_str());
        let compact = String::from(
            mint_compact(&keys, 1, &SessionId([1; 16]), 1)
                .unwrap()
                .as_str(),
        );
        assert_eq!(parse(b""), Err(TokenError::Empty));
        assert_eq!(parse(&[b'a'; MAX_TOKEN_LEN + 1]), Err(TokenError::TooLong));
        assert_eq!(parse(b"rtf"), Err(TokenError::WrongPrefix));
        assert_eq!(
            parse(format!("xtf1_{}", &full[5..]).as_bytes()),
            Err(TokenError::WrongPrefix)
        );
        assert_eq!(
            parse(format!("rtx1_{}", &full[5..]).as_bytes()),
            Err(TokenError::WrongPrefix)
        );
        assert_eq!(
            parse(format!("rtf2_{}", &full[5..]).as_bytes()),
            Err(TokenError::UnsupportedVersion)
        );
        assert_eq!(
            parse(format!("rtc0_{}", &compact[5..]).as_bytes()),
            Err(TokenError::UnsupportedVersion)
        );
        assert_eq!(
            parse(&full.as_bytes()[..full.len() - 1]),
            Err(TokenError::WrongLength)
        );
        assert_eq!(
            parse(&compact.as_bytes()[..48]),
            Err(TokenError::WrongLength)
        );
        // A full body behind a compact prefix is the wrong length for that form.
        assert_eq!(
            parse(format!("rtc1_{}", &full[5..]).as_bytes()),
            Err(TokenError::WrongLength)
        );
        let mut bad = full.clone().into_bytes();
        bad[20] = b'+';
        assert_eq!(parse(&bad), Err(TokenError::BadBase64));
        // Non-canonical: the last character of a 110-char body carries 2 unused bits.
        // 82 bytes leave one byte in the last group: its second character has 4 unused bits.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut noncanon = full.clone().into_bytes();
        let last = noncanon.len() - 1;
        let v = ALPHABET.iter().position(|&c| c == noncanon[last]).unwrap();
        assert_eq!(
            v & 0x0f,
            0,
            "canonical encodings leave the unused bits clear"
        );
        noncanon[last] = ALPHABET[v | 1];
        assert_eq!(parse(&noncanon), Err(TokenError::BadBase64));
        // Reserved flags set (re-encode a body with flags = 0x03).
        let mut raw = [0u8; FULL_BODY_LEN];
        Base64UrlUnpadded::decode(&full.as_bytes()[5..], &mut raw).unwrap();
        raw[FULL_BODY_LEN - TAG_LEN - 1] = 0x03;
        let mut enc = [0u8; 120];
        let mut text = Vec::from(*b"rtf1_");
        text.extend_from_slice(
            Base64UrlUnpadded::encode(&raw, &mut enc)
                .unwrap()
                .as_bytes(),
        );
        assert_eq!(parse(&text), Err(TokenError::BadFlags));
        // Bad tag.
        raw[FULL_BODY_LEN - TAG_LEN - 1] = 0x01;
        raw[FULL_BODY_LEN - 1] ^= 1;
        let mut enc = [0u8; 120];
        let mut text = Vec::from(*b"rtf1_");
        text.extend_from_slice(
            Base64UrlUnpadded::encode(&raw, &mut enc)
                .unwrap()
                .as_bytes(),
        );
        let Parsed::Full(p) = parse(&text).unwrap() else {
            panic!()
        };
        assert_eq!(p.verify(&keys), Err(TokenError::BadTag));
    }

    #[test]
    fn flipping_any_bit_of_a_token_is_refused() {
        let keys = ring();
        for t in [
            mint_full(&keys, &claims()).unwrap(),
            mint_compact(&keys, 1, &SessionId([4; 16]), 77).unwrap(),
        ] {
            let text = t.as_bytes();
            for i in 0..text.len() {
                for bit in 0..8 {
                    let mut m = Vec::from(text);
                    m[i] ^= 1 << bit;
                    let accepted = match parse(&m) {
                        Ok(Parsed::Full(p)) => p.verify(&keys).is_ok(),
                        Ok(Parsed::Compact(c)) => c.matches(&keys, 77).unwrap_or(false),
                        Err(_) => false,
                    };
                    assert!(
                        !accepted,
                        "bit {bit} of byte {i} flipped and still accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn log_id_is_stable_hex_and_not_the_id() {
        let sid = SessionId([0xab; 16]);
        let l = log_id(&sid);
        assert_eq!(l.as_str().len(), 16);
        assert!(
            l.as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(l, log_id(&sid));
        assert_ne!(l, log_id(&SessionId([0xac; 16])));
        let dbg = format!("{sid:?}");
        assert!(!dbg.contains("ab, ") && !dbg.contains("171") && dbg.contains(l.as_str()));
        let t = mint_full(&ring(), &claims()).unwrap();
        assert!(!format!("{t:?}").contains(&t.as_str()[5..20]));
    }
}
