//! Suppression that the scanned change cannot widen (DESIGN §4). In `--range A..B` the
//! configuration and the baseline come from the base commit A, never from the working
//! tree or the range; and every change inside the range that widens suppression
//! (`envshim.toml`, ignore files, the baseline) is itself a finding, rule
//! `suppression-widened`, naming the file and the commit that changed it.
//!
//! Range mode applies no ignore file at all (it scans what each commit adds, whatever
//! the path), so ignore files matter here only as changes to report.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context};

use super::allow::Baseline;
use super::config::{Config, DEFAULT_MAX_FILE_SIZE};
use super::rules::Confidence;
use super::Finding;
use crate::git;

/// The rule id of a change that widens suppression.
pub const RULE: &str = "suppression-widened";
/// The configuration file's name.
pub const CONFIG_NAME: &str = "envshim.toml";
/// Ignore files the working-tree walk honours.
pub const IGNORE_NAMES: &[&str] = &[".gitignore", ".ignore", ".envshimignore"];
/// The default baseline file name.
pub const BASELINE_NAME: &str = ".envshim-baseline.json";
/// How the name of a secrets file's example ends: its `# public` marks say which values
/// `known-secret` does not search for.
pub const EXAMPLE_SUFFIX: &str = ".env.secrets.example";

/// The commit a range's suppression settings come from.
pub struct RangeBase {
    root: std::path::PathBuf,
    /// The base commit; None for a range without one (a single revision, or the zero
    /// base of a new branch): then only the built-in defaults apply.
    commit: Option<String>,
    /// The current directory below the root (`src/`), where discovery starts.
    prefix: String,
}

impl RangeBase {
    /// The base commit, when the range has one.
    pub fn commit(&self) -> Option<&str> {
        self.commit.as_deref()
    }

    /// The settings source of a range whose base commit is `commit` (None: a zero
    /// base, where only the built-in defaults apply).
    pub fn new(root: &Path, commit: Option<String>) -> anyhow::Result<RangeBase> {
        Ok(RangeBase {
            root: root.to_path_buf(),
            commit,
            prefix: git::prefix(&std::env::current_dir()?)?,
        })
    }

    /// The configuration as the base commit has it: the nearest `envshim.toml` from the
    /// current directory up to the root, in that commit.
    pub fn config(&self) -> anyhow::Result<Config> {
        let Some(commit) = &self.commit else {
            return Ok(Config::default());
        };
        let mut dir = self.prefix.trim_end_matches('/').to_string();
        loop {
            let path = if dir.is_empty() {
                CONFIG_NAME.to_string()
            } else {
                format!("{dir}/{CONFIG_NAME}")
            };
            if let Some(bytes) = self.read(commit, &path)? {
                return Config::parse(&bytes, &self.origin(commit, &path));
            }
            if dir.is_empty() {
                return Ok(Config::default());
            }
            dir = dir
                .rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_string());
        }
    }

    /// The baseline as the base commit has it (`.envshim-baseline.json` in the current
    /// directory), if it has one.
    pub fn baseline(&self) -> anyhow::Result<Option<Baseline>> {
        let Some(commit) = &self.commit else {
            return Ok(None);
        };
        let path = format!("{}{BASELINE_NAME}", self.prefix);
        self.read(commit, &path)?
            .map(|bytes| Baseline::parse(&bytes, &self.origin(commit, &path)))
            .transpose()
    }

    fn origin(&self, commit: &str, path: &str) -> String {
        format!(
            "{} in the range's base {}",
            super::sanitize(path),
            &commit[..commit.len().min(12)]
        )
    }

    /// A regular file's content in `commit`; a symlink or submodule there is refused.
    fn read(&self, commit: &str, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match git::tree_entry(&self.root, commit, path)? {
            None => Ok(None),
            Some((mode, id)) if regular(&mode) => Ok(Some(git::blob(&self.root, &id)?)),
            Some(_) => bail!(
                "{} is not a regular file (a symbolic link or submodule); envshim reads \
                 configuration only from regular files inside the repository",
                self.origin(commit, path)
            ),
        }
    }
}

fn regular(mode: &str) -> bool {
    mode == "100644" || mode == "100755"
}

/// What kind of suppression input a path is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Config,
    Ignore,
    Baseline,
    Example,
}

