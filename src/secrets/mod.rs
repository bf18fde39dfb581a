//! The `.env.secrets` file and its companions: where they are, and how to read them.

pub mod crypto;
pub mod dialect;
pub mod dotenv;
pub mod identity;
pub mod recipients;
pub mod store;
pub mod wiped;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

use crypto::DecryptFailure;
use dotenv::Document;
use identity::Identities;

/// The default secrets file name.
pub const DEFAULT_FILE: &str = ".env.secrets";

/// Refuse to read files larger than this: a secrets file is a few KiB.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// A secrets file and its companions, named after it (DESIGN §1).
#[derive(Debug, Clone)]
pub struct SecretsPaths {
    /// The encrypted dotenv file.
    pub secrets: PathBuf,
    /// Who can decrypt it.
    pub recipients: PathBuf,
    /// The plaintext template.
    pub example: PathBuf,
}

impl SecretsPaths {
    /// The paths for a given secrets file.
    pub fn for_file(secrets: impl Into<PathBuf>) -> Self {
        let secrets = secrets.into();
        let with_suffix = |suffix: &str| {
            let mut name: OsString = secrets.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        SecretsPaths {
            recipients: with_suffix(".recipients"),
            example: with_suffix(".example"),
            secrets,
        }
    }

    /// `-f FILE` if given; otherwise the nearest `.env.secrets` from the current
    /// directory up to the repository root.
    pub fn discover(explicit: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(path) = explicit {
            return Ok(Self::for_file(path));
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let mut dir = cwd.as_path();
        loop {
            let candidate = dir.join(DEFAULT_FILE);
            if candidate.exists() {
                return Ok(Self::for_file(candidate));
            }
            if dir.join(".git").exists() {
                break;
            }
            match dir.parent() {
                Some(parent) => dir = parent,
                None => break,
            }
        }
        Err(anyhow!(
            "no {DEFAULT_FILE} in {} or its parents up to the repository root; \
             run `envshim init` to create one, or pass -f FILE",
            cwd.display()
        ))
    }
}

/// Reads a whole file with errors that name it; `what` describes it for the user.
pub fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, what, &e))?;
    if meta.is_dir() {
        return Err(anyhow!("{} is a directory, not {what}", path.display()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(anyhow!(
            "{} is {} bytes, far too large for {what}",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| io_error(path, what, &e))
}

pub(crate) fn io_error(path: &Path, what: &str, e: &std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("{} ({what}) does not exist", path.display()),
        std::io::ErrorKind::PermissionDenied => {
            anyhow!("cannot read {} ({what}): permission denied", path.display())
        }
        _ => anyhow!("cannot read {} ({what}): {e}", path.display()),
    }
}

/// Reads the recipients' canonical keys, for deciding which `~/.ssh` key may be used.
pub fn recipient_keys(paths: &SecretsPaths) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(&paths.recipients).ok()?;
    let keys = recipients::parse(&text).ok()?;
    Some(keys.iter().map(|k| k.canonical()).collect())
}

/// Finds the identities for a secrets file (see [`identity::discover`]).
pub fn identities_for(paths: &SecretsPaths, cli_files: &[PathBuf]) -> anyhow::Result<Identities> {
    let recipients = recipient_keys(paths);
    identity::discover(cli_files, recipients.as_deref())
}

/// Decrypts and parses the secrets file.
pub fn load(paths: &SecretsPaths, ids: &Identities) -> anyhow::Result<Document> {
    let path = &paths.secrets;
    let ciphertext = read_file(path, "the encrypted secrets file").map_err(|e| {
        if !path.exists() {
            anyhow!(
                "{} does not exist; run `envshim init` to create it, or pass -f FILE",
                path.display()
            )
        } else {
            e
        }
    })?;
    let plaintext = crypto::decrypt(&ciphertext, &ids.identities).map_err(|failure| {
        let display = path.display();
        match failure {
            DecryptFailure::NotEncrypted => anyhow!(
                "{display} is not encrypted (it looks like plaintext). Move it aside and \
                 encrypt its contents with `envshim import <file>`; never commit it as is"
            ),
            DecryptFailure::NoMatchingIdentity if listed(paths, ids) => anyhow!(
                "{display} cannot be decrypted with your identity ({}) although {} lists it: \
                 the file was modified, or encrypted before your key was added. Restore it \
                 from git (`git checkout -- {display}`) or ask a recipient to re-encrypt it",
                ids.source,
                paths.recipients.display()
            ),
            DecryptFailure::NoMatchingIdentity => {
                let keys = ids.public_keys();
                let keys = if keys.is_empty() {
                    "your public key".to_string()
                } else {
                    keys.join(" ")
                };
                anyhow!(
                    "{display} is not encrypted to your identity ({}). Ask someone who can \
                     decrypt it to run `envshim recipients add {keys}`",
                    ids.source
                )
            }
            DecryptFailure::Damaged => anyhow!(
                "{display} cannot be decrypted: {failure}. Restore it from git \
                 (`git checkout -- {display}`) or from a backup"
            ),
            DecryptFailure::Passphrase => anyhow!(
                "{display} cannot be read: {failure}; envshim files are encrypted to the \
                 keys in {}",
                paths.recipients.display()
            ),
        }
    })?;
    dotenv::parse_bytes(&plaintext).with_context(|| format!("{} (decrypted)", path.display()))
}

/// True when one of the identities' public keys is in the recipients file.
fn listed(paths: &SecretsPaths, ids: &Identities) -> bool {
    let Some(listed) = recipient_keys(paths) else {
        return false;
    };
    ids.public_keys()
        .iter()
        .any(|k| listed.contains(&recipients::canonical(k)))
}

/// Reads and parses the plaintext example file, if there is one.
pub fn load_example(paths: &SecretsPaths) -> anyhow::Result<Option<Document>> {
    if !paths.example.exists() {
        return Ok(None);
    }
    let bytes = read_file(&paths.example, "the example file")?;
    dotenv::parse_bytes(&bytes)
        .map(Some)
        .with_context(|| paths.example.display().to_string())
}

/// A secrets file opened for changing: locked against other writers, decrypted, parsed.
/// Nothing reaches the disk until [`Update::save`], which writes atomically.
pub struct Update {
    /// The files.
    pub paths: SecretsPaths,
    /// The decrypted document; change it through [`Update::set`] and [`Update::remove`].
    pub doc: Document,
    example: Option<Document>,
    original: zeroize::Zeroizing<String>,
    changed: Vec<(String, Kept)>,
    removed: Vec<String>,
    _lock: store::Lock,
}

impl Update {
    /// Locks, decrypts and parses the secrets file and its example.
    pub fn open(paths: SecretsPaths, ids: &Identities) -> anyhow::Result<Self> {
        let lock = store::lock(&paths.secrets)?;
        let doc = load(&paths, ids)?;
        let example = load_example(&paths).map_err(|e| {
            anyhow!(
                "{e:#}; fix {} or delete it (envshim writes it anew)",
                paths.example.display()
            )
        })?;
        Ok(Update {
            original: doc.render(),
            paths,
            doc,
            example,
            changed: Vec::new(),
            removed: Vec::new(),
            _lock: lock,
        })
    }

    /// Sets a key (see [`Document::set`]).
    pub fn set(&mut self, key: &str, value: &str, scope: Option<dotenv::Scope>) -> dotenv::Change {
        let change = self.doc.set(key, value, scope);
        if change != dotenv::Change::Unchanged {
            self.changed.push((key.to_string(), Kept::Value));
        }
        change
    }

    /// Sets a key to a definition as written (see [`Document::set_definition`]).
    pub fn set_definition(
        &mut self,
        key: &str,
        text: &str,
        value: zeroize::Zeroizing<String>,
        scope: Option<dotenv::Scope>,
    ) -> dotenv::Change {
        let change = self.doc.set_definition(key, text, value, scope);
        if change != dotenv::Change::Unchanged {
            self.changed.push((key.to_string(), Kept::Text));
        }
        change
    }

    /// Removes a key from the secrets and from the example; false if it was in neither.
    pub fn remove(&mut self, key: &str) -> bool {
        let in_example = self.example.as_ref().is_some_and(|e| e.get(key).is_some());
        let removed = self.doc.remove(key) || in_example;
        if removed {
            self.removed.push(key.to_string());
        }
        removed
    }

    /// Replaces the whole document (for `edit`).
    pub fn replace(&mut self, doc: Document) {
        self.doc = doc;
    }

    /// Writes the secrets (re-encrypted to the recipients file) and the example, each
    /// only if it changed. Returns whether the secrets file was rewritten.
    pub fn save(self) -> anyhow::Result<bool> {
        self.save_to(None)
    }

    /// Like [`Update::save`], but always re-encrypts, to `recipients` when given, and
    /// writes that list to the recipients file after the secrets.
    pub fn save_to(self, recipients: Option<&[recipients::RecipientKey]>) -> anyhow::Result<bool> {
        let text = self.doc.render();
        let reread = dotenv::parse(&text).context("the changed secrets do not parse")?;
        if reread.entries().count() != self.doc.entries().count() {
            anyhow::bail!("the changed secrets do not read back as the same definitions");
        }
        for (key, kept) in &self.changed {
            let (before, after) = (self.doc.get(key), reread.get(key));
            let same = match kept {
                Kept::Value => before.map(|e| e.value.as_str()) == after.map(|e| e.value.as_str()),
                Kept::Text => before.map(|e| e.raw.as_str()) == after.map(|e| e.raw.as_str()),
            };
            if !same {
                anyhow::bail!(
                    "the value of {key} cannot be written so that it reads back the same"
                );
            }
        }
        let removed: Vec<&str> = self.removed.iter().map(String::as_str).collect();
        let example = reread.example(self.example.as_ref(), &removed);
        let secrets_changed = text != self.original || recipients.is_some();
        store::remove_stale_temporaries(store::dir_of(&self.paths.secrets));
        if secrets_changed {
            let from_file;
            let keys = match recipients {
                Some(keys) => keys,
                None => {
                    from_file = recipients::read(&self.paths.recipients)?;
                    &from_file
                }
            };
            let age_keys: Vec<_> = keys.iter().map(recipients::RecipientKey::to_age).collect();
            let ciphertext = crypto::encrypt(text.as_bytes(), &age_keys)?;
            // The recipients file must never list fewer keys than can read the secrets
            // file, even if envshim is killed between writes: first list the old and the
            // new keys together, then re-encrypt, then list only the new keys.
            let mut listed = None;
            if let Some(keys) = recipients {
                let current = std::fs::read_to_string(&self.paths.recipients).unwrap_or_default();
                let union = recipients_file_lines(&current, keys, true);
                if union != current {
                    store::write_atomic(&self.paths.recipients, union.as_bytes(), 0o644)?;
                }
                listed = Some(union);
            }
            store::write_atomic(&self.paths.secrets, &ciphertext, 0o644)?;
            if let (Some(keys), Some(union)) = (recipients, listed) {
                let lines = recipients_file_lines(&union, keys, false);
                if lines != union {
                    store::write_atomic(&self.paths.recipients, lines.as_bytes(), 0o644)?;
                }
            }
        }
        let current_example = std::fs::read(&self.paths.example).unwrap_or_default();
        if current_example != example.as_bytes() {
            store::write_atomic(&self.paths.example, example.as_bytes(), 0o644)?;
        }
        Ok(secrets_changed)
    }
}

/// What must read back the same after a change: a value set as such (`set`), or a
/// definition's text, whose references are expanded only when the file is used (`import`).
enum Kept {
    Value,
    Text,
}

/// The recipients file `current` rewritten to hold `keys`, and with `keep_others` also
/// every key it already lists: comments and the order of the keys that stay are kept,
/// duplicates dropped, new keys appended.
fn recipients_file_lines(
    current: &str,
    keys: &[recipients::RecipientKey],
    keep_others: bool,
) -> String {
    let wanted: Vec<String> = keys.iter().map(|k| k.canonical()).collect();
    let mut out = String::new();
    let mut kept = Vec::new();
    for line in current.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let canonical = recipients::canonical(trimmed);
        if (keep_others || wanted.contains(&canonical)) && !kept.contains(&canonical) {
            out.push_str(line);
            out.push('\n');
            kept.push(canonical);
        }
    }
    for key in keys {
        if !kept.contains(&key.canonical()) {
            out.push_str(&key.text);
            out.push('\n');
        }
    }
    out
}
