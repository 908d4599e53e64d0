//! Helpers shared by the fuzz targets: a byte reader that never fails (it pads with zeros),
//! the fixed keyrings, and small reference implementations written from the documentation
//! (not from the core's code) that the targets compare the core against.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use rolltoken::keys::{KeyMaterial, Keyring};

/// Reads fuzz bytes front to back; past the end every read returns zeros, so any input,
/// however short, decodes to something.
pub struct Src<'a> {
    data: &'a [u8],
}

impl<'a> Src<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Src { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 == 1
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *b = self.u8();
        }
        out
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length-prefixed byte string (one length byte, at most `max`).
    pub fn short_bytes(&mut self, max: usize) -> &'a [u8] {
        let n = usize::from(self.u8()) % (max + 1);
        self.bytes(n)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
}

/// The keyring of the golden vectors' token groups (ids 1, 2 and 200; 1 mints), so that the
/// seed tokens taken from `vectors/rolltoken-v1.json` verify.
pub const VECTOR_KEYS: [(u8, [u8; 32]); 3] = [
    (
        1,
        [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
            0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
            0x1c, 0x1d, 0x1e, 0x1f,
        ],
    ),
    (
        2,
        [
            0x9c, 0x91, 0xfe, 0x5b, 0x7f, 0xd1, 0x9e, 0x47, 0xc0, 0x3c, 0xb8, 0xcc, 0xff, 0x2a,
            0x1f, 0x7c, 0xe0, 0xfd, 0x28, 0xf0, 0x72, 0x0c, 0x5c, 0x87, 0xf3, 0xd9, 0x66, 0x55,
            0x46, 0xb0, 0xb8, 0xb2,
        ],
    ),
    (
        200,
        [
            0x72, 0x7f, 0x80, 0xac, 0x55, 0x86, 0x1c, 0x16, 0x85, 0x6d, 0xf1, 0xf2, 0x25, 0x7d,
            0xd6, 0xc9, 0x66, 0x32, 0xd0, 0xc6, 0xcc, 0xb9, 0xc5, 0x2f, 0x67, 0x24, 0xec, 0xb5,
            0x23, 0x59, 0xfd, 0xce,
        ],
    ),
];

/// The vectors' keyring (ids 1, 2, 200; minting 1).
pub fn vector_keyring() -> Keyring {
    let keys: Vec<KeyMaterial> = VECTOR_KEYS
        .iter()
        .map(|(id, s)| KeyMaterial::new(*id, *s))
        .collect();
    Keyring::new(&keys, 1).unwrap()
}

/// The same key ids with other secrets: an attacker's (or another deployment's) keyring.
pub fn foreign_keyring() -> Keyring {
    let keys: Vec<KeyMaterial> = VECTOR_KEYS
        .iter()
        .map(|(id, s)| {
            let mut s = *s;
            s[0] ^= 0x80;
            KeyMaterial::new(*id, s)
        })
        .collect();
    Keyring::new(&keys, 1).unwrap()
}

/// Canonical unpadded base64url decoding, written from RFC 4648 §5: the alphabet
/// `A-Z a-z 0-9 - _`, no padding, no whitespace, a length that is not 1 mod 4, and the unused
/// low bits of the last character zero. `None` for anything else.
pub fn b64url_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        })
    }
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | val(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            3 => {
                if acc & 0b11 != 0 {
                    return None;
                }
                let v = acc >> 2;
                out.push((v >> 8) as u8);
                out.push(v as u8);
            }
            2 => {
                if acc & 0b1111 != 0 {
                    return None;
                }
                out.push((acc >> 4) as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// RFC 6265 / RFC 9110 `token`: visible ASCII except the separators.
pub fn is_token_char(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"()<>@,;:\\\"/[]?={}".contains(&b)
}

/// RFC 6265 `cookie-octet`: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
pub fn is_cookie_octet(b: u8) -> bool {
    b == 0x21
        || (0x23..=0x2b).contains(&b)
        || (0x2d..=0x3a).contains(&b)
        || (0x3c..=0x5b).contains(&b)
        || (0x5d..=0x7e).contains(&b)
}

/// A valid cookie name as the core documents it: 1..=64 token characters.
pub fn is_valid_cookie_name(name: &[u8]) -> bool {
    !name.is_empty() && name.len() <= 64 && name.iter().all(|&b| is_token_char(b))
}

/// Prints a value as the Rust literal a reproducer needs.
pub fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}