fn kind_of(path: &str, watched: &[String]) -> Option<Kind> {
    // Case-insensitively: on a case-insensitive file system `ENVSHIM.TOML` is read.
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name == CONFIG_NAME {
        Some(Kind::Config)
    } else if IGNORE_NAMES.contains(&name.as_str()) {
        Some(Kind::Ignore)
    } else if name == BASELINE_NAME {
        Some(Kind::Baseline)
    } else if name.ends_with(EXAMPLE_SUFFIX) {
        Some(Kind::Example)
    } else if watched.iter().any(|w| w == path) {
        // An explicit --config or --baseline inside the repository.
        Some(if name.ends_with(".json") {
            Kind::Baseline
        } else {
            Kind::Config
        })
    } else {
        None
    }
}

/// One commit's changes to suppression inputs: for each path, the new version and the
/// version in each parent it differs from.
struct Change {
    commit: String,
    /// Parent ids, in order (the blocks of `git log -m` come in this order).
    parents: Vec<String>,
    blocks: usize,
    paths: BTreeMap<Vec<u8>, (Entry, Vec<Entry>)>,
}

/// A mode and blob id from `git log --raw` (`000000` for none).
#[derive(Clone)]
struct Entry {
    mode: String,
    id: String,
}

/// Every change inside `revisions` that widens suppression, one finding per (commit,
/// file). `watched` adds repository-relative paths given explicitly (`--config`,
/// `--baseline`) to the names watched everywhere.
pub fn widening(
    root: &Path,
    revisions: &[String],
    watched: &[String],
) -> anyhow::Result<Vec<Finding>> {
    let mut spec: Vec<String> = [CONFIG_NAME, BASELINE_NAME]
        .iter()
        .chain(IGNORE_NAMES)
        .map(|name| format!(":(glob,icase)**/{name}"))
        .collect();
    spec.push(format!(":(glob,icase)**/*{EXAMPLE_SUFFIX}"));
    spec.extend(watched.iter().map(|w| format!(":(literal){w}")));
    // Revisions come from `git::range_revisions` (full ids, never an option).
    let mut child = git::command(root)
        .args([
            "log",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            "--no-abbrev",
            "--raw",
            "-m",
            "--full-history",
            "--format=%x00%H %P",
        ])
        .args(revisions)
        .arg("--")
        .args(&spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git log")?;
    let stdout = child.stdout.take().context("git log has no stdout")?;
    let mut changes: Vec<Change> = Vec::new();
    for line in std::io::BufReader::new(stdout).split(b'\n') {
        let line = line?;
        if let Some(header) = line.strip_prefix(b"\0") {
            let header = String::from_utf8_lossy(header);
            let mut ids = header.split_whitespace();
            let commit = ids.next().unwrap_or_default().to_string();
            let parents: Vec<String> = ids.map(str::to_string).collect();
            match changes.last_mut() {
                Some(last) if last.commit == commit => last.blocks += 1,
                _ => changes.push(Change {
                    commit,
                    parents,
                    blocks: 1,
                    paths: BTreeMap::new(),
                }),
            }
        } else if let (Some(raw), Some(change)) = (line.strip_prefix(b":"), changes.last_mut()) {
            let Some(tab) = raw.iter().position(|&b| b == b'\t') else {
                continue;
            };
            let meta = String::from_utf8_lossy(&raw[..tab]);
            let parts: Vec<&str> = meta.split(' ').collect();
            let [old_mode, new_mode, old_id, new_id, ..] = parts[..] else {
                continue;
            };
            let path = git::unquote(&raw[tab + 1..]);
            let entry = change.paths.entry(path).or_insert_with(|| {
                (
                    Entry {
                        mode: new_mode.to_string(),
                        id: new_id.to_string(),
                    },
                    Vec::new(),
                )
            });
            entry.1.push(Entry {
                mode: old_mode.to_string(),
                id: old_id.to_string(),
            });
        }
    }
    let status = child.wait()?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        bail!("git log {} failed: {}", revisions.join(" "), err.trim());
    }

    let mut findings = Vec::new();
    for change in &changes {
        // A merge is compared with every parent: a path unchanged against one of them
        // holds nothing that parent did not have.
        let needed = change.parents.len().max(1);
        if change.blocks < needed {
            continue;
        }
        for (path, (new, olds)) in &change.paths {
            if olds.len() < needed {
                continue;
            }
            let path = String::from_utf8_lossy(path).into_owned();
            let Some(kind) = kind_of(&path, watched) else {
                continue;
            };
            let reasons = reasons(root, change, &path, kind, new, olds)?;
            if reasons.is_empty() {
                continue;
            }
            let description = format!("Widens what the scan suppresses: {}", reasons.join("; "));
            let mut finding = Finding::new(
                RULE,
                &description,
                &path,
                1,
                1,
                &format!("{}\0{}", change.commit, reasons.join(";")),
            );
            finding.redacted = "(suppression change)".to_string();
            finding.commit = Some(change.commit.clone());
            findings.push(finding);
        }
    }
    Ok(findings)
}

