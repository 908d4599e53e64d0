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
//! Parsing never panics and never reads out of bounds. Base64 decoding and encoding are
//! constant-time in the data (not in the length): arithmetic on 64-bit words, no table and no
//! branch on the characters (`util::b64`). Tags are compared with `subtle`.

use core::fmt;

use sha2::block_api::compress256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::keys::{Binding, Block, Keyring, PrekeyedMac, SHA256_IV};
use crate::util::{Writer, b64};

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
/// MAC inputs: the 4 prefix characters, then every body byte before the tag.
const FULL_MAC_INPUT_LEN: usize = 4 + FULL_BODY_LEN - TAG_LEN;
const COMPACT_MAC_INPUT_LEN: usize = 4 + 1 + 16 + 8;
// Each MAC input and its padding (9 bytes) fits the blocks laid out for it.
const _: () = assert!(FULL_MAC_INPUT_LEN + 9 <= 128 && COMPACT_MAC_INPUT_LEN + 9 <= 64);
const FULL_B64_LEN: usize = (FULL_BODY_LEN * 4).div_ceil(3);
const COMPACT_B64_LEN: usize = (COMPACT_BODY_LEN * 4).div_ceil(3);
/// The codec works on 48-bit words, 6 body bytes (8 characters) each.
const FULL_WORDS: usize = FULL_B64_LEN.div_ceil(8);
const COMPACT_WORDS: usize = COMPACT_B64_LEN.div_ceil(8);
const M48: u64 = (1 << 48) - 1;

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
    /// Sixteen `'0'`s, for a view whose log id is filled in afterwards.
    pub(crate) const PLACEHOLDER: LogId = LogId([b'0'; 16]);

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

/// The one block SHA-256 hashes for a log id: `"rolltoken/v1/log-id"` (19 bytes), the
/// session id (16, zero here), `0x80`, zeros, the bit length (35 × 8 = 0x118).
const LOG_ID_BLOCK: Block = *b"rolltoken/v1/log-id\
    \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\0\0\0\
    \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
    \0\0\0\x01\x18";

/// The [`LogId`] of a session id.
pub fn log_id(session_id: &SessionId) -> LogId {
    let mut block = LOG_ID_BLOCK;
    if let Some(id) = block.get_mut(19..35) {
        id.copy_from_slice(&session_id.0);
    }
    let mut state = SHA256_IV;
    compress256(&mut state, core::slice::from_ref(&block));
    let [a, b, ..] = state;
    let (hi, lo) = (hex8(a), hex8(b));
    let mut out = [0u8; 16];
    for (dst, src) in out.iter_mut().zip(hi.into_iter().chain(lo)) {
        *dst = src;
    }
    LogId(out)
}

