//! Every fixed input of the vectors: keys, session ids, times, user agents and addresses.

use core::net::IpAddr;

use rolltoken::keys::{Binding, BindingInput, KeyMaterial, Keyring};
use rolltoken::token::SessionId;

/// A key as written to the file: id and secret.
#[derive(Clone, Copy)]
pub struct Key {
    pub id: u8,
    pub secret: [u8; 32],
}

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn h16(s: &str) -> [u8; 16] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Key 1: the bytes 0x00..=0x1f.
pub fn k1() -> Key {
    let mut secret = [0u8; 32];
    for (i, b) in secret.iter_mut().enumerate() {
        *b = u8::try_from(i).unwrap();
    }
    Key { id: 1, secret }
}

/// Key 2: SHA-256("rolltoken vectors key 2").
pub fn k2() -> Key {
    Key {
        id: 2,
        secret: h32("9c91fe5b7fd19e47c03cb8ccff2a1f7ce0fd28f0720c5c87f3d9665546b0b8b2"),
    }
}

/// Key 200: SHA-256("rolltoken vectors key 200").
pub fn k200() -> Key {
    Key {
        id: 200,
        secret: h32("727f80ac55861c16856df1f2257dd6c96632d0c6ccb9c52f6724ecb52359fdce"),
    }
}

/// A secret nobody's keyring holds, used to mint tokens whose tags do not verify.
pub fn wrong_secret() -> [u8; 32] {
    h32("c7526eb327b76cfb809cde2cdf7a65c528453859831dca164955ac284c639549")
}

/// Builds a keyring.
pub fn ring(keys: &[Key], minting: u8) -> Keyring {
    let material: Vec<KeyMaterial> = keys
        .iter()
        .map(|k| KeyMaterial::new(k.id, k.secret))
        .collect();
    Keyring::new(&material, minting).unwrap()
}

/// Session ids: the first 16 bytes of SHA-256("sid0"), ..., SHA-256("sid7").
pub fn sid(n: usize) -> SessionId {
    const SIDS: [&str; 8] = [
        "75d3f2e2a6378f15753f21c1ab173aed",
        "53453a19cbc7f60351e13709237b6025",
        "f32268ac341782cac7c891188e15ad5f",
        "d22216392e2a4541480cf4c00bf0ff4c",
        "736612b9c86034d01e8e949d1863ba26",
        "913a8b22f2fc52cf84d7f5e56862e6e4",
        "88a80c53174884846533bdfd089755f0",
        "06acdefc2c380277c70dd64a83e9e59c",
    ];
    SessionId(h16(SIDS[n]))
}

/// The start of every story: 2023-11-14T22:13:20Z.
pub const T0: u64 = 1_700_000_000_000;
/// When the engine sequences' initial records last advanced (ten minutes in).
pub const T1: u64 = T0 + 600_000;

pub const UA_A: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
pub const UA_B: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
pub const UA_CURL: &str = "curl/8.5.0";

pub const IP_A: &str = "198.51.100.23";
/// Same /24 as [`IP_A`].
pub const IP_A2: &str = "198.51.100.201";
pub const IP_B: &str = "203.0.113.7";
pub const IP6_A: &str = "2001:db8:1:2::42";
/// Same /64 as [`IP6_A`].
pub const IP6_A2: &str = "2001:db8:1:2:ffff:ffff:ffff:1";
pub const IP6_B: &str = "2001:db8:1:3::42";
/// [`IP_A`] as an IPv4-mapped IPv6 address.
pub const IP_A_MAPPED: &str = "::ffff:198.51.100.23";

pub fn ip(s: Option<&str>) -> Option<IpAddr> {
    s.map(|s| s.parse().unwrap())
}

/// The binding hash of (`ua`, `addr`) under `key_id`.
pub fn binding(keys: &Keyring, key_id: u8, ua: &str, addr: Option<&str>) -> Binding {
    keys.binding(key_id, &BindingInput::new(ua.as_bytes(), ip(addr)))
        .unwrap()
}
