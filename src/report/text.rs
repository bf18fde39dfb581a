//! Text output: one block per finding, coloured on a terminal, and what to do.

use std::io::{self, Write};

use super::Report;
use crate::scan::{sanitize, Outcome};

/// The text format.
pub struct Text {
    /// Use ANSI colours.
    pub color: bool,
}

impl Report for Text {
    fn write(&self, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
        let (bold, red, dim, reset) = if self.color {
            ("\x1b[1m", "\x1b[31m", "\x1b[2m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        for f in &outcome.findings {
            let commit = f
                .commit
                .as_deref()
                .map(|c| format!(" {dim}(commit {}){reset}", &c[..c.len().min(12)]))
                .unwrap_or_default();
            writeln!(
                out,
                "{bold}{}:{}:{}{reset}: {red}{}{reset}: {}{commit}\n    {}",
                sanitize(&f.path),
                f.line,
                f.column,
                f.rule,
                f.description,
                f.redacted
            )?;
        }
        if !outcome.findings.is_empty() {
            writeln!(
                out,
                "\nWhat to do: remove each secret and rotate it (it may already be copied);\n\
                 keep it in envshim instead (`envshim set NAME`, then `envshim exec -- CMD`);\n\
                 if it is not a secret, add `envshim:allow` to its line or the line before;\n\
                 to accept the current findings, `envshim scan --update-baseline`."
            )?;
        }
        Ok(())
    }
}
