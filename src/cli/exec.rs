//! `envshim exec`: decrypt in memory, assemble the environment, replace envshim with the
//! command.

use std::ffi::OsString;

use anyhow::bail;

use super::{suggest, Global};
use crate::exec::{self, ScopeChoice};
use crate::exit::Exit;
use crate::prompt;
use crate::secrets::{self, SecretsPaths};

/// Arguments of `exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Which variables to inject: runtime (deploy variables are removed), deploy, or all.
    #[arg(short = 's', long, value_enum, default_value_t = ScopeChoice::Runtime)]
    pub scope: ScopeChoice,

    /// Keep inherited values of variables the file also defines.
    #[arg(long)]
    pub no_override: bool,

    /// Hand ENVSHIM_AGE_KEY / ENVSHIM_IDENTITY on to the command (for a deploy script
    /// that runs envshim itself). Without it the command never sees them.
    #[arg(long)]
    pub pass_identity: bool,

    /// Also set keys the example file does not declare (they are named on stderr). Loader
    /// variables (LD_PRELOAD, PATH, …) are refused all the same.
    #[arg(long)]
    pub allow_undeclared: bool,

    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

/// Runs `exec`; returns only on failure.
pub fn run(global: &Global, args: ExecArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let document = secrets::load(&paths, &ids)?;
    drop(ids);
    let example = secrets::load_example(&paths)?;
    let inherited = |key: &str| std::env::var_os(key).is_some();
    let mut plan = exec::plan(
        &document,
        example.as_ref(),
        args.scope,
        args.no_override,
        if args.allow_undeclared {
            exec::Undeclared::Allow
        } else {
            exec::Undeclared::Skip
        },
        inherited,
    );
    // Names only (never values), for "the file has DATABSE_URL" next to a missing name.
    let names: Vec<String> = document.entries().map(|e| e.key.clone()).collect();
    drop(document);
    if let Some((key, _)) = plan.set.iter().find(|(_, v)| v.contains('\0')) {
        bail!(
            "the value of {key} in {} contains a NUL character, which no environment \
             variable can hold; fix it with `envshim set {key}`",
            paths.secrets.display()
        );
    }
    let example_name = paths.example.display();
    let secrets_word = secrets::shell_word(&paths.secrets.display().to_string());
    let them = |n: usize| if n == 1 { "it" } else { "them" };
    if !plan.refused.is_empty() {
        let n = plan.refused.len();
        bail!(
            "refusing to run: {} sets {}, which change{} how programs are found, loaded or \
             interpreted, and {example_name} does not declare {} in that section. Anyone who \
             can read the recipients can write {}, so check who changed it (`git log -p -- \
             {secrets_word}`); if the value{} belong{} there, declare {} in the example and \
             commit that",
            paths.secrets.display(),
            plan.refused.join(", "),
            if n == 1 { "s" } else { "" },
            them(n),
            paths.secrets.display(),
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            them(n),
        );
    }
    if let Some((key, deploy)) = plan.deploy_references.first() {
        let how = if deploy.is_empty() {
            "expands to a value that depends on a deploy variable".to_string()
        } else {
            format!("refers to {deploy}, a deploy variable")
        };
        bail!(
            "refusing to run: the runtime variable {key} {how}, so it would carry a deploy \
             secret into a runtime process; check who wrote it (`git log -p -- \
             {secrets_word}`) and fix it with `envshim edit`"
        );
    }
    if !plan.undeclared.is_empty() {
        let n = plan.undeclared.len();
        eprintln!(
            "envshim: warning: {} defines {}, which {example_name} does not declare in that \
             section; {} {}. Review who added {} (`git log -p -- {secrets_word}`); if {} \
             belong{}, declare {} in the example and commit it",
            paths.secrets.display(),
            plan.undeclared.join(", "),
            if args.allow_undeclared {
                "set anyway (--allow-undeclared), except where the example puts"
            } else {
                "not set:"
            },
            if args.allow_undeclared {
                "the key in the other section"
            } else {
                "the example is the reviewed list of keys"
            },
            them(n),
            if n == 1 { "it" } else { "they" },
            if n == 1 { "s" } else { "" },
            them(n),
        );
    }
    if !plan.unreviewed.is_empty() {
        eprintln!(
            "envshim: warning: {example_name} does not exist, so nothing says which keys {} \
             may hold; set unreviewed: {}. Create it with `envshim doctor --fix`, review and \
             commit it",
            paths.secrets.display(),
            plan.unreviewed.join(", "),
        );
    }
    if args.pass_identity {
        plan.pass = crate::secrets::identity::identity_variables();
    }
    if !plan.missing.is_empty() {
        if !prompt::interactive() {
            // Each missing name with the file's name it is probably a typo of.
            let near: Vec<(&str, &str)> = plan
                .missing
                .iter()
                .filter_map(|name| {
                    suggest::closest(name, names.iter().map(String::as_str))
                        .map(|near| (near, name.as_str()))
                })
                .collect();
            let misspelt = if near.is_empty() {
                String::new()
            } else {
                let (set, meant): (Vec<&str>, Vec<&str>) = near.into_iter().unzip();
                format!(
                    ". The file sets {}: did you mean {}? (`envshim edit` renames)",
                    set.join(", "),
                    meant.join(", ")
                )
            };
            bail!(
                "required variable{} missing: {} (declared in {}). Add {} with \
                 `envshim set NAME`, export {} for this run, or mark {} `# optional` \
                 in the example{misspelt}",
                if plan.missing.len() == 1 {
                    " is"
                } else {
                    "s are"
                },
                plan.missing.join(", "),
                paths.example.display(),
                if plan.missing.len() == 1 {
                    "it"
                } else {
                    "them"
                },
                if plan.missing.len() == 1 {
                    "it"
                } else {
                    "them"
                },
                if plan.missing.len() == 1 {
                    "it"
                } else {
                    "them"
                },
            );
        }
        for key in std::mem::take(&mut plan.missing) {
            let value = prompt::masked(&format!("{key} (not set; used for this run only): "))?;
            plan.set.push((key, value));
        }
    }
    let (program, rest) = args
        .command
        .split_first()
        .expect("clap requires at least one command word");
    Err(exec::run(program, rest, &plan))
}
