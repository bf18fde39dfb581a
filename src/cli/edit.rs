//! `edit`: the decrypted file in `$VISUAL`/`$EDITOR`, validated and re-encrypted.
//!
//! The plaintext lives in a 0600 file inside a 0700 directory, on tmpfs when there is
//! one, and is overwritten and removed on every way out: save, abort, editor failure,
//! and SIGINT/SIGTERM/SIGHUP. (Nothing can clean up after SIGKILL; tmpfs at least
//! keeps it off persistent storage.) The writers' lock is held while the editor runs,
//! so no concurrent `set` is lost.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use zeroize::Zeroizing;

use super::Global;
use crate::exit::Exit;
use crate::secrets::{self, dotenv, SecretsPaths, Update};

/// Arguments of `edit`.
#[derive(Debug, clap::Args)]
pub struct EditArgs {}

/// The temporary plaintext file; wiped and removed when dropped.
struct Scratch {
    dir: Option<tempfile::TempDir>,
    file: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        wipe(&self.file);
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// Overwrites a file with zeros, then removes it.
fn wipe(path: &Path) {
    if let Ok(meta) = fs::metadata(path) {
        if let Ok(mut f) = fs::OpenOptions::new().write(true).open(path) {
            let zeros = vec![0u8; meta.len() as usize];
            let _ = f.write_all(&zeros).and_then(|()| f.sync_all());
        }
    }
    let _ = fs::remove_file(path);
}

/// Where the scratch directory goes: tmpfs when available.
fn scratch_base() -> PathBuf {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    runtime
        .into_iter()
        .chain([PathBuf::from("/dev/shm")])
        .find(|d| d.is_dir() && tempfile::tempdir_in(d).is_ok())
        .unwrap_or_else(std::env::temp_dir)
}

fn create_scratch(name: &str, contents: &[u8]) -> anyhow::Result<Scratch> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("envshim-edit-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder
        .tempdir_in(scratch_base())
        .context("cannot create a private temporary directory")?;
    let file = dir.path().join(name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let scratch = Scratch {
        file: file.clone(),
        dir: Some(dir),
    };
    let mut f = options
        .open(&file)
        .with_context(|| format!("cannot create {}", file.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(scratch)
}

fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// Runs the editor on `file`; `$EDITOR` may hold arguments (`code --wait`).
fn run_editor(editor: &str, file: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {editor} \"$1\""))
        .arg("envshim-edit")
        .arg(file)
        .status();
    #[cfg(not(unix))]
    let status = Command::new(editor).arg(file).status();
    let status = status.with_context(|| format!("cannot start the editor `{editor}`"))?;
    if !status.success() {
        bail!("the editor `{editor}` failed ({status}); nothing was changed");
    }
    Ok(())
}

/// Runs `edit`.
pub fn run(global: &Global, _args: EditArgs) -> anyhow::Result<Exit> {
    let paths = SecretsPaths::discover(global.file.as_deref())?;
    let ids = secrets::identities_for(&paths, &global.identity)?;
    let mut update = Update::open(paths, &ids)?;
    let original = update.doc.render();
    let name = update
        .paths
        .secrets
        .file_name()
        .map_or_else(|| "secrets".into(), |n| n.to_string_lossy().into_owned());
    let scratch = create_scratch(&format!("{name}.env"), original.as_bytes())?;
    let on_signal = scratch.file.clone();
    let on_signal_dir = scratch.dir.as_ref().map(|d| d.path().to_path_buf());
    let _ = ctrlc::set_handler(move || {
        wipe(&on_signal);
        if let Some(dir) = &on_signal_dir {
            let _ = fs::remove_dir_all(dir);
        }
        eprintln!("\nenvshim: interrupted; nothing was changed");
        std::process::exit(130);
    });
    let editor = editor();
    let mut rejected: Option<Zeroizing<Vec<u8>>> = None;
    loop {
        run_editor(&editor, &scratch.file)?;
        let edited =
            Zeroizing::new(fs::read(&scratch.file).context("cannot read the edited file back")?);
        if edited.as_slice() == original.as_bytes() {
            global.info("no changes; nothing was written");
            return Ok(Exit::Success);
        }
        match dotenv::parse_bytes(&edited) {
            Ok(doc) => {
                update.replace(doc);
                let file = update.paths.secrets.display().to_string();
                update.save()?;
                global.info(format_args!("saved {file}"));
                return Ok(Exit::Success);
            }
            Err(e) if rejected.as_deref() == Some(&edited) => {
                bail!("{e}; the file is still invalid, so nothing was changed")
            }
            Err(e) => {
                eprintln!(
                    "envshim: {e}. Reopening the editor: fix it, or save it unchanged to give up."
                );
                rejected = Some(edited);
            }
        }
    }
}
