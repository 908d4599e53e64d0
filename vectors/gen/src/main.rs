//! Writes `vectors/rolltoken-v1.json`.

use std::path::Path;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rolltoken_vectors::OUTPUT);
    let text = rolltoken_vectors::generate();
    std::fs::write(&path, &text).unwrap();
    let shown = path.canonicalize().unwrap_or(path);
    println!("wrote {} ({} bytes)", shown.display(), text.len());
}
