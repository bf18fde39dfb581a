//! `envshim scan`: look for plaintext secrets in the working tree.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;

use super::Global;
use crate::exit::Exit;
use crate::git;
use crate::report::{self, Format};
use crate::scan::added::{touches, BLOB_HARD_CAP};
use crate::scan::allow::{Baseline, PathAllowlist};
use crate::scan::config::Config;
use crate::scan::engine::{KnownValues, Matcher};
use crate::scan::fingerprint::{self, Salt};
use crate::scan::policy::{self, RangeBase};
use crate::scan::rules::{Confidence, RuleSet};
use crate::scan::{covers_whole_base, known, sanitize, scan_base, Outcome, Scan, Stats};
use crate::secrets::{self, identity, SecretsPaths};
use std::sync::atomic::Ordering;

/// The default baseline file name.
pub const DEFAULT_BASELINE: &str = ".envshim-baseline.json";

/// Arguments of `scan`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Files or directories to scan [default: .]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Suppress findings whose fingerprints this baseline lists [default:
    /// .envshim-baseline.json at the repository root, when it exists; with --range, as
    /// the range's base commit has it]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Read no baseline: report every finding.
    #[arg(long, conflicts_with_all = ["baseline", "update_baseline"])]
    pub no_baseline: bool,

    /// Add every current finding to the baseline and exit 0. A scan of part of the
    /// repository (--staged, --range, --history, some paths) only adds entries; a scan
    /// of the whole working tree also drops entries that no longer match.
    #[arg(long)]
    pub update_baseline: bool,

    /// Scanner configuration [default: nearest envshim.toml up to the repository root;
    /// with --range, that file as the range's base commit has it]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Do not search for the decrypted values of the secrets file.
    #[arg(long)]
    pub no_known: bool,

    /// Scan what is staged in the git index, reporting only lines the staged change adds.
    #[arg(long, conflicts_with_all = ["range", "history"])]
    pub staged: bool,

    /// Scan the lines added by each commit in a range (A..B); findings name their commit.
    /// Configuration and baseline come from A; a change in the range that widens what the
    /// scan suppresses is itself a finding (suppression-widened).
    #[arg(long, value_name = "A..B", conflicts_with = "history")]
    pub range: Option<String>,

    /// Scan the lines added by every commit reachable from any ref.
    #[arg(long)]
    pub history: bool,

    /// With --staged: report findings anywhere in the staged files, not only on added lines.
    #[arg(long, requires = "staged")]
    pub all_lines: bool,

    /// Report only findings of this confidence or higher; the others are counted in the
    /// summary [default: `confidence` in envshim.toml, else medium; with --staged, low]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub confidence: Option<Confidence>,

    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

/// Loads the decrypted values for `known-secret`, if the secrets file and an identity
/// are there. Failing that is not an error: the rules still run, and `notes` says why
/// (printed with the summary, so that a clean `--staged` stays silent).
fn known_values(
    global: &Global,
    notes: &mut Vec<String>,
    base: Option<(&std::path::Path, &str)>,
) -> Option<KnownValues> {
    let paths = SecretsPaths::discover(global.file.as_deref()).ok()?;
    if !paths.secrets.exists() {
        return None;
    }
    let recipients = secrets::recipient_keys(&paths);
    let ids = match identity::find(&global.identity, recipients.as_deref()) {
        Ok(Some(ids)) => ids,
        _ => {
            notes.push(
                "envshim: note: no identity, so the secrets' own values are not searched for"
                    .to_string(),
            );
            return None;
        }
    };
    match secrets::load(&paths, &ids) {
        // The example's `# public` marks say which values are not secrets.
        Ok(doc) => {
            let example = secrets::load_example(&paths).ok().flatten();
            // In --range, the base's values too: a change that drops a key from the
            // secrets file and writes its value in plaintext is still found.
            let old = base.and_then(|(root, commit)| base_secrets(root, commit, &paths, &ids));
            let docs: Vec<&secrets::dotenv::Document> =
                std::iter::once(&doc).chain(old.as_ref()).collect();
            known::from_all(&docs, example.as_ref()).ok().flatten()
        }
        Err(e) => {
            notes.push(format!(
                "envshim: note: the secrets' own values are not searched for: {e:#}"
            ));
            None
        }
    }
}

