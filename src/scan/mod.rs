//! The plaintext-secret scanner (DESIGN §4): walk, match, suppress, report.

pub mod added;
pub mod allow;
pub mod checksum;
pub mod config;
pub mod engine;
mod escape;
pub mod fingerprint;
mod ignore_files;
pub mod known;
pub mod near;
pub mod policy;
mod progress;
pub mod rules;
pub mod tracked;
pub mod validate;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use engine::Matcher;
pub use progress::Progress;

/// One reported secret. It never holds the secret itself: only a redaction, its length
/// and a fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// What the rule finds.
    pub description: String,
    /// Path for people: relative to the current directory in working-tree mode, to the
    /// repository root in the git modes; '/'-separated. (Fingerprints use
    /// [`Finding::repo_path`].)
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Full commit SHA in range/history modes.
    pub commit: Option<String>,
    /// How sure the finding is: `high`, `medium` or `low`.
    #[serde(default)]
    pub confidence: rules::Confidence,
    /// At most the first four characters and the length.
    pub redacted: String,
    /// Stable identity for baselines: rule, repository-relative path and secret, through
    /// a salted slow hash ([`fingerprint`]); filled in by [`fingerprint::assign`].
    pub fingerprint: String,
    /// What the fingerprint is made from (memory only, never printed).
    #[serde(skip)]
    pub input: fingerprint::FingerprintInput,
    /// 1-based line the secret ends on (memory only): the git modes keep a finding
    /// whose span touches an added line.
    #[serde(skip)]
    pub end_line: usize,
}

impl Finding {
    /// Builds a finding for `path` (repository-relative); the secret is used only to
    /// redact and to derive the fingerprint's input.
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
            confidence: rules::Confidence::High,
            redacted: redact(secret),
            fingerprint: String::new(),
            input: fingerprint::FingerprintInput::new(rule, path, secret),
            end_line: line,
        }
    }

    /// The path relative to the repository root (outside git, to the scanned root): what
    /// baselines, SARIF and CI annotations use, wherever the scan ran from.
    pub fn repo_path(&self) -> &str {
        &self.input.path
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
    /// Findings not reported because their confidence is below the floor
    /// (`--confidence`, `[scan] confidence`).
    #[serde(default)]
    pub below_confidence: u64,
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
    /// Progress: files, bytes and rate (only on a terminal).
    pub progress: Option<Progress>,
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
    slash_path(&shown)
}

/// '/'-separated text of a relative path.
fn slash_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

/// The directory fingerprint paths start from for `root`: the top of the git repository
/// that holds it, or outside git the root itself (the directory of a file root).
pub fn scan_base(root: &Path) -> PathBuf {
    let abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let dir = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent().map_or_else(|| abs.clone(), Path::to_path_buf)
    };
    // Asked several times per root in a scan (baseline, keys, ignore files): one `git
    // rev-parse` per directory and process is enough, and each costs a millisecond or two.
    static BASES: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());
    let mut bases = BASES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, base)) = bases.iter().find(|(d, _)| *d == dir) {
        return base.clone();
    }
    let base = match crate::git::toplevel(&dir) {
        Ok(top) => top.canonicalize().unwrap_or(top),
        Err(_) => dir.clone(),
    };
    bases.push((dir, base.clone()));
    base
}

/// A scan root with the path, relative to its [`scan_base`], that its files' fingerprint
/// paths start with.
struct Root<'p> {
    given: &'p Path,
    prefix: PathBuf,
}

impl Root<'_> {
    fn of(given: &Path) -> Root<'_> {
        let prefix = given
            .canonicalize()
            .ok()
            .and_then(|abs| {
                abs.strip_prefix(scan_base(given))
                    .ok()
                    .map(Path::to_path_buf)
            })
            .unwrap_or_else(|| PathBuf::from(display_path(given)));
        Root { given, prefix }
    }

    /// The repository-relative path of `path`, a file found under this root.
    fn key(&self, path: &Path) -> Option<String> {
        let rest = path.strip_prefix(self.given).ok()?;
        Some(if rest.as_os_str().is_empty() {
            slash_path(&self.prefix)
        } else {
            slash_path(&self.prefix.join(rest))
        })
    }
}

