//! Standard output, written one way: every write returns its error, so a closed pipe
//! (`envshim doctor | head -1`) ends the command quietly with status 0 in `main`
//! (see [`crate::exit::is_broken_pipe`]) instead of a panic or an "internal error".

use std::io::Write;

/// Writes one line to standard output; see [`outln!`](crate::outln).
pub fn write_line(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes bytes to standard output and flushes.
pub fn write_all(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// `println!` that returns the write's `io::Result` instead of panicking.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
