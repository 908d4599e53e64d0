//! The floor both bench files measure in every group: a clone of a keyed `Hmac<Sha256>`
//! (`hmac` 0.13, `sha2` 0.11) + `update` + `finalize` over the compact tag's 29-byte MAC input
//! (`"rtc1" ‖ key id ‖ session id ‖ counter`): two SHA-256 compressions.

use core::hint::black_box;

use hmac::{Hmac, KeyInit, Mac};
use rolltoken_benches as fx;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub struct Floor {
    mac: HmacSha256,
    msg: [u8; 29],
}

impl Floor {
    pub fn new() -> Floor {
        let floor = Floor {
            mac: <HmacSha256 as KeyInit>::new_from_slice(&fx::SECRET).expect("any key length"),
            msg: fx::compact_mac_input(),
        };
        assert_eq!(floor.msg.len(), 29);
        floor
    }
}

#[inline(never)]
pub fn floor_hmac(f: &Floor) -> [u8; 32] {
    let mut m = f.mac.clone();
    m.update(&f.msg);
    m.finalize().into_bytes().into()
}

pub fn bench_floor(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let f = Floor::new();
    g.bench_function("floor_hmac_29B", |b| b.iter(|| floor_hmac(black_box(&f))));
}