/// True when a working-tree scan of `roots` covers the whole of their base (the
/// repository, or outside git the scanned directory): then a baseline update may drop
/// entries that no longer match.
pub fn covers_whole_base(roots: &[PathBuf]) -> bool {
    roots
        .iter()
        .any(|root| Root::of(root).prefix.as_os_str().is_empty())
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
        // Counted like the summary: files (in --range and --history, file versions)
        // scanned, and their bytes.
        if let Some(progress) = &self.progress {
            progress.file(bytes.len() as u64);
        }
    }

    /// The file-rule findings of a binary file (which is not scanned as text), hidden
    /// and counted when the allowlist covers its path.
    fn binary_file_findings(
        &self,
        path: &str,
        bytes: &[u8],
        stats: &Stats,
        out: &mut Vec<Finding>,
    ) {
        if self.allow.matches(path) {
            let mut hidden = Vec::new();
            self.matcher
                .file_findings(path, bytes, true, stats, &mut hidden);
            stats
                .suppressed
                .fetch_add(hidden.len() as u64, Ordering::Relaxed);
        } else {
            self.matcher.file_findings(path, bytes, true, stats, out);
        }
    }

    /// Walks `roots` in parallel (respecting .gitignore, .ignore and .envshimignore,
    /// scanning hidden files, skipping `.git/`) and scans every file; then, inside a git
    /// repository, every file git tracks under the roots that an ignore rule hid from the
    /// walk (a force-added `.env.production`). An ignore file that is not a regular file
    /// (a link to `/dev/zero`, a FIFO) is an error: it is never read.
    pub fn walk(&self, roots: &[PathBuf]) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let stats = Stats::default();
        let found = Mutex::new(Vec::new());
        let Some((first, rest)) = roots.split_first() else {
            return Ok(self.outcome(Vec::new(), &stats, started));
        };
        for root in roots {
            if let Some((path, why)) = ignore_files::irregular_above(root, &scan_base(root)) {
                return Err(ignore_files::error(&path, why));
            }
        }
        // The first irregular ignore file met below a root: the directory that holds it
        // is not entered (its ignore files are read only when it is), and the walk stops.
        let irregular: Arc<Mutex<Option<(PathBuf, &'static str)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let keyed: Vec<Root> = roots.iter().map(|r| Root::of(r)).collect();
        let tracked = tracked::under(roots);
        // Canonical paths of the files the walk saw, kept only when git tracks files here.
        let seen = Mutex::new(HashSet::with_capacity(tracked.len()));
        let record = !tracked.is_empty();
        let mut builder = ignore::WalkBuilder::new(first);
        for root in rest {
            builder.add(root);
        }
        builder
            .hidden(false)
            .follow_links(false)
            .add_custom_ignore_filename(".envshimignore")
            .threads(self.threads)
            .filter_entry({
                let irregular = Arc::clone(&irregular);
                let stop = Arc::clone(&stop);
                move |entry| {
                    if entry.file_name() == ".git" {
                        return false;
                    }
                    if !entry.file_type().is_some_and(|t| t.is_dir()) {
                        return true;
                    }
                    match ignore_files::irregular_in(entry.path()) {
                        None => true,
                        Some(found) => {
                            let mut slot = irregular.lock().unwrap_or_else(|p| p.into_inner());
                            slot.get_or_insert(found);
                            stop.store(true, Ordering::Relaxed);
                            false
                        }
                    }
                }
            });
        builder.build_parallel().run(|| {
            let stats = &stats;
            let found = &found;
            let keyed = &keyed;
            let seen = &seen;
            let tracked = &tracked;
            let stop = &stop;
            Box::new(move |entry| {
                if stop.load(Ordering::Relaxed) {
                    return ignore::WalkState::Quit;
                }
                match entry {
                    Ok(entry) => {
                        if entry.file_type().is_some_and(|t| t.is_file()) {
                            if record {
                                if let Some(key) = tracked.key(entry.path()) {
                                    seen.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
                                }
                            }
                            let mut local = Vec::new();
                            let path = entry.path();
                            // The most specific root: the one that names the file longest.
                            let key = repo_key(keyed, path);
                            self.scan_file(path, &key, stats, &mut local);
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
                        eprintln!("envshim: warning: {}", walk_error(&err));
                    }
                }
                ignore::WalkState::Continue
            })
        });
        let irregular = irregular.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((path, why)) = irregular {
            return Err(ignore_files::error(&path, why));
        }
        let seen = seen.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut found = found.into_inner().unwrap_or_else(|p| p.into_inner());
        for (shown, canonical) in tracked.unseen(&seen) {
            // Only regular files reached without a symlink, as in the walk (a tracked
            // symlink, or a directory replaced by one, is not followed).
            let regular =
                std::fs::symlink_metadata(&canonical).is_ok_and(|m| m.file_type().is_file());
            if regular && canonical.canonicalize().is_ok_and(|c| c == canonical) {
                let key = repo_key(&keyed, &shown);
                self.scan_file(&shown, &key, &stats, &mut found);
            }
        }
        Ok(self.outcome(found, &stats, started))
    }

    /// Scans the file at `path`; `key` is its repository-relative path, which rules,
    /// allowlists and fingerprints see. Findings show the path for people.
    fn scan_file(&self, path: &Path, key: &str, stats: &Stats, out: &mut Vec<Finding>) {
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
        let first = out.len();
        if is_binary(&bytes) {
            // Not searched as text, but a file rule judges a file by its path, and some of
            // the files they are about are binary (a .p12 keystore).
            stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
            self.binary_file_findings(key, &bytes, stats, out);
        } else {
            self.scan_buffer(key, &bytes, true, stats, out);
        }
        for finding in &mut out[first..] {
            finding.path.clone_from(&shown);
        }
    }

    /// Sorts findings and totals the counters.
    pub fn outcome(&self, mut findings: Vec<Finding>, stats: &Stats, started: Instant) -> Outcome {
        sort_findings(&mut findings);
        let skipped_large = stats.skipped_large.load(Ordering::Relaxed);
        Outcome {
            findings,
            summary: Summary {
                files: stats.files.load(Ordering::Relaxed),
                bytes: stats.bytes.load(Ordering::Relaxed),
                skipped: stats.skipped_binary.load(Ordering::Relaxed) + skipped_large,
                suppressed: stats.suppressed.load(Ordering::Relaxed),
                below_confidence: 0,
                elapsed_ms: started.elapsed().as_millis() as u64,
            },
            errors: stats.errors.load(Ordering::Relaxed),
            skipped_large,
        }
    }
}

