//! `doctor`: every check on one line — what is fine, what is wrong, and the command
//! that fixes it. Exit 1 when anything is wrong.

use std::path::Path;
use std::process::Command;

use super::Global;
use crate::exit::Exit;
use crate::secrets::{self, crypto, recipients, SecretsPaths, Update};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Rewrite an out-of-date example file (the only problem doctor fixes itself).
    #[arg(long)]
    pub fix: bool,
}

/// Collects check results.
#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn ok(&mut self, what: impl std::fmt::Display) {
        println!("ok    {what}");
    }

    fn fail(&mut self, what: impl std::fmt::Display, fix: impl std::fmt::Display) {
        self.problems += 1;
        println!("FAIL  {what}\n      fix: {fix}");
    }

    fn note(&mut self, what: impl std::fmt::Display) {
        println!("note  {what}");
    }
}

/// Runs `doctor`.
pub fn run(global: &Global, args: DoctorArgs) -> anyhow::Result<Exit> {
    let mut report = Report::default();
    let paths = match SecretsPaths::discover(global.file.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            report.fail(format!("{e:#}"), "`envshim init`");
            return Ok(Exit::Problems);
        }
    };
    let secrets_name = paths.secrets.display().to_string();

    let listed = match recipients::read(&paths.recipients) {
        Ok(keys) => {
            report.ok(format!(
                "{} lists {} recipient{}",
                paths.recipients.display(),
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            ));
            check_age_readable(&mut report, &paths.recipients);
            Some(keys.iter().map(|k| k.canonical()).collect::<Vec<_>>())
        }
        Err(e) => {
            report.fail(
                format!("{e:#}"),
                format!(
                    "fix the line named, or list the public keys in {}",
                    paths.recipients.display()
                ),
            );
            None
        }
    };

    let ids = match secrets::identities_for(&paths, &global.identity) {
        Ok(ids) => {
            report.ok(format!("identity found ({}) and private", ids.source));
            let public = ids.public_keys();
            match &listed {
                Some(listed) if public.is_empty() => report.note(format!(
                    "cannot tell the public key of {}; {} lists {} key(s)",
                    ids.source,
                    paths.recipients.display(),
                    listed.len()
                )),
                Some(listed) => {
                    if public
                        .iter()
                        .any(|k| listed.contains(&recipients::canonical(k)))
                    {
                        report.ok(format!("your key is a recipient of {secrets_name}"));
                    } else {
                        report.fail(
                            format!(
                                "your key ({}) is not a recipient of {secrets_name}",
                                public.join(", ")
                            ),
                            format!(
                                "ask a recipient to run `envshim recipients add {}`",
                                public[0]
                            ),
                        );
                    }
                }
                None => {}
            }
            Some(ids)
        }
        Err(e) => {
            report.fail(format!("{e:#}"), "see the message above");
            None
        }
    };

    match std::fs::read(&paths.secrets) {
        Ok(bytes) if !crypto::looks_encrypted(&bytes) => report.fail(
            format!("{secrets_name} is not encrypted"),
            "move it aside, `envshim import <it>`, and never commit the plaintext",
        ),
        Ok(_) => report.ok(format!("{secrets_name} is age-encrypted")),
        Err(e) => report.fail(format!("cannot read {secrets_name}: {e}"), "`envshim init`"),
    }

    if let Some(ids) = &ids {
        match secrets::load(&paths, ids) {
            Ok(doc) => {
                report.ok(format!(
                    "{secrets_name} decrypts and parses ({} variables)",
                    doc.entries().count()
                ));
                check_example(&mut report, &paths, &doc, args.fix, ids);
            }
            Err(e) => report.fail(format!("{e:#}"), "see the message above"),
        }
    }

    check_git(&mut report, &paths);

    if report.problems == 0 {
        println!("no problems found");
        Ok(Exit::Success)
    } else {
        println!(
            "{} problem{} found",
            report.problems,
            if report.problems == 1 { "" } else { "s" }
        );
        Ok(Exit::Problems)
    }
}

fn check_example(
    report: &mut Report,
    paths: &SecretsPaths,
    doc: &secrets::dotenv::Document,
    fix: bool,
    ids: &secrets::identity::Identities,
) {
    let name = paths.example.display();
    let current = match secrets::load_example(paths) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                format!("{e:#}"),
                format!("delete {name} and run `envshim doctor --fix`"),
            );
            None
        }
    };
    let expected = doc.example(current.as_ref(), &[]);
    let on_disk = std::fs::read(&paths.example).unwrap_or_default();
    if on_disk == expected.as_bytes() {
        report.ok(format!("{name} is in sync"));
        return;
    }
    if fix {
        match Update::open(paths.clone(), ids).and_then(Update::save) {
            Ok(_) => report.ok(format!("{name} rewritten")),
            Err(e) => report.fail(format!("cannot rewrite {name}: {e:#}"), "see the message"),
        }
    } else {
        report.fail(format!("{name} is out of date"), "`envshim doctor --fix`");
    }
}

/// Runs git in `dir`; None when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
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

fn check_git(report: &mut Report, paths: &SecretsPaths) {
    let dir = crate::secrets::store::dir_of(&paths.secrets).to_path_buf();
    let Some(top) = git(&dir, &["rev-parse", "--show-toplevel"]) else {
        report.note("not inside a git repository: git checks skipped");
        return;
    };
    let top = std::path::PathBuf::from(String::from_utf8_lossy(&top).trim());

    let probes = [".env", ".env.local"];
    let unignored: Vec<&str> = probes
        .iter()
        .copied()
        .filter(|p| git(&dir, &["check-ignore", "-q", "--no-index", p]).is_none())
        .collect();
    if unignored.is_empty() {
        report.ok(".gitignore keeps plaintext dotenv files (.env, .env.*) out of git");
    } else {
        report.fail(
            format!("git would not ignore {} in {}", unignored.join(", "), dir.display()),
            "add `.env` and `.env.*` to .gitignore (with `!.env.secrets*` exceptions), as `envshim init` does",
        );
    }

    let hook = git(&dir, &["rev-parse", "--git-path", "hooks/pre-commit"])
        .map(|p| dir.join(String::from_utf8_lossy(&p).trim()));
    let framework = std::fs::read_to_string(top.join(".pre-commit-config.yaml"))
        .is_ok_and(|text| text.contains("envshim"));
    match hook.and_then(|h| std::fs::read_to_string(h).ok()) {
        Some(text) if text.contains("envshim") => {
            report.ok("the envshim pre-commit hook is installed")
        }
        _ if framework => report.ok("the envshim hook is configured in .pre-commit-config.yaml"),
        _ => report.fail(
            "the envshim pre-commit hook is not installed",
            "`envshim hook install` (or use the pre-commit framework: .pre-commit-hooks.yaml)",
        ),
    }

    let Some(listing) = git(&top, &["ls-files", "-z"]) else {
        return;
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
        report.ok("no plaintext dotenv file is tracked by git");
    } else {
        report.fail(
            format!("git tracks plaintext dotenv: {}", tracked.join(", ")),
            "`envshim import FILE`, `git rm --cached FILE`, then rotate those secrets (git history keeps them)",
        );
    }
}

/// envshim reads `age1… # label`, `age -R` does not: the file must stay readable by both.
fn check_age_readable(report: &mut Report, path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
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
        );
    }
}
