//! `hook install|uninstall`: the pre-commit hook in this repository (core.hooksPath
//! honoured). Never replaces someone else's hook without `--force`.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::Global;
use crate::exit::Exit;
use crate::git;

/// The hook script, as shipped in `hooks/pre-commit`.
pub const PRE_COMMIT: &str = include_str!("../../hooks/pre-commit");

/// The line that marks a hook as envshim's own.
const MARK: &str = "# envshim pre-commit hook";

/// Arguments of `hook`.
#[derive(Debug, clap::Args)]
pub struct HookArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: HookAction,
}

/// `hook` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HookAction {
    /// Install the pre-commit hook (idempotent).
    Install {
        /// Replace a different existing pre-commit hook.
        #[arg(long)]
        force: bool,
    },
    /// Remove the pre-commit hook if it is envshim's.
    Uninstall,
}

fn hook_path() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    git::toplevel(&cwd)?;
    let out = git::output(&cwd, &["rev-parse", "--git-path", "hooks/pre-commit"])?;
    let path = PathBuf::from(String::from_utf8_lossy(&out).trim());
    Ok(if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    })
}

/// Runs `hook`.
pub fn run(global: &Global, args: HookArgs) -> anyhow::Result<Exit> {
    let path = hook_path()?;
    let current = std::fs::read_to_string(&path).ok();
    match args.action {
        HookAction::Install { force } => {
            if current.as_deref() == Some(PRE_COMMIT) {
                global.info(format_args!(
                    "the envshim pre-commit hook is already installed at {}",
                    path.display()
                ));
                return Ok(Exit::Success);
            }
            if current.is_some() && !force {
                bail!(
                    "{} already exists and is not envshim's hook; nothing was changed. Add \
                     `envshim scan --staged` to it yourself, or pass --force to replace it",
                    path.display()
                );
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            crate::secrets::store::write_atomic(&path, PRE_COMMIT.as_bytes(), 0o755)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
            }
            global.info(format_args!(
                "installed the envshim pre-commit hook at {}",
                path.display()
            ));
            Ok(Exit::Success)
        }
        HookAction::Uninstall => match current {
            None => {
                global.info("no pre-commit hook is installed; nothing to do");
                Ok(Exit::Success)
            }
            Some(text) if text.contains(MARK) => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                global.info(format_args!("removed {}", path.display()));
                Ok(Exit::Success)
            }
            Some(_) => bail!(
                "{} is not envshim's hook; it was left alone",
                path.display()
            ),
        },
    }
}
