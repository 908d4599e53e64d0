//! The keyring: up to [`MAX_KEYS`] secrets, one minting and all verifying, each expanded into
//! per-purpose subkeys whose HMAC inner and outer states are computed once.
//!
//! A token names its key id; a token naming an id that is not in the ring is invalid, and no
//! other key is ever tried for it. Rotation: add the new key, make it the minting key, keep the
//! old one verifying until its tokens have expired or rolled, then drop it.

use core::fmt;
use core::net::IpAddr;

use sha2::block_api::compress256;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::util::Writer;

/// Length of a key's secret in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// The most keys a keyring holds at once (one minting, the rest verifying during rotation).
pub const MAX_KEYS: usize = 4;

/// Domain-separation label for the subkey that tags tokens.
const LABEL_TOKEN: &[u8] = b"rolltoken/v1/token-tag";
/// Domain-separation label for the subkey that hashes the client binding.
const LABEL_BINDING: &[u8] = b"rolltoken/v1/binding";

/// Longest audience (see [`Keyring::for_audience`]), in bytes.
pub const MAX_AUDIENCE_LEN: usize = 64;

/// Why a keyring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// No key was given.
    Empty,
    /// More than [`MAX_KEYS`] keys were given.
    TooMany,
    /// Two keys share one key id.
    DuplicateId,
    /// The minting key id is not among the keys.
    MintingKeyMissing,
    /// A secret was not [`KEY_LEN`] bytes long.
    WrongLength,
    /// An audience was longer than [`MAX_AUDIENCE_LEN`] bytes.
    AudienceTooLong,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::Empty => "the keyring needs at least one key",
            KeyError::TooMany => "the keyring holds at most 4 keys",
            KeyError::DuplicateId => "two keys share one key id",
            KeyError::MintingKeyMissing => "the minting key id is not in the keyring",
            KeyError::WrongLength => "a key secret must be exactly 32 bytes",
            KeyError::AudienceTooLong => "an audience is at most 64 bytes",
        })
    }
}

/// One secret and its key id, as handed to [`Keyring::new`].
///
/// The secret is zeroized when this value is dropped and is never printed by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial {
    id: u8,
    secret: [u8; KEY_LEN],
}

impl KeyMaterial {
    /// A key with id `id` and the 32-byte `secret` (from a CSPRNG; see the CLI's `keygen`).
    pub const fn new(id: u8, secret: [u8; KEY_LEN]) -> Self {
        KeyMaterial { id, secret }
    }

    /// A key from a secret given as a slice.
    ///
    /// # Errors
    /// [`KeyError::WrongLength`] unless `secret` is exactly [`KEY_LEN`] bytes.
    pub fn from_slice(id: u8, secret: &[u8]) -> Result<Self, KeyError> {
        let secret: [u8; KEY_LEN] = secret.try_into().map_err(|_| KeyError::WrongLength)?;
        Ok(KeyMaterial { id, secret })
    }

