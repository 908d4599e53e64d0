//! The committed vectors (the JSON and its line form) must be exactly what the generator
//! produces now.

use std::path::Path;

/// Panics with the first differing line when the committed file `name` is not `generated`.
fn check_fresh(name: &str, generated: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
            + 1;
        let file = Path::new(name).file_name().unwrap().to_string_lossy();
        panic!(
            "vectors/{file} is stale: run `cargo run -p rolltoken-vectors` \
             (first difference at line {line})"
        );
    }
}

#[test]
fn committed_vectors_are_fresh() {
    check_fresh(rolltoken_vectors::OUTPUT, &rolltoken_vectors::generate());
}

#[test]
fn committed_line_file_is_fresh() {
    let text = rolltoken_vectors::text::from_json(&rolltoken_vectors::generate());
    check_fresh(rolltoken_vectors::text::TEXT_OUTPUT, &text);
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(rolltoken_vectors::generate(), rolltoken_vectors::generate());
}