/// The 8 lowercase hex digits of `word`, most significant first, computed on one 64-bit word:
/// each byte spread to a 16-bit lane, its nibbles to the lane's bytes, then `'0' + n`, plus
/// 39 (to `'a'`) where `n >= 10`.
fn hex8(word: u32) -> [u8; 8] {
    const NIBBLES: u64 = 0x000f_000f_000f_000f;
    let y = u64::from(word.swap_bytes());
    let y = (y | (y << 16)) & 0x0000_ffff_0000_ffff;
    let y = (y | (y << 8)) & 0x00ff_00ff_00ff_00ff;
    let n = ((y >> 4) & NIBBLES) | ((y & NIBBLES) << 8);
    // Bit 7 of a lane is set where n >= 10 (n + 118 >= 128); no lane carries (15 + 118 < 256).
    let letters = (n.wrapping_add(0x7676_7676_7676_7676) & 0x8080_8080_8080_8080) >> 7;
    n.wrapping_add(0x3030_3030_3030_3030)
        .wrapping_add(letters.wrapping_mul(39))
        .to_le_bytes()
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
        let want = mac.tag16_padded(&full_blocks(&self.claims));
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
        let mac = keys.token_mac(self.key_id).ok_or(TokenError::UnknownKey)?;
        let want = compact_tag(mac, self.key_id, &self.session_id, counter);
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

/// The MAC input of a full token laid out with its HMAC padding in two blocks: `"rtf1"`, the
/// 66 body bytes before the tag (zero here), `0x80`, zeros, and the bit length of key block
/// and message ((64 + 70) × 8 = 0x430).
const FULL_BLOCKS: [Block; 2] = [
    *b"rtf1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
    \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    *b"\0\0\0\0\0\0\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\
    \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x04\x30",
];

/// The MAC input of a compact token in its block: `"rtc1"`, key id, session id and counter
/// (25 bytes, zero here), `0x80`, zeros, and the bit length ((64 + 29) × 8 = 0x2e8).
const COMPACT_BLOCK: Block = *b"rtc1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\0\0\
    \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x02\xe8";

/// The MAC input of a full token, `"rtf1"` ‖ every body byte before the tag (70 bytes), laid
/// out with its HMAC padding in two blocks.
#[inline(always)]
fn full_blocks(c: &Claims) -> [Block; 2] {
    let mut blocks = FULL_BLOCKS;
    let flags = if c.authenticated {
        FLAG_AUTHENTICATED
    } else {
        0
    };
    if let Some(msg) = blocks.as_flattened_mut().get_mut(4..FULL_MAC_INPUT_LEN) {
        let mut w = Writer::new(msg);
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
    }
    blocks
}

/// The tag of the compact token of `session_id` at `counter`: HMAC over `"rtc1"` ‖ key id ‖
/// session id ‖ counter (29 bytes), one block with its padding.
#[inline(always)]
fn compact_tag(
    mac: &PrekeyedMac,
    key_id: u8,
    session_id: &SessionId,
    counter: u64,
) -> [u8; TAG_LEN] {
    let mut block = COMPACT_BLOCK;
    if let Some(msg) = block.get_mut(4..COMPACT_MAC_INPUT_LEN) {
        let mut w = Writer::new(msg);
        let _ = w
            .u8(key_id)
            .and_then(|()| w.put(&session_id.0))
            .and_then(|()| w.u64(counter));
    }
    mac.tag16_padded(core::slice::from_ref(&block))
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
            let Ok(body) = <&[u8; FULL_B64_LEN]>::try_from(body) else {
                return Err(TokenError::WrongLength);
            };
            let (words, bad) = b64::decode::<FULL_B64_LEN, FULL_WORDS>(body);
            let [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13] = words;
            // 82 bytes in 14 words: the last 2 bytes of the last word are the unused bits.
            if bad | (w13 & 0xffff) != 0 {
                return Err(TokenError::BadBase64);
            }
            // Body bytes: key id 0, session id 1..17, counter 17..25, issued-at 25..33,
            // expiry 33..41, subject 41..57, binding 57..65, flags 65, tag 66..82; word i
            // holds bytes 6i..6i+6.
            let flags = low8(w10);
            if flags & !FLAG_AUTHENTICATED != 0 {
                return Err(TokenError::BadFlags);
            }
            let claims = Claims {
                key_id: low8(w0 >> 40),
                session_id: SessionId(id_of(w0, w1, w2).to_be_bytes()),
                counter: ((w2 & 0xff) << 56) | (w3 << 8) | (w4 >> 40),
                issued_at: ((w4 & 0xff_ffff_ffff) << 24) | (w5 >> 24),
                expires_at: ((w5 & 0xff_ffff) << 40) | (w6 >> 8),
                subject: Subject(
                    ((u128::from(w6 & 0xff) << 120)
                        | (u128::from(w7) << 72)
                        | (u128::from(w8) << 24)
                        | u128::from(w9 >> 24))
                    .to_be_bytes(),
                ),
                binding: Binding::from_bytes((((w9 & 0xff_ffff) << 40) | (w10 >> 8)).to_be_bytes()),
                authenticated: flags & FLAG_AUTHENTICATED != 0,
            };
            let tag = (u128::from(w11) << 80) | (u128::from(w12) << 32) | u128::from(w13 >> 16);
            Ok(Parsed::Full(FullToken {
                claims,
                tag: tag.to_be_bytes(),
            }))
        }
        Form::Compact => {
            let Ok(body) = <&[u8; COMPACT_B64_LEN]>::try_from(body) else {
                return Err(TokenError::WrongLength);
            };
            let (words, bad) = b64::decode::<COMPACT_B64_LEN, COMPACT_WORDS>(body);
            let [w0, w1, w2, w3, w4, w5] = words;
            // 33 bytes in 6 words: key id 0, session id 1..17, tag 17..33; the last 3 bytes
            // of the last word are zero (44 characters carry no unused bits).
            if bad | (w5 & 0xff_ffff) != 0 {
                return Err(TokenError::BadBase64);
            }
            let tag = (u128::from(w2 & 0xff) << 120)
                | (u128::from(w3) << 72)
                | (u128::from(w4) << 24)
                | u128::from(w5 >> 24);
            Ok(Parsed::Compact(CompactToken {
                key_id: low8(w0 >> 40),
                session_id: SessionId(id_of(w0, w1, w2).to_be_bytes()),
                tag: tag.to_be_bytes(),
            }))
        }
    }
}