    /// The key id.
    pub const fn id(&self) -> u8 {
        self.id
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// SHA-256's initial hash value (FIPS 180-4 §5.3.3).
pub(crate) const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// One SHA-256 message block.
pub(crate) type Block = [u8; 64];

/// The outer hash's block after its 32 bytes of inner hash: `0x80`, zeros, and the bit length
/// of key block and inner hash (768).
const OUTER_PADDING: Block = {
    let mut b = [0u8; 64];
    b[32] = 0x80;
    b[62] = 0x03;
    b
};

/// Pads a message of `len` bytes, already at the front of `blocks`, for HMAC's inner hash
/// (which the 64-byte key block precedes): `0x80`, zeros, and the bit length of key block and
/// message in the last 8 bytes. The caller sizes `blocks` so that `len + 9` bytes fit.
#[inline(always)]
pub(crate) fn pad_after_key<const N: usize>(blocks: &mut [Block; N], len: usize) {
    let flat = blocks.as_flattened_mut();
    if let Some(b) = flat.get_mut(len) {
        *b = 0x80;
    }
    if let Some(tail) = flat.last_chunk_mut::<8>() {
        *tail = (len as u64).wrapping_add(64).wrapping_mul(8).to_be_bytes();
    }
}

/// HMAC-SHA256 under one key, with the inner and outer hash states computed once.
///
/// Holds the two SHA-256 chaining values after the key block (`key ⊕ ipad`, `key ⊕ opad`),
/// as RFC 2104 §4 suggests, and runs a tag as SHA-256 compressions on copies of them
/// (`sha2`'s `compress256`, SHA-NI where the CPU has it): each tag costs only the
/// compressions of its message plus one for the outer hash, with no hasher object to clone,
/// buffer or drop. The keyed states are zeroized on drop; each working copy is overwritten
/// in place by the compression it feeds.
#[derive(Clone, ZeroizeOnDrop)]
pub struct PrekeyedMac {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl PrekeyedMac {
    /// Keys an HMAC-SHA256 with `key` (any length, as RFC 2104 allows: one longer than the
    /// 64-byte block is hashed first).
    pub fn new(key: &[u8]) -> Self {
        let mut k: Block = [0; 64];
        if key.len() > k.len() {
            let mut digest: [u8; 32] = Sha256::digest(key).into();
            k.iter_mut().zip(digest.iter()).for_each(|(d, s)| *d = *s);
            digest.zeroize();
        } else {
            k.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
        }
        let mut pad = k.map(|b| b ^ 0x36);
        let mut inner = SHA256_IV;
        compress256(&mut inner, core::slice::from_ref(&pad));
        pad = k.map(|b| b ^ 0x5c);
        let mut outer = SHA256_IV;
        compress256(&mut outer, core::slice::from_ref(&pad));
        k.zeroize();
        pad.zeroize();
        PrekeyedMac { inner, outer }
    }

    /// The inner hash of the concatenation of `parts` (after the key block), as its chaining
    /// value.
    #[inline]
    fn inner_hash(&self, parts: &[&[u8]]) -> [u32; 8] {
        let mut state = self.inner;
        // Two blocks are filled before they are compressed, in one call: a message of up to
        // 119 bytes (a user agent) takes one call, not one per block.
        let mut buf: [Block; 2] = [[0; 64]; 2];
        let mut pos = 0usize;
        // The key block is already in the state.
        let mut total = 64u64;
        for part in parts {
            total = total.wrapping_add(part.len() as u64);
            let mut rest: &[u8] = part;
            while let Some(room) = buf.as_flattened_mut().get_mut(pos..) {
                let take = room.len().min(rest.len());
                let (Some(dst), Some((head, tail))) =
                    (room.get_mut(..take), rest.split_at_checked(take))
                else {
                    break;
                };
                dst.copy_from_slice(head);
                rest = tail;
                pos = pos.wrapping_add(take);
                if pos < 128 {
                    break;
                }
                compress256(&mut state, &buf);
                pos = 0;
            }
        }
        // Padding: 0x80, zeros, the bit length in the last 8 bytes of the last block.
        let flat = buf.as_flattened_mut();
        let mut tail = flat.iter_mut().skip(pos);
        if let Some(b) = tail.next() {
            *b = 0x80;
        }
        tail.for_each(|b| *b = 0);
        let len = total.wrapping_mul(8).to_be_bytes();
        let [first, second] = &mut buf;
        if pos < 56 {
            if let Some(l) = first.last_chunk_mut::<8>() {
                *l = len;
            }
            compress256(&mut state, core::slice::from_ref(first));
        } else if pos < 120 {
            if let Some(l) = second.last_chunk_mut::<8>() {
                *l = len;
            }
            compress256(&mut state, &buf);
        } else {
            compress256(&mut state, &buf);
            let mut last: Block = [0; 64];
            if let Some(l) = last.last_chunk_mut::<8>() {
                *l = len;
            }
            compress256(&mut state, core::slice::from_ref(&last));
        }
        state
    }

    /// The outer hash of an inner chaining value: the MAC, as SHA-256 words.
    #[inline]
    fn outer_hash(&self, inner: &[u32; 8]) -> [u32; 8] {
        // The padding half is a constant; the hash half is the words byte-swapped as a whole
        // (the compiler does it in vector registers and stores 16 bytes at a time, the width
        // the compression loads the block with).
        let mut block = OUTER_PADDING;
        let words = inner.map(u32::to_be);
        for (dst, word) in block.chunks_exact_mut(4).zip(words) {
            dst.copy_from_slice(&word.to_ne_bytes());
        }
        let mut state = self.outer;
        compress256(&mut state, core::slice::from_ref(&block));
        state
    }

    /// The tag (leftmost 16 bytes) of a message laid out in `blocks` with its padding by
    /// [`pad_after_key`]: the inner compressions straight from the blocks, then the outer one.
    #[inline]
    pub(crate) fn tag16_padded(&self, blocks: &[Block]) -> [u8; 16] {
        truncate16(&self.outer_hash(&self.inner_padded(blocks)))
    }

    /// The inner hash of a message laid out in `blocks` with its padding by
    /// [`pad_after_key`].
    #[inline]
    fn inner_padded(&self, blocks: &[Block]) -> [u32; 8] {
        let mut inner = self.inner;
        compress256(&mut inner, blocks);
        inner
    }

    /// The full 32-byte HMAC of the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let words = self.outer_hash(&self.inner_hash(parts));
        let mut out = [0u8; 32];
        for (dst, word) in out.chunks_exact_mut(4).zip(words) {
            dst.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The HMAC truncated to its leftmost 16 bytes (128 bits, RFC 2104 §5).
    pub fn tag16(&self, parts: &[&[u8]]) -> [u8; 16] {
        truncate16(&self.outer_hash(&self.inner_hash(parts)))
    }
}

/// The first 16 bytes of a SHA-256 output given as its state words.
#[inline(always)]
fn truncate16(words: &[u32; 8]) -> [u8; 16] {
    let [a, b, c, d, ..] = *words;
    let hi = (u64::from(a) << 32) | u64::from(b);
    let lo = (u64::from(c) << 32) | u64::from(d);
    ((u128::from(hi) << 64) | u128::from(lo)).to_be_bytes()
}

impl fmt::Debug for PrekeyedMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrekeyedMac(<redacted>)")
    }
}

/// One key expanded into its per-purpose subkeys.
struct Slot {
    id: u8,
    token: PrekeyedMac,
    binding: PrekeyedMac,
}

impl Slot {
    /// The subkeys are `HMAC(secret, label)`, or `HMAC(secret, label ‖ 0x00 ‖ audience)` for a
    /// non-empty audience: no label is a prefix of another, and 0x00 ends the label, so each
    /// (purpose, audience) pair has its own subkey.
    fn derive(material: &KeyMaterial, audience: &[u8]) -> Slot {
        let root = PrekeyedMac::new(&material.secret);
        let separator: &[u8] = if audience.is_empty() { b"" } else { b"\0" };
        let mut token_key = root.mac(&[LABEL_TOKEN, separator, audience]);
        let mut binding_key = root.mac(&[LABEL_BINDING, separator, audience]);
        let slot = Slot {
            id: material.id,
            token: PrekeyedMac::new(&token_key),
            binding: PrekeyedMac::new(&binding_key),
        };
        token_key.zeroize();
        binding_key.zeroize();
        slot
    }
}

/// Up to [`MAX_KEYS`] keys: one mints new tokens, all verify.
///
/// Immutable once built; share it by reference. Secrets live only as precomputed HMAC
/// states, which are zeroized on drop; `Debug` prints key ids only.
pub struct Keyring {
    slots: [Option<Slot>; MAX_KEYS],
    minting: u8,
}

impl Keyring {
    /// Builds a keyring from `keys`; `minting_id` names the key that mints.
    ///
    /// # Errors
    /// [`KeyError::Empty`], [`KeyError::TooMany`], [`KeyError::DuplicateId`] or
    /// [`KeyError::MintingKeyMissing`].
    pub fn new(keys: &[KeyMaterial], minting_id: u8) -> Result<Keyring, KeyError> {
        Keyring::for_audience(keys, minting_id, b"")
    }

    /// Like [`new`](Self::new), for one audience: an application's name, such as
    /// `b"billing.example.com"`. Its subkeys are derived from the secrets *and* the audience,
    /// so applications that share secrets but not the audience refuse each other's tokens
    /// (`bad_tag`; OWASP ASVS 5.0 V9.2.3 and V9.2.4). The empty audience is [`new`](Self::new).
    /// The audience is not secret and not carried in tokens: both sides configure it.
    ///
    /// # Errors
    /// As [`new`](Self::new), and [`KeyError::AudienceTooLong`] past [`MAX_AUDIENCE_LEN`]
    /// bytes.
    pub fn for_audience(
        keys: &[KeyMaterial],
        minting_id: u8,
        audience: &[u8],
    ) -> Result<Keyring, KeyError> {
        if audience.len() > MAX_AUDIENCE_LEN {
            return Err(KeyError::AudienceTooLong);
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeyError::TooMany);
        }
        let mut slots: [Option<Slot>; MAX_KEYS] = [None, None, None, None];
        for (i, key) in keys.iter().enumerate() {
            if keys
                .iter()
                .skip(i.saturating_add(1))
                .any(|other| other.id == key.id)
            {
                return Err(KeyError::DuplicateId);
            }
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(Slot::derive(key, audience));
            }
        }
        if !keys.iter().any(|k| k.id == minting_id) {
            return Err(KeyError::MintingKeyMissing);
        }
        Ok(Keyring {
            slots,
            minting: minting_id,
        })
    }

