//! The committed vectors must be exactly what the generator produces now.

use std::path::Path;

#[test]
fn committed_vectors_are_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rolltoken_vectors::OUTPUT);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = rolltoken_vectors::generate();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
            + 1;
        panic!(
            "vectors/rolltoken-v1.json is stale: run `cargo run -p rolltoken-vectors` \
             (first difference at line {line})"
        );
    }
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(rolltoken_vectors::generate(), rolltoken_vectors::generate());
}
