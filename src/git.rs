//! Git plumbing for the scanner: what a commit adds (staged content, commit ranges,
//! history) and blobs through one long-lived `git cat-file --batch`.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{anyhow, bail, Context};

/// Runs git with `args` in `dir` and returns stdout; errors carry git's message.
pub fn output(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("cannot run git; is it installed?")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("git {} failed: {}", args.join(" "), err.trim());
    }
    Ok(out.stdout)
}

/// The repository's top-level directory.
pub fn toplevel(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let out = output(dir, &["rev-parse", "--show-toplevel"])
        .map_err(|_| anyhow!("{} is not inside a git repository", dir.display()))?;
    Ok(std::path::PathBuf::from(
        String::from_utf8_lossy(&out).trim(),
    ))
}

/// Undoes git's C-style quoting of unusual paths (`"a\tb\303\251"`).
pub fn unquote(raw: &[u8]) -> Vec<u8> {
    if raw.len() < 2 || raw[0] != b'"' || raw[raw.len() - 1] != b'"' {
        return raw.to_vec();
    }
    let inner = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        if inner[i] != b'\\' || i + 1 >= inner.len() {
            out.push(inner[i]);
            i += 1;
            continue;
        }
        let c = inner[i + 1];
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'0'..=b'7' if i + 4 <= inner.len() => {
                let digits = &inner[i + 1..i + 4];
                let value = digits.iter().try_fold(0u32, |acc, d| {
                    (b'0'..=b'7')
                        .contains(d)
                        .then(|| acc * 8 + u32::from(d - b'0'))
                });
                match value {
                    Some(v) if v <= 255 => {
                        out.push(v as u8);
                        i += 4;
                        continue;
                    }
                    _ => out.push(c),
                }
            }
            other => out.push(other),
        }
        i += 2;
    }
    out
}

/// Lines added per path (new side), parsed from `git diff -U0` output.
pub fn added_lines(diff: &[u8]) -> HashMap<Vec<u8>, BTreeSet<usize>> {
    let mut added: HashMap<Vec<u8>, BTreeSet<usize>> = HashMap::new();
    let mut current: Option<Vec<u8>> = None;
    let (mut old_left, mut new_left, mut next_line) = (0usize, 0usize, 0usize);
    for line in diff.split(|&b| b == b'\n') {
        // Inside a hunk every line is content, even one that looks like a header.
        if old_left > 0 || new_left > 0 {
            match line.first() {
                Some(b'+') => {
                    if let Some(path) = &current {
                        added.entry(path.clone()).or_default().insert(next_line);
                    }
                    next_line += 1;
                    new_left -= 1.min(new_left);
                }
                Some(b'-') => old_left -= 1.min(old_left),
                Some(b'\\') => {}
                _ => (old_left, new_left) = (0, 0),
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"+++ ") {
            // Git ends the name with a tab when it contains a space.
            let rest = rest.strip_suffix(b"\t").unwrap_or(rest);
            current = if rest == b"/dev/null" {
                None
            } else {
                let path = unquote(rest);
                Some(path.strip_prefix(b"b/").map(<[u8]>::to_vec).unwrap_or(path))
            };
        } else if let Some(rest) = line.strip_prefix(b"@@ ") {
            let (old, new) = hunk_ranges(rest);
            (next_line, old_left, new_left) = (new.0, old.1, new.1);
        }
    }
    added
}

/// The `(start, count)` of the old and new side of a hunk header's `-a,b +c,d`.
fn hunk_ranges(header: &[u8]) -> ((usize, usize), (usize, usize)) {
    let text = String::from_utf8_lossy(header);
    let mut old = (0, 0);
    let mut new = (0, 0);
    for part in text.split(' ').take_while(|p| *p != "@@") {
        let (side, rest) = match part.as_bytes().first() {
            Some(b'-') => (&mut old, &part[1..]),
            Some(b'+') => (&mut new, &part[1..]),
            _ => continue,
        };
        let mut numbers = rest.split(',');
        let start = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let count = numbers
            .next()
            .map_or(Some(1), |n| n.parse().ok())
            .unwrap_or(1);
        *side = (start, count);
    }
    (old, new)
}

/// A staged file: its path (bytes, as git stores it) and blob id.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Path relative to the repository root.
    pub path: Vec<u8>,
    /// The blob's object id.
    pub blob: String,
}

