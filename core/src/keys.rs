//! The keyring: up to [`MAX_KEYS`] secrets, one minting and all verifying, each expanded into
//! per-purpose subkeys whose HMAC inner and outer states are computed once.
//!
//! A token names its key id; a token naming an id that is not in the ring is invalid, and no
//! other key is ever tried for it. Rotation: add the new key, make it the minting key, keep the
//! old one verifying until its tokens have expired or rolled, then drop it.

use core::fmt;
use core::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of a key's secret in bytes (256 bits).
pub const KEY_LEN: usize = 32;

/// The most keys a keyring holds at once (one minting, the rest verifying during rotation).
pub const MAX_KEYS: usize = 4;

/// Domain-separation label for the subkey that tags tokens.
const LABEL_TOKEN: &[u8] = b"rolltoken/v1/token-tag";
/// Domain-separation label for the subkey that hashes the client binding.
const LABEL_BINDING: &[u8] = b"rolltoken/v1/binding";

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
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::Empty => "the keyring needs at least one key",
            KeyError::TooMany => "the keyring holds at most 4 keys",
            KeyError::DuplicateId => "two keys share one key id",
            KeyError::MintingKeyMissing => "the minting key id is not in the keyring",
            KeyError::WrongLength => "a key secret must be exactly 32 bytes",
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

/// HMAC-SHA256 under one key, with the inner and outer hash states computed once.
///
/// Each tag costs only the SHA-256 compressions of its message plus one for the outer hash.
/// The keyed state is zeroized on drop.
#[derive(Clone)]
pub struct PrekeyedMac(Hmac<Sha256>);

impl PrekeyedMac {
    /// Keys an HMAC-SHA256 with `key` (any length, as RFC 2104 allows).
    pub fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of every length (long ones are hashed first), so this never
        // fails; the fallback keeps the function total without a panic path.
        match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
            Ok(mac) => PrekeyedMac(mac),
            Err(_) => PrekeyedMac(<Hmac<Sha256> as KeyInit>::new(&Default::default())),
        }
    }

    /// The full 32-byte HMAC of the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The HMAC truncated to its leftmost 16 bytes (128 bits, RFC 2104 §5).
    pub fn tag16(&self, parts: &[&[u8]]) -> [u8; 16] {
        let full = self.mac(parts);
        let mut out = [0u8; 16];
        if let Some(head) = full.first_chunk::<16>() {
            out = *head;
        }
        out
    }
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
    fn derive(material: &KeyMaterial) -> Slot {
        let root = PrekeyedMac::new(&material.secret);
        let mut token_key = root.mac(&[LABEL_TOKEN]);
        let mut binding_key = root.mac(&[LABEL_BINDING]);
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
                *slot = Some(Slot::derive(key));
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
        let ua = mac.tag16(&[b"ua", input.user_agent]);
        let (prefix, len) = ip_prefix(input.ip);
        let ip = mac.tag16(&[b"ip", prefix.get(..len).unwrap_or(&[])]);
        let mut out = Binding::default();
        if let (Some(u), Some(i)) = (ua.first_chunk::<4>(), ip.first_chunk::<4>()) {
            out = Binding {
                user_agent: *u,
                ip: *i,
            };
        }
        Some(out)
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
        clippy::indexing_slicing
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
        // `Hmac` holds two SHA-256 cores (the inner and outer keyed states); each zeroizes
        // itself on drop.
        zeroized_on_drop::<sha2::block_api::Sha256VarCore>();
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
