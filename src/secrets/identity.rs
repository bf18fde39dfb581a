//! Finding the user's private key (DESIGN §1): five sources, first match wins, and
//! identity files must be private to their owner, as ssh insists for its keys.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::cli_common::{read_identities, StdinGuard};
use age::Identity;
use anyhow::{anyhow, bail};
use zeroize::Zeroizing;

use super::recipients::canonical;

/// Environment variable holding the identity text itself (for CI).
pub const ENV_KEY: &str = "ENVSHIM_AGE_KEY";
/// Environment variable holding a path to an identity file.
pub const ENV_PATH: &str = "ENVSHIM_IDENTITY";

/// The identity variables, taken out of the process environment at start-up (see
/// [`take_from_environment`]) so that no command envshim runs inherits them.
struct Taken {
    key: Option<Zeroizing<String>>,
    key_not_utf8: bool,
    path: Option<std::ffi::OsString>,
}

static TAKEN: std::sync::OnceLock<Taken> = std::sync::OnceLock::new();

/// Removes `ENVSHIM_AGE_KEY` and `ENVSHIM_IDENTITY` from this process's environment and
/// keeps their values for identity discovery. The key that opens both scopes must never
/// reach a command envshim runs (`exec`'s command, the editor, git, hooks): without it
/// there, a runtime process cannot `envshim get` a deploy variable. Call it once, first
/// thing in `main`, while the process has a single thread.
pub fn take_from_environment() {
    let key = std::env::var_os(ENV_KEY);
    let path = std::env::var_os(ENV_PATH);
    std::env::remove_var(ENV_KEY);
    std::env::remove_var(ENV_PATH);
    let key_not_utf8 = key.as_ref().is_some_and(|k| k.to_str().is_none());
    let key = key
        .and_then(|k| k.into_string().ok())
        .map(Zeroizing::new)
        .filter(|k| !k.is_empty());
    let path = path.filter(|p| !p.is_empty());
    let _ = TAKEN.set(Taken {
        key,
        key_not_utf8,
        path,
    });
}

/// The identity variables: as taken at start-up, or (when envshim is used as a library
/// and nothing was taken) as the environment has them now.
fn taken() -> &'static Taken {
    TAKEN.get_or_init(|| {
        let key = std::env::var_os(ENV_KEY);
        Taken {
            key_not_utf8: key.as_ref().is_some_and(|k| k.to_str().is_none()),
            key: key
                .and_then(|k| k.into_string().ok())
                .map(Zeroizing::new)
                .filter(|k| !k.is_empty()),
            path: std::env::var_os(ENV_PATH).filter(|p| !p.is_empty()),
        }
    })
}

/// The identity variables envshim was started with, as (name, value) pairs, for
/// `exec --pass-identity`, which hands them on deliberately.
pub fn identity_variables() -> Vec<(&'static str, std::ffi::OsString)> {
    let taken = taken();
    let mut out = Vec::new();
    if let Some(key) = &taken.key {
        out.push((ENV_KEY, std::ffi::OsString::from(key.as_str())));
    }
    if let Some(path) = &taken.path {
        out.push((ENV_PATH, path.clone()));
    }
    out
}

/// Which identity variables envshim was started with (names only), for `doctor`.
pub fn identity_variables_set() -> Vec<&'static str> {
    let taken = taken();
    let mut out = Vec::new();
    if taken.key.is_some() || taken.key_not_utf8 {
        out.push(ENV_KEY);
    }
    if taken.path.is_some() {
        out.push(ENV_PATH);
    }
    out
}

/// Identities found, with where they came from and their public keys where known.
pub struct Identities {
    /// Usable identities.
    pub identities: Vec<Box<dyn Identity>>,
    /// Where they were found, for messages (`--identity key.txt`, `ENVSHIM_AGE_KEY`, …).
    pub source: String,
    /// Where to derive the public keys from, when a message or `init` needs them;
    /// deriving costs a scalar multiplication per key, so `exec` does not do it.
    origin: Vec<Origin>,
}

/// Where an identity came from, for deriving its public key later.
enum Origin {
    /// An identity file (age, or SSH with its `.pub` beside it).
    File(PathBuf),
    /// The text of `ENVSHIM_AGE_KEY`.
    EnvText,
    /// Already known (an SSH key matched against the recipients).
    Known(String),
}

impl Identities {
    /// The public keys of these identities, where they can be derived.
    pub fn public_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for origin in &self.origin {
            match origin {
                Origin::Known(key) => keys.push(key.clone()),
                Origin::EnvText => {
                    if let Some(text) = &taken().key {
                        keys.extend(x25519_public_keys(text));
                    }
                }
                Origin::File(path) => {
                    let Ok(bytes) = std::fs::read(path) else {
                        continue;
                    };
                    let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
                    let found = x25519_public_keys(&text);
                    if found.is_empty() {
                        // An SSH private key: its public half usually sits beside it.
                        if let Ok(public) = std::fs::read_to_string(public_half(path)) {
                            keys.push(canonical(&public));
                        }
                    }
                    keys.extend(found);
                }
            }
        }
        keys
    }
}

