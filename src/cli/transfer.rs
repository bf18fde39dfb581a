//! `import` and `export`: plaintext dotenv in and out.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use zeroize::Zeroizing;

use super::Global;
use crate::exit::Exit;
use crate::secrets::dialect::{self, Dialect, Imported};
use crate::secrets::dotenv::{self, Change, Document, Scope};
use crate::secrets::{self, SecretsPaths, Update};

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The plaintext dotenv file (`-` for standard input).
    #[arg(value_name = "FILE")]
    pub source: PathBuf,

    /// Whose rules FILE is written in. Values are stored so that `exec` gives what that
    /// library gives; `${VAR}` references stay references, expanded when the file is used.
    #[arg(long, value_enum, default_value_t = Dialect::Dotenvy, value_name = "LIBRARY")]
    pub dialect: Dialect,

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
    let name = if from_stdin {
        "standard input".to_string()
    } else {
        args.source.display().to_string()
    };
    let bytes = read_source(&args.source, from_stdin, &name)?;
    if secrets::crypto::looks_encrypted(&bytes) {
        anyhow::bail!("{name} is already age-encrypted; import reads plaintext dotenv");
    }
    let text = dotenv::utf8(&bytes).with_context(|| name.clone())?;
    let reading = dialect::read(args.dialect, text).with_context(|| name.clone())?;
    for warning in &reading.warnings {
        eprintln!("envshim: warning: {name}: {warning}");
    }
    let forced = match (args.deploy, args.runtime) {
        (true, _) => Some(Scope::Deploy),
        (_, true) => Some(Scope::Runtime),
        _ => None,
    };
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    let (mut added, mut changed, mut unchanged) = (0, 0, 0);
    for definition in &reading.definitions {
        let scope = forced.or(definition.scope);
        let value = definition.value.clone();
        match update.set_definition(&definition.key, &definition.text, value, scope) {
            Change::Added => added += 1,
            Change::Changed => changed += 1,
            Change::Unchanged => unchanged += 1,
        }
    }
    let file = update.paths.secrets.display().to_string();
    for warning in check_references(&reading.definitions, &update.doc, &name, &file)? {
        eprintln!("envshim: warning: {warning}");
    }
    update.save()?;
    global.info(format_args!(
        "imported {name} into {file}: {added} added, {changed} changed, {unchanged} unchanged"
    ));
    if !from_stdin {
        global.info(format_args!(
            "the plaintext {name} is still on disk: check the result with `envshim list`, then delete it (`rm -- {}`)",
            secrets::shell_word(&name)
        ));
    }
    Ok(Exit::Success)
}

/// Reads the source, refusing one over the size limit (a pipe or FIFO included).
fn read_source(path: &Path, from_stdin: bool, name: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    const WHAT: &str = "the dotenv file to import";
    let limit = dialect::MAX_SOURCE_BYTES;
    let bytes = if from_stdin {
        secrets::wiped::read(std::io::stdin(), limit as u64)
            .context("cannot read standard input")?
    } else {
        let file = std::fs::File::open(path).map_err(|e| secrets::io_error(path, WHAT, &e))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            anyhow::bail!("{name} is a directory, not {WHAT}");
        }
        secrets::wiped::read(file, limit as u64).map_err(|e| secrets::io_error(path, WHAT, &e))?
    };
    if bytes.len() > limit {
        anyhow::bail!(
            "{name} is larger than {} MiB ({limit} bytes), the most import reads; nothing was imported",
            limit >> 20
        );
    }
    Ok(bytes)
}

/// Checks the references in the imported definitions against where they now stand:
/// dotenvy expands a reference to a variable defined earlier in the same file (or in the
/// environment), so a reference whose target moved reads differently, and a runtime
/// variable that refers to a deploy variable defined before it would carry a deploy
/// value into runtime processes, which is refused.
fn check_references(
    imported: &[Imported],
    doc: &Document,
    source: &str,
    file: &str,
) -> anyhow::Result<Vec<String>> {
    // By key, once: linear look-ups per definition made a large import quadratic.
    let index: std::collections::HashMap<&str, (usize, &dotenv::Entry)> = doc
        .entries()
        .enumerate()
        .map(|(i, e)| (e.key.as_str(), (i, e)))
        .collect();
    let mut first_in_source: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::new();
    for (i, definition) in imported.iter().enumerate() {
        first_in_source.entry(definition.key.as_str()).or_insert(i);
    }
    let position = |key: &str| index.get(key).map(|(i, _)| *i);
    let mut warnings = Vec::new();
    for (i, definition) in imported.iter().enumerate() {
        let Some(&(_, entry)) = index.get(definition.key.as_str()) else {
            continue;
        };
        let here = position(&definition.key);
        let mut seen: Vec<String> = Vec::new();
        for reference in dotenv::references(&definition.text) {
            let target = reference.name;
            if target.is_empty() || seen.contains(&target) {
                continue;
            }
            let earlier_in_source = first_in_source.get(target.as_str()).is_some_and(|&f| f < i);
            let target_entry = index.get(target.as_str()).map(|(_, e)| *e);
            let earlier_here = position(&target) < here && target_entry.is_some();
            let key = &definition.key;
            if earlier_here
                && entry.scope == Scope::Runtime
                && target_entry.is_some_and(|t| t.scope == Scope::Deploy)
            {
                anyhow::bail!(
                    "{key} is a runtime variable that refers to {target}, a deploy variable, so \
                     `exec` would put a deploy value into runtime processes; import {key} with \
                     --deploy, or write its value out"
                );
            }
            if earlier_in_source && !earlier_here {
                warnings.push(format!(
                    "{key} refers to {target}, which {source} defines before it but {file} does \
                     not: when the file is used, the reference takes {target} from the \
                     environment, or is empty"
                ));
            } else if earlier_here && !earlier_in_source {
                warnings.push(format!(
                    "{key} refers to {target}, which {file} defines before it but {source} does \
                     not: when the file is used, the reference takes the value in {file}"
                ));
            }
            seen.push(target);
        }
    }
    Ok(warnings)
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
    let mut out = crate::output::stdout();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(Exit::Success)
}