/// The secrets file as `commit` has it, decrypted; None when it is not there, not a
/// regular file, or cannot be read with these identities.
fn base_secrets(
    root: &std::path::Path,
    commit: &str,
    paths: &SecretsPaths,
    ids: &identity::Identities,
) -> Option<secrets::dotenv::Document> {
    let absolute = paths.secrets.canonicalize().ok()?;
    let top = root.canonicalize().ok()?;
    let relative = absolute
        .strip_prefix(&top)
        .ok()?
        .to_str()?
        .replace('\\', "/");
    let (mode, id) = git::tree_entry(root, commit, &relative).ok()??;
    if mode != "100644" && mode != "100755" {
        return None;
    }
    let ciphertext = git::blob(root, &id).ok()?;
    let plaintext = secrets::crypto::decrypt(&ciphertext, &ids.identities).ok()?;
    secrets::dotenv::parse_bytes(&plaintext).ok()
}

/// Progress (files, bytes, rate) on a terminal only: a long scan should show it is
/// alive. Not for `--staged`, which is quick and, when clean, silent.
fn progress(global: &Global, staged: bool) -> Option<crate::scan::Progress> {
    use std::io::IsTerminal;
    if global.quiet || staged || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(crate::scan::Progress::start())
}

/// Where the default baseline lives: the repository root (outside git, the scanned
/// directory).
fn baseline_home(args: &ScanArgs, roots: &[PathBuf]) -> Option<PathBuf> {
    if args.staged || args.range.is_some() || args.history {
        git::toplevel(&std::env::current_dir().ok()?).ok()
    } else {
        roots.first().map(|root| scan_base(root))
    }
}

/// The baseline to read: `--baseline FILE` (which must exist), else the default file
/// when it exists, else none. Returns it with the path an update writes to.
fn load_baseline(
    args: &ScanArgs,
    roots: &[PathBuf],
) -> anyhow::Result<(Option<Baseline>, Option<PathBuf>)> {
    if let Some(path) = &args.baseline {
        let meta = std::fs::symlink_metadata(path);
        // An update may create the file; a plain scan must not take a typo for "none".
        if args.update_baseline && meta.is_err() {
            return Ok((None, Some(path.clone())));
        }
        // As for --config: a link (committed, to a file elsewhere) is refused, never
        // followed for reading or for an update's write.
        if meta.is_ok_and(|m| !m.file_type().is_file()) {
            bail!(
                "{} is not a regular file; a baseline must be one",
                shown(path)
            );
        }
        return Ok((Some(Baseline::read(path)?), Some(path.clone())));
    }
    if args.no_baseline {
        return Ok((None, None));
    }
    let Some(path) = baseline_home(args, roots).map(|home| home.join(DEFAULT_BASELINE)) else {
        return Ok((None, Some(PathBuf::from(DEFAULT_BASELINE))));
    };
    match std::fs::symlink_metadata(&path) {
        // The repository's own file: a link (to /dev/zero, a FIFO, a file outside) is
        // refused rather than followed.
        Ok(meta) if !meta.file_type().is_file() => bail!(
            "{} is not a regular file; a baseline must be one (give another with --baseline, or none with --no-baseline)",
            shown(&path)
        ),
        Ok(_) => Ok((Some(Baseline::read(&path)?), Some(path))),
        Err(_) => Ok((None, Some(path))),
    }
}

/// Path text for a message: relative to the current directory when below it.
fn shown(path: &std::path::Path) -> String {
    sanitize(&crate::scan::display_path(path))
}

/// The confidence floor when neither the flag nor the configuration sets one. The
/// pre-commit hook (`--staged`) sees a small diff, where a generic `password = "…"` is
/// cheap to look at and cheapest to fix: it reports every confidence. A scan of a tree
/// or of a range reports medium and above: low findings (generic assignments) are
/// mostly documentation examples in real code.
pub fn default_floor(staged: bool) -> Confidence {
    if staged {
        Confidence::Low
    } else {
        Confidence::Medium
    }
}