/// Why the change of one file widens suppression (empty when it does not).
fn reasons(
    root: &Path,
    change: &Change,
    path: &str,
    kind: Kind,
    new: &Entry,
    olds: &[Entry],
) -> anyhow::Result<Vec<&'static str>> {
    let absent = |e: &Entry| e.mode.bytes().all(|b| b == b'0');
    if !absent(new) && !regular(&new.mode) {
        return Ok(vec![
            "the file is now a symbolic link or submodule, which envshim refuses to read",
        ]);
    }
    // What a scan from this directory reads: the file, or (for a configuration file that
    // is not there) the nearest one above it in the same commit — adding or removing a
    // nested envshim.toml replaces the one above for that directory.
    let content = |e: &Entry, commit: Option<&str>| -> anyhow::Result<Option<Vec<u8>>> {
        if !absent(e) {
            return if regular(&e.mode) {
                git::blob(root, &e.id).map(Some)
            } else {
                Ok(None)
            };
        }
        match (kind, commit) {
            (Kind::Config, Some(commit))
                if path
                    .rsplit('/')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(CONFIG_NAME)) =>
            {
                config_above(root, commit, path)
            }
            _ => Ok(None),
        }
    };
    let new = content(new, Some(&change.commit))?;
    let olds = olds
        .iter()
        .enumerate()
        .map(|(i, e)| content(e, change.parents.get(i).map(String::as_str)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(match kind {
        Kind::Config => config_reasons(new.as_deref(), &olds),
        Kind::Baseline => baseline_reasons(new.as_deref(), &olds),
        Kind::Ignore => ignore_reasons(root, &change.commit, path, new.as_deref(), &olds)?,
        Kind::Example => example_reasons(new.as_deref(), &olds),
    })
}

/// The nearest regular `envshim.toml` above `path`'s directory in `commit`.
fn config_above(root: &Path, commit: &str, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let mut dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    while !dir.is_empty() {
        dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
        let candidate = if dir.is_empty() {
            CONFIG_NAME.to_string()
        } else {
            format!("{dir}/{CONFIG_NAME}")
        };
        if let Some((mode, id)) = git::tree_entry(root, commit, &candidate)? {
            return if regular(&mode) {
                git::blob(root, &id).map(Some)
            } else {
                Ok(None)
            };
        }
    }
    Ok(None)
}

/// A configuration without validation (an old version is compared, not used).
fn lenient(bytes: Option<&[u8]>) -> (Config, BTreeMap<String, toml::Value>) {
    let text = bytes
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("");
    let config = toml::from_str::<Config>(text).unwrap_or_default();
    let rules = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("scan")?.get("rule")?.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| Some((r.get("id")?.as_str()?.to_string(), r)))
        .collect();
    (config, rules)
}

fn config_reasons(new: Option<&[u8]>, olds: &[Option<Vec<u8>>]) -> Vec<&'static str> {
    if let Some(bytes) = new {
        let valid = Config::parse(bytes, CONFIG_NAME).is_ok_and(|c| {
            super::rules::RuleSet::load(c.scan.rule.clone(), &c.scan.disable).is_ok()
        });
        if !valid {
            return vec!["the configuration is no longer valid"];
        }
    }
    let (new, new_rules) = lenient(new);
    let olds: Vec<_> = olds.iter().map(|o| lenient(o.as_deref())).collect();
    let size = |c: &Config| c.scan.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    let added = |field: fn(&Config) -> &Vec<String>| {
        let before: HashSet<&String> = olds.iter().flat_map(|(c, _)| field(c)).collect();
        field(&new).iter().any(|x| !before.contains(x))
    };
    let mut reasons = Vec::new();
    // A lower limit skips more files: lowering it (removing a value above the default
    // counts, through the default) is the widening.
    if olds.iter().all(|(c, _)| size(&new) < size(c)) {
        reasons.push("lowers max_file_size");
    }
    // A higher confidence floor reports less; no floor counts as the lowest any mode
    // uses (`--staged` reports every confidence), so setting one is a widening too.
    let floor = |c: &Config| c.scan.confidence.unwrap_or(Confidence::Low);
    if olds.iter().all(|(c, _)| floor(&new) > floor(c)) {
        reasons.push("raises the confidence floor");
    }
    if added(|c| &c.scan.disable) {
        reasons.push("disables rules");
    }
    if added(|c| &c.scan.allowlist.paths) {
        reasons.push("allowlists more paths");
    }
    if added(|c| &c.scan.allowlist.secrets) {
        reasons.push("allowlists more secrets");
    }
    // A custom rule every parent had, gone or changed (a changed regex may find less).
    let dropped = olds.first().is_some_and(|(_, first)| {
        first.iter().any(|(id, rule)| {
            olds.iter().all(|(_, o)| o.get(id) == Some(rule)) && new_rules.get(id) != Some(rule)
        })
    });
    if dropped {
        reasons.push("removes or changes custom rules");
    }
    reasons
}

