//! Fixtures shared by the two constant-time tests (`dudect` and `taint`): one keyring, pools of
//! valid tokens and of the same tokens with one tag byte changed, the verify paths under test
//! (exactly what the C ABI's `rt_token_verify` does: parse, then MAC and compare), and the
//! deliberately leaky controls.
//!
//! Only the core's public API is used, so these tests follow whatever the core does inside.
//! The one layout fact relied on is the documented one: the tag is the last [`TAG_LEN`] bytes of
//! the decoded token body.

use core::hint::black_box;

use base64ct::{Base64UrlUnpadded, Encoding};
use rolltoken::keys::{Binding, KeyMaterial, Keyring};
use rolltoken::token::{
    self, Claims, Form, MAX_TOKEN_LEN, PREFIX_LEN, Parsed, SessionId, Subject, TAG_LEN, TokenError,
};

/// The key id of the fixture keyring (public: it names the key, it is not secret).
pub const KEY_ID: u8 = 0x2a;

/// The fixture's 32-byte secret. The tests taint a copy of it; its value does not matter.
pub const SECRET: [u8; 32] = *b"rolltoken constant-time fixture!";

/// How many distinct sessions a pool holds by default. Both classes of a dudect test draw from
/// pools of this size with the same index distribution, so they touch the same amount of memory.
pub const POOL: usize = 1024;

/// The pool size: `CT_POOL` from the environment (a power of two), else [`POOL`].
pub fn pool_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("CT_POOL")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| n.is_power_of_two())
            .unwrap_or(POOL)
    })
}

/// Longest decoded token body.
const MAX_BODY: usize = MAX_TOKEN_LEN;

/// A keyring holding the fixture key (built from `secret`, normally [`SECRET`]).
pub fn keyring_from(secret: [u8; 32]) -> Keyring {
    match Keyring::new(&[KeyMaterial::new(KEY_ID, secret)], KEY_ID) {
        Ok(k) => k,
        Err(e) => fail(&format!("fixture keyring: {e}")),
    }
}

/// The fixture keyring.
pub fn keyring() -> Keyring {
    keyring_from(SECRET)
}

/// Prints `msg` and exits with status 2 (a broken fixture, not a constant-time finding).
pub fn fail(msg: &str) -> ! {
    eprintln!("ct fixture: {msg}");
    std::process::exit(2)
}

/// SplitMix64: a small deterministic generator for fixture data (not for secrets).
#[derive(Debug, Clone)]
pub struct Gen(pub u64);

impl Gen {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }

    /// A random byte other than 0 (an XOR mask that always changes the byte).
    pub fn nonzero_byte(&mut self) -> u8 {
        loop {
            let b = self.next_u64() as u8;
            if b != 0 {
                return b;
            }
        }
    }
}

/// Random claims for a full token under the fixture key.
pub fn random_claims(g: &mut Gen) -> Claims {
    let now = 1_700_000_000_000 + (g.next_u64() % 1_000_000_000);
    Claims {
        key_id: KEY_ID,
        session_id: SessionId(g.bytes()),
        counter: g.next_u64() >> 2,
        issued_at: now,
        expires_at: now + 43_200_000,
        subject: Subject(g.bytes()),
        binding: Binding::from_bytes(g.bytes()),
        authenticated: g.next_u64() & 1 == 1,
    }
}

/// A valid token text of `form` (and the counter a store would hold for it).
pub fn mint(keys: &Keyring, form: Form, g: &mut Gen) -> (Vec<u8>, u64) {
    let made = match form {
        Form::Compact => {
            let counter = g.next_u64() >> 2;
            token::mint_compact(keys, KEY_ID, &SessionId(g.bytes()), counter).map(|t| (t, counter))
        }
        Form::Full => {
            let claims = random_claims(g);
            token::mint_full(keys, &claims).map(|t| (t, claims.counter))
        }
    };
    match made {
        Ok((t, counter)) => (t.as_bytes().to_vec(), counter),
        Err(e) => fail(&format!("mint {form:?}: {e}")),
    }
}

/// The decoded body of a token text (prefix stripped) and its length.
pub fn decode_body(text: &[u8]) -> ([u8; MAX_BODY], usize) {
    let mut body = [0u8; MAX_BODY];
    let len = match text
        .get(PREFIX_LEN..)
        .map(|b| Base64UrlUnpadded::decode(b, &mut body))
    {
        Some(Ok(raw)) => raw.len(),
        _ => fail("token text is not prefix + base64url"),
    };
    (body, len)
}

/// The tag carried by a token text: the last [`TAG_LEN`] bytes of its decoded body.
pub fn tag_of(text: &[u8]) -> [u8; TAG_LEN] {
    let (body, len) = decode_body(text);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&body[len - TAG_LEN..len]);
    tag
}

