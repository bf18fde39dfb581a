//! `list`: names, scopes, required/optional and set/missing — never values.

use serde::Serialize;

use super::Global;
use crate::exit::Exit;
use crate::secrets::dotenv::Scope;
use crate::secrets::{self, SecretsPaths};

/// Arguments of `list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One row of `list`.
#[derive(Debug, Serialize)]
pub struct Variable {
    /// The name.
    pub name: String,
    /// `runtime` or `deploy`.
    pub scope: &'static str,
    /// Required at `exec` time (declared in the example without `# optional`).
    pub required: bool,
    /// Present in the secrets file.
    pub set: bool,
}

#[derive(Serialize)]
struct Listing<'a> {
    file: String,
    variables: &'a [Variable],
}

/// Runs `list`.
pub fn run(global: &Global, args: ListArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let doc = secrets::load(&paths, &ids)?;
    let example = secrets::load_example(&paths)?;
    let declared = |key: &str| example.as_ref().and_then(|e| e.get(key));
    let mut rows: Vec<Variable> = doc
        .entries()
        .map(|e| Variable {
            name: e.key.clone(),
            scope: e.scope.name(),
            required: declared(&e.key).map_or(!e.optional, |d| !d.optional),
            set: true,
        })
        .collect();
    for e in example.iter().flat_map(|e| e.entries()) {
        if doc.get(&e.key).is_none() {
            rows.push(Variable {
                name: e.key.clone(),
                scope: e.scope.name(),
                required: !e.optional,
                set: false,
            });
        }
    }
    if args.json {
        let listing = Listing {
            file: paths.secrets.display().to_string(),
            variables: &rows,
        };
        crate::outln!("{}", serde_json::to_string_pretty(&listing)?)?;
        return Ok(Exit::Success);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    crate::outln!("{:width$}  {:7}  {:8}  STATUS", "NAME", "SCOPE", "REQUIRED")?;
    for scope in [Scope::Runtime, Scope::Deploy] {
        for r in rows.iter().filter(|r| r.scope == scope.name()) {
            crate::outln!(
                "{:width$}  {:7}  {:8}  {}",
                r.name,
                r.scope,
                if r.required { "required" } else { "optional" },
                if r.set { "set" } else { "missing" }
            )?;
        }
    }
    Ok(Exit::Success)
}
