//! The `.env.secrets.recipients` file: age and SSH public keys, one per line, `#`
//! comments allowed — the format `age -R` reads.
//!
//! Labels: a comment on the line directly above a key names it (`# alice`), and so does a
//! trailing `# alice` after the key. `age -R` (1.1) accepts a trailing comment after an
//! SSH key, whose line may carry free text, but rejects one after an `age1…` key, so
//! envshim reads both forms and writes an age key's label on its own line above it:
//! every file envshim writes stays readable by `age -R`.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};

/// The comment lines envshim writes at the top of a recipients file; never a label.
const HEADER: [&str; 2] = [
    "# Who can decrypt .env.secrets: age or SSH public keys, one per line.",
    "# Change it with `envshim recipients add|rm`, which re-encrypts the secrets.",
];

/// One recipient, parsed.
pub struct RecipientKey {
    /// The key as written, without its label: `age1…` or `ssh-ed25519 AAAA… comment`.
    pub text: String,
    /// Who the key belongs to: a trailing `# label`, or the comment directly above it.
    pub label: Option<String>,
    parsed: Parsed,
}

enum Parsed {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl RecipientKey {
    /// Parses one recipient, with an optional trailing `# label`; the error says which
    /// kinds are accepted, in plain words, and never repeats the text (which could be a
    /// private key pasted by mistake).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if super::hidden_text(text.trim()).is_some() {
            bail!("a recipient is one line of text: one public key, optionally `# label`");
        }
        let (key, label) = split_label(text.trim());
        if key.starts_with("AGE-SECRET-KEY-") || key.contains("PRIVATE KEY") {
            bail!(
                "that is a private key, which must stay secret; give the public key \
                 (`envshim whoami` prints yours, `age-keygen -y FILE` derives it from FILE)"
            );
        }
        let parsed = if key.starts_with("age1") {
            age::x25519::Recipient::from_str(key)
                .map(Parsed::X25519)
                .map_err(|e| anyhow::anyhow!("not a valid age public key ({e})"))?
        } else if key.starts_with("ssh-") {
            age::ssh::Recipient::from_str(key)
                .map(Parsed::Ssh)
                .map_err(|e| anyhow::anyhow!(ssh_error(key, e)))?
        } else {
            bail!("expected an age public key (age1…) or an ssh-ed25519/ssh-rsa public key");
        };
        Ok(RecipientKey {
            text: key.to_string(),
            label,
            parsed,
        })
    }

    /// The key without any trailing SSH comment or label, for comparisons.
    pub fn canonical(&self) -> String {
        canonical(&self.text)
    }

    /// The key with its label as a trailing `# label`, the form [`render`] accepts.
    pub fn labelled(&self) -> String {
        match &self.label {
            Some(label) => format!("{} # {label}", self.text),
            None => self.text.clone(),
        }
    }

    /// The recipient for encryption.
    pub fn to_age(&self) -> Box<dyn age::Recipient + Send> {
        match &self.parsed {
            Parsed::X25519(r) => Box::new(r.clone()),
            Parsed::Ssh(r) => Box::new(r.clone()),
        }
    }
}

/// One sentence for a public key age cannot use; `key` is the line's key part.
fn ssh_error(key: &str, error: age::ssh::ParseRecipientKeyError) -> String {
    use age::ssh::ParseRecipientKeyError as E;
    let kind = key.split_whitespace().next().unwrap_or_default();
    match error {
        E::RsaModulusTooLarge => {
            "this ssh-rsa key is larger than age supports; use an ssh-ed25519 or age key"
                .to_string()
        }
        E::RsaModulusTooSmall => "this ssh-rsa key is shorter than 2048 bits, too weak to \
                                  protect the secrets; use an ssh-ed25519 or age key"
            .to_string(),
        E::Invalid(_) | E::Unsupported(_) | E::Ignore
            if kind == "ssh-ed25519" || kind == "ssh-rsa" =>
        {
            format!(
                "not a valid {} public key: copy the whole line of its .pub file \
                 (`{} AAAA… comment`)",
                kind.escape_debug(),
                kind.escape_debug()
            )
        }
        _ => format!(
            "{} keys cannot be age recipients; use an ssh-ed25519 or ssh-rsa key, or an age key",
            kind.escape_debug()
        ),
    }
}

/// Splits `KEY # label` at the first `#` that follows whitespace (base64 and Bech32
/// never contain `#`).
pub fn split_label(line: &str) -> (&str, Option<String>) {
    let at = line
        .char_indices()
        .find(|&(i, c)| c == '#' && line[..i].ends_with([' ', '\t']))
        .map(|(i, _)| i);
    match at {
        Some(i) => {
            let label = line[i + 1..].trim();
            (
                line[..i].trim_end(),
                (!label.is_empty()).then(|| label.to_string()),
            )
        }
        None => (line, None),
    }
}

