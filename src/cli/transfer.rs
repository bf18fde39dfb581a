//! `import` and `export`: plaintext dotenv in and out.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use zeroize::Zeroizing;

use super::Global;
use crate::exit::Exit;
use crate::secrets::dotenv::{self, Change, Scope};
use crate::secrets::{self, SecretsPaths, Update};

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The plaintext dotenv file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub source: PathBuf,

    /// Put every imported variable in the deploy section.
    #[arg(long, conflicts_with = "runtime")]
    pub deploy: bool,

    /// Put every imported variable in the runtime section.
    #[arg(long)]
    pub runtime: bool,
}

/// Which variables `export` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportScope {
    /// Runtime variables.
    Runtime,
    /// Deploy variables.
    Deploy,
    /// The whole file, comments included.
    All,
}

/// Arguments of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Which variables to print.
    #[arg(short = 's', long, value_enum, default_value_t = ExportScope::All)]
    pub scope: ExportScope,
}

/// Runs `import`.
pub fn import(global: &Global, args: ImportArgs) -> anyhow::Result<Exit> {
    let from_stdin = args.source.as_os_str() == "-";
    let bytes = if from_stdin {
        secrets::wiped::read(std::io::stdin(), 16 << 20).context("cannot read standard input")?
    } else {
        Zeroizing::new(secrets::read_file(
            &args.source,
            "the dotenv file to import",
        )?)
    };
    let name = if from_stdin {
        "standard input".to_string()
    } else {
        args.source.display().to_string()
    };
    if secrets::crypto::looks_encrypted(&bytes) {
        anyhow::bail!("{name} is already age-encrypted; import reads plaintext dotenv");
    }
    let source = dotenv::parse_bytes(&bytes).with_context(|| name.clone())?;
    let forced = match (args.deploy, args.runtime) {
        (true, _) => Some(Scope::Deploy),
        (_, true) => Some(Scope::Runtime),
        _ => None,
    };
    let marked = source.has_markers();
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    let (mut added, mut changed, mut unchanged) = (0, 0, 0);
    for entry in source.entries() {
        let scope = forced.or(marked.then_some(entry.scope));
        match update.set(&entry.key, &entry.value, scope) {
            Change::Added => added += 1,
            Change::Changed => changed += 1,
            Change::Unchanged => unchanged += 1,
        }
    }
    let file = update.paths.secrets.display().to_string();
    update.save()?;
    global.info(format_args!(
        "imported {name} into {file}: {added} added, {changed} changed, {unchanged} unchanged"
    ));
    if !from_stdin {
        global.info(format_args!(
            "the plaintext {name} is still on disk: check the result with `envshim list`, then delete it (`rm {name}`)"
        ));
    }
    Ok(Exit::Success)
}

/// Runs `export`.
pub fn export(global: &Global, args: ExportArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let doc = secrets::load(&paths, &ids)?;
    let text = match args.scope {
        ExportScope::All => doc.render(),
        ExportScope::Runtime | ExportScope::Deploy => {
            let scope = if args.scope == ExportScope::Deploy {
                Scope::Deploy
            } else {
                Scope::Runtime
            };
            let mut text = Zeroizing::new(format!("# [{}]\n", scope.name()));
            for entry in doc.in_scope(scope) {
                secrets::wiped::push_str(&mut text, &entry.raw);
                if !text.ends_with('\n') {
                    secrets::wiped::push_str(&mut text, "\n");
                }
            }
            text
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(Exit::Success)
}