/// Files in the index that the staged change adds or modifies (not deletions, not
/// submodules), with their staged blob ids — from one `git diff --cached --raw`, which
/// reads only the changed entries' ids rather than listing the whole index.
pub fn staged_files(root: &Path) -> anyhow::Result<Vec<StagedFile>> {
    let raw = output(
        root,
        &[
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-abbrev",
            "--find-renames",
            "--diff-filter=ACMRT",
        ],
    )?;
    let mut files = Vec::new();
    let mut fields = raw.split(|&b| b == 0);
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        // ":<old mode> <new mode> <old id> <new id> <status>", then one path, or two
        // (old, new) for renames and copies.
        let meta = String::from_utf8_lossy(meta);
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let (Some(mode), Some(blob), Some(status)) = (parts.get(1), parts.get(3), parts.get(4))
        else {
            bail!("unexpected output from git diff --raw");
        };
        let mut path = fields.next().unwrap_or_default();
        if status.starts_with('R') || status.starts_with('C') {
            path = fields.next().unwrap_or_default();
        }
        if *mode == "160000" {
            continue;
        }
        files.push(StagedFile {
            path: path.to_vec(),
            blob: (*blob).to_string(),
        });
    }
    Ok(files)
}

/// One `git cat-file --batch` process serving blobs by id.
pub struct BlobReader {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl BlobReader {
    /// Starts the process in `root`.
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new("git")
            .args(["cat-file", "--batch"])
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot run git cat-file")?;
        let input = child.stdin.take().context("git cat-file has no stdin")?;
        let output = BufReader::new(child.stdout.take().context("git cat-file has no stdout")?);
        Ok(BlobReader {
            child,
            input,
            output,
        })
    }

    /// Reads a blob; `limit` skips (returns None for) larger ones without keeping them.
    pub fn read(&mut self, id: &str, limit: u64) -> anyhow::Result<Option<Vec<u8>>> {
        writeln!(self.input, "{id}")?;
        self.input.flush()?;
        let mut header = String::new();
        self.output.read_line(&mut header)?;
        let mut parts = header.split_whitespace();
        let (_, kind, size) = (parts.next(), parts.next(), parts.next());
        if kind != Some("blob") {
            bail!("git cat-file: {} is not a blob", id);
        }
        let size: u64 = size
            .and_then(|s| s.parse().ok())
            .context("git cat-file: bad header")?;
        let mut content = Vec::new();
        let keep = size <= limit;
        if keep {
            content.resize(size as usize, 0);
            self.output.read_exact(&mut content)?;
        } else {
            std::io::copy(&mut (&mut self.output).take(size), &mut std::io::sink())?;
        }
        let mut newline = [0u8; 1];
        self.output.read_exact(&mut newline)?;
        Ok(keep.then_some(content))
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_git_paths() {
        assert_eq!(unquote(b"plain.txt"), b"plain.txt");
        assert_eq!(unquote(b"\"a\\tb\\nc\\\"d\\\\e\""), b"a\tb\nc\"d\\e");
        assert_eq!(unquote(b"\"caf\\303\\251\""), "café".as_bytes());
    }

    #[test]
    fn parses_added_lines() {
        let diff = b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,0 +2,3 @@\n+a\n+++ looks like a header\n+c\n@@ -9 +12 @@ fn f(-1, +2)\n-old\n+new\ndiff --git a/y b/y\n--- a/y\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n";
        let added = added_lines(diff);
        assert_eq!(added[&b"x".to_vec()], [2, 3, 4, 12].into_iter().collect());
        assert_eq!(added.len(), 1);
    }
}

/// The lines one commit adds to one file, joined, with their line numbers.
#[derive(Debug, Default)]
pub struct AddedChunk {
    /// Full commit id.
    pub commit: String,
    /// Path (as git prints it, unquoted).
    pub path: Vec<u8>,
    /// The added lines, each ending in `\n`.
    pub text: Vec<u8>,
    /// For each line of `text`, its line number in the file at that commit.
    pub lines: Vec<usize>,
}

/// Streams `git log -p -U0` for `revisions` and calls `chunk` for each (commit, file)
/// with the lines it adds. Memory holds one chunk at a time (plus what `chunk` keeps).
pub fn for_each_added_chunk(
    root: &Path,
    revisions: &[&str],
    mut chunk: impl FnMut(AddedChunk),
) -> anyhow::Result<()> {
    let mut child = Command::new("git")
        .args([
            "-c",
            "core.quotePath=true",
            "log",
            "--no-color",
            "--no-ext-diff",
            "--find-renames",
            "-U0",
            "-p",
            "--format=%x00commit %H",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ])
        .args(revisions)
        .arg("--")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git log")?;
    let stdout = child.stdout.take().context("git log has no stdout")?;
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut current = AddedChunk::default();
    let mut next_line = 0usize;
    let (mut old_left, mut new_left) = (0usize, 0usize);
    let mut line = Vec::new();
    let flush = |current: &mut AddedChunk, chunk: &mut dyn FnMut(AddedChunk)| {
        if !current.text.is_empty() {
            let commit = current.commit.clone();
            let done = std::mem::take(current);
            current.commit = commit;
            chunk(done);
        } else {
            current.text.clear();
            current.lines.clear();
        }
    };
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        // Inside a hunk, lines are content even when they look like headers
        // (an added line "++ x" prints as "+++ x").
        if old_left > 0 || new_left > 0 {
            match text.first() {
                Some(b'+') => {
                    if !current.path.is_empty() {
                        current.text.extend_from_slice(&text[1..]);
                        current.text.push(b'\n');
                        current.lines.push(next_line);
                    }
                    next_line += 1;
                    new_left = new_left.saturating_sub(1);
                }
                Some(b'-') => old_left = old_left.saturating_sub(1),
                Some(b'\\') => {}
                _ => {
                    old_left = 0;
                    new_left = 0;
                }
            }
            continue;
        }
        if let Some(id) = text.strip_prefix(b"\0commit ") {
            flush(&mut current, &mut chunk);
            current.commit = String::from_utf8_lossy(id).into_owned();
            current.path.clear();
        } else if let Some(rest) = text.strip_prefix(b"+++ ") {
            flush(&mut current, &mut chunk);
            let rest = rest.strip_suffix(b"\t").unwrap_or(rest);
            let path = unquote(rest);
            current.path = path.strip_prefix(b"b/").map(<[u8]>::to_vec).unwrap_or(path);
        } else if let Some(rest) = text.strip_prefix(b"@@ ") {
            let (old, new) = hunk_ranges(rest);
            next_line = new.0;
            old_left = old.1;
            new_left = new.1;
        } else if text.starts_with(b"diff --git ") {
            flush(&mut current, &mut chunk);
            current.path.clear();
        }
    }
    flush(&mut current, &mut chunk);
    let status = child.wait()?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        bail!("git log {} failed: {}", revisions.join(" "), err.trim());
    }
    Ok(())
}

