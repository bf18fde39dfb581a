//! Suppression: path allowlists and baselines. (Inline `envshim:allow` marks are read by
//! the matcher.)

use std::collections::HashSet;
use std::path::Path;

use anyhow::{anyhow, Context};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::Finding;

/// Path globs whose findings are suppressed (config `allowlist.paths`).
#[derive(Debug)]
pub struct PathAllowlist {
    set: GlobSet,
}

impl PathAllowlist {
    /// Compiles globs; an invalid one is an error naming it.
    pub fn new(globs: &[String]) -> anyhow::Result<Self> {
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            builder.add(
                Glob::new(glob)
                    .map_err(|e| anyhow!("invalid allowlist path glob `{glob}`: {e}"))?,
            );
        }
        Ok(PathAllowlist {
            set: builder.build().context("cannot build the path allowlist")?,
        })
    }

    /// True when `path` is allowlisted.
    pub fn matches(&self, path: &str) -> bool {
        !self.set.is_empty() && self.set.is_match(path)
    }
}

/// The baseline file: fingerprints of accepted findings, never the secrets.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub version: u32,
    /// Accepted findings.
    pub findings: Vec<BaselineEntry>,
}

/// One accepted finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct BaselineEntry {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule, for reviewers.
    pub rule: String,
    /// Its path, for reviewers.
    pub path: String,
}

impl Baseline {
    /// Reads a baseline; a missing file is an error (a typo must not silently allow all).
    pub fn read(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the baseline {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not an envshim baseline", path.display()))
    }

    /// The set of accepted fingerprints.
    pub fn fingerprints(&self) -> HashSet<&str> {
        self.findings
            .iter()
            .map(|f| f.fingerprint.as_str())
            .collect()
    }

    /// A baseline accepting `findings`.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                path: f.path.clone(),
            })
            .collect();
        entries.sort();
        entries.dedup();
        Baseline {
            version: 1,
            findings: entries,
        }
    }

    /// Writes the baseline atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        crate::secrets::store::write_atomic(path, text.as_bytes(), 0o644)
    }
}
