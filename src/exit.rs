//! Exit codes: one enum, one place that maps an error to a status (DESIGN §3).

use std::fmt;
use std::process::ExitCode;

/// The exit statuses envshim itself chooses. `exec` otherwise ends with the command's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Success,
    /// A check found problems (scan findings, doctor problems).
    Problems,
    /// Usage error or bad input: malformed file, wrong key, tampered ciphertext, bad path.
    BadInput,
    /// `exec`: the command exists but cannot be executed (shell convention).
    CannotExecute,
    /// `exec`: the command was not found (shell convention).
    CommandNotFound,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Problems => 1,
            Exit::BadInput => 2,
            Exit::CannotExecute => 126,
            Exit::CommandNotFound => 127,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that ends envshim with a specific status rather than the default `2`.
#[derive(Debug)]
pub struct ExitError {
    /// The status to exit with.
    pub exit: Exit,
    /// One line for the user.
    pub message: String,
}

impl fmt::Display for ExitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitError {}

/// The exit status for an error: its [`ExitError`] status if it carries one, else `2`.
pub fn code_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<ExitError>())
        .map_or(Exit::BadInput, |e| e.exit)
}

/// True when the error is a write to a closed standard output (`envshim doctor | head
/// -1`, marked by [`crate::output::StdoutClosed`]): the reader has what it wanted, so
/// envshim exits quietly with status 0, as ripgrep does. A broken pipe to a child
/// process (git under `scan`) is not this, and stays an error.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<crate::output::StdoutClosed>()
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(crate::output::is_closed)
    })
}

/// What envshim prints when it panics: where, never the panic's message, which could
/// quote a value it was handling. Installed by `main` as the panic hook.
pub fn panic_report(location: Option<&std::panic::Location<'_>>) -> String {
    let at = location.map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
    format!(
        "envshim: internal error{at}; this is a bug, please report it (the panic message \
         is withheld because it could hold a secret)"
    )
}

/// Installs [`panic_report`] as the panic hook.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_report(info.location()));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_report_names_the_place_not_the_message() {
        let report = panic_report(Some(std::panic::Location::caller()));
        assert!(report.starts_with("envshim: internal error at src/exit.rs:"));
        assert!(report.contains("please report it"));
        assert_eq!(
            panic_report(None),
            "envshim: internal error; this is a bug, please report it (the panic message is \
             withheld because it could hold a secret)"
        );
    }
}
