//! Helpers for the end-to-end tests: find the built binary, run it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `funkplan` binary under test: `$FUNKPLAN_BIN` (set by scripts/test),
/// else the debug build next to this crate.
#[must_use]
pub fn bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FUNKPLAN_BIN") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/funkplan")
}

/// Run `funkplan` with `args`, `DATABASE_URL` unset unless given in `env`.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.args(args).env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap_or_else(|e| panic!("running {}: {e}", bin().display()))
}

/// Stdout and stderr as strings.
#[must_use]
pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}
