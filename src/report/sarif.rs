//! SARIF 2.1.0 output, as GitHub code scanning accepts it.

use std::io::{self, Write};

use serde_json::json;

use super::Report;
use crate::scan::Outcome;

/// The SARIF format.
pub struct Sarif;

impl Report for Sarif {
    fn write(&self, outcome: &Outcome, out: &mut dyn Write) -> io::Result<()> {
        let mut rule_ids: Vec<&str> = Vec::new();
        let mut rules = Vec::new();
        for f in &outcome.findings {
            if !rule_ids.contains(&f.rule.as_str()) {
                rule_ids.push(&f.rule);
                rules.push(json!({
                    "id": f.rule,
                    "name": f.rule,
                    "shortDescription": {"text": f.description},
                    "fullDescription": {"text": f.description},
                    // A rule's findings share its confidence (suppression-widened: high).
                    "defaultConfiguration": {
                        "level": f.confidence.sarif_level(),
                        "rank": f.confidence.rank()
                    },
                    "help": {"text": "Remove the secret and rotate it; keep it in envshim (`envshim set NAME`). If it is not a secret, add `envshim:allow` to the line."},
                    "properties": {"tags": ["security", "secret"], "confidence": f.confidence.as_str()}
                }));
            }
        }
        let results: Vec<_> = outcome
            .findings
            .iter()
            .map(|f| {
                let index = rule_ids.iter().position(|r| *r == f.rule).unwrap_or(0);
                let commit = f
                    .commit
                    .as_deref()
                    .map(|c| format!(" (commit {c})"))
                    .unwrap_or_default();
                let mut result = json!({
                    "ruleId": f.rule,
                    "ruleIndex": index,
                    "level": f.confidence.sarif_level(),
                    "rank": f.confidence.rank(),
                    "message": {"text": format!("{}: {}{commit}", f.description, f.redacted)},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(f.repo_path())},
                            "region": {"startLine": f.line, "startColumn": f.column}
                        }
                    }],
                    "partialFingerprints": {"envshim/v2": f.fingerprint}
                });
                result["properties"] = json!({"confidence": f.confidence.as_str()});
                if let Some(commit) = &f.commit {
                    result["properties"]["commit"] = json!(commit);
                }
                result
            })
            .collect();
        let doc = json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": "envshim",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://crates.io/crates/envshim",
                    "rules": rules
                }},
                "columnKind": "unicodeCodePoints",
                "results": results
            }]
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}

/// A relative URI reference for a path: percent-encodes what a URI may not hold.
fn uri(path: &str) -> String {
    crate::scan::known::percent_encode(path, b"-._~/!$&'()*+,;=:@")
}
