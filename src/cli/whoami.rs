//! `whoami`: which identity envshim would use, its public keys, and whether each is a
//! recipient of the secrets file, so a new team member knows what to send and whom to ask.

use std::io::Write;

use super::Global;
use crate::exit::Exit;
use crate::secrets::{self, identity, recipients, SecretsPaths};

/// Runs `whoami`.
pub fn run(global: &Global) -> anyhow::Result<Exit> {
    // Outside a project there is no recipients file to check, but still an identity.
    let paths = SecretsPaths::discover(global.file.as_deref()).ok();
    let ids = match &paths {
        Some(paths) => secrets::identities_for(paths, &global.identity)?,
        None => identity::discover(&global.identity, None)?,
    };
    let listed = paths.as_ref().map(|p| (p, recipients::read(&p.recipients)));
    let mut out = crate::output::stdout();
    writeln!(out, "identity: {}", ids.source)?;
    let keys = ids.public_keys();
    if keys.is_empty() {
        writeln!(
            out,
            "public key: unknown (an SSH key without its .pub file beside it)"
        )?;
    }
    for key in &keys {
        let canonical = recipients::canonical(key);
        match &listed {
            None => writeln!(out, "{key}  (no {} here to check)", secrets::DEFAULT_FILE)?,
            Some((paths, Err(e))) => writeln!(
                out,
                "{key}  (cannot tell whether it can read {}: {e:#})",
                paths.secrets.display()
            )?,
            Some((paths, Ok(list))) => match list.iter().find(|k| k.canonical() == canonical) {
                Some(entry) => writeln!(
                    out,
                    "{key}  a recipient of {}{}",
                    paths.secrets.display(),
                    entry
                        .label
                        .as_deref()
                        .map(|l| format!("  # {}", l.escape_debug()))
                        .unwrap_or_default()
                )?,
                None => writeln!(
                    out,
                    "{key}  NOT a recipient of {}: ask someone who can decrypt it to run \
                     `envshim recipients add {}`",
                    paths.secrets.display(),
                    if key.contains(' ') {
                        format!("\"{key}\"")
                    } else {
                        key.clone()
                    }
                )?,
            },
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}
