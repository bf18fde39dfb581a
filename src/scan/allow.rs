//! Suppression: path allowlists and baselines. (Inline `envshim:allow` marks are read by
//! the matcher.)

use std::collections::HashSet;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::fingerprint::Salt;
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

/// The baseline file: fingerprints of accepted findings, never the secrets, nor their
/// lengths or anything else that would help a guess.
///
/// Format 2: `{"version": 2, "salt": "<hex, 128 bits or more>", "findings": [...]}`,
/// fingerprints salted and slow ([`super::fingerprint`]). Format 1 (unsalted SHA-256)
/// is still read; the next `--update-baseline` writes format 2. Entries of a format-1
/// file that a partial update could not convert (their findings were not in the scan)
/// are kept in `unsalted_v1` until an update from a whole-repository scan.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    /// The per-repository salt (None in format 1).
    pub salt: Option<Salt>,
    /// Accepted findings, fingerprinted with `salt` (format 1: unsalted).
    pub findings: Vec<BaselineEntry>,
    /// Format-1 entries carried over by a partial update.
    pub unsalted_v1: Vec<BaselineEntry>,
}

/// One accepted finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule, for reviewers.
    pub rule: String,
    /// Its repository-relative path, for reviewers.
    pub path: String,
}

/// The file as written and read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    findings: Vec<BaselineEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unsalted_v1: Vec<BaselineEntry>,
}

/// What an update did, for its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselineUpdate {
    /// Entries written (salted).
    pub written: usize,
    /// Of those, entries the old baseline did not accept.
    pub new: usize,
    /// Old entries left out (only by an update from a whole-repository scan).
    pub dropped: usize,
    /// Old format-1 entries kept unconverted (partial update of an old baseline).
    pub unsalted: usize,
}

