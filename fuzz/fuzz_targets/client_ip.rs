//! Client address text (`addr::parse_ip`), as every binding hands it to the core from a
//! request (the C ABI's `ip` argument, the Python middleware's peer or forwarded address).
//!
//! Input: the address text, byte for byte.
//!
//! Checks: never panics; accepts exactly what `str::parse::<IpAddr>` accepts, with the same
//! address (its dotted-quad fast path must neither widen nor narrow the standard grammar).
#![no_main]

use core::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use rolltoken::addr::parse_ip;

fuzz_target!(|data: &[u8]| {
    let reference = core::str::from_utf8(data)
        .ok()
        .and_then(|t| t.parse::<IpAddr>().ok());
    assert_eq!(
        parse_ip(data),
        reference,
        "{:?}",
        String::from_utf8_lossy(data)
    );
});
