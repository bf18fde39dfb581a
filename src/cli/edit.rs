//! `edit`: the decrypted file in `$VISUAL`/`$EDITOR`, validated and re-encrypted.
//!
//! The plaintext lives in a 0600 file inside a 0700 directory, on tmpfs when there is
//! one, and is overwritten and removed on every way out: save, abort, editor failure,
//! and every catchable signal (INT, TERM, HUP, QUIT, USR1, USR2, ALRM, PIPE). Nothing
//! can clean up after SIGKILL, so the scratch directory carries the PID that made it and
//! the next `edit` wipes any left by a process that no longer exists. With no editor
//! configured and no terminal, `edit` refuses rather than start `vi`, which would print
//! the plaintext to a log. The writers' lock is held while the editor runs, so no
//! concurrent `set` is lost.

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

/// The name prefix of scratch directories; the creating PID and a `-` follow.
const SCRATCH_PREFIX: &str = "envshim-edit-";

/// Wipes and removes scratch directories in `base` left by `edit` processes that no
/// longer exist (killed with SIGKILL, or by a power cut on a disk-backed base). Returns
/// how many it removed.
fn remove_abandoned_scratch(base: &Path) -> usize {
    let Ok(entries) = fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SCRATCH_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if process_exists(pid) || !owned_by_me(&entry.path()) {
            continue;
        }
        let dir = entry.path();
        if let Ok(files) = fs::read_dir(&dir) {
            for file in files.flatten() {
                wipe(&file.path());
            }
        }
        if fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether a process with this PID exists (Linux: `/proc/PID`). Where that cannot be
/// told, assume it does, so that nothing in use is removed.
fn process_exists(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(unix)]
fn owned_by_me(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let mine = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    match (fs::symlink_metadata(path), mine) {
        (Ok(meta), Some(uid)) => meta.is_dir() && meta.uid() == uid,
        _ => false,
    }
}

#[cfg(not(unix))]
fn owned_by_me(_path: &Path) -> bool {
    false
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
    let prefix = format!("{SCRATCH_PREFIX}{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let base = scratch_base();
    let abandoned = remove_abandoned_scratch(&base);
    if abandoned > 0 {
        eprintln!(
            "envshim: wiped {abandoned} plaintext scratch director{} in {} left by an earlier \
             `edit` that was killed",
            if abandoned == 1 { "y" } else { "ies" },
            base.display()
        );
    }
    let dir = builder
        .tempdir_in(base)
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

/// `$VISUAL`, else `$EDITOR`, else `vi` — but only on a terminal: `vi` without one
/// prints the file (every secret) to standard output, which may be a CI log.
fn editor() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    let configured = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty());
    match configured {
        Some(editor) => Ok(editor),
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            Ok("vi".to_string())
        }
        None => bail!(
            "no editor is configured and this is not a terminal, so `edit` would print the \
             secrets; set VISUAL or EDITOR (e.g. `EDITOR='code --wait' envshim edit`), or \
             change values with `envshim set NAME`"
        ),
    }
}

/// Wipes the scratch file and exits on every catchable signal that would otherwise end
/// envshim without running destructors.
#[cfg(unix)]
fn clean_up_on_signals(file: PathBuf, dir: Option<PathBuf>) -> anyhow::Result<()> {
    use signal_hook::consts::signal::*;
    let mut signals = signal_hook::iterator::Signals::new([
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE,
    ])
    .context("cannot install signal handlers")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            wipe(&file);
            if let Some(dir) = &dir {
                let _ = fs::remove_dir_all(dir);
            }
            if signal != SIGPIPE {
                eprintln!("\nenvshim: interrupted; nothing was changed");
            }
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn clean_up_on_signals(file: PathBuf, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let _ = ctrlc::set_handler(move || {
        wipe(&file);
        if let Some(dir) = &dir {
            let _ = fs::remove_dir_all(dir);
        }
        eprintln!("\nenvshim: interrupted; nothing was changed");
        std::process::exit(130);
    });
    Ok(())
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
    let editor = editor()?;
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
    clean_up_on_signals(
        scratch.file.clone(),
        scratch.dir.as_ref().map(|d| d.path().to_path_buf()),
    )?;
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