    /// The id of the key that mints new tokens.
    pub const fn minting_id(&self) -> u8 {
        self.minting
    }

    /// True if the ring holds a key with this id.
    pub fn contains(&self, key_id: u8) -> bool {
        self.slot(key_id).is_some()
    }

    fn slot(&self, key_id: u8) -> Option<&Slot> {
        self.slots.iter().flatten().find(|s| s.id == key_id)
    }

    /// The token-tag subkey of `key_id`, or `None` when the ring has no such key.
    pub(crate) fn token_mac(&self, key_id: u8) -> Option<&PrekeyedMac> {
        self.slot(key_id).map(|s| &s.token)
    }

    /// The keyed binding hash of a request under the binding subkey of `key_id`, or `None`
    /// when the ring has no such key.
    pub fn binding(&self, key_id: u8, input: &BindingInput<'_>) -> Option<Binding> {
        let mac = &self.slot(key_id)?.binding;
        // The address part is one block: "ip" and the prefix, whose bytes past `len` are zero.
        let (prefix, len) = ip_prefix(input.ip);
        let mut ip_block = [[0u8; 64]; 1];
        let mut w = Writer::new(ip_block.as_flattened_mut());
        let _ = w.put(b"ip").and_then(|()| w.put(&prefix));
        pad_after_key(&mut ip_block, len.saturating_add(2));
        // Each part is the first 4 bytes of SHA-256((K ⊕ ipad) ‖ message): HMAC's inner hash,
        // truncated, without the outer one. A secret-prefix hash truncated this far is a PRF
        // (AMAC, Bellare–Bernstein–Tessaro, EUROCRYPT 2016): 224 of the 256 state bits stay
        // hidden, so no length extension. (The binding is evidence and a cache key; it gates a
        // request only under the `Require*` policies, and 32 bits per part is all it claims.)
        // This saves two of the five compressions of every request's binding.
        let [ua, ..] = mac.inner_hash(&[b"ua", input.user_agent]);
        let [ip, ..] = mac.inner_padded(&ip_block);
        Some(Binding {
            user_agent: ua.to_be_bytes(),
            ip: ip.to_be_bytes(),
        })
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids = [None; MAX_KEYS];
        for (out, slot) in ids.iter_mut().zip(self.slots.iter()) {
            *out = slot.as_ref().map(|s| s.id);
        }
        f.debug_struct("Keyring")
            .field("minting", &self.minting)
            .field("ids", &ids)
            .finish()
    }
}

