//! GitHub Actions workflow annotations (`::error file=…,line=…,col=…,title=…::…`).
//!
//! The runner reads its log line by line: a line that starts with `::` (after spaces) is
//! a command, and so is one holding `##[` anywhere. Each annotation is one line whose
//! every piece of repository text is first made visible ([`sanitize`]: no control
//! characters, so no line breaks; `##[` defused) and then escaped per the workflow-command
//! rules (`%`, CR, LF; in properties also `:` and `,`), so that a path, rule id or
//! description can neither start a command nor end this one early.

use std::io::{self, Write};

use super::Report;
use crate::scan::{sanitize, Outcome};

/// The GitHub annotations format.
pub struct Github;

/// Escapes a message (data) per the workflow-command rules, after [`sanitize`].
fn escape_data(text: &str) -> String {
    sanitize(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, which additionally may not contain `:` or `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

impl Report for Github {
    fn write(&self, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
        for f in &outcome.findings {
            let commit = f
                .commit
                .as_deref()
                .map(|c| format!(" (commit {c})"))
                .unwrap_or_default();
            // Every reported finding fails the check (exit 1), so every annotation is
            // an error; the title says how sure it is.
            writeln!(
                out,
                "::error file={},line={},col={},title={}::{}",
                escape_property(f.repo_path()),
                f.line,
                f.column,
                escape_property(&format!(
                    "envshim: {} ({} confidence)",
                    f.rule,
                    f.confidence.as_str()
                )),
                escape_data(&format!("{}: {}{commit}", f.description, f.redacted))
            )?;
        }
        Ok(())
    }
}
