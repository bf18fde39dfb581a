//! `doctor`: every check on one line — what is fine, what is wrong, and the command
//! that fixes it. Exit 1 when anything is wrong.

use std::path::Path;

use super::Global;
use crate::exit::Exit;
use crate::secrets::dotenv::Scope;
use crate::secrets::{self, crypto, recipients, SecretsPaths, Update, DEFAULT_FILE};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Rewrite an out-of-date example file (the only problem doctor fixes itself).
    #[arg(long)]
    pub fix: bool,
}

/// Collects check results and prints them, one line each. When the reader of stdout
/// goes away (`envshim doctor | head -1`), the checks still all run, silently, so that
/// the exit status still says whether anything is wrong.
#[derive(Default)]
struct Report {
    problems: usize,
    closed: bool,
}

impl Report {
    fn print(&mut self, line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match crate::output::write_line(line) {
            Err(e) if crate::output::is_closed(&e) => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }

    fn ok(&mut self, what: impl std::fmt::Display) -> std::io::Result<()> {
        self.print(format_args!("ok    {what}"))
    }

    /// A problem and the one thing to do about it.
    fn fail(
        &mut self,
        what: impl std::fmt::Display,
        fix: impl std::fmt::Display,
    ) -> std::io::Result<()> {
        self.problems += 1;
        self.print(format_args!("FAIL  {what}\n      fix: {fix}"))
    }

    fn note(&mut self, what: impl std::fmt::Display) -> std::io::Result<()> {
        self.print(format_args!("note  {what}"))
    }
}

/// Splits an error's text into what is wrong and what to do, where envshim's messages
/// say both ("X is wrong; do Y" or "X is wrong. Do Y"); otherwise `fallback` is the fix.
fn what_and_fix(err: &anyhow::Error, fallback: &str) -> (String, String) {
    let text = format!("{err:#}");
    for separator in ["; ", ". "] {
        if let Some((what, fix)) = text.rsplit_once(separator) {
            let fix = fix.trim_end_matches('.');
            let actionable = [
                "run ", "ask ", "create ", "add ", "restore ", "fix ", "pass ",
            ]
            .iter()
            .any(|verb| fix.to_ascii_lowercase().starts_with(verb));
            if actionable {
                return (what.to_string(), fix.to_string());
            }
        }
    }
    (text, fallback.to_string())
}

/// Runs `doctor`: every check runs, whatever fails before it, and each problem is
/// reported once.
pub fn run(global: &Global, args: DoctorArgs) -> anyhow::Result<Exit> {
    let mut report = Report::default();
    let paths = match SecretsPaths::discover(global.file.as_deref()) {
        Ok(p) => p,
        Err(_) => {
            let paths = SecretsPaths::for_file(DEFAULT_FILE);
            report.fail(
                format!(
                    "no {DEFAULT_FILE} here or in a parent directory up to the repository root"
                ),
                "`envshim init` in the project root (or pass -f FILE)",
            )?;
            paths
        }
    };
    let secrets_name = paths.secrets.display().to_string();
    let secrets_exist = paths.secrets.exists();

    let listed = match recipients::read(&paths.recipients) {
        Ok(keys) => {
            report.ok(format!(
                "{} lists {} recipient{}",
                paths.recipients.display(),
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            ))?;
            check_age_readable(&mut report, &paths.recipients)?;
            Some(keys.iter().map(|k| k.canonical()).collect::<Vec<_>>())
        }
        // A missing recipients file beside a missing secrets file is the same problem.
        Err(_) if !secrets_exist && !paths.recipients.exists() => None,
        Err(e) => {
            let fix = if paths.recipients.exists() {
                "correct or delete the line named (one age1… or ssh- public key per line)"
                    .to_string()
            } else {
                format!(
                    "restore it from git (`git checkout -- {}`), or write the readers' public \
                     keys into it, one per line",
                    secrets::shell_word(&paths.recipients.display().to_string())
                )
            };
            report.fail(format!("{e:#}"), fix)?;
            None
        }
    };

    let mut key_listed = true;
    let ids = match secrets::identities_for(&paths, &global.identity) {
        Ok(ids) => {
            report.ok(format!("identity found ({}) and private", ids.source))?;
            let public = ids.public_keys();
            match &listed {
                Some(listed) if public.is_empty() => report.note(format!(
                    "cannot tell the public key of {}; {} lists {} key(s)",
                    ids.source,
                    paths.recipients.display(),
                    listed.len()
                ))?,
                Some(listed) => {
                    if public
                        .iter()
                        .any(|k| listed.contains(&recipients::canonical(k)))
                    {
                        report.ok(format!("your key is a recipient of {secrets_name}"))?;
                    } else {
                        key_listed = false;
                        report.fail(
                            format!(
                                "your key ({}) is not a recipient of {secrets_name}",
                                public.join(", ")
                            ),
                            format!(
                                "ask a recipient to run `envshim recipients add {}`",
                                public[0]
                            ),
                        )?;
                    }
                }
                None => {}
            }
            Some(ids)
        }
        Err(e) => {
            let (what, fix) = what_and_fix(&e, "`envshim keygen`, then ask a recipient to add you");
            report.fail(what, fix)?;
            None
        }
    };
    let taken = crate::secrets::identity::identity_variables_set();
    if !taken.is_empty() {
        report.ok(format!(
            "{} is removed from every command envshim runs (`exec --pass-identity` hands it on)",
            taken.join(" and ")
        ))?;
    }

    let mut encrypted = false;
    match std::fs::read(&paths.secrets) {
        Ok(bytes) if !crypto::looks_encrypted(&bytes) => {
            report.fail(format!("{secrets_name} is not encrypted"), {
                let word = secrets::shell_word(&secrets_name);
                format!(
                    "`mv {word} {word}.plain && {} && {} {word}.plain && rm {word}.plain`, and \
                     never commit the plaintext (rotate it if it was committed)",
                    secrets::command_for(&paths, "init --force"),
                    secrets::command_for(&paths, "import")
                )
            })?
        }
        Ok(_) => {
            encrypted = true;
            report.ok(format!("{secrets_name} is age-encrypted"))?;
        }
        Err(_) if !secrets_exist => {}
        Err(e) => report.fail(
            format!("cannot read {secrets_name}: {e}"),
            format!("make {secrets_name} readable (check its owner and mode)"),
        )?,
    }

    // Decrypting is tried only where no problem above already explains a failure.
    if let (Some(ids), true, true) = (&ids, encrypted, key_listed) {
        match secrets::load(&paths, ids) {
            Ok(doc) => {
                report.ok(format!(
                    "{secrets_name} decrypts and parses ({} variables)",
                    doc.entries().count()
                ))?;
                check_example(&mut report, &paths, &doc, args.fix, ids)?;
            }
            Err(e) => {
                let (what, fix) = what_and_fix(&e, "restore the file from git");
                report.fail(what, fix)?;
            }
        }
    }

    check_git(&mut report, &paths)?;

    if report.problems == 0 {
        report.print(format_args!("no problems found"))?;
        Ok(Exit::Success)
    } else {
        let problems = report.problems;
        report.print(format_args!(
            "{problems} problem{} found",
            if problems == 1 { "" } else { "s" }
        ))?;
        Ok(Exit::Problems)
    }
}

fn check_example(
    report: &mut Report,
    paths: &SecretsPaths,
    doc: &secrets::dotenv::Document,
    fix: bool,
    ids: &secrets::identity::Identities,
) -> std::io::Result<()> {
    let name = paths.example.display();
    let current = match secrets::load_example(paths) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                format!("{e:#}"),
                format!("delete {name} and run `envshim doctor --fix`"),
            )?;
            return Ok(());
        }
    };
    // Loader variables the reviewed example does not declare: `exec` refuses them, and
    // `--fix` must not declare them silently (they may come from a forged file).
    let refused: Vec<&str> = doc
        .entries()
        .map(|e| e.key.as_str())
        .filter(|k| crate::exec::is_loader_variable(k))
        .filter(|k| current.as_ref().is_none_or(|c| c.get(k).is_none()))
        .collect();
    if !refused.is_empty() {
        report.fail(
            format!(
                "{} sets {}, which {name} does not declare; `exec` refuses to run with them",
                paths.secrets.display(),
                refused.join(", ")
            ),
            format!(
                "check who added them (`git log -p -- {}`); if they belong, add `{}=` to {name}, \
                 else `envshim rm {}`",
                secrets::shell_word(&paths.secrets.display().to_string()),
                refused[0],
                refused[0]
            ),
        )?;
    }
    for scope in [Scope::Runtime, Scope::Deploy] {
        let missing: Vec<&str> = current
            .iter()
            .flat_map(|c| c.in_scope(scope))
            .filter(|e| !e.optional && doc.get(&e.key).is_none())
            .map(|e| e.key.as_str())
            .collect();
        if missing.is_empty() {
            report.ok(format!("every required {scope} variable is set"))?;
        } else {
            report.fail(
                format!(
                    "required {scope} variable{} not set: {} (`exec --scope {scope}` fails)",
                    if missing.len() == 1 { " is" } else { "s are" },
                    missing.join(", ")
                ),
                format!(
                    "`envshim set {}{}`, or mark it `# optional` in {name}",
                    missing[0],
                    if scope == Scope::Deploy {
                        " --deploy"
                    } else {
                        ""
                    }
                ),
            )?;
        }
    }
    // What `--fix` writes: every key declared, except undeclared loader variables.
    let (expected, _) = doc.example(current.as_ref(), &[], &|key| {
        !crate::exec::is_loader_variable(key)
    });
    let on_disk = std::fs::read(&paths.example).unwrap_or_default();
    if on_disk == expected.as_bytes() {
        return report.ok(format!("{name} is in sync"));
    }
    if !refused.is_empty() {
        // Already reported; rewriting would declare the refused variables.
        return Ok(());
    }
    if fix {
        let fixed = Update::open(paths.clone(), ids).and_then(|mut update| {
            update.declare_reviewed_keys();
            update.save()
        });
        match fixed {
            Ok(_) => report.ok(format!("{name} rewritten")),
            Err(e) => report.fail(
                format!("cannot rewrite {name}: {e:#}"),
                format!("delete {name} and run `envshim doctor --fix` again"),
            ),
        }
    } else {
        report.fail(format!("{name} is out of date"), "`envshim doctor --fix`")
    }
}

