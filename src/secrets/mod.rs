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

use anyhow::{anyhow, bail, Context};

use crypto::DecryptFailure;
use dotenv::Document;
use identity::Identities;

/// The default secrets file name.
pub const DEFAULT_FILE: &str = ".env.secrets";

/// Refuse to read files larger than this: a secrets file is a few KiB.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

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
            let candidate = Self::for_file(dir.join(DEFAULT_FILE));
            // A companion file marks the project too (its secrets file was deleted):
            // reading then says how to restore or recreate it.
            if candidate.secrets.exists()
                || candidate.recipients.exists()
                || candidate.example.exists()
            {
                return Ok(candidate);
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

/// `envshim ARGS` as a user would type it for this secrets file: with `-f FILE` unless
/// it is the `.env.secrets` of the current directory, so advice works when run as printed.
pub fn command_for(paths: &SecretsPaths, args: &str) -> String {
    let here = std::env::current_dir()
        .map(|d| d.join(DEFAULT_FILE))
        .is_ok_and(|d| d == paths.secrets)
        || paths.secrets == Path::new(DEFAULT_FILE);
    if here {
        format!("envshim {args}")
    } else {
        format!(
            "envshim -f {} {args}",
            shell_word(&paths.secrets.display().to_string())
        )
    }
}

/// A path quoted for a POSIX shell when it needs quoting.
pub fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Reads a whole file with errors that name it; `what` describes it for the user.
/// At most [`MAX_FILE_BYTES`] are read, whatever the file is: a device such as
/// `/dev/zero` or a FIFO reports no size, so the limit is enforced while reading.
pub fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    read_file_limited(path, what, MAX_FILE_BYTES)
}

