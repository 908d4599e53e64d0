//! Runs one operation N times after its setup, for `benches/icount.sh`, which counts the
//! instructions under `valgrind --tool=callgrind` for two values of N and divides the
//! difference by the difference of N: setup, process start and exit cancel out.
//!
//! Usage: `icount OP N` with OP one of `verify_compact`, `verify_full`, `advance_memory`.
#![allow(clippy::panic, clippy::expect_used)]

use core::hint::black_box;
use std::process::ExitCode;

use rolltoken::policy::Policy;
use rolltoken_benches as fx;

/// The operations the guard counts.
const OPS: [&str; 3] = ["verify_compact", "verify_full", "advance_memory"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(op), Some(n)) = (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok())) else {
        eprintln!("usage: icount {{{}}} N", OPS.join("|"));
        return ExitCode::from(2);
    };
    let keys = fx::keyring();
    let ok = match op.as_str() {
        "verify_compact" => {
            let t = fx::compact_token(&keys);
            (0..n).all(|_| {
                fx::verify_compact(
                    black_box(&keys),
                    black_box(t.as_bytes()),
                    black_box(fx::COMPACT_COUNTER),
                )
            })
        }
        "verify_full" => {
            let t = fx::full_token(&keys);
            (0..n).all(|_| fx::verify_full(black_box(&keys), black_box(t.as_bytes())))
        }
        "advance_memory" => {
            let (mut sessions, first) = fx::sessions(&keys, Policy::default());
            let mut chain = fx::chain(&mut sessions, first, 2);
            let client = fx::client();
            (0..n).all(|_| chain.advance(black_box(&mut sessions), black_box(&client)))
        }
        other => {
            eprintln!(
                "icount: unknown operation {other:?}; one of {}",
                OPS.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    if !ok {
        eprintln!("icount: {op} failed (a count of a failing operation is worthless)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