impl Baseline {
    /// Parses a baseline's bytes; `origin` names it in errors (a path, or
    /// `commit:path` when it comes from git).
    pub fn parse(bytes: &[u8], origin: &str) -> anyhow::Result<Baseline> {
        let origin = super::sanitize(origin);
        let file: BaselineFile = serde_json::from_slice(bytes).map_err(|e| {
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
        })?;
        let well_formed = |e: &BaselineEntry| {
            e.fingerprint.len() == 32
                && e.fingerprint
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !file
            .findings
            .iter()
            .chain(&file.unsalted_v1)
            .all(well_formed)
        {
            bail!(
                "{origin} is not an envshim baseline: a fingerprint is not 32 lowercase hex digits"
            );
        }
        match (file.version, file.salt) {
            (1, None) if file.unsalted_v1.is_empty() => Ok(Baseline {
                salt: None,
                findings: file.findings,
                unsalted_v1: Vec::new(),
            }),
            (2, Some(salt)) => {
                let salt = Salt::from_hex(&salt).ok_or_else(|| {
                    anyhow!("{origin} is not an envshim baseline: its salt is not hex of 128 bits or more")
                })?;
                Ok(Baseline {
                    salt: Some(salt),
                    findings: file.findings,
                    unsalted_v1: file.unsalted_v1,
                })
            }
            (1, _) => bail!("{origin} is not an envshim baseline: format 1 has no salt"),
            (2, None) => bail!("{origin} is not an envshim baseline: format 2 needs a salt"),
            (version, _) => bail!("{origin} is a baseline of format {version}, which this envshim does not know; update envshim"),
        }
    }

    /// Reads a baseline file.
    pub fn read(path: &Path) -> anyhow::Result<Baseline> {
        let bytes = std::fs::read(path).map_err(|e| {
            anyhow!(
                "cannot read the baseline {}: {}",
                super::sanitize(&path.display().to_string()),
                super::config::io_reason(&e)
            )
        })?;
        Baseline::parse(&bytes, &path.display().to_string())
    }

    /// Every fingerprint this baseline accepts, each with the salt it was made with
    /// (`v1:` for unsalted ones): two baselines accept the same findings only where
    /// these agree.
    pub fn fingerprints(&self) -> Vec<String> {
        let salted = match &self.salt {
            Some(salt) => salt.to_hex(),
            None => "v1".to_string(),
        };
        self.findings
            .iter()
            .map(|e| format!("{salted}:{}", e.fingerprint))
            .chain(
                self.unsalted_v1
                    .iter()
                    .map(|e| format!("v1:{}", e.fingerprint)),
            )
            .collect()
    }

    /// The salt that fingerprints are compared (and reported) with.
    pub fn salt_or_default(baseline: Option<&Baseline>) -> Salt {
        baseline
            .and_then(|b| b.salt.clone())
            .unwrap_or_else(Salt::default_salt)
    }

    /// True when this baseline accepts `finding` (whose fingerprint was assigned with
    /// [`Baseline::salt_or_default`]).
    pub fn accepts(&self, finding: &Finding) -> bool {
        let unsalted =
            |entries: &[BaselineEntry]| entries.iter().any(|e| e.fingerprint == finding.input.v1());
        match self.salt {
            Some(_) => {
                // An empty fingerprint was not computed (no entry names its rule and path).
                (!finding.fingerprint.is_empty()
                    && self
                        .findings
                        .iter()
                        .any(|e| e.fingerprint == finding.fingerprint))
                    || unsalted(&self.unsalted_v1)
            }
            None => unsalted(&self.findings),
        }
    }

    /// False when no entry can accept `finding` whatever its fingerprint: salted entries
    /// name their rule and path, so only findings with the same pair need the slow hash.
    pub fn may_accept(&self, finding: &Finding) -> bool {
        self.salt.is_some()
            && self
                .findings
                .iter()
                .any(|e| e.rule == finding.rule && e.path == finding.repo_path())
    }

    /// The baseline an update writes: `findings` (fingerprinted with `salt`, the old
    /// baseline's or a fresh one) plus, unless `whole` (a scan of the whole repository's
    /// working tree), every old entry, so that a partial scan never drops any. Even a
    /// whole scan keeps the entries of rules in `unseen` (rules this run could not
    /// report, such as `known-secret` without an identity).
    pub fn updated(
        old: Option<&Baseline>,
        findings: &[Finding],
        salt: Salt,
        whole: bool,
        unseen: &[&str],
    ) -> (Baseline, BaselineUpdate) {
        let mut entries: Vec<BaselineEntry> = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                path: f.repo_path().to_string(),
            })
            .collect();
        entries.sort();
        entries.dedup();
        let mut unsalted_v1 = Vec::new();
        let mut dropped = 0;
        let mut new = entries.len();
        if let Some(old) = old {
            new = findings
                .iter()
                .filter(|f| !old.accepts(f))
                .map(|f| &f.fingerprint)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            let (salted, unsalted): (&[BaselineEntry], &[BaselineEntry]) = match old.salt {
                Some(ref s) if *s == salt => (&old.findings, &old.unsalted_v1),
                Some(_) => (&[], &old.unsalted_v1),
                None => (&[], &old.findings),
            };
            let matched_v1: HashSet<&str> = findings.iter().map(|f| f.input.v1()).collect();
            let droppable = |entry: &BaselineEntry| whole && !unseen.contains(&entry.rule.as_str());
            for entry in salted {
                if !entries.iter().any(|e| e.fingerprint == entry.fingerprint) {
                    if droppable(entry) {
                        dropped += 1;
                    } else {
                        entries.push(entry.clone());
                    }
                }
            }
            for entry in unsalted {
                // Converted when its finding was scanned; otherwise kept (partial) or
                // dropped (whole).
                if !matched_v1.contains(entry.fingerprint.as_str()) {
                    if droppable(entry) {
                        dropped += 1;
                    } else {
                        unsalted_v1.push(entry.clone());
                    }
                }
            }
        }
        entries.sort();
        entries.dedup();
        unsalted_v1.sort();
        unsalted_v1.dedup();
        let update = BaselineUpdate {
            written: entries.len(),
            new,
            dropped,
            unsalted: unsalted_v1.len(),
        };
        (
            Baseline {
                salt: Some(salt),
                findings: entries,
                unsalted_v1,
            },
            update,
        )
    }

    /// Writes the baseline (format 2) atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let file = BaselineFile {
            version: 2,
            salt: self.salt.as_ref().map(Salt::to_hex),
            findings: self.findings.clone(),
            unsalted_v1: self.unsalted_v1.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file)?;
        text.push('\n');
        crate::secrets::store::write_atomic(path, text.as_bytes(), 0o644)
    }
}
