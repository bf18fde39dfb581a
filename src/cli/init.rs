//! `envshim init`: an identity if there is none, an empty encrypted secrets file, its
//! recipients and example files, and `.gitignore` lines that keep plaintext out of git.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

use super::{keygen, Global};
use crate::exit::Exit;
use crate::secrets::recipients::{self, RecipientKey};
use crate::secrets::{crypto, dotenv, identity, store, SecretsPaths, DEFAULT_FILE};

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A recipient besides yourself (age1… or an SSH public key); repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "KEY")]
    pub recipients: Vec<String>,

    /// Replace existing secrets, recipients and example files.
    #[arg(long)]
    pub force: bool,
}

/// The plaintext of a new secrets file: both sections, no variables. Its comments are
/// also the example file's, so they suit both.
const TEMPLATE: &str = "\
# Managed by envshim: `envshim set NAME`, `envshim edit`. The example file lists
# every key (never a value); a key whose line ends in `# optional` may be left unset.
# [runtime]

# [deploy]
";

/// Runs `init`.
pub fn run(global: &Global, args: InitArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::for_file(
        global
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE)),
    );
    let existing: Vec<String> = [&paths.secrets, &paths.recipients, &paths.example]
        .into_iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "{} already exist{}; nothing was changed. Pass --force to start over \
             (the current secrets are lost; every listed recipient is kept)",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        );
    }
    let dir = store::dir_of(&paths.secrets).to_path_buf();
    if !dir.is_dir() {
        bail!("{} is not a directory; create it first", dir.display());
    }

    let mut keys: Vec<String> = Vec::new();
    for text in &args.recipients {
        let key = RecipientKey::parse(text).with_context(|| format!("--recipient {text}"))?;
        push_unique(&mut keys, key.text);
    }
    match identity::find(&global.identity, None)? {
        Some(found) => {
            let public_keys = found.public_keys();
            if public_keys.is_empty() && keys.is_empty() {
                bail!(
                    "cannot tell the public key of your identity ({}), so nobody might be \
                     able to decrypt the new file; pass --recipient KEY",
                    found.source
                );
            }
            for key in public_keys {
                push_unique(&mut keys, key);
            }
        }
        None => {
            let path = identity::default_path()
                .context("cannot find your home directory; pass --identity FILE")?;
            let id = keygen::generate();
            keygen::write_identity(&path, &id, false)?;
            global.info(format_args!(
                "created your identity at {} (mode 0600); back it up, never commit it",
                path.display()
            ));
            push_unique(&mut keys, id.public);
        }
    }

    let mut parsed: Vec<RecipientKey> = keys
        .iter()
        .map(|k| RecipientKey::parse(k))
        .collect::<anyhow::Result<_>>()?;
    // Starting over never drops a reader: a teammate or the CI key leaves only through
    // `recipients rm`. The existing list is kept as written, new keys are appended.
    let recipients_text = if paths.recipients.exists() {
        let current = recipients::read_text(&paths.recipients).map_err(|e| {
            anyhow!("{e:#}; fix or remove it before `init --force` (init keeps every recipient it lists)")
        })?;
        let listed = recipients::parse(&current).with_context(|| {
            format!(
                "{} (init --force keeps every recipient it lists; fix the line or remove \
                 the file first)",
                paths.recipients.display()
            )
        })?;
        let kept = listed.len();
        for key in listed {
            if !parsed.iter().any(|k| k.canonical() == key.canonical()) {
                parsed.push(key);
            }
        }
        if kept > 0 {
            global.info(format_args!(
                "kept the {kept} recipient{} already listed in {}",
                if kept == 1 { "" } else { "s" },
                paths.recipients.display()
            ));
        }
        recipients::rewrite(&current, &parsed, true)
    } else {
        recipients::render(&keys)
    };
    let age_recipients: Vec<_> = parsed.iter().map(RecipientKey::to_age).collect();
    let ciphertext = crypto::encrypt(TEMPLATE.as_bytes(), &age_recipients)?;
    let keys: Vec<String> = parsed.iter().map(|k| k.text.clone()).collect();

    store::write_atomic(&paths.recipients, recipients_text.as_bytes(), 0o644)?;
    let (example, _) = dotenv::parse(TEMPLATE)?.example(None, &[], &|_| true);
    store::write_atomic(&paths.example, example.as_bytes(), 0o644)?;
    store::write_atomic(&paths.secrets, &ciphertext, 0o644)?;
    let gitignore = update_gitignore(&dir, &paths)?;

    global.info(format_args!(
        "created {}, {} and {}{}",
        paths.secrets.display(),
        paths.recipients.display(),
        paths.example.display(),
        if gitignore {
            "; updated .gitignore"
        } else {
            ""
        }
    ));
    global.info(format_args!("recipients: {}", keys.join(", ")));
    global.info("next: `envshim set NAME` to add a secret, `envshim exec -- CMD` to use them");
    Ok(Exit::Success)
}

fn push_unique(keys: &mut Vec<String>, key: String) {
    let canonical = recipients::canonical(&key);
    if !keys.iter().any(|k| recipients::canonical(k) == canonical) {
        keys.push(key);
    }
}

/// Adds the lines that keep plaintext dotenv files out of git; true if it changed.
fn update_gitignore(dir: &Path, paths: &SecretsPaths) -> anyhow::Result<bool> {
    let path = dir.join(".gitignore");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let present = |line: &str| current.lines().any(|l| l.trim() == line);
    let mut wanted = vec![".env".to_string(), ".env.*".to_string()];
    let negations = [
        format!("!{}", name(&paths.secrets)),
        format!("!{}", name(&paths.recipients)),
        format!("!{}", name(&paths.example)),
    ];
    let ignore_added = !present(".env.*");
    wanted.retain(|l| !present(l));
    // Negations must come after `.env.*` to take effect, so repeat them when it is added.
    wanted.extend(
        negations
            .into_iter()
            .filter(|l| ignore_added || !present(l)),
    );
    if wanted.is_empty() {
        return Ok(false);
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# envshim: plaintext dotenv files stay out of git\n");
    for line in wanted {
        text.push_str(&line);
        text.push('\n');
    }
    store::write_atomic(&path, text.as_bytes(), 0o644)?;
    Ok(true)
}
