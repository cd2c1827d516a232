//! Printing to stdout that survives a closed pipe.
//!
//! `outln!` panics when stdout is a pipe whose reader has gone
//! (`funkplan releases | head -1`), because Rust ignores SIGPIPE. A command
//! whose output nobody reads any more has nothing left to do, so
//! `outln!` ends the process quietly with success, as
//! `cat` or `ls` would; any other write error ends it with a message.

use std::io::{ErrorKind, Write};

/// Writes `args` and a newline to stdout (see the module docs).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// `outln!` that ends the process quietly when stdout's reader has gone.
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