/// The session id, body bytes 1..17 of either form, from the first three words.
#[inline(always)]
fn id_of(w0: u64, w1: u64, w2: u64) -> u128 {
    (u128::from(w0 & 0xff_ffff_ffff) << 88) | (u128::from(w1) << 40) | u128::from(w2 >> 8)
}

/// The low byte.
#[inline(always)]
fn low8(x: u64) -> u8 {
    let [b, ..] = x.to_le_bytes();
    b
}

/// The low 64 bits.
#[inline(always)]
fn low64(x: u128) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = x.to_le_bytes();
    u64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// A minted token's text in a fixed buffer (no allocation). Zeroized on drop: it is a bearer
/// secret. `Debug` prints only its length.
#[derive(Clone)]
pub struct TokenBuf {
    /// The text, then zeros: nothing is ever written past `len`.
    buf: [u8; MAX_TOKEN_LEN],
    len: u8,
}

impl Zeroize for TokenBuf {
    /// Zeroizes the text (the bytes after it are zero already: only the text is ever
    /// written) and the length.
    fn zeroize(&mut self) {
        if let Some(text) = self.buf.get_mut(..usize::from(self.len)) {
            text.zeroize();
        }
        self.len.zeroize();
    }
}

impl Drop for TokenBuf {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for TokenBuf {}

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

