//! JSON output: the schema the README documents under "Scan output".

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::scan::{Finding, Outcome, Summary};

/// The JSON format.
pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    findings: &'a [Finding],
    summary: Summary,
}

impl Report for Json {
    fn write(&self, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
        let doc = Document {
            findings: &outcome.findings,
            summary: outcome.summary,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
