//! Ignore files must be regular files. The `ignore` crate reads `.gitignore`, `.ignore`
//! and `.envshimignore` of every directory it descends into (and of each root's parents)
//! without looking at what they are: a committed `.gitignore` that links to `/dev/zero`
//! would be read until memory runs out, a FIFO would block forever. So before the crate
//! reads a directory's ignore files, they are checked with `lstat` (three calls per
//! directory), and one that is a link, FIFO, device or directory stops the scan with an
//! error rather than being skipped (skipping the directory would hide its files).

use std::path::{Path, PathBuf};

use super::policy::IGNORE_NAMES;
use super::{display_path, sanitize};

/// The first ignore file of `dir` that is not a regular file, with why.
pub fn irregular_in(dir: &Path) -> Option<(PathBuf, &'static str)> {
    IGNORE_NAMES.iter().find_map(|name| {
        let path = dir.join(name);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        let kind = meta.file_type();
        if kind.is_file() {
            None
        } else if kind.is_symlink() {
            Some((path, "is a symbolic link"))
        } else {
            Some((path, "is not a regular file"))
        }
    })
}

/// The ignore files the walk reads for `root` before its first directory: those of the
/// root (a directory) and of each directory above it up to `base` (the repository top),
/// checked from the top down.
pub fn irregular_above(root: &Path, base: &Path) -> Option<(PathBuf, &'static str)> {
    let canonical = root.canonicalize().ok()?;
    let start = if canonical.is_dir() {
        canonical.as_path()
    } else {
        canonical.parent()?
    };
    let mut dirs: Vec<&Path> = start
        .ancestors()
        .take_while(|d| d.starts_with(base))
        .collect();
    dirs.reverse();
    dirs.into_iter().find_map(irregular_in)
}

/// The error for an ignore file that is not a regular file.
pub fn error(path: &Path, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{} {why}; ignore files must be regular files (envshim does not read it)",
        sanitize(&display_path(path))
    )
}
