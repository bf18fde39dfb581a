//! `envshim keygen`: a new X25519 identity in a private file.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use anyhow::{bail, Context};

use super::Global;
use crate::exit::Exit;
use crate::secrets::identity;

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the identity (`-` for stdout) [default: ~/.config/envshim/identity.txt]
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace an existing identity file (its old key is lost).
    #[arg(long)]
    pub force: bool,
}

/// A newly generated identity, as file text and public key.
pub struct NewIdentity {
    /// The identity file contents (holds the private key).
    pub text: zeroize::Zeroizing<String>,
    /// The public key (`age1…`).
    pub public: String,
}

/// Generates an identity.
pub fn generate() -> NewIdentity {
    let key = age::x25519::Identity::generate();
    let public = key.to_public().to_string();
    let text = zeroize::Zeroizing::new(format!(
        "# envshim identity — private key, keep it secret and never commit it.\n\
         # public key: {public}\n{}\n",
        key.to_string().expose_secret()
    ));
    NewIdentity { text, public }
}

/// Writes an identity file with mode 0600 (its directory 0700 if created), refusing to
/// overwrite unless `force`.
pub fn write_identity(path: &Path, id: &NewIdentity, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; keep using it, choose another path with -o, or pass --force \
             to replace it (anything encrypted only to the old key becomes unreadable)",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_private_dir(dir)?;
        }
    }
    // 0600 from creation (tempfile's default), never the replaced file's mode.
    crate::secrets::store::write_private(path, id.text.as_bytes())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Runs `keygen`.
pub fn run(global: &Global, args: KeygenArgs) -> anyhow::Result<Exit> {
    let id = generate();
    let path = match args.output {
        Some(p) if p.as_os_str() == "-" => {
            let mut out = crate::output::stdout();
            out.write_all(id.text.as_bytes())?;
            out.flush()?;
            return Ok(Exit::Success);
        }
        Some(p) => p,
        None => {
            identity::default_path().context("cannot find your home directory; pass -o FILE")?
        }
    };
    write_identity(&path, &id, args.force)?;
    global.info(format_args!(
        "wrote identity to {} (mode 0600)",
        path.display()
    ));
    crate::outln!("{}", id.public)?;
    Ok(Exit::Success)
}
