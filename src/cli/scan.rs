//! `envshim scan`: look for plaintext secrets in the working tree.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;

use super::Global;
use crate::exit::Exit;
use crate::git;
use crate::report::{self, Format};
use crate::scan::allow::{Baseline, PathAllowlist};
use crate::scan::config::Config;
use crate::scan::engine::{KnownValues, Matcher};
use crate::scan::rules::RuleSet;
use crate::scan::{is_binary, known, Outcome, Scan, Stats};
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

    /// Suppress findings whose fingerprints this baseline lists.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write every current finding into the baseline (default .envshim-baseline.json)
    /// and exit 0.
    #[arg(long)]
    pub update_baseline: bool,

    /// Scanner configuration [default: nearest envshim.toml up to the repository root]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Do not search for the decrypted values of the secrets file.
    #[arg(long)]
    pub no_known: bool,

    /// Scan what is staged in the git index, reporting only lines the staged change adds.
    #[arg(long, conflicts_with_all = ["range", "history"])]
    pub staged: bool,

    /// Scan the lines added by each commit in a range (A..B); findings name their commit.
    #[arg(long, value_name = "A..B", conflicts_with = "history")]
    pub range: Option<String>,

    /// Scan the lines added by every commit reachable from any ref.
    #[arg(long)]
    pub history: bool,

    /// With --staged: report findings anywhere in the staged files, not only on added lines.
    #[arg(long, requires = "staged")]
    pub all_lines: bool,

    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
}

/// Loads the decrypted values for `known-secret`, if the secrets file and an identity
/// are there. Failing that is not an error: the rules still run.
fn known_values(global: &Global) -> Option<KnownValues> {
    let paths = SecretsPaths::discover(global.file.as_deref()).ok()?;
    if !paths.secrets.exists() {
        return None;
    }
    let recipients = secrets::recipient_keys(&paths);
    let ids = match identity::find(&global.identity, recipients.as_deref()) {
        Ok(Some(ids)) => ids,
        _ => {
            global.info(
                "envshim: note: no identity, so the secrets' own values are not searched for",
            );
            return None;
        }
    };
    match secrets::load(&paths, &ids) {
        Ok(doc) => known::from_document(&doc).ok().flatten(),
        Err(e) => {
            global.info(format_args!(
                "envshim: note: the secrets' own values are not searched for: {e:#}"
            ));
            None
        }
    }
}

/// A spinner counting files, on a terminal only: a long scan should show it is alive.
fn progress(global: &Global) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if global.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} scanning: {pos} files, {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Runs `scan`.
pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<Exit> {
    let (config, _) = Config::load(args.config.as_deref())?;
    let rules = RuleSet::load(config.scan.rule.clone(), &config.scan.disable)?;
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
    let baseline = match &args.baseline {
        Some(path) if !args.update_baseline => Some(Baseline::read(path)?),
        _ => None,
    };
    let known = if args.no_known {
        None
    } else {
        known_values(global)
    };
    let scan = Scan {
        matcher: Matcher {
            rules: &rules,
            known: known.as_ref(),
            allow_secrets: &allow_secrets,
        },
        max_file_size: config.max_file_size(),
        allow: &allow_paths,
        threads: args.threads,
        progress: progress(global),
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
        let root = git::toplevel(&std::env::current_dir()?)?;
        let revisions = match &args.range {
            Some(range) => git::range_revisions(&root, range)?,
            None => vec!["--all".to_string()],
        };
        commits(&scan, &root, &revisions, args.threads)?
    } else {
        scan.walk(&roots)
    };
    drop(known);

    if args.update_baseline {
        let path = args
            .baseline
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_BASELINE));
        Baseline::from_findings(&outcome.findings).write(&path)?;
        global.info(format_args!(
            "wrote {} fingerprint{} to {}",
            outcome.findings.len(),
            if outcome.findings.len() == 1 { "" } else { "s" },
            path.display()
        ));
        return Ok(Exit::Success);
    }
    if let Some(baseline) = &baseline {
        let accepted = baseline.fingerprints();
        let before = outcome.findings.len();
        outcome
            .findings
            .retain(|f| !accepted.contains(f.fingerprint.as_str()));
        outcome.summary.suppressed += (before - outcome.findings.len()) as u64;
    }
    report_outcome(global, args.format, &outcome)?;
    Ok(if outcome.findings.is_empty() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

/// Scans the staged content: blobs from the index, findings on added lines only.
fn staged(scan: &Scan, all_lines: bool) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let stats = Stats::default();
    let root = git::toplevel(&std::env::current_dir()?)?;
    let files = git::staged_files(&root)?;
    let mut findings = Vec::new();
    if !files.is_empty() {
        let added = git::staged_added_lines(&root)?;
        let mut blobs = git::BlobReader::start(&root)?;
        for file in &files {
            let Some(bytes) = blobs.read(&file.blob, scan.max_file_size)? else {
                stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if is_binary(&bytes) {
                stats.skipped_binary.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let path = String::from_utf8_lossy(&file.path).into_owned();
            let mut local = Vec::new();
            scan.scan_buffer(&path, &bytes, true, &stats, &mut local);
            // A changed blob that git printed no hunks for (it must print them under
            // the pinned options; this is the fallback) counts as added throughout.
            let whole = file.blob != file.old_blob && !added.with_hunks.contains(&file.path);
            let lines = added.lines.get(&file.path);
            local.retain(|f| all_lines || whole || lines.is_some_and(|l| l.contains(&f.line)));
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
            s.spawn(|| loop {
                let next = receive.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok(chunk) = next else { break };
                let path = String::from_utf8_lossy(&chunk.path).into_owned();
                if chunk.text.len() as u64 > scan.max_file_size {
                    stats.skipped_large.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let mut local = Vec::new();
                scan.scan_buffer(&path, &chunk.text, false, &stats, &mut local);
                for finding in &mut local {
                    finding.line = chunk
                        .lines
                        .get(finding.line - 1)
                        .copied()
                        .unwrap_or(finding.line);
                    finding.commit = Some(chunk.commit.clone());
                }
                if !local.is_empty() {
                    findings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(local);
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
    let findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(scan.outcome(findings, &stats, started))
}

/// Prints findings to stdout and the summary to stderr.
pub fn report_outcome(global: &Global, format: Format, outcome: &Outcome) -> anyhow::Result<()> {
    let mut stdout = crate::output::stdout();
    let written: anyhow::Result<()> = (|| {
        report::reporter(format, global.color).write(outcome, &mut stdout)?;
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
    if outcome.errors > 0 {
        line.push_str(&format!("; {} unreadable", outcome.errors));
    }
    global.info(line);
    Ok(())
}