/// The label a comment line gives the key below it: its text, unless it is envshim's
/// header or a commented-out key.
fn label_of_comment(line: &str) -> Option<&str> {
    if HEADER.contains(&line) {
        return None;
    }
    let text = line.trim_start_matches('#').trim();
    let looks_like_key = text.starts_with("age1") || text.starts_with("ssh-");
    (!text.is_empty() && !looks_like_key).then_some(text)
}

/// The key part of a public key line (`type base64` for SSH, the `age1…` key itself),
/// without SSH comment or label.
pub fn canonical(key: &str) -> String {
    let (key, _) = split_label(key.trim());
    let fields = if key.starts_with("ssh-") { 2 } else { 1 };
    key.split_whitespace()
        .take(fields)
        .collect::<Vec<_>>()
        .join(" ")
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
    let mut above = None;
    for (index, line) in text.lines().enumerate() {
        if let Some(what) = super::hidden_text(line) {
            bail!(
                "line {}: contains {what}, which can hide text on a terminal (a reader \
                 added behind a comment); remove it",
                index + 1
            );
        }
        let line = line.trim();
        if line.is_empty() {
            above = None;
            continue;
        }
        if line.starts_with('#') {
            above = label_of_comment(line);
            continue;
        }
        let mut key = RecipientKey::parse(line).with_context(|| format!("line {}", index + 1))?;
        if key.label.is_none() {
            key.label = above.map(str::to_string);
        }
        above = None;
        keys.push(key);
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

/// The lines for one key: its label on its own line above it, which `age -R` reads.
fn key_lines(key: &str, label: Option<&str>, out: &mut Vec<String>) {
    if let Some(label) = label {
        out.push(format!("# {label}"));
    }
    out.push(key.to_string());
}

fn join(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Renders a new recipients file; each key may end in `# label`.
pub fn render(keys: &[String]) -> String {
    let mut lines: Vec<String> = HEADER.iter().map(|l| l.to_string()).collect();
    for key in keys {
        let (key, label) = split_label(key.trim());
        key_lines(key, label.as_deref(), &mut lines);
    }
    join(&lines)
}

/// Whether `age -R` would reject this key line: an age key followed by a `# label`.
pub fn unreadable_by_age(line: &str) -> bool {
    let line = line.trim();
    !line.starts_with('#') && !line.starts_with("ssh-") && split_label(line).1.is_some()
}

/// The recipients file `current` rewritten to hold `keys`, and with `keep_others` also
/// every key it already lists: comments and the order of the keys that stay are kept,
/// duplicates dropped, new keys appended, a removed key's label removed with it, and an
/// age key's trailing label moved to its own line so that `age -R` reads the file.
pub fn rewrite(current: &str, keys: &[RecipientKey], keep_others: bool) -> String {
    let wanted: Vec<String> = keys.iter().map(RecipientKey::canonical).collect();
    let mut out: Vec<String> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    // True when the last line of `out` is a comment directly above the current line.
    let mut label_above = false;
    for line in current.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push(line.to_string());
            label_above = label_of_comment(trimmed).is_some();
            continue;
        }
        let (key, label) = split_label(trimmed);
        let canonical = canonical(key);
        if (keep_others || wanted.contains(&canonical)) && !kept.contains(&canonical) {
            if unreadable_by_age(trimmed) {
                key_lines(key, label.as_deref(), &mut out);
            } else {
                out.push(line.to_string());
            }
            kept.push(canonical);
        } else if label_above && label.is_none() {
            // The label goes with its key.
            out.pop();
        }
        label_above = false;
    }
    for key in keys {
        if !kept.contains(&key.canonical()) {
            key_lines(&key.text, key.label.as_deref(), &mut out);
        }
    }
    join(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq";

    #[test]
    fn labels_split_only_after_whitespace() {
        assert_eq!(
            split_label("age1x # alice"),
            ("age1x", Some("alice".into()))
        );
        assert_eq!(split_label("age1x#alice"), ("age1x#alice", None));
        assert_eq!(
            split_label("ssh-ed25519 AAAA a@b #  x y "),
            ("ssh-ed25519 AAAA a@b", Some("x y".into()))
        );
        assert_eq!(canonical(&format!("{A}  # alice")), A);
        assert_eq!(canonical("ssh-ed25519 AAAA a@b # x"), "ssh-ed25519 AAAA");
    }

    #[test]
    fn header_and_commented_keys_are_not_labels() {
        let text = format!("{}\n{}\n{A}\n", HEADER[0], HEADER[1]);
        assert_eq!(parse(&text).unwrap()[0].label, None);
        let text = format!("# age1old\n{A}\n");
        assert_eq!(parse(&text).unwrap()[0].label, None);
        let text = format!("# team\n\n{A}\n");
        assert_eq!(parse(&text).unwrap()[0].label, None);
        let text = format!("# team\n# alice\n{A}\n");
        assert_eq!(parse(&text).unwrap()[0].label.as_deref(), Some("alice"));
    }
}