pub use escape::sanitize;

/// Puts findings in report order: by path, line, column and rule.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule).cmp(&(&b.path, b.line, b.column, &b.rule))
    });
}

/// The repository-relative path of `path`, a file under one of the roots: through the
/// most specific root (the one that names the file longest).
fn repo_key(keyed: &[Root], path: &Path) -> String {
    keyed
        .iter()
        .filter(|r| path.starts_with(r.given))
        .max_by_key(|r| r.given.as_os_str().len())
        .and_then(|r| r.key(path))
        .unwrap_or_else(|| display_path(path))
}

/// A walk error without the text of what caused it: the `ignore` crate's messages quote
/// ignore-file lines (a `.gitignore` that links to `/proc/self/environ` would print the
/// environment), so only the path, the line number and the kind of problem are shown.
pub fn walk_error(err: &ignore::Error) -> String {
    match err {
        ignore::Error::Partial(errors) => {
            errors.iter().map(walk_error).collect::<Vec<_>>().join("; ")
        }
        ignore::Error::WithLineNumber { line, err } => format!("line {line}: {}", walk_error(err)),
        ignore::Error::WithPath { path, err } => {
            format!("{}: {}", sanitize(&display_path(path)), walk_error(err))
        }
        ignore::Error::WithDepth { err, .. } => walk_error(err),
        ignore::Error::Loop { child, .. } => {
            format!("{}: a symbolic link loop", sanitize(&display_path(child)))
        }
        ignore::Error::Io(e) => format!("cannot read: {}", config::io_reason(e)),
        ignore::Error::Glob { .. } => "an ignore pattern is not valid (skipped)".to_string(),
        _ => "an ignore rule cannot be used".to_string(),
    }
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
}
