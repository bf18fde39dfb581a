//! Suppression (path allowlists, baselines) and file-level findings: mistakes that are
//! about which file exists rather than a token inside it.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{anyhow, Context};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::Finding;
use crate::secrets::crypto::looks_encrypted;

/// Path globs whose findings are suppressed (config `allowlist.paths`).
#[derive(Debug)]
pub struct PathAllowlist {
    set: GlobSet,
}

impl PathAllowlist {
    /// Compiles globs; an invalid one is an error naming it.
    pub fn new(globs: &[String]) -> anyhow::Result<Self> {
        let mut builder = GlobSetBuilder::new();
        for (n, glob) in globs.iter().enumerate() {
            builder.add(Glob::new(glob).map_err(|_| {
                anyhow!("entry {} of `allowlist.paths` is not a valid glob", n + 1)
            })?);
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
        let shown = super::sanitize(&path.display().to_string());
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow!(
                "cannot read the baseline {shown}: {}",
                super::config::io_reason(&e)
            )
        })?;
        Baseline::parse(&bytes, &shown)
    }

    /// Parses baseline `bytes` that came from `origin` (a path, or `commit:path`). An
    /// error names the line and column and the kind of problem, never the content
    /// (serde_json's own messages quote values).
    pub fn parse(bytes: &[u8], origin: &str) -> anyhow::Result<Baseline> {
        serde_json::from_slice(bytes).map_err(|e| {
            let kind = match e.classify() {
                serde_json::error::Category::Io => "it cannot be read",
                serde_json::error::Category::Syntax => "it is not valid JSON",
                serde_json::error::Category::Data => "a field is missing or has the wrong type",
                serde_json::error::Category::Eof => "it ends early",
            };
            anyhow!(
                "{origin} is not an envshim baseline: line {}, column {}: {kind}",
                e.line(),
                e.column()
            )
        })
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

/// File names of private SSH keys.
const SSH_KEY_NAMES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
];

/// Findings about the file itself: an unencrypted secrets file, SSH private key files,
/// dotenvx's `.env.keys`.
pub fn file_level(path: &str, bytes: &[u8], whole: bool, out: &mut Vec<Finding>) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut report = |rule: &str, description: &str| {
        // The "secret" of a file-level finding is the file itself: fingerprint its content.
        let content = String::from_utf8_lossy(bytes);
        let mut finding = Finding::new(rule, description, path, 1, 1, &content);
        finding.redacted = format!("(whole file, {} bytes)", bytes.len());
        out.push(finding);
    };
    if whole
        && name.ends_with(".env.secrets")
        && !bytes.trim_ascii().is_empty()
        && !looks_encrypted(bytes)
    {
        report(
            "unencrypted-secrets-file",
            "An envshim secrets file that is not encrypted (`envshim doctor` prints the command that encrypts it)",
        );
    }
    if SSH_KEY_NAMES.contains(&name) {
        report("ssh-private-key-file", "An SSH private key file");
    }
    if name == ".env.keys" {
        report(
            "dotenv-keys-file",
            "A dotenvx private keys file (.env.keys)",
        );
    }
}