/// Runs `scan`.
pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<Exit> {
    // In --range the scanned change must not choose its own suppression: configuration
    // and baseline come from the base commit unless given explicitly.
    let range = match &args.range {
        Some(range) => {
            let root = git::toplevel(&std::env::current_dir()?)?;
            // The commits first: its errors say what to do about a missing base.
            let resolved = git::range_revisions(&root, range)?;
            let base = RangeBase::new(&root, resolved.base)?;
            Some((root, base, resolved.revisions))
        }
        None => None,
    };
    let config = match (&args.config, &range) {
        (None, Some((_, base, _))) => base.config()?,
        (explicit, _) => Config::load(explicit.as_deref())?.0,
    };
    let rules = RuleSet::load(config.scan.rule.clone(), &config.scan.disable)?;
    let floor = args
        .confidence
        .or(config.scan.confidence)
        .unwrap_or_else(|| default_floor(args.staged));
    let allow_secrets = config.secret_allowlist()?;
    let allow_paths = PathAllowlist::new(&config.scan.allowlist.paths)?;
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for root in &roots {
        if std::fs::symlink_metadata(root).is_err() {
            bail!("{} does not exist", root.display());
        }
    }
    let (baseline, baseline_path) = load_baseline(&args, &roots)?;
    // In --range the baseline that suppresses is the base commit's; the working tree's
    // is only the file an update writes.
    let baseline = match &range {
        Some((_, base, _))
            if args.baseline.is_none() && !args.no_baseline && !args.update_baseline =>
        {
            base.baseline()?
        }
        _ => baseline,
    };
    let mut notes = Vec::new();
    let known = if args.no_known || rules.known_rule().is_none() {
        None
    } else {
        let base = range
            .as_ref()
            .and_then(|(root, base, _)| base.commit().map(|c| (root.as_path(), c)));
        known_values(global, &mut notes, base)
    };
    // Rules this run cannot report (disabled, or `known-secret` without the values):
    // their baseline entries are never dropped by it.
    let mut unseen: Vec<&str> = config.scan.disable.iter().map(String::as_str).collect();
    if known.is_none() {
        unseen.push("known-secret");
    }
    // Nor rules below the confidence floor (an update from a scan at a higher floor
    // keeps what a lower one accepted).
    unseen.extend(
        rules
            .rules
            .iter()
            .filter(|r| r.confidence < floor)
            .map(|r| r.spec.id.as_str()),
    );
    let scan = Scan {
        matcher: Matcher {
            rules: &rules,
            known: known.as_ref(),
            allow_secrets: &allow_secrets,
        },
        max_file_size: config.max_file_size(),
        allow: &allow_paths,
        threads: args.threads,
        progress: progress(global, args.staged),
    };
    let mut outcome = if args.staged {
        if !args.paths.is_empty() {
            bail!("--staged scans the git index; give no paths with it");
        }
        staged(&scan, args.all_lines)?
    } else if args.range.is_some() || args.history {
        if !args.paths.is_empty() {
            bail!("--range and --history scan commits; give no paths with them");
        }
        match &range {
            Some((root, _, revisions)) => commits(&scan, root, revisions, args.threads)?,
            None => {
                let root = git::toplevel(&std::env::current_dir()?)?;
                commits(&scan, &root, &["--all".to_string()], args.threads)?
            }
        }
    } else {
        scan.walk(&roots)?
    };
    if let Some(progress) = &scan.progress {
        progress.finish();
    }
    drop(known);
    apply_floor(&mut outcome, floor);

    // Only a complete look at the whole working tree may drop baseline entries: not a
    // partial scan, and not one that could not read some files.
    let whole = !args.staged
        && args.range.is_none()
        && !args.history
        && outcome.errors == 0
        && covers_whole_base(&roots);
    if args.update_baseline {
        let Some(path) = baseline_path else {
            bail!("--update-baseline needs a baseline file to write");
        };
        // The old salt keeps old entries comparable; a first baseline gets a fresh one.
        let salt = match baseline.as_ref().and_then(|b| b.salt.clone()) {
            Some(salt) => salt,
            None => Salt::random()?,
        };
        fingerprint::assign(&mut outcome.findings, &salt, args.threads, |_| true);
        let (updated, counts) =
            Baseline::updated(baseline.as_ref(), &outcome.findings, salt, whole, &unseen);
        updated.write(&path)?;
        let mut line = format!(
            "envshim: wrote {} fingerprint{} to {} ({} new, {} dropped",
            counts.written,
            if counts.written == 1 { "" } else { "s" },
            shown(&path),
            counts.new,
            counts.dropped,
        );
        if !whole {
            line.push_str("; a partial scan only adds");
        }
        line.push(')');
        if counts.unsalted > 0 {
            line.push_str(&format!(
                "; {} old entr{} kept unconverted until an update from a scan of the whole repository",
                counts.unsalted,
                if counts.unsalted == 1 { "y" } else { "ies" }
            ));
        }
        global.info(line);
        return Ok(Exit::Success);
    }
    // The slow hash only where a fingerprint is shown (JSON, SARIF) or may match a
    // baseline entry (same rule and path): the hook and the text report stay fast.
    let shows_fingerprints = matches!(args.format, Format::Json | Format::Sarif);
    fingerprint::assign(
        &mut outcome.findings,
        &Baseline::salt_or_default(baseline.as_ref()),
        args.threads,
        |f| shows_fingerprints || baseline.as_ref().is_some_and(|b| b.may_accept(f)),
    );
    if let Some(baseline) = &baseline {
        let before = outcome.findings.len();
        outcome.findings.retain(|f| !baseline.accepts(f));
        outcome.summary.suppressed += (before - outcome.findings.len()) as u64;
    }
    if let Some((root, _, revisions)) = &range {
        // After the baseline: a widening change is never suppressed.
        let watched = watched_paths(root, &[args.config.as_deref(), args.baseline.as_deref()]);
        let mut widened = policy::widening(root, revisions, &watched)?;
        fingerprint::assign(
            &mut widened,
            &Baseline::salt_or_default(baseline.as_ref()),
            args.threads,
            |_| shows_fingerprints,
        );
        outcome.findings.extend(widened);
        crate::scan::sort_findings(&mut outcome.findings);
    }
    // A clean `--staged` (the pre-commit hook) prints nothing at all; one that could
    // not read a blob (over the hard cap) is not clean.
    let silent = args.staged
        && outcome.findings.is_empty()
        && outcome.errors == 0
        && outcome.summary.skipped == 0;
    if !silent {
        for note in &notes {
            global.info(sanitize(note));
        }
    }
    report_outcome(global, args.format, &outcome, args.staged, silent)?;
    Ok(if outcome.findings.is_empty() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

/// Takes the findings below `floor` out of the report, counting them in the summary.
fn apply_floor(outcome: &mut Outcome, floor: Confidence) {
    let before = outcome.findings.len();
    outcome.findings.retain(|f| f.confidence >= floor);
    outcome.summary.below_confidence += (before - outcome.findings.len()) as u64;
}

/// Explicit `--config`/`--baseline` files inside the repository, repository-relative,
/// so that a range that changes them is reported like one that changes the defaults.
fn watched_paths(root: &std::path::Path, explicit: &[Option<&std::path::Path>]) -> Vec<String> {
    explicit
        .iter()
        .flatten()
        .filter_map(|path| {
            let absolute = std::path::absolute(path).ok()?;
            let parent = absolute.parent()?.canonicalize().ok()?;
            let relative = parent.join(absolute.file_name()?);
            let relative = relative.strip_prefix(root).ok()?;
            Some(relative.to_string_lossy().replace('\\', "/"))
        })
        .collect()
}

/// Scans the staged content: blobs from the index, findings on added lines only.
fn staged(scan: &Scan, all_lines: bool) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let stats = Stats::default();
    let root = git::toplevel(&std::env::current_dir()?)?;
    let files = git::staged_files(&root)?;
    let mut findings = Vec::new();
    if !files.is_empty() {
        // What a commit adds is scanned whatever the file's size or content (the size
        // limit and the binary skip are for the working-tree walk); only a blob over the
        // hard cap is not read (nor diffed), and that is said even in the hook.
        let ids: Vec<&str> = files.iter().map(|f| f.blob.as_str()).collect();
        let sizes = git::blob_sizes(&root, &ids)?;
        let over: Vec<&[u8]> = files
            .iter()
            .zip(&sizes)
            .filter(|(_, &size)| size > BLOB_HARD_CAP)
            .map(|(f, _)| f.path.as_slice())
            .collect();
        let added = git::staged_added_lines_except(&root, &over)?;
        let mut blobs = git::BlobReader::start(&root)?;
        for (file, &size) in files.iter().zip(&sizes) {
            let path = String::from_utf8_lossy(&file.path).into_owned();
            let bytes = match size > BLOB_HARD_CAP {
                false => blobs.read(&file.blob, BLOB_HARD_CAP)?,
                true => None,
            };
            let Some(bytes) = bytes else {
                stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "envshim: warning: {} is over {} MiB; its staged lines were not scanned",
                    sanitize(&path),
                    BLOB_HARD_CAP >> 20
                );
                continue;
            };
            let mut local = Vec::new();
            scan.scan_buffer(&path, &bytes, true, &stats, &mut local);
            // A changed blob that git printed no hunks for (it must print them under
            // the pinned options; this is the fallback) counts as added throughout.
            let whole = file.blob != file.old_blob && !added.with_hunks.contains(&file.path);
            let lines = added.lines.get(&file.path);
            // A secret whose span touches an added line is the change's (a key pasted
            // between an old BEGIN and END line).
            local.retain(|f| all_lines || whole || lines.is_some_and(|l| touches(f, l)));
            findings.extend(local);
        }
    }
    Ok(scan.outcome(findings, &stats, started))
}