/// What identifies the client for the binding hash: its user agent and its address.
#[derive(Debug, Clone, Copy)]
pub struct BindingInput<'a> {
    /// The `User-Agent` request header (empty when absent).
    pub user_agent: &'a [u8],
    /// The client address; only its prefix (/24 for IPv4, /64 for IPv6) is hashed, so that a
    /// client moving within its network keeps its binding.
    pub ip: Option<IpAddr>,
}

impl<'a> BindingInput<'a> {
    /// A binding input from a user agent and an optional address.
    pub const fn new(user_agent: &'a [u8], ip: Option<IpAddr>) -> Self {
        BindingInput { user_agent, ip }
    }
}

/// The keyed hash of a client: 4 bytes for the user agent and 4 for the address prefix.
///
/// Evidence and a cache key, never a gate by default: 32 bits per part is enough to tell two
/// clients apart in logs and to keep a copied cookie out of the cache path, and each part is
/// compared separately so that a network change (Wi-Fi to LTE) is told apart from a new
/// browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Binding {
    /// Keyed hash of the user agent.
    pub user_agent: [u8; 4],
    /// Keyed hash of the address prefix.
    pub ip: [u8; 4],
}

impl Binding {
    /// The 8-byte wire form: user agent part, then address part.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [a, b, c, d] = self.user_agent;
        let [e, f, g, h] = self.ip;
        [a, b, c, d, e, f, g, h]
    }

    /// The binding from its 8-byte wire form.
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        let [a, b, c, d, e, f, g, h] = bytes;
        Binding {
            user_agent: [a, b, c, d],
            ip: [e, f, g, h],
        }
    }

    /// Which parts of `self` match `other`.
    pub fn compare(&self, other: &Binding) -> BindingMatch {
        BindingMatch {
            user_agent: self.user_agent == other.user_agent,
            ip: self.ip == other.ip,
        }
    }
}

