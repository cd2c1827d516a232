//! Rebuild when a migration or seed file changes: `embed_migrations!` and
//! `include_str!` embed them at compile time, and cargo does not otherwise
//! notice a new file in those directories.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=../../seeds");
}
