//! Files git tracks under the scanned roots: the working-tree walk honours ignore files,
//! but a tracked file is part of the repository whatever an ignore rule says (a
//! force-added `.env.production`), so those are scanned too. One `git ls-files -z` per
//! repository, never a call per file; outside a git repository the list is empty.
//!
//! Paths are compared as canonical absolute bytes (hashing bytes is much cheaper than
//! hashing a `Path` component by component, and the walk records one per file).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::git;

/// The roots (as given and canonical) and the tracked files under them.
#[derive(Default)]
pub struct Tracked {
    roots: Vec<(PathBuf, Vec<u8>)>,
    /// Each tracked file under a root: the root's index, its canonical path, and where
    /// in that path the part below the root starts.
    files: Vec<(usize, Vec<u8>, usize)>,
}

/// The files git tracks under `roots`.
pub fn under(roots: &[PathBuf]) -> Tracked {
    let mut tracked = Tracked::default();
    let mut listed: HashMap<PathBuf, Vec<Vec<u8>>> = HashMap::new();
    for root in roots {
        let Ok(canonical) = root.canonicalize() else {
            continue;
        };
        let dir = if canonical.is_dir() {
            canonical.clone()
        } else {
            match canonical.parent() {
                Some(parent) => parent.to_path_buf(),
                None => continue,
            }
        };
        let Some(top) = git::toplevel(&dir).ok().and_then(|t| t.canonicalize().ok()) else {
            continue;
        };
        let files = listed
            .entry(top.clone())
            .or_insert_with(|| git::tracked_files(&top).unwrap_or_default());
        let index = tracked.roots.len();
        let root_bytes = bytes(&canonical).to_vec();
        let top_bytes = bytes(&top);
        // The root relative to the top, '/'-terminated ("" for the top itself): tracked
        // paths below it are the ones under this root.
        let Some(below_top) = root_bytes.strip_prefix(top_bytes) else {
            continue;
        };
        let below_top = below_top.strip_prefix(b"/").unwrap_or(below_top);
        for file in files.iter() {
            let rest = if below_top.is_empty() {
                Some(&file[..])
            } else if file[..] == *below_top {
                Some(&b""[..])
            } else {
                file.strip_prefix(below_top)
                    .and_then(|r| r.strip_prefix(b"/"))
            };
            let Some(rest) = rest else { continue };
            let mut key = root_bytes.clone();
            let start = if rest.is_empty() {
                key.len()
            } else {
                key.push(b'/');
                key.len()
            };
            key.extend_from_slice(rest);
            tracked.files.push((index, key, start));
        }
        tracked.roots.push((root.clone(), root_bytes));
    }
    if tracked.roots.len() > 1 {
        tracked.files.sort_by(|a, b| a.1.cmp(&b.1));
        tracked.files.dedup_by(|a, b| a.1 == b.1);
    }
    tracked
}

impl Tracked {
    /// True when git tracks no file under the roots (the walk need not record what it
    /// sees).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// How many tracked files there are under the roots.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// The canonical form of a path the walk produced (below one of the roots as given).
    pub fn key(&self, path: &Path) -> Option<Vec<u8>> {
        let path = bytes(path);
        self.roots.iter().find_map(|(given, canonical)| {
            // The walk's paths are the root as given joined with what is below it.
            let below = path.strip_prefix(bytes(given))?;
            let below = match below.first() {
                None => below,
                Some(b'/') => &below[1..],
                Some(_) if bytes(given).ends_with(b"/") => below,
                Some(_) => return None,
            };
            let mut key = Vec::with_capacity(canonical.len() + 1 + below.len());
            key.extend_from_slice(canonical);
            if !below.is_empty() {
                key.push(b'/');
                key.extend_from_slice(below);
            }
            Some(key)
        })
    }

    /// The tracked files the walk did not see (`seen` holds `key`s): each as the path
    /// to open and show (below the root as given, like the walk's paths) and its
    /// canonical path.
    pub fn unseen<'a>(
        &'a self,
        seen: &'a HashSet<Vec<u8>>,
    ) -> impl Iterator<Item = (PathBuf, PathBuf)> + 'a {
        self.files
            .iter()
            .filter(|(_, key, _)| !seen.contains(key))
            .map(|(index, key, start)| {
                let given = &self.roots[*index].0;
                let rest = path_of(&key[*start..]);
                let shown = if rest.as_os_str().is_empty() {
                    given.clone()
                } else {
                    given.join(rest)
                };
                (shown, path_of(key))
            })
    }
}

#[cfg(unix)]
fn bytes(path: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}

#[cfg(unix)]
fn path_of(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn bytes(path: &Path) -> &[u8] {
    path.to_str().unwrap_or("").as_bytes()
}

#[cfg(not(unix))]
fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}