/// Which parts of a request's binding matched the one it was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BindingMatch {
    /// The user agent part matched.
    pub user_agent: bool,
    /// The address prefix part matched.
    pub ip: bool,
}

impl BindingMatch {
    /// Both parts matched.
    pub const fn full(&self) -> bool {
        self.user_agent && self.ip
    }

    /// The match when nothing was compared (no binding known): neither part.
    pub const NONE: BindingMatch = BindingMatch {
        user_agent: false,
        ip: false,
    };
    /// Both parts matched.
    pub const FULL: BindingMatch = BindingMatch {
        user_agent: true,
        ip: true,
    };
}

/// The hashed form of an address prefix: a family tag, then the prefix bytes.
fn ip_prefix(ip: Option<IpAddr>) -> ([u8; 9], usize) {
    let v4 = |o: [u8; 4]| {
        let [a, b, c, _] = o;
        ([4, a, b, c, 0, 0, 0, 0, 0], 4)
    };
    match ip {
        None => ([0; 9], 1),
        Some(IpAddr::V4(v)) => v4(v.octets()),
        Some(IpAddr::V6(v)) => match v.to_ipv4_mapped() {
            Some(mapped) => v4(mapped.octets()),
            None => {
                let [a, b, c, d, e, f, g, h, ..] = v.octets();
                ([6, a, b, c, d, e, f, g, h], 9)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::panic,
        clippy::expect_used,
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::cast_possible_truncation
    )]
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use hex_literal::hex;

    // RFC 4231 §4: every HMAC-SHA-256 case, through the precomputed-state path.
    #[test]
    fn rfc4231_through_prekeyed_state() {
        let key6 = [0xaau8; 131];
        let cases: [(&[u8], &[u8], &[u8]); 7] = [
            (&[0x0b; 20], b"Hi There", &hex!("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")),
            (b"Jefe", b"what do ya want for nothing?", &hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")),
            (&[0xaa; 20], &[0xdd; 50], &hex!("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")),
            (&hex!("0102030405060708090a0b0c0d0e0f10111213141516171819"), &[0xcd; 50], &hex!("82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")),
            (&[0x0c; 20], b"Test With Truncation", &hex!("a3b6167473100ee06e0c796c2955552b")),
            (&key6, b"Test Using Larger Than Block-Size Key - Hash Key First", &hex!("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")),
            (&key6, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", &hex!("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")),
        ];
        for (key, msg, want) in cases {
            let mac = PrekeyedMac::new(key);
            let got = mac.mac(&[msg]);
            assert_eq!(&got[..want.len()], want);
            // The same precomputed state used twice, and split input, give the same MAC.
            let (a, b) = msg.split_at(msg.len() / 2);
            assert_eq!(mac.mac(&[a, b]), got);
            if want.len() == 16 {
                assert_eq!(&mac.tag16(&[msg])[..], want);
            }
        }
    }

    #[test]
    fn keyring_rejects_bad_sets() {
        let k = |id| KeyMaterial::new(id, [id; 32]);
        assert_eq!(Keyring::new(&[], 1).err(), Some(KeyError::Empty));
        assert_eq!(
            Keyring::new(&[k(1), k(2), k(3), k(4), k(5)], 1).err(),
            Some(KeyError::TooMany)
        );
        assert_eq!(
            Keyring::new(&[k(1), k(1)], 1).err(),
            Some(KeyError::DuplicateId)
        );
        assert_eq!(
            Keyring::new(&[k(1), k(2)], 3).err(),
            Some(KeyError::MintingKeyMissing)
        );
        assert_eq!(
            KeyMaterial::from_slice(1, &[0; 31]).err(),
            Some(KeyError::WrongLength)
        );
        let ring = Keyring::new(&[k(1), k(2), k(3), k(4)], 3).unwrap();
        assert_eq!(ring.minting_id(), 3);
        assert!(ring.contains(4) && !ring.contains(5));
    }

    #[test]
    fn subkeys_are_separated_by_purpose_and_key() {
        let ring = Keyring::new(
            &[KeyMaterial::new(1, [1; 32]), KeyMaterial::new(2, [1; 32])],
            1,
        )
        .unwrap();
        let t1 = ring.token_mac(1).unwrap().mac(&[b"x"]);
        let t2 = ring.token_mac(2).unwrap().mac(&[b"x"]);
        // Same secret, different id: the subkey derivation ignores the id, so the tags agree;
        // the id is bound into every token's MAC input instead.
        assert_eq!(t1, t2);
        let b1 = ring.slot(1).unwrap().binding.mac(&[b"x"]);
        assert_ne!(t1, b1, "token and binding subkeys must differ");
        // The subkey is HMAC(secret, label): check it against a plain HMAC.
        let root = PrekeyedMac::new(&[1; 32]);
        let sub = root.mac(&[LABEL_TOKEN]);
        assert_eq!(PrekeyedMac::new(&sub).mac(&[b"x"]), t1);
    }

    #[test]
    fn audiences_get_their_own_subkeys() {
        let k = [KeyMaterial::new(1, [1; 32])];
        let ring = |aud: &[u8]| Keyring::for_audience(&k, 1, aud).unwrap();
        let tag = |r: &Keyring| r.token_mac(1).unwrap().mac(&[b"x"]);
        let bind = |r: &Keyring| r.slot(1).unwrap().binding.mac(&[b"x"]);
        let (app, other) = (ring(b"app"), ring(b"other"));
        assert_ne!(tag(&app), tag(&other));
        assert_ne!(bind(&app), bind(&other));
        let client = BindingInput::new(b"Mozilla/5.0", "192.0.2.1".parse().ok());
        let binding = |r: &Keyring| r.binding(1, &client).unwrap();
        assert_ne!(binding(&app).user_agent, binding(&other).user_agent);
        assert_ne!(binding(&app).ip, binding(&other).ip);
        // The empty audience and the one-byte audience 0x00 are different keys (label vs
        // label ‖ 0x00 ‖ 0x00).
        assert_ne!(tag(&ring(b"")), tag(&ring(b"\0")));
        assert_ne!(tag(&app), tag(&Keyring::new(&k, 1).unwrap()));
        assert_eq!(tag(&ring(b"")), tag(&Keyring::new(&k, 1).unwrap()));
        // The subkey is HMAC(secret, label ‖ 0x00 ‖ audience): check it against a plain HMAC.
        let sub = PrekeyedMac::new(&[1; 32]).mac(&[LABEL_TOKEN, b"\0app"]);
        assert_eq!(PrekeyedMac::new(&sub).mac(&[b"x"]), tag(&app));
        let longest = [b'a'; MAX_AUDIENCE_LEN];
        assert!(Keyring::for_audience(&k, 1, &longest).is_ok());
        assert_eq!(
            Keyring::for_audience(&k, 1, &[b'a'; MAX_AUDIENCE_LEN + 1]).err(),
            Some(KeyError::AudienceTooLong)
        );
    }

    /// The binding as documented, from `sha2` alone: each part is the first 4 bytes of
    /// SHA-256((K_b ⊕ ipad) ‖ message), K_b = HMAC(secret, "rolltoken/v1/binding"), for user
    /// agents around every padding edge (the message crosses 55/56, 119/120, 183/184 bytes
    /// after the 64-byte key block) and each address family.
    #[test]
    fn binding_is_the_truncated_inner_hash_of_the_binding_subkey() {
        extern crate std;
        use sha2::Digest;
        use std::vec::Vec;
        let secret = [0x42; 32];
        let ring = Keyring::new(&[KeyMaterial::new(5, secret)], 5).unwrap();
        let mut kb = [0u8; 64];
        kb[..32].copy_from_slice(&PrekeyedMac::new(&secret).mac(&[LABEL_BINDING]));
        let part = |message: &[u8]| -> [u8; 4] {
            let mut h = Sha256::new();
            h.update(kb.map(|b| b ^ 0x36));
            h.update(message);
            h.finalize()[..4].try_into().unwrap()
        };
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let addresses: [(Option<IpAddr>, &[u8]); 4] = [
            (None, &[0]),
            (ip("192.0.2.77"), &[4, 192, 0, 2]),
            (ip("::ffff:192.0.2.77"), &[4, 192, 0, 2]),
            (
                ip("2001:db8:1:2:3::9"),
                &[6, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2],
            ),
        ];
        for len in [
            0, 1, 52, 53, 54, 55, 56, 116, 117, 118, 119, 120, 180, 181, 182, 183, 184, 300,
        ] {
            let ua: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            for (addr, prefix) in addresses {
                let b = ring.binding(5, &BindingInput::new(&ua, addr)).unwrap();
                let mut ua_msg = Vec::from(&b"ua"[..]);
                ua_msg.extend_from_slice(&ua);
                let mut ip_msg = Vec::from(&b"ip"[..]);
                ip_msg.extend_from_slice(prefix);
                assert_eq!(b.user_agent, part(&ua_msg), "user agent of {len} bytes");
                assert_eq!(b.ip, part(&ip_msg), "{addr:?}");
            }
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        extern crate std;
        use std::format;
        let secret = [0x5a; 32];
        let m = KeyMaterial::new(9, secret);
        let ring = Keyring::new(core::slice::from_ref(&m), 9).unwrap();
        for text in [
            format!("{m:?}"),
            format!("{ring:?}"),
            format!("{:?}", ring.token_mac(9).unwrap()),
        ] {
            assert!(
                !text.contains("90") && !text.contains("5a") && !text.contains("5A"),
                "{text}"
            );
        }
        fn zeroized_on_drop<T: ZeroizeOnDrop>() {}
        zeroized_on_drop::<KeyMaterial>();
        // The inner and outer keyed states.
        zeroized_on_drop::<PrekeyedMac>();
    }

    /// The precomputed-state HMAC against the `hmac` crate, for keys and messages of every
    /// length around the block boundaries, the message cut into parts in several ways.
    #[test]
    fn agrees_with_the_hmac_crate() {
        use hmac::{Hmac, KeyInit, Mac};
        let bytes: [u8; 300] =
            core::array::from_fn(|i| (i as u8).wrapping_mul(151).wrapping_add(7));
        for key_len in [0, 1, 20, 32, 55, 63, 64, 65, 100, 131] {
            let key = &bytes[..key_len];
            let ours = PrekeyedMac::new(key);
            for msg_len in (0..=200).chain([255, 256, 300]) {
                let msg = &bytes[300 - msg_len..];
                let mut theirs = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
                theirs.update(msg);
                let want: [u8; 32] = theirs.finalize().into_bytes().into();
                assert_eq!(ours.mac(&[msg]), want, "key {key_len}, msg {msg_len}");
                let (a, rest) = msg.split_at(msg_len / 3);
                let (b, c) = rest.split_at(rest.len() / 2);
                assert_eq!(ours.mac(&[a, b, &[], c]), want);
                assert_eq!(ours.tag16(&[a, &[], b, c]), want[..16]);
            }
        }
    }

    #[test]
    fn binding_uses_prefixes_and_separate_parts() {
        let ring = Keyring::new(&[KeyMaterial::new(1, [3; 32])], 1).unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let b = |ua: &'static [u8], a| ring.binding(1, &BindingInput::new(ua, a)).unwrap();
        assert_eq!(b(b"ua", ip("192.0.2.1")), b(b"ua", ip("192.0.2.200")));
        assert_ne!(b(b"ua", ip("192.0.2.1")).ip, b(b"ua", ip("192.0.3.1")).ip);
        assert_eq!(
            b(b"ua", ip("2001:db8::1")),
            b(b"ua", ip("2001:db8::ffff:1"))
        );
        assert_ne!(
            b(b"ua", ip("2001:db8::1")).ip,
            b(b"ua", ip("2001:db8:0:1::1")).ip
        );
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped());
        assert_eq!(b(b"ua", Some(mapped)), b(b"ua", ip("192.0.2.1")));
        assert_ne!(
            b(b"ua", None).ip,
            b(b"ua", Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED))).ip
        );
        let m = b(b"a", ip("192.0.2.1")).compare(&b(b"b", ip("192.0.2.1")));
        assert_eq!(
            m,
            BindingMatch {
                user_agent: false,
                ip: true
            }
        );
        let x = b(b"a", None);
        assert_eq!(Binding::from_bytes(x.to_bytes()), x);
        assert!(ring.binding(2, &BindingInput::new(b"a", None)).is_none());
    }
}