/// Scans the lines each commit adds, streaming `git log -p` to worker threads.
fn commits(
    scan: &Scan,
    root: &std::path::Path,
    revisions: &[String],
    threads: usize,
) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let stats = Stats::default();
    let workers = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    // A bounded queue keeps memory flat however long the history is.
    let (send, receive) = std::sync::mpsc::sync_channel::<git::AddedChunk>(workers * 16);
    let receive = std::sync::Mutex::new(receive);
    let findings = std::sync::Mutex::new(Vec::new());
    let result = std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // Started on a worker's first need for a whole blob.
                let mut blobs: Option<git::BlobReader> = None;
                loop {
                    let next = receive.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(chunk) = next else { break };
                    let path = String::from_utf8_lossy(&chunk.path).into_owned();
                    let mut blob = || {
                        let id = chunk.blob.as_deref()?;
                        if blobs.is_none() {
                            blobs = git::BlobReader::start(root).ok();
                        }
                        let content = blobs.as_mut()?.read(id, BLOB_HARD_CAP);
                        if content.is_err() {
                            // The reader's stream is out of step: the next need starts another.
                            blobs = None;
                        }
                        content.ok().flatten()
                    };
                    let mut local = Vec::new();
                    scan.scan_added(
                        &path,
                        &chunk.text,
                        &chunk.lines,
                        &mut blob,
                        &stats,
                        &mut local,
                    );
                    for finding in &mut local {
                        finding.commit = Some(chunk.commit.clone());
                    }
                    if !local.is_empty() {
                        findings
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(local);
                    }
                }
            });
        }
        let result = git::for_each_added_chunk(root, revisions, |chunk| {
            let _ = send.send(chunk);
        });
        drop(send);
        result
    });
    result?;
    let mut findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    // A large file comes in pieces: a secret or file finding seen from two is one.
    findings.sort_by(|a, b| {
        (&a.commit, &a.path, a.line, a.column, &a.rule)
            .cmp(&(&b.commit, &b.path, b.line, b.column, &b.rule))
    });
    findings.dedup_by(|a, b| {
        (&a.commit, &a.path, a.line, a.column, &a.rule)
            == (&b.commit, &b.path, b.line, b.column, &b.rule)
    });
    Ok(scan.outcome(findings, &stats, started))
}

