//! Panic-free cursors over fixed byte layouts, shared by the token and record codecs.
//!
//! Every step is checked; the codecs call them on buffers whose size is known at compile
//! time, so the optimiser removes the checks, and nothing can index out of bounds.

/// Reads fixed-width big-endian fields from the front of a slice.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    /// The next `N` bytes, or `None` when fewer remain.
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (head, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*head)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.array::<8>().map(u64::from_be_bytes)
    }

    /// True once every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Writes fixed-width big-endian fields to the front of a slice.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Appends `bytes`; returns `None` (writing nothing) when they do not fit.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Option<()> {
        self.put(&[v])
    }

    pub(crate) fn u32(&mut self, v: u32) -> Option<()> {
        self.put(&v.to_be_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Option<()> {
        self.put(&v.to_be_bytes())
    }
}

/// Constant-time base64url (RFC 4648 §5, unpadded) on 64-bit words: 8 characters ↔ 6 bytes.
///
/// Every step is the same arithmetic (add, and, or, xor, shifts and multiplications by
/// constants) whatever the character or byte values, with no table lookup and no branch on
/// them: the cost depends on the length only. This is the guarantee `base64ct` gives (its
/// per-character range arithmetic, here on 8 characters at once, SWAR), at a third of its
/// instructions or less. Whether a text was valid is known only at the end, as with
/// `base64ct`. The codecs take the token bodies, whose lengths are fixed.
pub(crate) mod b64 {
    /// `b` in every byte lane.
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }

    /// The top bit of every byte lane.
    const HIGH: u64 = splat(0x80);

    /// Bit 7 of each lane set where the lane is `>= k`, for lanes below 128: adding `128 - k`
    /// sets bit 7 exactly then, and never carries into the next lane (`127 + 128 < 256`).
    const fn ge(lanes: u64, k: u8) -> u64 {
        lanes.wrapping_add(splat(0x80u8.wrapping_sub(k))) & HIGH
    }

    /// `k` in the lanes whose bit 7 is set in `high`, zero elsewhere (no carries: each lane
    /// of `high >> 7` is 0 or 1).
    #[inline(always)]
    fn select(high: u64, k: u8) -> u64 {
        (high >> 7).wrapping_mul(u64::from(k))
    }

    /// Decodes 8 base64url characters (the first in the lowest byte of `chars`, as
    /// `u64::from_le_bytes` loads them) into 48 bits (the first character's bits highest).
    /// The second value is non-zero iff some character is outside the alphabet.
    #[inline(always)]
    fn decode8(chars: u64) -> (u64, u64) {
        let x = chars & !HIGH;
        // The alphabet is five intervals of 7-bit values: '-', '0'..='9', 'A'..='Z', '_',
        // 'a'..='z'. Against the ten interval ends in ascending order, a lane inside an
        // interval is at or above an odd number of them: the xor of the ten nested masks.
        let g45 = ge(x, b'-');
        let g48 = ge(x, b'0');
        let g65 = ge(x, b'A');
        let g95 = ge(x, b'_');
        let g96 = ge(x, b'_' + 1);
        let inside = g45
            ^ ge(x, b'-' + 1)
            ^ g48
            ^ ge(x, b'9' + 1)
            ^ g65
            ^ ge(x, b'Z' + 1)
            ^ g95
            ^ g96
            ^ ge(x, b'a')
            ^ ge(x, b'z' + 1);
        let bad = (chars & HIGH) | (inside ^ HIGH);
        // value = char + offset (mod 256), the offset picked by the same nested masks:
        // '-' +17, digits +4, 'A'..='Z' -65, '_' -32, 'a'..='z' -71 (invalid lanes: garbage,
        // flagged in `bad`).
        let (o0, o1, o2, o3, o4) = (17u8, 4u8, 191u8, 224u8, 185u8);
        // (Lanes below '-' are invalid: they take the first offset too.)
        let offset = splat(o0)
            ^ select(g48, o0 ^ o1)
            ^ select(g65, o1 ^ o2)
            ^ select(g95, o2 ^ o3)
            ^ select(g96, o3 ^ o4);
        // Lane-wise add modulo 256 without carries (x < 128, low 7 bits of offset < 128).
        let v = x.wrapping_add(offset & !HIGH) ^ (offset & HIGH);
        // Pack: pairs of 6-bit lanes into 12 bits, pairs of those into 24, then both halves.
        let v = ((v & 0x003f_003f_003f_003f) << 6) | ((v >> 8) & 0x003f_003f_003f_003f);
        let v = ((v & 0x0000_0fff_0000_0fff) << 12) | ((v >> 16) & 0x0000_0fff_0000_0fff);
        let bits = ((v & 0x00ff_ffff) << 24) | ((v >> 32) & 0x00ff_ffff);
        (bits, bad)
    }

    /// Encodes 48 bits (the low 48 of `bits`, most significant first) as 8 base64url
    /// characters, the first in the lowest byte (`u64::to_le_bytes` order).
    #[inline(always)]
    fn encode8(bits: u64) -> u64 {
        // Spread: 24-bit halves into 32-bit lanes, 12-bit quarters into 16, 6 bits per byte.
        let v = ((bits >> 24) & 0x00ff_ffff) | ((bits & 0x00ff_ffff) << 32);
        let v = ((v >> 12) & 0x0000_0fff_0000_0fff) | ((v & 0x0000_0fff_0000_0fff) << 16);
        let v = ((v >> 6) & 0x003f_003f_003f_003f) | ((v & 0x003f_003f_003f_003f) << 8);
        // The offset from value to character, chosen by nested range masks with xor:
        // 0..=25 +65 ('A'), 26..=51 +71 ('a'), 52..=61 -4 ('0'), 62 -17 ('-'), 63 +32 ('_').
        let (a, b, c, d, e) = (65u8, 71u8, 252u8, 239u8, 32u8);
        let offset = splat(a)
            ^ select(ge(v, 26), a ^ b)
            ^ select(ge(v, 52), b ^ c)
            ^ select(ge(v, 62), c ^ d)
            ^ select(ge(v, 63), d ^ e);
        // Lane-wise add modulo 256: the low 7 bits of the offset cannot carry out of a lane
        // (63 + 127 < 256), and its top bit is added by xor.
        v.wrapping_add(offset & !HIGH) ^ (offset & HIGH)
    }

    /// Decodes unpadded base64url `text` into 48-bit words (`W = C.div_ceil(8)` of them, each
    /// holding the 6 bytes of 8 characters, first byte highest). A last group of fewer than 8
    /// characters decodes as if padded with `A` (zero bits): the bits past those the text
    /// carries come out zero exactly when the text is canonical (the unused low bits of its
    /// last character clear).
    ///
    /// The second value is zero iff every character is in the alphabet. Constant-time in the
    /// characters. Each group is one 8-byte load; a short last group is the top of the text's
    /// last 8 bytes (so no byte-wise copy).
    #[inline(always)]
    pub(crate) fn decode<const C: usize, const W: usize>(text: &[u8; C]) -> ([u64; W], u64) {
        let mut words = [0u64; W];
        let mut bad = 0;
        let mut chunks = text.chunks_exact(8);
        for (word, chunk) in words.iter_mut().zip(&mut chunks) {
            if let Ok(group) = <[u8; 8]>::try_from(chunk) {
                let (bits, b) = decode8(u64::from_le_bytes(group));
                *word = bits;
                bad |= b;
            }
        }
        let rest = chunks.remainder();
        if let (false, Some(word)) = (rest.is_empty(), words.get_mut(C / 8)) {
            let shift = 8u32.saturating_mul(u32::try_from(rest.len()).unwrap_or(0));
            let chars = match text.last_chunk::<8>() {
                // The last `rest.len()` characters are the top bytes of the last 8.
                Some(last) => u64::from_le_bytes(*last).wrapping_shr(64u32.saturating_sub(shift)),
                None => rest
                    .iter()
                    .rev()
                    .fold(0, |acc, c| (acc << 8) | u64::from(*c)),
            };
            let pad = splat(b'A').checked_shl(shift).unwrap_or(0);
            let (bits, b) = decode8(chars | pad);
            *word = bits;
            bad |= b;
        }
        (words, bad)
    }

    /// Encodes 48-bit words (6 bytes each, first byte highest; the bits past the data zero)
    /// as unpadded base64url filling `out` (at most 8 characters per word). Constant-time in
    /// the words. Each group is one 8-byte store; a short last group is stored as the last 8
    /// characters of `out`, the end of the group before it included.
    #[inline(always)]
    pub(crate) fn encode<const W: usize>(words: &[u64; W], out: &mut [u8]) {
        let len = out.len();
        let mut last = 0;
        let mut chunks = out.chunks_exact_mut(8);
        for (dst, word) in (&mut chunks).zip(words) {
            last = encode8(*word);
            dst.copy_from_slice(&last.to_le_bytes());
        }
        let rest = chunks.into_remainder().len();
        if let (false, Some(word)) = (rest == 0, words.get(len / 8)) {
            let chars = encode8(*word);
            let shift = 8u32.saturating_mul(u32::try_from(rest).unwrap_or(0));
            match len.checked_sub(8).and_then(|at| out.get_mut(at..)) {
                Some(tail) => tail.copy_from_slice(
                    &(last.wrapping_shr(shift)
                        | chars.checked_shl(64u32.saturating_sub(shift)).unwrap_or(0))
                    .to_le_bytes(),
                ),
                None => out
                    .iter_mut()
                    .zip(chars.to_le_bytes())
                    .for_each(|(d, c)| *d = c),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #![allow(
            clippy::unwrap_used,
            clippy::indexing_slicing,
            clippy::cast_possible_truncation,
            clippy::arithmetic_side_effects
        )]
        use super::*;
        use base64ct::{Base64UrlUnpadded, Encoding};

        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        #[test]
        fn every_byte_value_in_every_lane() {
            for lane in 0..8 {
                for byte in 0..=255u8 {
                    let mut chars = [b'A'; 8];
                    chars[lane] = byte;
                    let (bits, bad) = decode8(u64::from_le_bytes(chars));
                    match ALPHABET.iter().position(|&c| c == byte) {
                        Some(v) => {
                            assert_eq!(bad, 0, "{byte:#x} in lane {lane}");
                            assert_eq!(bits, (v as u64) << (42 - 6 * lane));
                            assert_eq!(encode8(bits).to_le_bytes(), chars);
                        }
                        None => assert_ne!(bad, 0, "{byte:#x} in lane {lane}"),
                    }
                }
            }
        }

        /// Bytes to 48-bit words and back, as the token codec lays them out.
        fn words<const W: usize>(bytes: &[u8]) -> [u64; W] {
            let mut w = [0u64; W];
            for (i, b) in bytes.iter().enumerate() {
                w[i / 6] |= u64::from(*b) << (40 - 8 * (i % 6));
            }
            w
        }

        fn round_trip<const C: usize, const W: usize>(bytes: &[u8]) {
            let mut want = [0u8; 112];
            let want = Base64UrlUnpadded::encode(bytes, &mut want).unwrap();
            assert_eq!(want.len(), C);
            let mut got = [0u8; 120];
            encode(&words::<W>(bytes), &mut got[..C]);
            assert_eq!(&got[..C], want.as_bytes());
            assert!(got[C..].iter().all(|&b| b == 0), "wrote past the end");
            let (back, bad) = decode::<C, W>(&<[u8; C]>::try_from(want.as_bytes()).unwrap());
            assert_eq!(bad, 0);
            assert_eq!(back, words::<W>(bytes));
        }

        #[test]
        fn agrees_with_base64ct() {
            // Deterministic pseudo-random bodies of the token lengths and a few others.
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for _ in 0..200 {
                let mut bytes = [0u8; 82];
                for b in bytes.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
                round_trip::<2, 1>(&bytes[..1]);
                round_trip::<3, 1>(&bytes[..2]);
                round_trip::<4, 1>(&bytes[..3]);
                round_trip::<8, 1>(&bytes[..6]);
                round_trip::<10, 2>(&bytes[..7]);
                round_trip::<44, 6>(&bytes[..33]);
                round_trip::<46, 6>(&bytes[..34]);
                round_trip::<110, 14>(&bytes[..82]);
            }
        }
    }
}
