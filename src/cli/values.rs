//! `set`, `get` and `rm`: one variable at a time.

use std::io::IsTerminal;

use anyhow::{anyhow, bail, Context};
use zeroize::Zeroizing;

use super::Global;
use crate::exit::Exit;
use crate::prompt;
use crate::secrets::dotenv::{Change, Scope};
use crate::secrets::{self, SecretsPaths, Update};

/// Arguments of `set`.
#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The variable name (letters, digits and `_`, not starting with a digit).
    pub name: String,

    /// Put the variable in the deploy section (moves an existing one).
    #[arg(long, conflicts_with = "runtime")]
    pub deploy: bool,

    /// Put the variable in the runtime section (moves an existing one).
    #[arg(long)]
    pub runtime: bool,

    /// The value on the command line. Avoid it: argv is visible in `ps` and lands in
    /// shell history.
    #[arg(long, value_name = "VALUE")]
    pub value: Option<String>,
}

/// Arguments of `get` and `rm`.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// The variable name.
    pub name: String,
}

/// Largest value accepted on standard input.
const MAX_VALUE_BYTES: u64 = 1 << 20;

/// Checks a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some((before, _)) = name.split_once('=') {
        // `set NAME=value` is a common slip; never echo what follows the `=`.
        bail!(
            "`{}=…` looks like NAME=value: give only the name (`envshim set {}`) and the value \
             on the prompt or on standard input",
            before.escape_debug(),
            before.escape_debug()
        );
    }
    if !valid {
        bail!(
            "`{}` is not a valid variable name: use letters, digits and `_`, not starting with a digit",
            name.escape_debug()
        );
    }
    Ok(())
}

/// Runs `set`.
pub fn set(global: &Global, args: SetArgs) -> anyhow::Result<Exit> {
    validate_name(&args.name)?;
    let value = match args.value {
        Some(v) => {
            eprintln!(
                "envshim: warning: a value given with --value is visible to other users in `ps` \
                 and is saved in your shell history; prefer the prompt or standard input"
            );
            Zeroizing::new(v)
        }
        None if std::io::stdin().is_terminal() => {
            prompt::masked(&format!("{} (input hidden): ", args.name))?
        }
        None => read_stdin_value()?,
    };
    if value.contains('\0') {
        bail!(
            "the value for {} contains a NUL character, which no environment variable can \
             hold; nothing was written",
            args.name
        );
    }
    let scope = match (args.deploy, args.runtime) {
        (true, _) => Some(Scope::Deploy),
        (_, true) => Some(Scope::Runtime),
        _ => None,
    };
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    let change = update.set(&args.name, &value, scope);
    let scope = update
        .doc
        .get(&args.name)
        .map_or(Scope::Runtime, |e| e.scope);
    let file = update.paths.secrets.display().to_string();
    update.save()?;
    let what = match change {
        Change::Added => "added",
        Change::Changed => "changed",
        Change::Unchanged => "unchanged",
    };
    global.info(format_args!("{} {what} ({scope}) in {file}", args.name));
    Ok(Exit::Success)
}

/// Reads exactly one value from standard input, without one trailing newline.
fn read_stdin_value() -> anyhow::Result<Zeroizing<String>> {
    let bytes = crate::secrets::wiped::read(std::io::stdin(), MAX_VALUE_BYTES)
        .context("cannot read the value from standard input")?;
    if bytes.len() as u64 > MAX_VALUE_BYTES {
        bail!("the value on standard input is larger than 1 MiB");
    }
    if bytes.is_empty() {
        bail!("no value on standard input; pipe one in (`printf %s \"$VALUE\" | envshim set NAME`), or run on a terminal to be asked");
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| anyhow!("the value on standard input is not UTF-8 text"))?;
    let text = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(text);
    Ok(Zeroizing::new(text.to_string()))
}

/// Runs `get`.
pub fn get(global: &Global, args: NameArgs) -> anyhow::Result<Exit> {
    validate_name(&args.name)?;
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let doc = secrets::load(&paths, &ids)?;
    match doc.get(&args.name) {
        Some(entry) => {
            use std::io::Write;
            let mut out = crate::output::stdout();
            out.write_all(entry.value.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
            Ok(Exit::Success)
        }
        None => match super::suggest::closest(&args.name, doc.entries().map(|e| e.key.as_str())) {
            Some(meant) => bail!(
                "{} is not set in {}. Did you mean {meant}?",
                args.name,
                paths.secrets.display()
            ),
            None => bail!(
                "{} is not set in {}; set it with `envshim set {}`",
                args.name,
                paths.secrets.display(),
                args.name
            ),
        },
    }
}

/// Runs `rm`.
pub fn rm(global: &Global, args: NameArgs) -> anyhow::Result<Exit> {
    validate_name(&args.name)?;
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    if !update.remove(&args.name) {
        bail!(
            "{} is not defined in {} or its example; nothing was changed.{}",
            args.name,
            update.paths.secrets.display(),
            super::suggest::did_you_mean(&args.name, update.names())
        );
    }
    let file = update.paths.secrets.display().to_string();
    update.save()?;
    global.info(format_args!(
        "{} removed from {file} and its example",
        args.name
    ));
    Ok(Exit::Success)
}
