//! The plaintext-secret scanner (DESIGN §4): walk, match, suppress, report.

pub mod allow;
pub mod config;
pub mod engine;
pub mod known;
pub mod rules;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use engine::Matcher;

/// One reported secret. It never holds the secret itself: only a redaction, its length
/// and a fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// What the rule finds.
    pub description: String,
    /// Path as given or relative to the scan root, '/'-separated.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Full commit SHA in range/history modes.
    pub commit: Option<String>,
    /// At most the first four characters and the length.
    pub redacted: String,
    /// Stable identity for baselines: rule, path and secret, hashed.
    pub fingerprint: String,
}

impl Finding {
    /// Builds a finding; the secret is used only to redact and fingerprint.
    pub fn new(
        rule: &str,
        description: &str,
        path: &str,
        line: usize,
        column: usize,
        secret: &str,
    ) -> Finding {
        Finding {
            rule: rule.to_string(),
            description: description.to_string(),
            path: path.to_string(),
            line,
            column,
            commit: None,
            redacted: redact(secret),
            fingerprint: fingerprint(rule, path, secret),
        }
    }
}

/// At most the first four characters of a secret (fewer for short ones) and its length.
pub fn redact(secret: &str) -> String {
    let len = secret.chars().count();
    // Short secrets show less, so that the shown part is never most of the secret.
    let shown = if len >= 16 {
        4
    } else if len >= 8 {
        2
    } else {
        0
    };
    let prefix: String = secret.chars().take(shown).collect();
    format!("{prefix}…({len} chars)")
}

/// A fingerprint that survives moved lines, rebases and squashes: it depends on the rule,
/// the path and the secret, never on line numbers or commits.
pub fn fingerprint(rule: &str, path: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"envshim-fingerprint-v1\0");
    hash.update(rule.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(secret.as_bytes());
    let digest = hash.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Counters shared by the scanning threads.
#[derive(Debug, Default)]
pub struct Stats {
    /// Files scanned.
    pub files: AtomicU64,
    /// Bytes scanned.
    pub bytes: AtomicU64,
    /// Files skipped as binary.
    pub skipped_binary: AtomicU64,
    /// Files skipped as too large.
    pub skipped_large: AtomicU64,
    /// Findings suppressed (inline, path allowlist, baseline, secret allowlist).
    pub suppressed: AtomicU64,
    /// Paths that could not be read.
    pub errors: AtomicU64,
}

/// Totals for a finished scan.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files skipped (binary or over the size limit).
    pub skipped: u64,
    /// Findings suppressed.
    pub suppressed: u64,
    /// Wall time.
    pub elapsed_ms: u64,
}

/// A scan's result.
pub struct Outcome {
    /// Findings, sorted by path, line and column.
    pub findings: Vec<Finding>,
    /// Totals.
    pub summary: Summary,
    /// Paths that could not be read (also printed as warnings).
    pub errors: u64,
    /// Files skipped as over the size limit (for the summary line).
    pub skipped_large: u64,
}

/// What to scan and how.
pub struct Scan<'a> {
    /// The matcher.
    pub matcher: Matcher<'a>,
    /// Files above this size are skipped.
    pub max_file_size: u64,
    /// Path allowlist.
    pub allow: &'a allow::PathAllowlist,
    /// Threads for the walk (0: automatic).
    pub threads: usize,
    /// A progress spinner (only on a terminal).
    pub progress: Option<indicatif::ProgressBar>,
}

/// Files whose first 8 KiB contain a NUL byte are binary.
pub fn is_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

