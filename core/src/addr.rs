//! Client addresses as text, the way requests carry them (a peer address, a forwarded-for
//! entry): one parser for every binding.
//!
//! [`parse_ip`] accepts exactly the strings `str::parse::<IpAddr>` accepts, with the same
//! result, but is the core's own code: it never panics (the standard parser has panic paths
//! that the no-panic canary cannot rule out). Speed is not the reason: beside the standard
//! parser in the same criterion group (`components/addr_parse_ip_*` vs
//! `components/std_str_parse_ip_*` in benches/benches/rolltoken.rs) it measured 26–28 ns vs
//! 29–33 ns for IPv4 text and 77 ns vs 175 ns for IPv6. The grammar is the standard
//! parser's, step for step: IPv4 `a.b.c.d` with each part `0` or 1–3 digits without a leading zero and at most 255; IPv6 as up to 8 groups of
//! 1–4 hex digits, at most one `::` standing for one or more zero groups, and optionally an
//! embedded IPv4 address in the last two groups; no zone id, no brackets, no port.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses an IPv4 or IPv6 address from its text; `None` for anything else.
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(text) {
        return Some(IpAddr::V4(v4));
    }
    let mut p = Cursor(text);
    let v6 = p.ipv6()?;
    p.0.is_empty().then_some(IpAddr::V6(v6))
}

/// A whole text as dotted-quad IPv4, in one pass: the octet being read, its value and digit
/// count; a `.` closes an octet.
fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let (mut index, mut value, mut digits) = (0usize, 0u16, 0u8);
    for &byte in text {
        if byte == b'.' {
            *octets.get_mut(index)? = u8::try_from(value).ok().filter(|_| digits > 0)?;
            (index, value, digits) = (index.wrapping_add(1), 0, 0);
        } else if byte.is_ascii_digit() && digits < 3 && !(digits == 1 && value == 0) {
            // At most three digits, no leading zero: the value stays below 1000.
            value = value.wrapping_mul(10).wrapping_add(u16::from(byte & 0x0f));
            digits = digits.wrapping_add(1);
        } else {
            return None;
        }
    }
    if index != 3 || digits == 0 {
        return None;
    }
    *octets.get_mut(3)? = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
}

/// The value of `c` as a digit of `radix` (10 or 16), written out rather than
/// `char::to_digit`, which asserts on its radix: no panic path, whatever the optimiser keeps.
fn digit(c: u8, radix: u32) -> Option<u32> {
    let d = match c {
        b'0'..=b'9' => c.wrapping_sub(b'0'),
        b'a'..=b'f' => c.wrapping_sub(b'a').wrapping_add(10),
        b'A'..=b'F' => c.wrapping_sub(b'A').wrapping_add(10),
        _ => return None,
    };
    let d = u32::from(d);
    (d < radix).then_some(d)
}

