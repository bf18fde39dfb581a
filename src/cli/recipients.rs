//! `recipients list|add|rm`: who can decrypt; every change re-encrypts to exactly the
//! new list.

use std::io::Write;

use anyhow::bail;

use super::Global;
use crate::exit::Exit;
use crate::secrets::recipients::{self, RecipientKey};
use crate::secrets::{self, SecretsPaths, Update};

/// Arguments of `recipients`.
#[derive(Debug, clap::Args)]
pub struct RecipientsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// `recipients` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print the recipients (public keys) with their labels, marking your own.
    List,
    /// Add a recipient and re-encrypt.
    Add {
        /// An age public key (age1…) or an SSH public key (`ssh-ed25519 AAAA…`),
        /// optionally followed by `# label`.
        key: String,
        /// Who the key belongs to, written as a `# LABEL` comment above it.
        #[arg(long, value_name = "LABEL")]
        label: Option<String>,
    },
    /// Remove a recipient and re-encrypt. Rotate the secrets afterwards: the removed key
    /// can still read old copies (git history keeps them).
    Rm {
        /// The key to remove, as listed.
        key: String,
        /// Allow removing your own key.
        #[arg(long)]
        force: bool,
    },
}

/// Runs `recipients`.
pub fn run(global: &Global, args: RecipientsArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    match args.action {
        Action::List => {
            let keys = recipients::read(&paths.recipients)?;
            let mine = secrets::identities_for(&paths, &global.identity)
                .map(|ids| ids.public_keys())
                .unwrap_or_default();
            let mine: Vec<String> = mine.iter().map(|k| recipients::canonical(k)).collect();
            let mut out = crate::output::stdout();
            for key in keys {
                let you = if mine.contains(&key.canonical()) {
                    "  (you)"
                } else {
                    ""
                };
                let label = key
                    .label
                    .as_deref()
                    .map(|l| format!("  # {}", l.escape_debug()))
                    .unwrap_or_default();
                writeln!(out, "{}{you}{label}", key.text.escape_debug())?;
            }
            out.flush()?;
            Ok(Exit::Success)
        }
        Action::Add { key, label } => {
            let mut new = RecipientKey::parse(&key)
                .map_err(|e| anyhow::anyhow!("cannot add that recipient: {e}"))?;
            if let Some(label) = label {
                let label = label.trim();
                if label.is_empty() || label.chars().any(char::is_control) {
                    bail!("--label takes one line of text, such as a name");
                }
                new.label = Some(label.to_string());
            }
            let ids = secrets::identities_for(&paths, &global.identity)?;
            let update = Update::open(paths, &ids)?;
            let mut keys = recipients::read(&update.paths.recipients)?;
            if keys.iter().any(|k| k.canonical() == new.canonical()) {
                global.info("already a recipient; nothing was changed");
                return Ok(Exit::Success);
            }
            keys.push(new);
            let file = update.paths.secrets.display().to_string();
            update.save_to(Some(&keys))?;
            global.info(format_args!(
                "added; {file} is now encrypted to {} recipient{}",
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            ));
            Ok(Exit::Success)
        }
        Action::Rm { key, force } => {
            let target = recipients::canonical(&key);
            let ids = secrets::identities_for(&paths, &global.identity)?;
            let update = Update::open(paths, &ids)?;
            let mut keys = recipients::read(&update.paths.recipients)?;
            let before = keys.len();
            keys.retain(|k| k.canonical() != target);
            if keys.len() == before {
                bail!(
                    "{key} is not in {}; see `envshim recipients list`",
                    update.paths.recipients.display()
                );
            }
            if keys.is_empty() {
                bail!("{key} is the last recipient; removing it would leave a file nobody can decrypt");
            }
            let mine: Vec<String> = ids
                .public_keys()
                .iter()
                .map(|k| recipients::canonical(k))
                .collect();
            if mine.contains(&target) && !force {
                bail!("{key} is your own key: you could no longer decrypt the file. Pass --force if that is what you want");
            }
            let file = update.paths.secrets.display().to_string();
            update.save_to(Some(&keys))?;
            global.info(format_args!(
                "removed; {file} is re-encrypted to {} recipient{}. The removed key can still \
                 read older copies (git history): rotate the secrets it could see",
                keys.len(),
                if keys.len() == 1 { "" } else { "s" }
            ));
            Ok(Exit::Success)
        }
    }
}
