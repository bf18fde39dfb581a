//! Files git tracks under the scanned roots: the working-tree walk honours ignore files,
//! but a tracked file is part of the repository whatever an ignore rule says (a
//! force-added `.env.production`), so those are scanned too. One `git ls-files -z` per
//! repository, never a call per file; outside a git repository the list is empty.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::git;

/// The roots (as given and canonical) and the tracked files under them.
#[derive(Default)]
pub struct Tracked {
    roots: Vec<(PathBuf, PathBuf)>,
    /// Each tracked regular-file candidate: the path to open and show (below the root as
    /// given, like the walk's paths) and its canonical path.
    pub files: Vec<(PathBuf, PathBuf)>,
}

/// The files git tracks under `roots`.
pub fn under(roots: &[PathBuf]) -> Tracked {
    let mut tracked = Tracked::default();
    let mut listed: HashMap<PathBuf, Vec<Vec<u8>>> = HashMap::new();
    let mut taken = HashSet::new();
    for root in roots {
        let Ok(canonical) = root.canonicalize() else {
            continue;
        };
        tracked.roots.push((root.clone(), canonical.clone()));
        let dir = if canonical.is_dir() {
            canonical.clone()
        } else {
            match canonical.parent() {
                Some(parent) => parent.to_path_buf(),
                None => continue,
            }
        };
        let Ok(top) = git::toplevel(&dir) else {
            continue;
        };
        let Ok(top) = top.canonicalize() else {
            continue;
        };
        if !listed.contains_key(&top) {
            let files = git::tracked_files(&top).unwrap_or_default();
            listed.insert(top.clone(), files);
        }
        for file in &listed[&top] {
            let absolute = top.join(bytes_path(file));
            let Ok(below) = absolute.strip_prefix(&canonical) else {
                continue;
            };
            if !taken.insert(absolute.clone()) {
                continue;
            }
            let shown = if below.as_os_str().is_empty() {
                root.clone()
            } else {
                root.join(below)
            };
            tracked.files.push((shown, absolute));
        }
    }
    tracked
}

impl Tracked {
    /// The canonical form of a path the walk produced (below one of the roots as given).
    pub fn canonical(&self, path: &Path) -> Option<PathBuf> {
        self.roots.iter().find_map(|(given, canonical)| {
            let below = path.strip_prefix(given).ok()?;
            Some(if below.as_os_str().is_empty() {
                canonical.clone()
            } else {
                canonical.join(below)
            })
        })
    }
}

#[cfg(unix)]
fn bytes_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}
