//! Writes `vectors/rolltoken-v1.json` and its line form `vectors/rolltoken-v1.txt`.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = rolltoken_vectors::generate();
    let text = rolltoken_vectors::text::from_json(&json);
    for (name, contents) in [
        (rolltoken_vectors::OUTPUT, &json),
        (rolltoken_vectors::text::TEXT_OUTPUT, &text),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let shown = path.canonicalize().unwrap_or(path);
        println!("wrote {} ({} bytes)", shown.display(), contents.len());
    }
}
