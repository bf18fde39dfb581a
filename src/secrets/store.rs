//! Writing files so that a crash never leaves one half-written: a temporary file in the
//! same directory, flushed to disk, then renamed over the target.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// The directory holding `path` (`.` for a bare file name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Atomically replaces (or creates) `path` with `bytes`. An existing file keeps its mode;
/// a new one gets `new_mode` (Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], new_mode: u32) -> anyhow::Result<()> {
    write(path, bytes, Some(new_mode))
}

/// Atomically replaces (or creates) `path` with `bytes` readable by its owner only
/// (0600) from the moment it exists, whatever mode the file it replaces had: for
/// private keys, which another user must never catch between a rename and a chmod.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write(path, bytes, None)
}

/// `keep_or_new`: `Some(mode)` keeps an existing file's mode (new files get `mode`);
/// `None` leaves the temporary file's 0600.
fn write(path: &Path, bytes: &[u8], keep_or_new: Option<u32>) -> anyhow::Result<()> {
    let dir = dir_of(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".envshim-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(new_mode) = keep_or_new {
        set_mode(tmp.path(), path, new_mode)?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(dir);
    Ok(())
}

#[cfg(unix)]
fn set_mode(tmp: &Path, target: &Path, new_mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(target).map_or(new_mode, |m| m.permissions().mode() & 0o7777);
    std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", target.display()))
}

#[cfg(not(unix))]
fn set_mode(_tmp: &Path, _target: &Path, _new_mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// Makes the rename itself durable; best effort, as not every filesystem supports it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Removes temporary files that killed writers left in `dir`. Call only while holding
/// the [`Lock`]: then no other writer can be using them. They hold ciphertext, never
/// plaintext, but they are litter a user could commit.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".envshim-") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An exclusive lock serializing writers of the secrets files in one directory; released
/// when dropped (or when the process dies, so a killed writer never blocks others).
pub struct Lock {
    _file: std::fs::File,
}

/// Takes the writers' lock for `path`'s directory, waiting for another writer if needed.
pub fn lock(path: &Path) -> anyhow::Result<Lock> {
    let dir = dir_of(path);
    let file = lock_file(dir)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "envshim: waiting for another envshim that is changing {}…",
                path.display()
            );
            file.lock()
                .with_context(|| format!("cannot lock {}", dir.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", dir.display()))
        }
    }
    Ok(Lock { _file: file })
}

/// On Unix the directory itself is locked, which leaves no lock file behind.
#[cfg(unix)]
fn lock_file(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))
}

#[cfg(not(unix))]
fn lock_file(dir: &Path) -> anyhow::Result<std::fs::File> {
    let path = dir.join(".envshim.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))
}