/// The default identity file: `$XDG_CONFIG_HOME/envshim/identity.txt`.
pub fn default_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(config.join("envshim").join("identity.txt"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Finds identities. `recipients` (canonical keys) decides whether an SSH key in
/// `~/.ssh` may be used; pass `None` where there is no recipients list yet.
pub fn discover(
    cli_files: &[PathBuf],
    recipients: Option<&[String]>,
) -> anyhow::Result<Identities> {
    match find(cli_files, recipients)? {
        Some(found) => Ok(found),
        None => Err(not_found(recipients.is_some())),
    }
}

/// Like [`discover`], but `Ok(None)` when no source has an identity.
pub fn find(
    cli_files: &[PathBuf],
    recipients: Option<&[String]>,
) -> anyhow::Result<Option<Identities>> {
    if !cli_files.is_empty() {
        let mut all = Identities {
            identities: Vec::new(),
            source: String::new(),
            origin: Vec::new(),
        };
        let mut sources = Vec::new();
        for file in cli_files {
            let found = from_file(file, &format!("--identity {}", file.display()))?;
            all.identities.extend(found.identities);
            all.origin.extend(found.origin);
            sources.push(found.source);
        }
        all.source = sources.join(", ");
        return Ok(Some(all));
    }
    let taken = taken();
    if taken.key_not_utf8 {
        bail!("{ENV_KEY} is not valid UTF-8");
    }
    if let Some(text) = &taken.key {
        return from_text(text, ENV_KEY).map(Some);
    }
    if let Some(path) = &taken.path {
        let path = PathBuf::from(path);
        return from_file(&path, &format!("{ENV_PATH}={}", path.display())).map(Some);
    }
    if let Some(path) = default_path().filter(|p| p.exists()) {
        return from_file(&path, &path.display().to_string()).map(Some);
    }
    if let (Some(recipients), Some(home)) = (recipients, home()) {
        for name in ["id_ed25519", "id_rsa"] {
            let key = home.join(".ssh").join(name);
            let Ok(public) = std::fs::read_to_string(public_half(&key)) else {
                continue;
            };
            let public = canonical(&public);
            if key.exists() && recipients.contains(&public) {
                let mut found = from_file(&key, &key.display().to_string())?;
                found.origin = vec![Origin::Known(public)];
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn not_found(with_ssh: bool) -> anyhow::Error {
    let default = default_path().map_or_else(
        || "$XDG_CONFIG_HOME/envshim/identity.txt".to_string(),
        |p| p.display().to_string(),
    );
    let ssh = if with_ssh {
        ", ~/.ssh/id_ed25519 and ~/.ssh/id_rsa (whose public keys are not recipients)"
    } else {
        ""
    };
    anyhow!(
        "no identity found (looked at --identity, {ENV_KEY}, {ENV_PATH}, {default}{ssh}). \
         Create one with `envshim keygen` and ask someone who can decrypt to run \
         `envshim recipients add <your public key>`"
    )
}

/// Reads an identity file after checking that only its owner can read it.
fn from_file(path: &Path, source: &str) -> anyhow::Result<Identities> {
    check_private(path)?;
    let name = path.to_string_lossy().into_owned();
    let identities = read_identities(vec![name], None, &mut StdinGuard::new(false))
        .map_err(|e| anyhow!("cannot use identity {source}: {e}"))?;
    if identities.is_empty() {
        bail!("{source} holds no identity");
    }
    Ok(Identities {
        identities,
        source: source.to_string(),
        origin: vec![Origin::File(path.to_path_buf())],
    })
}

/// `KEY.pub`, where ssh-keygen puts the public half of `KEY`.
fn public_half(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Parses identity text (the contents of an age identity file).
fn from_text(text: &str, source: &str) -> anyhow::Result<Identities> {
    let file = age::IdentityFile::from_buffer(text.as_bytes())
        .map_err(|_| anyhow!("{source} does not hold an age identity (AGE-SECRET-KEY-1…)"))?;
    let identities = file
        .into_identities()
        .map_err(|_| anyhow!("{source} does not hold a usable age identity"))?;
    if identities.is_empty() {
        bail!("{source} does not hold an age identity (AGE-SECRET-KEY-1…)");
    }
    Ok(Identities {
        identities: identities
            .into_iter()
            .map(|i| i as Box<dyn Identity>)
            .collect(),
        source: source.to_string(),
        origin: vec![Origin::EnvText],
    })
}

/// The public keys of the `AGE-SECRET-KEY-1…` lines in `text`.
pub fn x25519_public_keys(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .filter_map(|l| age::x25519::Identity::from_str(l).ok())
        .map(|i| i.to_public().to_string())
        .collect()
}

/// Refuses identity files that group or other users can read.
#[cfg(unix)]
pub fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("identity file {} does not exist", path.display()),
        _ => anyhow!("cannot read identity file {}: {e}", path.display()),
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "identity file {} is accessible by other users (mode {mode:04o}); \
             run `chmod 600 -- {}` and try again",
            path.display(),
            super::shell_word(&path.display().to_string())
        );
    }
    Ok(())
}

/// Refuses identity files that group or other users can read (no mode bits here).
#[cfg(not(unix))]
pub fn check_private(path: &Path) -> anyhow::Result<()> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| anyhow!("cannot read identity file {}: {e}", path.display()))
}
