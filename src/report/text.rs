//! Text output: one block per finding, coloured on a terminal, and what to do (said
//! once: the pre-commit hook adds nothing to it). Every piece of repository text —
//! paths, rule ids and descriptions from `envshim.toml`, the shown part of a secret —
//! goes through [`sanitize`].

use std::io::{self, Write};

use super::Report;
use crate::scan::{sanitize, Outcome};

/// The text format.
pub struct Text {
    /// Use ANSI colours.
    pub color: bool,
    /// The scan of a commit's staged changes: advice for a blocked commit.
    pub staged: bool,
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
                .map(|c| {
                    let short: String = c.chars().take(12).collect();
                    format!(" {dim}(commit {}){reset}", sanitize(&short))
                })
                .unwrap_or_default();
            writeln!(
                out,
                "{bold}{}:{}:{}{reset}: {red}{}{reset} {dim}({}){reset}: {}{commit}\n    {}",
                sanitize(&f.path),
                f.line,
                f.column,
                sanitize(&f.rule),
                f.confidence.as_str(),
                sanitize(&f.description),
                sanitize(&f.redacted)
            )?;
        }
        if !outcome.findings.is_empty() {
            let (accept, last) = if self.staged {
                (
                    "envshim scan --staged --update-baseline",
                    "\nto commit anyway, deliberately: `git commit --no-verify`.",
                )
            } else {
                ("envshim scan --update-baseline", "")
            };
            writeln!(
                out,
                "\nWhat to do: remove each secret and rotate it (it may already be copied);\n\
                 keep it in envshim instead (`envshim set NAME`, then `envshim exec -- CMD`);\n\
                 if it is not a secret, add `envshim:allow` to its line or the line before;\n\
                 to accept these findings, `{accept}` (then commit .envshim-baseline.json).{last}"
            )?;
        }
        Ok(())
    }
}