/// The same token with byte `pos` of its tag XORed with `mask` (non-zero), re-encoded as
/// canonical base64url, so that it parses and fails only at the tag check.
pub fn with_tag_byte_changed(text: &[u8], pos: usize, mask: u8) -> Vec<u8> {
    assert!(pos < TAG_LEN && mask != 0);
    let (mut body, len) = decode_body(text);
    body[len - TAG_LEN + pos] ^= mask;
    let mut out = text[..PREFIX_LEN].to_vec();
    let mut enc = [0u8; MAX_TOKEN_LEN];
    match Base64UrlUnpadded::encode(&body[..len], &mut enc) {
        Ok(s) => out.extend_from_slice(s.as_bytes()),
        Err(_) => fail("re-encode"),
    }
    if out.len() != text.len() {
        fail("re-encoded token changed length");
    }
    out
}

/// [`POOL`] token texts of one length in one contiguous buffer, with the counter of each.
#[derive(Debug, Clone)]
pub struct Pool {
    bytes: Vec<u8>,
    len: usize,
    counters: Vec<u64>,
}

impl Pool {
    /// [`POOL`] valid tokens of `form`, each of its own random session.
    pub fn valid(keys: &Keyring, form: Form, g: &mut Gen) -> Pool {
        let mut bytes = Vec::new();
        let mut counters = Vec::with_capacity(pool_size());
        let mut len = 0;
        for _ in 0..pool_size() {
            let (t, c) = mint(keys, form, g);
            len = t.len();
            bytes.extend_from_slice(&t);
            counters.push(c);
        }
        Pool {
            bytes,
            len,
            counters,
        }
    }

    /// The same tokens with tag byte `pos` changed (a fresh random non-zero XOR per token).
    pub fn tag_byte_changed(&self, pos: usize, g: &mut Gen) -> Pool {
        let mut bytes = Vec::with_capacity(self.bytes.len());
        for j in 0..pool_size() {
            bytes.extend_from_slice(&with_tag_byte_changed(self.text(j), pos, g.nonzero_byte()));
        }
        Pool {
            bytes,
            len: self.len,
            counters: self.counters.clone(),
        }
    }

    /// Token `j`'s text.
    pub fn text(&self, j: usize) -> &[u8] {
        &self.bytes[j * self.len..(j + 1) * self.len]
    }

    /// The store's counter for token `j`.
    pub fn counter(&self, j: usize) -> u64 {
        self.counters[j]
    }
}

/// Verify of a compact token, as a server does it: parse, then check the tag against the
/// store's counter (`Ok(true)`: accepted).
///
/// # Errors
/// The parse errors, [`TokenError::UnknownKey`]; a full token is refused with `WrongPrefix`.
#[inline(never)]
pub fn verify_compact(keys: &Keyring, text: &[u8], counter: u64) -> Result<bool, TokenError> {
    match token::parse(text)? {
        Parsed::Compact(t) => t.matches(keys, counter),
        Parsed::Full(_) => Err(TokenError::WrongPrefix),
    }
}

/// Verify of a full token: parse, then check the tag (`Ok(claims)`: accepted).
///
/// # Errors
/// The parse errors, [`TokenError::UnknownKey`], [`TokenError::BadTag`]; a compact token is
/// refused with `WrongPrefix`.
#[inline(never)]
pub fn verify_full(keys: &Keyring, text: &[u8]) -> Result<Claims, TokenError> {
    match token::parse(text)? {
        Parsed::Full(t) => t.verify(keys),
        Parsed::Compact(_) => Err(TokenError::WrongPrefix),
    }
}

/// CONTROL (deliberately leaky): byte-wise compare that returns at the first difference.
///
/// `black_box` on every byte keeps LLVM from turning the loop into a branch-free vector compare
/// (it does that to a plain early-exit loop over 16 bytes), and `inline(never)` keeps it one
/// function whose branches both tests see. The tests check that it *does* leak: dudect must
/// measure |t| far above the threshold and memcheck must report errors on it.
#[inline(never)]
pub fn leaky_eq(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    for (x, y) in a.iter().zip(b.iter()) {
        if black_box(*x) != black_box(*y) {
            return false;
        }
    }
    true
}

/// CONTROL (deliberately leaky): compact verify of the same shape and cost as the real one
/// (parse, HMAC under the fixture key through the public minting path), but with the tags
/// compared by [`leaky_eq`].
#[inline(never)]
pub fn leaky_verify_compact(keys: &Keyring, text: &[u8], counter: u64) -> bool {
    let Ok(Parsed::Compact(t)) = token::parse(text) else {
        return false;
    };
    let Ok(want) = token::mint_compact(keys, t.key_id(), &t.session_id(), counter) else {
        return false;
    };
    leaky_eq(&tag_of(want.as_bytes()), &tag_of(text))
}
