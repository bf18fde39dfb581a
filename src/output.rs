//! Standard output, written one way: through [`stdout`], whose writes return their
//! errors, a closed pipe (`envshim doctor | head -1`) marked as [`StdoutClosed`]. `main`
//! ends such a command quietly with status 0 (see [`crate::exit::is_stdout_closed`]);
//! any other broken pipe — a git child that died under `scan` — stays an error.

use std::io::{self, Write};

/// The reader of standard output went away: the one broken pipe that is not an error.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// True when `err` is a write to a closed standard output (from [`stdout`]).
pub fn is_closed(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.is::<StdoutClosed>())
}

/// Standard output (locked), with a closed pipe reported as [`StdoutClosed`].
pub struct Stdout(io::StdoutLock<'static>);

/// Locks standard output for writing.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

fn mark(err: io::Error) -> io::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        err
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

/// Writes one line to standard output; see [`outln!`](crate::outln).
pub fn write_line(args: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = stdout();
    out.write_fmt(args)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes bytes to standard output and flushes.
pub fn write_all(bytes: &[u8]) -> io::Result<()> {
    let mut out = stdout();
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