/// The full id of the commit `rev` names, or None when it names none.
pub fn commit_id(root: &Path, rev: &str) -> Option<String> {
    let spec = format!("{rev}^{{commit}}");
    let out = output(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
    )
    .ok()?;
    let id = String::from_utf8_lossy(&out).trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// The current directory's path below the repository root (`src/`), '/'-terminated.
pub fn prefix(dir: &Path) -> anyhow::Result<String> {
    let out = output(dir, &["rev-parse", "--show-prefix"])?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// The mode (`100644`, `120000`, …) and object id of `path` (repository-relative) in
/// `commit`, or None when the commit has no such entry.
pub fn tree_entry(
    root: &Path,
    commit: &str,
    path: &str,
) -> anyhow::Result<Option<(String, String)>> {
    let out = output(
        root,
        &[
            "--literal-pathspecs",
            "ls-tree",
            "-z",
            "--full-tree",
            commit,
            "--",
            path,
        ],
    )?;
    for record in out.split(|&b| b == 0) {
        let Some(tab) = record.iter().position(|&b| b == b'\t') else {
            continue;
        };
        if &record[tab + 1..] != path.as_bytes() {
            continue;
        }
        let meta = String::from_utf8_lossy(&record[..tab]);
        let mut parts = meta.split(' ');
        if let (Some(mode), Some(_), Some(id)) = (parts.next(), parts.next(), parts.next()) {
            return Ok(Some((mode.to_string(), id.to_string())));
        }
    }
    Ok(None)
}

/// The content of blob `id`.
pub fn blob(root: &Path, id: &str) -> anyhow::Result<Vec<u8>> {
    output(root, &["cat-file", "blob", id])
}

/// Files in `commit` below `dir` (repository-relative; empty for the whole tree).
pub fn tree_files(root: &Path, commit: &str, dir: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut args = vec![
        "--literal-pathspecs",
        "ls-tree",
        "-r",
        "-z",
        "--name-only",
        "--full-tree",
        commit,
    ];
    if !dir.is_empty() {
        args.extend(["--", dir]);
    }
    let out = output(root, &args)?;
    Ok(out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// Every path in the index (repository-relative), from one `git ls-files -z`.
pub fn tracked_files(root: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let out = output(
        root,
        &[
            "-c",
            "core.quotePath=false",
            "ls-files",
            "-z",
            "--cached",
            "--full-name",
        ],
    )?;
    Ok(out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}
