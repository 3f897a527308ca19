//! Writes `python/rustybt_live/_types_generated.py` from the Rust wire types
//! ([`rustybt_api::python::render`]); the crate's tests fail until it is rerun after a change.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../python/rustybt_live/_types_generated.py");
    std::fs::write(&path, rustybt_api::python::render())?;
    println!("wrote {}", path.display());
    Ok(())
}
