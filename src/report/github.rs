//! GitHub Actions workflow annotations (`::error file=…,line=…,col=…,title=…::…`).

use std::io::{self, Write};

use super::Report;
use crate::scan::Outcome;

/// The GitHub annotations format.
pub struct Github;

/// Escapes a message (data) per the workflow-command rules.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
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
            writeln!(
                out,
                "::error file={},line={},col={},title={}::{}",
                escape_property(&f.path),
                f.line,
                f.column,
                escape_property(&format!("envshim: {}", f.rule)),
                escape_data(&format!("{}: {}{commit}", f.description, f.redacted))
            )?;
        }
        Ok(())
    }
}
