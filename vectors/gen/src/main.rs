//! Writes `vectors/rolltoken-v1.json` and its line form `vectors/rolltoken-v1.txt`, and the
//! external HMAC vectors `vectors/hmac-sha256-external.json` and `.txt`.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = rolltoken_vectors::generate();
    let text = rolltoken_vectors::text::from_json(&json);
    let external = rolltoken_vectors::external::generate();
    let external_text = rolltoken_vectors::external::text(&external);
    for (name, contents) in [
        (rolltoken_vectors::OUTPUT, &json),
        (rolltoken_vectors::text::TEXT_OUTPUT, &text),
        (rolltoken_vectors::external::OUTPUT, &external),
        (rolltoken_vectors::external::TEXT_OUTPUT, &external_text),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let shown = path.canonicalize().unwrap_or(path);
        println!("wrote {} ({} bytes)", shown.display(), contents.len());
    }
}