/// The unread rest of the text. Each reader either consumes what it returns or leaves the
/// cursor where it was (it works on a copy and commits on success).
#[derive(Clone, Copy)]
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Consumes `c` if it comes next.
    fn char(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// 1 to `max_digits` digits of `radix` (10 or 16) as a number below `limit`; with
    /// `zero_prefix` false, more than one digit may not start with `0`.
    fn number(
        &mut self,
        radix: u32,
        max_digits: usize,
        zero_prefix: bool,
        limit: u32,
    ) -> Option<u32> {
        let mut p = *self;
        let mut value = 0u32;
        let mut digits = 0usize;
        while let Some(d) = p.0.first().and_then(|&c| digit(c, radix)) {
            p.0 = p.0.get(1..)?;
            digits = digits.wrapping_add(1);
            if digits > max_digits {
                return None;
            }
            // At most 4 digits of radix 16: below 2^16, no overflow.
            value = value.wrapping_mul(radix).wrapping_add(d);
        }
        let leading_zero = self.0.first() == Some(&b'0') && digits > 1;
        if digits == 0 || (leading_zero && !zero_prefix) || value >= limit {
            return None;
        }
        *self = p;
        Some(value)
    }

    /// `sep` before every item but the first, then the item; all or nothing.
    fn separated<T>(
        &mut self,
        sep: u8,
        index: usize,
        item: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        let mut p = *self;
        if index > 0 {
            p.char(sep)?;
        }
        let value = item(&mut p)?;
        *self = p;
        Some(value)
    }

    /// Dotted-quad IPv4 at the cursor (embedded in IPv6).
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        let mut p = *self;
        let mut octets = [0u8; 4];
        for (i, slot) in octets.iter_mut().enumerate() {
            let n = p.separated(b'.', i, |p| p.number(10, 3, false, 256))?;
            *slot = u8::try_from(n).ok()?;
        }
        *self = p;
        Some(Ipv4Addr::from(octets))
    }

    /// Up to `groups.len()` `:`-separated groups; an IPv4 address may stand for the last two
    /// when at least two are left. Returns how many groups were filled and whether the last
    /// two came from an IPv4 address.
    fn groups(&mut self, groups: &mut [u16]) -> (usize, bool) {
        let limit = groups.len();
        for i in 0..limit {
            if i.wrapping_add(1) < limit
                && let Some(v4) = self.separated(b':', i, Cursor::ipv4)
            {
                let [a, b, c, d] = v4.octets();
                if let Some([hi, lo]) = groups.get_mut(i..i.wrapping_add(2)) {
                    *hi = u16::from_be_bytes([a, b]);
                    *lo = u16::from_be_bytes([c, d]);
                }
                return (i.wrapping_add(2), true);
            }
            match self.separated(b':', i, |p| p.number(16, 4, true, 0x1_0000)) {
                Some(g) => {
                    if let Some(slot) = groups.get_mut(i) {
                        *slot = u16::try_from(g).unwrap_or(0);
                    }
                }
                None => return (i, false),
            }
        }
        (limit, false)
    }

    /// IPv6 at the cursor: the groups before `::` (all 8 when there is none), then the rest.
    fn ipv6(&mut self) -> Option<Ipv6Addr> {
        let mut p = *self;
        let mut head = [0u16; 8];
        let (head_len, head_v4) = p.groups(&mut head);
        if head_len == 8 {
            *self = p;
            return Some(Ipv6Addr::from(head));
        }
        // An IPv4 part must be last; it cannot come before `::`.
        if head_v4 {
            return None;
        }
        p.char(b':')?;
        p.char(b':')?;
        // `::` stands for at least one zero group: at most 7 - head_len groups after it.
        let mut tail = [0u16; 7];
        let room = 7usize.checked_sub(head_len)?;
        let (tail_len, _) = p.groups(tail.get_mut(..room)?);
        let start = 8usize.checked_sub(tail_len)?;
        head.get_mut(start..)?
            .copy_from_slice(tail.get(..tail_len)?);
        *self = p;
        Some(Ipv6Addr::from(head))
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
    extern crate std;
    use std::string::String;
    use std::vec::Vec;

    fn std_parse(t: &[u8]) -> Option<IpAddr> {
        core::str::from_utf8(t).ok()?.parse().ok()
    }

    fn check(case: &[u8]) {
        assert_eq!(
            parse_ip(case),
            std_parse(case),
            "{:?}",
            String::from_utf8_lossy(case)
        );
    }

    #[test]
    fn named_cases_agree_with_the_standard_parser() {
        for case in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.1",
            "1.2.3.04",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            " 1.2.3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "999.1.1.1",
            "100.200.250.199",
            "1.2.3.4\0",
            "",
            ".",
            "...",
            "١.2.3.4",
            "0x1.2.3.4",
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:DB8:0:0:8:800:200C:417A",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::8",
            "1:2:3:4:5:6:7",
            ":::",
            "1:::2",
            "1::2::3",
            ":1::2",
            "1::2:",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "1.2.3.4:1::",
            "::1.2.3.4:1",
            "::01.2.3.4",
            "::1.2.3",
            "::256.1.1.1",
            "fe80::1%eth0",
            "[::1]",
            "1.2.3.4:80",
            "12345::",
            "0000:0000::",
            "00000::",
            "g::",
            "::fFfF",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "::0:1.2.3.4",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
        ] {
            check(case.as_bytes());
        }
        check(&[0xff, b':', b':']);
        assert_eq!(
            parse_ip(b"192.0.2.1"),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
    }

    #[test]
    fn every_octet_value_in_every_position_agrees() {
        for v in 0..=1000u32 {
            for pos in 0..4 {
                let mut parts = [String::from("7"), "0".into(), "255".into(), "10".into()];
                for text in [std::format!("{v}"), std::format!("0{v}")] {
                    parts[pos] = text;
                    check(parts.join(".").as_bytes());
                    check(std::format!("::ffff:{}", parts.join(".")).as_bytes());
                }
            }
        }
    }

    #[test]
    fn random_strings_agree_with_the_standard_parser() {
        // Short strings over the characters that matter, biased towards valid shapes.
        let alphabets: [&[u8]; 3] = [
            b"0123456789.:",
            b"0123456789abcdefABCDEF::::.",
            b"019fF:.%[] g",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..600_000 {
            let alphabet = alphabets[round % 3];
            let len = (next() % 40) as usize;
            let s: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            check(&s);
        }
        // Real addresses, then one character changed, dropped or doubled.
        for _ in 0..100_000 {
            let words: Vec<u16> = (0..8)
                .map(|_| next() as u16 & [0xffff, 0x00ff, 0][(next() % 3) as usize])
                .collect();
            let v6 = Ipv6Addr::new(
                words[0], words[1], words[2], words[3], words[4], words[5], words[6], words[7],
            );
            let mut s = std::format!("{v6}").into_bytes();
            check(&s);
            let i = (next() as usize) % s.len();
            match next() % 3 {
                0 => s[i] = b"0123456789abcdef:."[(next() % 18) as usize],
                1 => {
                    s.remove(i);
                }
                _ => s.insert(i, s[i]),
            }
            check(&s);
        }
    }
}