fn baseline_reasons(new: Option<&[u8]>, olds: &[Option<Vec<u8>>]) -> Vec<&'static str> {
    let Some(bytes) = new else {
        return Vec::new();
    };
    let Ok(new) = Baseline::parse(bytes, BASELINE_NAME) else {
        return vec!["the baseline is no longer valid"];
    };
    let olds: Vec<Baseline> = olds
        .iter()
        .map(|o| {
            o.as_deref()
                .and_then(|b| Baseline::parse(b, BASELINE_NAME).ok())
                .unwrap_or_default()
        })
        .collect();
    let before: HashSet<String> = olds.iter().flat_map(|b| b.fingerprints()).collect();
    if new.fingerprints().iter().any(|f| !before.contains(f)) {
        vec!["adds accepted fingerprints to the baseline"]
    } else {
        Vec::new()
    }
}

/// The keys a version of an example file marks `# public` (none when it is missing or
/// cannot be parsed: then the scan searches every value).
fn public_keys(bytes: Option<&[u8]>) -> HashSet<String> {
    bytes
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|text| crate::secrets::dotenv::parse(text).ok())
        .map(|doc| {
            doc.entries()
                .filter(|e| e.public)
                .map(|e| e.key.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// A `# public` mark on a key that no parent marked: `known-secret` stops searching for
/// its value. (A key removed from the example is no widening: values come from the
/// secrets file.) The key is not named: the finding names the file.
fn example_reasons(new: Option<&[u8]>, olds: &[Option<Vec<u8>>]) -> Vec<&'static str> {
    let before: HashSet<String> = olds
        .iter()
        .flat_map(|o| public_keys(o.as_deref()))
        .collect();
    if public_keys(new).iter().any(|k| !before.contains(k)) {
        vec!["marks a key `# public` (its value is no longer searched for)"]
    } else {
        Vec::new()
    }
}

/// An ignore file's version as a matcher rooted at `/` (paths given as `/<dir>/<file>`).
/// Lines that are not valid patterns are dropped without a word: their text must not
/// reach any output.
fn ignore_matcher(dir: &str, bytes: Option<&[u8]>) -> Option<ignore::gitignore::Gitignore> {
    let bytes = bytes?;
    let base = Path::new("/").join(dir);
    let mut builder = ignore::gitignore::GitignoreBuilder::new(&base);
    for line in String::from_utf8_lossy(bytes).lines() {
        let _ = builder.add_line(None, line);
    }
    builder.build().ok()
}

fn ignore_reasons(
    root: &Path,
    commit: &str,
    path: &str,
    new: Option<&[u8]>,
    olds: &[Option<Vec<u8>>],
) -> anyhow::Result<Vec<&'static str>> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let Some(new) = ignore_matcher(dir, new) else {
        return Ok(Vec::new());
    };
    let olds: Vec<_> = olds
        .iter()
        .map(|o| ignore_matcher(dir, o.as_deref()))
        .collect();
    let ignored = |m: &ignore::gitignore::Gitignore, file: &Path| {
        m.matched_path_or_any_parents(file, false).is_ignore()
    };
    let files = git::tree_files(root, commit, dir)?;
    let newly: BTreeSet<&[u8]> = files
        .iter()
        .map(Vec::as_slice)
        .filter(|f| {
            let file = Path::new("/").join(String::from_utf8_lossy(f).as_ref());
            ignored(&new, &file) && !olds.iter().flatten().any(|old| ignored(old, &file))
        })
        .collect();
    Ok(if newly.is_empty() {
        Vec::new()
    } else {
        vec!["ignores files that git tracks"]
    })
}