/// Prints findings to stdout and, unless `silent`, the summary to stderr. `staged` picks
/// the advice (a blocked commit's way out is `git commit --no-verify`).
pub fn report_outcome(
    global: &Global,
    format: Format,
    outcome: &Outcome,
    staged: bool,
    silent: bool,
) -> anyhow::Result<()> {
    let mut stdout = crate::output::stdout();
    let written: anyhow::Result<()> = (|| {
        report::reporter(format, global.color, staged).write(outcome, &mut stdout)?;
        stdout.flush()?;
        Ok(())
    })();
    // A reader that stopped early (`| head`) does not turn findings into success: the
    // exit status still says whether there were any.
    if let Err(err) = written {
        if !crate::exit::is_stdout_closed(&err) {
            return Err(err);
        }
    }
    let s = &outcome.summary;
    let mut line = format!(
        "envshim: {} finding{} in {} file{} ({:.1} MB) in {} ms",
        outcome.findings.len(),
        if outcome.findings.len() == 1 { "" } else { "s" },
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.bytes as f64 / 1e6,
        s.elapsed_ms
    );
    if s.skipped > 0 {
        line.push_str(&format!(
            "; {} skipped ({} over the size limit, the rest binary)",
            s.skipped, outcome.skipped_large
        ));
    }
    if s.suppressed > 0 {
        line.push_str(&format!("; {} suppressed", s.suppressed));
    }
    if s.below_confidence > 0 {
        line.push_str(&format!(
            "; {} below the confidence floor (see them with --confidence low)",
            s.below_confidence
        ));
    }
    if outcome.errors > 0 {
        line.push_str(&format!("; {} unreadable", outcome.errors));
    }
    if !silent {
        global.info(line);
    }
    Ok(())
}