/// [`read_file`] with another limit.
pub fn read_file_limited(path: &Path, what: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, what, &e))?;
    if meta.is_dir() {
        return Err(anyhow!("{} is a directory, not {what}", path.display()));
    }
    let too_large = || {
        anyhow!(
            "{} is larger than {} MiB, far too large for {what}",
            path.display(),
            limit >> 20
        )
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|e| io_error(path, what, &e))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, what, &e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
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
    let text = recipients::read_text(&paths.recipients).ok()?;
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
            if paths.recipients.exists() || paths.example.exists() {
                anyhow!(
                    "{} does not exist although its recipients or example file does; restore \
                     it from git (`git checkout -- {}`), or start an empty one with `{}` \
                     (keeps the recipients)",
                    path.display(),
                    shell_word(&path.display().to_string()),
                    command_for(paths, "init --force")
                )
            } else {
                anyhow!(
                    "{} does not exist; create it with `{}`, or pass -f FILE",
                    path.display(),
                    command_for(paths, "init")
                )
            }
        } else {
            e
        }
    })?;
    let plaintext = crypto::decrypt(&ciphertext, &ids.identities).map_err(|failure| {
        let display = path.display();
        let quoted = shell_word(&display.to_string());
        match failure {
            DecryptFailure::NotEncrypted => {
                let word = shell_word(&display.to_string());
                anyhow!(
                    "{display} is not encrypted (it looks like plaintext); never commit it as \
                     is. Encrypt it with `mv {word} {word}.plain && {} && {} {word}.plain && \
                     rm {word}.plain`",
                    command_for(paths, "init --force"),
                    command_for(paths, "import")
                )
            }
            DecryptFailure::NoMatchingIdentity if listed(paths, ids) => anyhow!(
                "{display} cannot be decrypted with your identity ({}) although {} lists it: \
                 the file was modified, or encrypted before your key was added. Restore it \
                 from git (`git checkout -- {quoted}`) or ask a recipient to re-encrypt it",
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
                 (`git checkout -- {quoted}`) or from a backup"
            ),
            DecryptFailure::TooManyStanzas(count) => anyhow!(
                "{display} cannot be decrypted: {failure} ({count} found); no envshim file \
                 has that many readers, so it was crafted or damaged. Restore it from git \
                 (`git checkout -- {quoted}`)"
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

/// Refuses a document with a value that holds a NUL character: no environment variable
/// can carry one, so every later `exec` would fail. Names the key, never the value.
pub fn refuse_nul_values(doc: &Document) -> anyhow::Result<()> {
    if let Some(entry) = doc.entries().find(|e| e.value.contains('\0')) {
        anyhow::bail!(
            "the value of {} contains a NUL character, which no environment variable can \
             hold; nothing was written",
            entry.key
        );
    }
    Ok(())
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

/// What in a line of a reviewed plaintext file (recipients, example) could hide other
/// text on a terminal or in a diff: a control character other than tab (a carriage
/// return, an escape sequence) or a bidirectional-text control. `None` if nothing.
pub fn hidden_text(line: &str) -> Option<&'static str> {
    line.chars().find_map(|c| match c {
        '\t' => None,
        '\r' => Some("a carriage return"),
        '\u{1b}' => Some("an escape character"),
        c if c.is_control() => Some("a control character"),
        '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{061c}' => Some("a bidirectional-text control"),
        _ => None,
    })
}

/// Reads and parses the plaintext example file, if there is one. It is the reviewed
/// list of keys, so it has a strict form, checked before any dotenv parsing (which would
/// expand references): comments, section markers, and `KEY=` lines with an empty value
/// and at most a `# mark` — nothing that could hide a declaration in a review.
pub fn load_example(paths: &SecretsPaths) -> anyhow::Result<Option<Document>> {
    if !paths.example.exists() {
        return Ok(None);
    }
    let bytes = read_file(&paths.example, "the example file")?;
    let name = paths.example.display();
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        anyhow!("{name} is not UTF-8 text; fix or delete it (envshim writes it anew)")
    })?;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let problem = hidden_text(line).or_else(|| {
            let trimmed = line.trim();
            let definition = !trimmed.is_empty() && !trimmed.starts_with('#');
            (definition && !example_definition(trimmed)).then_some(
                "a value or anything but `KEY=` and a `# optional` or `# public` mark (the example holds keys only)",
            )
        });
        if let Some(problem) = problem {
            bail!(
                "{name} line {}: {problem}; fix the line, or delete the file and run \
                 `envshim doctor --fix` to write it anew",
                index + 1
            );
        }
    }
    dotenv::parse(text)
        .map(Some)
        .with_context(|| name.to_string())
}

/// `[export ]KEY=` with nothing after the `=` but blanks and an optional `# comment`.
fn example_definition(line: &str) -> bool {
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let Some((key, rest)) = line.split_once('=') else {
        return false;
    };
    let key = key.trim_end();
    let key_ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let rest = rest.trim_start();
    key_ok && (rest.is_empty() || rest.starts_with('#'))
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
    /// Keys this command wrote, which the example may newly declare.
    declared_now: std::collections::HashSet<String>,
    /// `doctor --fix`: declare every key except loader variables.
    declare_reviewed: bool,
    /// The document was replaced by `edit`.
    edited: bool,
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
            declared_now: std::collections::HashSet::new(),
            declare_reviewed: false,
            edited: false,
            _lock: lock,
        })
    }

    /// Sets a key (see [`Document::set`]).
    pub fn set(&mut self, key: &str, value: &str, scope: Option<dotenv::Scope>) -> dotenv::Change {
        let change = self.doc.set(key, value, scope);
        if change != dotenv::Change::Unchanged {
            self.changed.push((key.to_string(), Kept::Value));
            self.declared_now.insert(key.to_string());
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
            self.declared_now.insert(key.to_string());
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

    /// Every name the secrets or the example define, secrets first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let example = self.example.iter().flat_map(|e| e.entries());
        self.doc
            .entries()
            .chain(example.filter(|e| self.doc.get(&e.key).is_none()))
            .map(|e| e.key.as_str())
    }

    /// Replaces the whole document (for `edit`). The keys whose value or section the
    /// edit changed, or that it added, may be declared in the example (never a loader
    /// variable: see [`Update::written_deliberately`]); keys it left as they were keep
    /// their standing, even if the editor rewrote their spacing or line endings.
    pub fn replace(&mut self, doc: Document) {
        let before: std::collections::HashMap<&str, (&dotenv::Scope, &str)> = self
            .doc
            .entries()
            .map(|e| (e.key.as_str(), (&e.scope, e.value.as_str())))
            .collect();
        let mut edited = Vec::new();
        for entry in doc.entries() {
            let same = before
                .get(entry.key.as_str())
                .is_some_and(|(scope, value)| {
                    **scope == entry.scope && *value == entry.value.as_str()
                });
            if !same {
                edited.push(entry.key.clone());
            }
        }
        self.declared_now.extend(edited);
        self.doc = doc;
        self.edited = true;
    }

    /// Whether a loader variable (LD_PRELOAD, PATH, …) was written in a way that
    /// declares it: by `set`, `import` or `mv` naming it, not as one of many lines of an
    /// `edit` (where a forged line passes unnoticed).
    fn written_deliberately(&self, key: &str) -> bool {
        !self.edited && self.declared_now.contains(key)
    }

    /// Lets the example declare `key` in its current section (`mv`).
    pub fn declare(&mut self, key: &str) {
        self.declared_now.insert(key.to_string());
    }

    /// `doctor --fix`: the example declares every key except loader variables (which
    /// `exec` refuses until someone declares them on purpose).
    pub fn declare_reviewed_keys(&mut self) {
        self.declare_reviewed = true;
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
        refuse_nul_values(&reread)?;
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
        // Without an example file yet, nothing was reviewed: declare what `doctor --fix`
        // would (every key but loader variables).
        let declare_reviewed = self.declare_reviewed || self.example.is_none();
        let declared_now = &self.declared_now;
        let (example, left_out) = reread.example(self.example.as_ref(), &removed, &|key| {
            (declared_now.contains(key) || declare_reviewed)
                && (!crate::exec::is_loader_variable(key) || self.written_deliberately(key))
        });
        if !left_out.is_empty() {
            eprintln!(
                "envshim: warning: {} defines {}, which {} does not declare; left undeclared, \
                 so `exec` does not set {}. Review who added {} (`git log -p -- {}`); if {} \
                 belong{}, `envshim doctor --fix` declares {}",
                self.paths.secrets.display(),
                left_out.join(", "),
                self.paths.example.display(),
                if left_out.len() == 1 { "it" } else { "them" },
                if left_out.len() == 1 { "it" } else { "them" },
                shell_word(&self.paths.secrets.display().to_string()),
                if left_out.len() == 1 { "it" } else { "they" },
                if left_out.len() == 1 { "s" } else { "" },
                if left_out.len() == 1 { "it" } else { "them" },
            );
        }
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
                let current = recipients::read_text(&self.paths.recipients).unwrap_or_default();
                let union = recipients::rewrite(&current, keys, true);
                if union != current {
                    store::write_atomic(&self.paths.recipients, union.as_bytes(), 0o644)?;
                }
                listed = Some(union);
            }
            store::write_atomic(&self.paths.secrets, &ciphertext, 0o644)?;
            if let (Some(keys), Some(union)) = (recipients, listed) {
                let lines = recipients::rewrite(&union, keys, false);
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
