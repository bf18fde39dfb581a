//! Scan output formats behind one trait: the scanner never knows how it is printed.

mod github;
mod json;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::scan::Outcome;

/// An output format.
pub trait Report {
    /// Writes the findings of `outcome` to `out`.
    fn write(&self, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()>;
}

/// The formats `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: `path:line:col`, rule, redacted match, and how to fix.
    Text,
    /// JSON: every finding and a summary (the schema is in the README, "Scan output").
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

/// The reporter for a format; `staged` (the pre-commit hook) changes the text advice.
pub fn reporter(format: Format, color: bool, staged: bool) -> Box<dyn Report> {
    match format {
        Format::Text => Box::new(text::Text { color, staged }),
        Format::Json => Box::new(json::Json),
        Format::Sarif => Box::new(sarif::Sarif),
        Format::Github => Box::new(github::Github),
    }
}
