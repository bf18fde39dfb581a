//! The `.env.secrets.recipients` file: age and SSH public keys, one per line, `#`
//! comments allowed — the format `age -R` reads.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};

/// One recipient line, kept as written (minus surrounding spaces) and parsed.
pub struct RecipientKey {
    /// The line as written, e.g. `age1…` or `ssh-ed25519 AAAA… comment`.
    pub text: String,
    parsed: Parsed,
}

enum Parsed {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl RecipientKey {
    /// Parses one recipient; the error says which kinds are accepted.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let parsed = if text.starts_with("age1") {
            age::x25519::Recipient::from_str(text)
                .map(Parsed::X25519)
                .map_err(|e| anyhow::anyhow!("not a valid age public key ({e})"))?
        } else if text.starts_with("ssh-") {
            age::ssh::Recipient::from_str(text)
                .map(Parsed::Ssh)
                .map_err(|e| anyhow::anyhow!("not a usable SSH public key ({e:?})"))?
        } else {
            bail!("expected an age public key (age1…) or an ssh-ed25519/ssh-rsa public key");
        };
        Ok(RecipientKey {
            text: text.to_string(),
            parsed,
        })
    }

    /// The key without any trailing SSH comment, for comparisons.
    pub fn canonical(&self) -> String {
        canonical(&self.text)
    }

    /// The recipient for encryption.
    pub fn to_age(&self) -> Box<dyn age::Recipient + Send> {
        match &self.parsed {
            Parsed::X25519(r) => Box::new(r.clone()),
            Parsed::Ssh(r) => Box::new(r.clone()),
        }
    }
}

/// The first two fields of a public key line (`type base64`), or the age key itself.
pub fn canonical(key: &str) -> String {
    key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// Largest recipients file read: about 1,000 SSH-RSA keys.
const MAX_RECIPIENTS_BYTES: u64 = 1 << 20;

/// Reads a recipients file's text, at most [`MAX_RECIPIENTS_BYTES`] of it (a device or
/// a FIFO is not read without bound).
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = super::read_file_limited(path, "the recipients file", MAX_RECIPIENTS_BYTES)?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))
}

/// Parses recipients text; errors name the line.
pub fn parse(text: &str) -> anyhow::Result<Vec<RecipientKey>> {
    let mut keys = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        keys.push(RecipientKey::parse(line).with_context(|| format!("line {}", index + 1))?);
    }
    Ok(keys)
}

/// Reads and parses a recipients file; errors name the file and the line.
pub fn read(path: &Path) -> anyhow::Result<Vec<RecipientKey>> {
    if !path.exists() {
        bail!(
            "{} does not exist; it lists who can read the secrets. Restore it from git \
             (`git checkout -- {}`), or write the readers' public keys into it, one per line",
            path.display(),
            super::shell_word(&path.display().to_string())
        );
    }
    let text = read_text(path)?;
    let keys = parse(&text).with_context(|| path.display().to_string())?;
    if keys.is_empty() {
        bail!(
            "{} lists no recipients, so nobody could decrypt the secrets; add a public key to it",
            path.display()
        );
    }
    Ok(keys)
}

/// Renders a recipients file.
pub fn render(keys: &[String]) -> String {
    let mut out = String::from(
        "# Who can decrypt .env.secrets: age or SSH public keys, one per line.\n\
         # Change it with `envshim recipients add|rm`, which re-encrypts the secrets.\n",
    );
    for key in keys {
        out.push_str(key);
        out.push('\n');
    }
    out
}