/// Runs git in `dir`; None when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = crate::git::command(dir).args(args).output().ok()?;
    out.status.success().then_some(out.stdout)
}

/// True for file names that hold plaintext dotenv by convention.
pub fn is_plaintext_dotenv_name(name: &str) -> bool {
    let dotenv = name == ".env" || name.starts_with(".env.") || name.ends_with(".env");
    let template = [
        ".example",
        ".sample",
        ".template",
        ".dist",
        ".secrets",
        ".recipients",
    ]
    .iter()
    .any(|s| name.ends_with(s));
    dotenv && !template
}

fn check_git(report: &mut Report, paths: &SecretsPaths) -> std::io::Result<()> {
    let dir = crate::secrets::store::dir_of(&paths.secrets).to_path_buf();
    let Some(top) = git(&dir, &["rev-parse", "--show-toplevel"]) else {
        return report.note("not inside a git repository: git checks skipped");
    };
    let top = std::path::PathBuf::from(String::from_utf8_lossy(&top).trim());

    let probes = [".env", ".env.local"];
    let unignored: Vec<&str> = probes
        .iter()
        .copied()
        .filter(|p| git(&dir, &["check-ignore", "-q", "--no-index", p]).is_none())
        .collect();
    if unignored.is_empty() {
        report.ok(".gitignore keeps plaintext dotenv files (.env, .env.*) out of git")?;
    } else {
        report.fail(
            format!("git would not ignore {} in {}", unignored.join(", "), dir.display()),
            "add `.env` and `.env.*` to .gitignore (with `!.env.secrets*` exceptions), as `envshim init` does",
        )?;
    }

    let hook = git(&dir, &["rev-parse", "--git-path", "hooks/pre-commit"])
        .map(|p| dir.join(String::from_utf8_lossy(&p).trim()));
    let framework = std::fs::read_to_string(top.join(".pre-commit-config.yaml"))
        .is_ok_and(|text| text.contains("envshim"));
    match hook.and_then(|h| std::fs::read_to_string(h).ok()) {
        Some(text) if text.contains("envshim") => {
            report.ok("the envshim pre-commit hook is installed")?
        }
        _ if framework => report.ok("the envshim hook is configured in .pre-commit-config.yaml")?,
        _ => report.fail(
            "the envshim pre-commit hook is not installed",
            "`envshim hook install` (or use the pre-commit framework: .pre-commit-hooks.yaml)",
        )?,
    }

    let Some(listing) = git(&top, &["ls-files", "-z"]) else {
        return Ok(());
    };
    let tracked: Vec<String> = listing
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            is_plaintext_dotenv_name(name)
                && !std::fs::read(top.join(p)).is_ok_and(|b| crypto::looks_encrypted(&b))
        })
        .collect();
    if tracked.is_empty() {
        report.ok("no plaintext dotenv file is tracked by git")
    } else {
        report.fail(
            format!("git tracks plaintext dotenv: {}", tracked.join(", ")),
            "`envshim import FILE`, `git rm --cached FILE`, then rotate those secrets (git history keeps them)",
        )
    }
}

/// envshim reads `age1… # label`, `age -R` does not: the file must stay readable by both.
fn check_age_readable(report: &mut Report, path: &Path) -> std::io::Result<()> {
    let Ok(text) = recipients::read_text(path) else {
        return Ok(());
    };
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| recipients::unreadable_by_age(line))
        .map(|(index, _)| (index + 1).to_string())
        .collect();
    if !lines.is_empty() {
        report.fail(
            format!(
                "{} line{} {}: `age -R` rejects a label after an age key",
                path.display(),
                if lines.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ),
            "put each label on its own line directly above its key (`# alice`), as envshim \
             writes labels",
        )?;
    }
    Ok(())
}