/// A path for reports: relative to the current directory when below it, '/'-separated.
pub fn display_path(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

impl Scan<'_> {
    /// Scans one buffer that stands for `path` (used by the git modes too). A buffer of
    /// only the lines a commit added is not `whole`: file rules that look at the whole
    /// content (is this secrets file encrypted?) are skipped for it.
    pub fn scan_buffer(
        &self,
        path: &str,
        bytes: &[u8],
        whole: bool,
        stats: &Stats,
        out: &mut Vec<Finding>,
    ) {
        if self.allow.matches(path) {
            // Scanned anyway, so that the summary can say how much the allowlist hid.
            let mut hidden = Vec::new();
            self.matcher.scan(path, bytes, stats, &mut hidden);
            self.matcher
                .file_findings(path, bytes, whole, stats, &mut hidden);
            stats
                .suppressed
                .fetch_add(hidden.len() as u64, Ordering::Relaxed);
        } else {
            self.matcher.scan(path, bytes, stats, out);
            self.matcher.file_findings(path, bytes, whole, stats, out);
        }
        stats.files.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }

    /// Walks `roots` in parallel (respecting .gitignore, .ignore and .envshimignore,
    /// scanning hidden files, skipping `.git/`) and scans every file.
    pub fn walk(&self, roots: &[PathBuf]) -> Outcome {
        let started = Instant::now();
        let stats = Stats::default();
        let found = Mutex::new(Vec::new());
        let Some((first, rest)) = roots.split_first() else {
            return self.outcome(Vec::new(), &stats, started);
        };
        let mut builder = ignore::WalkBuilder::new(first);
        for root in rest {
            builder.add(root);
        }
        builder
            .hidden(false)
            .follow_links(false)
            .add_custom_ignore_filename(".envshimignore")
            .threads(self.threads)
            .filter_entry(|entry| entry.file_name() != ".git");
        builder.build_parallel().run(|| {
            let stats = &stats;
            let found = &found;
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        if entry.file_type().is_some_and(|t| t.is_file()) {
                            let mut local = Vec::new();
                            self.scan_file(entry.path(), stats, &mut local);
                            if let Some(progress) = &self.progress {
                                progress.inc(1);
                            }
                            if !local.is_empty() {
                                found
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .extend(local);
                            }
                        }
                    }
                    Err(err) => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("envshim: warning: {}", sanitize(&err.to_string()));
                    }
                }
                ignore::WalkState::Continue
            })
        });
        if let Some(progress) = &self.progress {
            progress.finish_and_clear();
        }
        let findings = found.into_inner().unwrap_or_else(|p| p.into_inner());
        self.outcome(findings, &stats, started)
    }

    fn scan_file(&self, path: &Path, stats: &Stats, out: &mut Vec<Finding>) {
        let shown = display_path(path);
        let size = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("envshim: warning: cannot read {}: {e}", sanitize(&shown));
                return;
            }
        };
        if size > self.max_file_size {
            stats.skipped_large.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("envshim: warning: cannot read {}: {e}", sanitize(&shown));
                return;
            }
        };
        if is_binary(&bytes) {
            stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.scan_buffer(&shown, &bytes, true, stats, out);
    }

    /// Sorts findings and totals the counters.
    pub fn outcome(&self, mut findings: Vec<Finding>, stats: &Stats, started: Instant) -> Outcome {
        findings.sort_by(|a, b| {
            (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
        });
        let skipped_large = stats.skipped_large.load(Ordering::Relaxed);
        Outcome {
            findings,
            summary: Summary {
                files: stats.files.load(Ordering::Relaxed),
                bytes: stats.bytes.load(Ordering::Relaxed),
                skipped: stats.skipped_binary.load(Ordering::Relaxed) + skipped_large,
                suppressed: stats.suppressed.load(Ordering::Relaxed),
                elapsed_ms: started.elapsed().as_millis() as u64,
            },
            errors: stats.errors.load(Ordering::Relaxed),
            skipped_large,
        }
    }
}

/// Replaces control characters (terminal escapes in file names or contents) before
/// printing text that came from the scanned files.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '�'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_most_of_a_secret() {
        let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"; // envshim:allow: made up
        assert_eq!(redact(token), "ghp_…(40 chars)");
        assert_eq!(redact("hunter22"), "hu…(8 chars)");
        assert_eq!(redact("short"), "…(5 chars)");
    }

    #[test]
    fn fingerprints_depend_on_rule_path_and_secret_only() {
        let a = fingerprint("r", "p", "s");
        assert_eq!(a, fingerprint("r", "p", "s"));
        assert_ne!(a, fingerprint("q", "p", "s"));
        assert_ne!(a, fingerprint("r", "q", "s"));
        assert_ne!(a, fingerprint("r", "p", "t"));
        // The three parts are kept apart: moving text from one to the next changes it.
        assert_ne!(a, fingerprint("rp", "", "s"));
        assert_ne!(a, fingerprint("r", "ps", ""));
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