    /// The token `prefix` ‖ the base64url of a body given as 48-bit words, `chars` long.
    #[inline(always)]
    fn encode<const W: usize>(
        prefix: &[u8; PREFIX_LEN],
        words: &[u64; W],
        chars: usize,
    ) -> TokenBuf {
        let mut out = TokenBuf {
            buf: [0; MAX_TOKEN_LEN],
            len: 0,
        };
        let len = PREFIX_LEN.saturating_add(chars);
        if let Some((head, text)) = out
            .buf
            .get_mut(..len)
            .and_then(|t| t.split_first_chunk_mut::<PREFIX_LEN>())
        {
            *head = *prefix;
            b64::encode(words, text);
            out.len = u8::try_from(len).unwrap_or(0);
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
    let tag = u128::from_be_bytes(mac.tag16_padded(&full_blocks(claims)));
    let c = claims;
    let sid = u128::from_be_bytes(c.session_id.0);
    let subject = u128::from_be_bytes(c.subject.0);
    let binding = u64::from_be_bytes(c.binding.to_bytes());
    let flags = if c.authenticated {
        FLAG_AUTHENTICATED
    } else {
        0
    };
    // The body bytes as 48-bit words: the inverse of `parse`.
    let words: [u64; FULL_WORDS] = [
        (u64::from(c.key_id) << 40) | low64(sid >> 88),
        low64(sid >> 40) & M48,
        ((low64(sid) & 0xff_ffff_ffff) << 8) | (c.counter >> 56),
        (c.counter >> 8) & M48,
        ((c.counter & 0xff) << 40) | (c.issued_at >> 24),
        ((c.issued_at & 0xff_ffff) << 24) | (c.expires_at >> 40),
        ((c.expires_at & 0xff_ffff_ffff) << 8) | low64(subject >> 120),
        low64(subject >> 72) & M48,
        low64(subject >> 24) & M48,
        ((low64(subject) & 0xff_ffff) << 24) | (binding >> 40),
        ((binding & 0xff_ffff_ffff) << 8) | u64::from(flags),
        low64(tag >> 80) & M48,
        low64(tag >> 32) & M48,
        (low64(tag) & 0xffff_ffff) << 16,
    ];
    Ok(TokenBuf::encode(b"rtf1_", &words, FULL_B64_LEN))
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
    let mac = keys.token_mac(key_id).ok_or(TokenError::UnknownKey)?;
    let tag = u128::from_be_bytes(compact_tag(mac, key_id, session_id, counter));
    let sid = u128::from_be_bytes(session_id.0);
    let words: [u64; COMPACT_WORDS] = [
        (u64::from(key_id) << 40) | low64(sid >> 88),
        low64(sid >> 40) & M48,
        ((low64(sid) & 0xff_ffff_ffff) << 8) | low64(tag >> 120),
        low64(tag >> 72) & M48,
        low64(tag >> 24) & M48,
        (low64(tag) & 0xff_ffff) << 24,
    ];
    Ok(TokenBuf::encode(b"rtc1_", &words, COMPACT_B64_LEN))
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
    use base64ct::{Base64UrlUnpadded, Encoding};
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
    fn an_audience_refuses_tokens_of_another_audience_sharing_its_secrets() {
        let secrets = [KeyMaterial::new(1, [1; 32]), KeyMaterial::new(2, [2; 32])];
        let billing = Keyring::for_audience(&secrets, 1, b"billing.example").unwrap();
        let blog = Keyring::for_audience(&secrets, 1, b"blog.example").unwrap();
        let plain = ring();
        let sid = SessionId([3; 16]);
        let full = mint_full(&billing, &claims()).unwrap();
        let Ok(Parsed::Full(t)) = parse(full.as_bytes()) else {
            panic!("full token");
        };
        assert_eq!(t.verify(&billing).map(|c| c.counter), Ok(42));
        assert_eq!(t.verify(&blog).err(), Some(TokenError::BadTag));
        assert_eq!(t.verify(&plain).err(), Some(TokenError::BadTag));
        let compact = mint_compact(&billing, 1, &sid, 9).unwrap();
        let Ok(Parsed::Compact(c)) = parse(compact.as_bytes()) else {
            panic!("compact token");
        };
        assert_eq!(c.matches(&billing, 9), Ok(true));
        assert_eq!(c.matches(&blog, 9), Ok(false));
        assert_eq!(c.matches(&plain, 9), Ok(false));
        // The empty audience is the plain keyring: the golden vectors keep their tokens.
        let empty = Keyring::for_audience(&secrets, 1, b"").unwrap();
        assert_eq!(
            mint_full(&empty, &claims()).unwrap().as_str(),
            mint_full(&plain, &claims()).unwrap().as_str()
        );
        // An audience is bound whole: one that extends another is another key.
        let a = Keyring::for_audience(&secrets, 1, b"app").unwrap();
        let longer = Keyring::for_audience(&secrets, 1, b"app\0").unwrap();
        assert_ne!(
            mint_compact(&a, 1, &sid, 9).unwrap().as_str(),
            mint_compact(&longer, 1, &sid, 9).unwrap().as_str()
        );
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

    /// The block templates are the padding `pad_after_key` writes.
    #[test]
    fn templates_are_the_hmac_padding() {
        let mut full = [[0u8; 64]; 2];
        full[0][..4].copy_from_slice(b"rtf1");
        crate::keys::pad_after_key(&mut full, FULL_MAC_INPUT_LEN);
        assert_eq!(full, FULL_BLOCKS);
        let mut compact = [[0u8; 64]; 1];
        compact[0][..4].copy_from_slice(b"rtc1");
        crate::keys::pad_after_key(&mut compact, COMPACT_MAC_INPUT_LEN);
        assert_eq!(compact[0], COMPACT_BLOCK);
        let mut log = [0u8; 64];
        log[..19].copy_from_slice(b"rolltoken/v1/log-id");
        log[35] = 0x80;
        log[56..].copy_from_slice(&(35u64 * 8).to_be_bytes());
        assert_eq!(log, LOG_ID_BLOCK);
    }

    #[test]
    fn log_id_is_the_documented_sha256() {
        use sha2::{Digest, Sha256};
        for b in [0u8, 0xab, 0xff] {
            let sid = SessionId([b; 16]);
            let digest = Sha256::new()
                .chain_update(b"rolltoken/v1/log-id")
                .chain_update(sid.0)
                .finalize();
            assert_eq!(log_id(&sid).as_str(), hex::encode(&digest[..8]));
        }
    }

    /// The token codec agrees with `base64ct` on both forms, and every text `base64ct`
    /// refuses as a body is refused, as bad base64 (every single-character change of a body).
    #[test]
    fn bodies_agree_with_base64ct() {
        let keys = ring();
        for t in [
            mint_full(&keys, &claims()).unwrap(),
            mint_compact(&keys, 1, &SessionId([4; 16]), 77).unwrap(),
        ] {
            let text = t.as_bytes();
            let mut raw = [0u8; FULL_BODY_LEN];
            let n = Base64UrlUnpadded::decode(&text[5..], &mut raw)
                .unwrap()
                .len();
            let mut again = [0u8; MAX_TOKEN_LEN];
            let enc = Base64UrlUnpadded::encode(&raw[..n], &mut again).unwrap();
            assert_eq!(enc.as_bytes(), &text[5..]);
            for i in 5..text.len() {
                for c in 0..=255u8 {
                    let mut m = Vec::from(text);
                    m[i] = c;
                    let theirs = Base64UrlUnpadded::decode(&m[5..], &mut raw).is_ok();
                    match parse(&m) {
                        Err(TokenError::BadBase64) => assert!(!theirs, "{i} {c}"),
                        Err(TokenError::BadFlags) => assert!(theirs),
                        Err(e) => panic!("{e:?}"),
                        Ok(_) => assert!(theirs, "{i} {c}"),
                    }
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
