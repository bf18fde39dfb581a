//! `mv`: move a variable to the other section, its value and definition kept as written,
//! so moving a key never means typing its value again.

use anyhow::{bail, Context};

use super::values::validate_name;
use super::Global;
use crate::exit::Exit;
use crate::secrets::dotenv::{self, Scope};
use crate::secrets::{self, SecretsPaths, Update};

/// Arguments of `mv`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["deploy", "runtime"])))]
pub struct MvArgs {
    /// The variable name.
    pub name: String,

    /// Move it to the deploy section (given only to deploy tooling).
    #[arg(long)]
    pub deploy: bool,

    /// Move it to the runtime section (given to the application).
    #[arg(long)]
    pub runtime: bool,
}

/// Runs `mv`.
pub fn run(global: &Global, args: MvArgs) -> anyhow::Result<Exit> {
    validate_name(&args.name)?;
    let scope = if args.deploy {
        Scope::Deploy
    } else {
        Scope::Runtime
    };
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    let file = update.paths.secrets.display().to_string();
    let name = &args.name;
    match update.doc.move_to(name, scope) {
        None => bail!(
            "{name} is not set in {file}; nothing was changed.{}",
            super::suggest::did_you_mean(name, update.names())
        ),
        Some(false) => {
            global.info(format_args!(
                "{name} is already in the {scope} section of {file}; nothing was changed"
            ));
            return Ok(Exit::Success);
        }
        Some(true) => update.declare(name),
    }
    // `${VAR}` sees only the definitions above it: a move must not change any value.
    let reread = dotenv::parse(&update.doc.render()).context("the moved secrets do not parse")?;
    if let Some(other) = update
        .doc
        .entries()
        .find(|e| reread.get(&e.key).map(|r| r.value.as_str()) != Some(e.value.as_str()))
    {
        bail!(
            "moving {name} would change the value of {} (a ${{…}} reference depends on the \
             order of the file); nothing was changed. Move it with `envshim edit` instead",
            other.key
        );
    }
    update.save()?;
    global.info(format_args!(
        "{name} moved to the {scope} section of {file} (value unchanged)"
    ));
    Ok(Exit::Success)
}
