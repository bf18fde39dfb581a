//! Git plumbing for the scanner: what a commit adds (staged content, commit ranges,
//! history) and blobs through one long-lived `git cat-file --batch`.
//!
//! Every git process starts in [`command`], which pins the settings that change what git
//! prints, so that neither a user's configuration nor the scanned change's attributes
//! can hide an added line from the parsers below.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{anyhow, bail, Context};

/// Configuration pinned on every git command (`-c`, which wins over the repository's,
/// the user's and the system's files and over `GIT_CONFIG_PARAMETERS`/`GIT_CONFIG_COUNT`).
/// Each changes the text the parsers read: hunk shape, path prefixes and quoting,
/// colour, which commits and diffs `log` shows, or what is printed between them.
const PINNED_CONFIG: &[&str] = &[
    "color.ui=never",
    "color.diff=never",
    "core.quotePath=true",
    "core.bigFileThreshold=512m",
    "diff.algorithm=default",
    "diff.interHunkContext=0",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "diff.srcPrefix=a/",
    "diff.dstPrefix=b/",
    "diff.relative=false",
    "diff.suppressBlankEmpty=false",
    "diff.submodule=short",
    // A rename is a deletion and an addition: a file moved out of an allowlisted or
    // baselined path is scanned at its new path.
    "diff.renames=false",
    "diff.colorMoved=false",
    "log.showSignature=false",
    "log.showRoot=true",
    "log.follow=false",
    "log.diffMerges=separate",
];

/// Environment variables that change diff output and that no `-c` overrides:
/// `GIT_DIFF_OPTS` sets the context length even over `-U0`; the others are switched
/// off by options too, and cleared for good measure. Variables that say which
/// repository and index to read (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_INDEX_FILE`, set by
/// git for hooks and partial commits) are kept.
const CLEARED_ENV: &[&str] = &[
    "GIT_DIFF_OPTS",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_NOTES_DISPLAY_REF",
    "GIT_REPLACE_REF_BASE",
];

/// Options for every diff envshim parses (`git diff`, `git log -p`): text for every
/// file whatever its attributes say (`-diff`, `binary`), no textconv, no external diff,
/// no colour, `a/`/`b/` prefixes, and hunks of added and removed lines only. (Paths are
/// repository-relative through the pinned `diff.relative=false`; `--no-relative` would
/// need git 2.28.)
pub const DIFF_OPTIONS: &[&str] = &[
    "--text",
    "--no-textconv",
    "--no-ext-diff",
    "--no-color",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "-U0",
    "--inter-hunk-context=0",
    "--submodule=short",
    "--no-renames",
];

/// A git command in `dir` with the pinned configuration and environment: the one way
/// envshim starts git.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    // Replacement objects (`refs/replace/`) would show other content than the commits
    // hold; a pager is never wanted.
    cmd.args(["--no-pager", "--no-replace-objects"]);
    for setting in PINNED_CONFIG {
        cmd.arg("-c").arg(setting);
    }
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    cmd.current_dir(dir).stdin(Stdio::null());
    cmd
}

/// Runs git with `args` in `dir` and returns stdout; errors carry git's message.
pub fn output(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let out = command(dir)
        .args(args)
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

/// True for an all-zero object id (40 hex digits for SHA-1, 64 for SHA-256): what CI
/// gives as the "before" of a branch's first push.
pub fn is_zero_id(rev: &str) -> bool {
    (rev.len() == 40 || rev.len() == 64) && rev.bytes().all(|b| b == b'0')
}

/// The full id of the commit `rev` names, or None when there is no such commit here.
pub fn commit_id(root: &Path, rev: &str) -> Option<String> {
    // Never an option to git (`--end-of-options` would need git 2.24).
    if rev.starts_with('-') {
        return None;
    }
    let spec = format!("{rev}^{{commit}}");
    let out = output(root, &["rev-parse", "--verify", "--quiet", &spec]).ok()?;
    let id = String::from_utf8(out).ok()?.trim().to_string();
    (!id.is_empty()).then_some(id)
}

/// A resolved `--range A..B`.
pub struct Range {
    /// The full id of A; None for a zero base.
    pub base: Option<String>,
    /// The `git log` revision arguments: the commits of B not in A.
    pub revisions: Vec<String>,
}

/// Resolves `--range A..B`: the commits of B not in A. A zero base (a new branch's
/// first push) means the commits of B that are on no other remote branch
/// ([`new_branch_revisions`]). Both ends are checked first, so that a missing one is a
/// plain error that says what to do, not git's message.
pub fn range_revisions(root: &Path, range: &str) -> anyhow::Result<Range> {
    let Some((base, head)) = range.split_once("..") else {
        bail!("--range takes two commits, A..B (got {range:?})");
    };
    if head.starts_with('.') {
        bail!("--range takes A..B, not the symmetric A...B (got {range:?})");
    }
    let head = if head.is_empty() { "HEAD" } else { head };
    let base = if base.is_empty() { "HEAD" } else { base };
    let Some(head_id) = commit_id(root, head) else {
        bail!("the range's end {head:?} is not a commit in this repository; check the name, or fetch it");
    };
    if is_zero_id(base) {
        return Ok(Range {
            base: None,
            revisions: new_branch_revisions(root, head_id)?,
        });
    }
    let Some(base_id) = commit_id(root, base) else {
        bail!(
            "the range's base {base:?} is not a commit in this repository: fetch the history \
             that holds it (in CI, check out the whole history, e.g. `fetch-depth: 0`), or, \
             when it is gone (a force-push), scan from the zero base \
             (`--range {}..{head}`), which takes the commits on no other remote branch",
            "0".repeat(40)
        );
    };
    Ok(Range {
        revisions: vec![format!("^{base_id}"), head_id],
        base: Some(base_id),
    })
}

/// The commits of `head` that no remote-tracking branch holds, except the branches that
/// already contain `head` (the pushed branch's own): what a first push brings. Without
/// other remote branches, all of `head`'s history.
fn new_branch_revisions(root: &Path, head: String) -> anyhow::Result<Vec<String>> {
    let all = output(
        root,
        &[
            "for-each-ref",
            "--format=%(refname)%00%(symref)",
            "refs/remotes/",
        ],
    )?;
    let containing = output(
        root,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "--contains",
            &head,
            "refs/remotes/",
        ],
    )?;
    let containing: HashSet<&[u8]> = containing.split(|&b| b == b'\n').collect();
    let mut revisions = vec![head.clone()];
    for line in all.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == 0);
        let (Some(name), symref) = (fields.next(), fields.next().unwrap_or_default()) else {
            continue;
        };
        // `origin/HEAD` names another remote branch; a name that is not text cannot be
        // passed on (leaving it out scans more, never less).
        if name.is_empty() || !symref.is_empty() || name.ends_with(b"/HEAD") {
            continue;
        }
        if containing.contains(name) {
            continue;
        }
        if let Ok(name) = std::str::from_utf8(name) {
            revisions.push(format!("^{name}"));
        }
    }
    Ok(revisions)
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

/// What one line of a patch (`git diff` or `git log -p` output with [`DIFF_OPTIONS`]) is.
#[derive(Debug, PartialEq, Eq)]
pub enum PatchLine<'a> {
    /// `\0commit <id> <parents…>` (see [`LOG_FORMAT`]): a commit, or with `-m` the next
    /// of a merge's per-parent diffs.
    Commit {
        /// The commit id.
        id: &'a [u8],
        /// How many parents it has.
        parents: usize,
    },
    /// `diff --git a/… b/…`: a new file's section, and its new-side path when the line
    /// tells it unambiguously (`+++`, which follows when there are hunks, is surer).
    FileStart(Option<Vec<u8>>),
    /// `rename to …` or `copy to …`: the new-side path.
    Target(Vec<u8>),
    /// `index <old>..<new>`: the file's blob ids (full with `--full-index`).
    Index {
        /// The old blob's id (zeros for a new file).
        old: &'a [u8],
        /// The new blob's id (zeros for a deletion).
        new: &'a [u8],
        /// The mode, when the line gives it (unchanged mode).
        mode: &'a [u8],
    },
    /// `+++ b/path`: the file's new-side path; None for `/dev/null` (a deletion).
    Path(Option<Vec<u8>>),
    /// `new file mode 160000` or `new mode 160000`: the new side is a submodule.
    Gitlink,
    /// A hunk header: git printed hunk information for the current file.
    Hunk,
    /// An added line (without its `+`) and its line number on the new side.
    Added(usize, &'a [u8]),
    /// Anything else: removed and context lines, other headers.
    Other,
}

/// Reads a patch line by line, counting each hunk's lines so that content that looks
/// like a header (an added `++ x` prints as `+++ x`) stays content.
#[derive(Debug, Default)]
pub struct PatchParser {
    next_line: usize,
    old_left: usize,
    new_left: usize,
}

impl PatchParser {
    /// Classifies `line` (with or without its `\n`).
    pub fn line<'a>(&mut self, line: &'a [u8]) -> PatchLine<'a> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if self.old_left > 0 || self.new_left > 0 {
            match line.first() {
                Some(b'+') => {
                    let number = self.next_line;
                    self.next_line += 1;
                    self.new_left = self.new_left.saturating_sub(1);
                    return PatchLine::Added(number, &line[1..]);
                }
                Some(b'-') => {
                    self.old_left = self.old_left.saturating_sub(1);
                    return PatchLine::Other;
                }
                // Context, which the pinned options leave out; read it right anyway (an
                // empty line is blank context under `diff.suppressBlankEmpty`).
                Some(b' ') | None => {
                    self.next_line += 1;
                    self.old_left = self.old_left.saturating_sub(1);
                    self.new_left = self.new_left.saturating_sub(1);
                    return PatchLine::Other;
                }
                Some(b'\\') => return PatchLine::Other,
                // Not hunk content: the counts were off; read it as a header.
                _ => (self.old_left, self.new_left) = (0, 0),
            }
        }
        if let Some(rest) = line.strip_prefix(b"\0commit ") {
            let mut ids = rest.split(|&b| b == b' ').filter(|s| !s.is_empty());
            let id = ids.next().unwrap_or_default();
            return PatchLine::Commit {
                id,
                parents: ids.count(),
            };
        }
        if let Some(rest) = line.strip_prefix(b"diff --git ") {
            return PatchLine::FileStart(diff_git_path(rest));
        }
        if let Some(rest) = line
            .strip_prefix(b"rename to ")
            .or_else(|| line.strip_prefix(b"copy to "))
        {
            return PatchLine::Target(unquote(rest));
        }
        if line == b"new file mode 160000" || line == b"new mode 160000" {
            return PatchLine::Gitlink;
        }
        if let Some(rest) = line.strip_prefix(b"index ") {
            let mut fields = rest.split(|&b| b == b' ');
            let ids = fields.next().unwrap_or_default();
            if let Some(at) = ids.windows(2).position(|w| w == b"..") {
                return PatchLine::Index {
                    old: &ids[..at],
                    new: &ids[at + 2..],
                    mode: fields.next().unwrap_or_default(),
                };
            }
        }
        if let Some(rest) = line.strip_prefix(b"+++ ") {
            // Git ends the name with a tab when it contains a space.
            let rest = rest.strip_suffix(b"\t").unwrap_or(rest);
            if rest == b"/dev/null" {
                return PatchLine::Path(None);
            }
            let path = unquote(rest);
            return PatchLine::Path(Some(
                path.strip_prefix(b"b/").map(<[u8]>::to_vec).unwrap_or(path),
            ));
        }
        if let Some(rest) = line.strip_prefix(b"@@ ") {
            let (old, new) = hunk_ranges(rest);
            (self.next_line, self.old_left, self.new_left) = (new.0, old.1, new.1);
            return PatchLine::Hunk;
        }
        PatchLine::Other
    }
}

/// What a `git diff` adds, per path (new side).
#[derive(Debug, Default)]
pub struct AddedLines {
    /// The line numbers each file's added lines have.
    pub lines: HashMap<Vec<u8>, BTreeSet<usize>>,
    /// The files git printed hunk information for. A changed file missing here is one
    /// git printed no hunks for; the caller then treats all its lines as added.
    pub with_hunks: HashSet<Vec<u8>>,
}

/// Parses `git diff` output (run with [`DIFF_OPTIONS`]).
pub fn added_lines(diff: &[u8]) -> AddedLines {
    let mut added = AddedLines::default();
    let mut parser = PatchParser::default();
    let mut current: Option<Vec<u8>> = None;
    for line in diff.split(|&b| b == b'\n') {
        match parser.line(line) {
            PatchLine::FileStart(_) | PatchLine::Commit { .. } => current = None,
            PatchLine::Path(path) => current = path,
            PatchLine::Hunk => {
                if let Some(path) = &current {
                    added.with_hunks.insert(path.clone());
                }
            }
            PatchLine::Added(number, _) => {
                if let Some(path) = &current {
                    added.lines.entry(path.clone()).or_default().insert(number);
                }
            }
            PatchLine::Target(_)
            | PatchLine::Index { .. }
            | PatchLine::Gitlink
            | PatchLine::Other => {}
        }
    }
    added
}

/// The new-side path of `a/<path> b/<path>` (the rest of a `diff --git` line), when it
/// can be told: both names quoted, or both plain and equal (a plain name may hold
/// spaces, so the halves are compared). A rename's names differ; `rename to` says it.
fn diff_git_path(rest: &[u8]) -> Option<Vec<u8>> {
    if rest.first() == Some(&b'"') {
        let mut i = 1;
        while i < rest.len() && rest[i] != b'"' {
            i += if rest[i] == b'\\' { 2 } else { 1 };
        }
        let second = rest.get(i + 2..)?;
        let path = unquote(second);
        return path.strip_prefix(b"b/").map(<[u8]>::to_vec);
    }
    let n = rest.len().checked_sub(5)? / 2;
    let (a, b) = (rest.get(..2 + n)?, rest.get(3 + n..)?);
    (rest.len() == 2 * n + 5
        && a.strip_prefix(b"a/")? == b.strip_prefix(b"b/")?
        && rest[2 + n] == b' ')
        .then(|| a[2..].to_vec())
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

/// A staged file: its path (bytes, as git stores it) and blob ids.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Path relative to the repository root.
    pub path: Vec<u8>,
    /// The staged blob's object id.
    pub blob: String,
    /// The blob it replaces (HEAD's, or the rename's source); all zeros for a new file.
    pub old_blob: String,
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
            "--no-renames",
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
        let (Some(mode), Some(old_blob), Some(blob), Some(status)) =
            (parts.get(1), parts.get(2), parts.get(3), parts.get(4))
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
            old_blob: (*old_blob).to_string(),
        });
    }
    Ok(files)
}

/// The staged change's patch (`git diff --cached`, pinned options), parsed.
pub fn staged_added_lines(root: &Path) -> anyhow::Result<AddedLines> {
    let mut args = vec!["diff", "--cached"];
    args.extend_from_slice(DIFF_OPTIONS);
    Ok(added_lines(&output(root, &args)?))
}

/// The staged change's patch like [`staged_added_lines`], leaving out `skip` (paths
/// whose blobs are not read: their patch would only cost memory).
pub fn staged_added_lines_except(root: &Path, skip: &[&[u8]]) -> anyhow::Result<AddedLines> {
    if skip.is_empty() {
        return staged_added_lines(root);
    }
    use std::os::unix::ffi::OsStringExt;
    let mut cmd = command(root);
    cmd.args(["diff", "--cached"])
        .args(DIFF_OPTIONS)
        .args(["--", "."]);
    for path in skip {
        let mut spec = b":(exclude,literal)".to_vec();
        spec.extend_from_slice(path);
        cmd.arg(std::ffi::OsString::from_vec(spec));
    }
    let out = cmd.output().context("cannot run git; is it installed?")?;
    if !out.status.success() {
        bail!(
            "git diff --cached failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(added_lines(&out.stdout))
}

/// The sizes of the blobs `ids`, from one `git cat-file --batch-check`.
pub fn blob_sizes(root: &Path, ids: &[&str]) -> anyhow::Result<Vec<u64>> {
    let mut child = command(root)
        .args(["cat-file", "--batch-check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run git cat-file")?;
    let mut input = child.stdin.take().context("git cat-file has no stdin")?;
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    // Written beside the reading: a long list would otherwise fill both pipes.
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    let sizes: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.rsplit(' ').next().and_then(|n| n.parse().ok()))
        .collect::<Option<_>>()
        .context("git cat-file: bad --batch-check output")?;
    if sizes.len() != ids.len() {
        bail!("git cat-file: bad --batch-check output");
    }
    Ok(sizes)
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
        let mut child = command(root)
            .args(["cat-file", "--batch"])
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
    /// The file's blob id at that commit, when known (to read it whole).
    pub blob: Option<String>,
}

impl AddedChunk {
    fn push(&mut self, number: usize, text: &[u8]) {
        self.text.extend_from_slice(text);
        self.text.push(b'\n');
        self.lines.push(number);
    }
}

/// The line that starts each commit in `git log` output, and with `-m` each of a
/// merge's per-parent diffs: a NUL (no path or content line starts with one), the id,
/// the parents' ids.
pub const LOG_FORMAT: &str = "--format=%x00commit %H %P";

/// A file's candidate lines in a merge: line number to (in how many per-parent diffs
/// it is added, its text).
type Candidates = BTreeMap<usize, (usize, Vec<u8>)>;

/// The lines a merge adds: those added relative to every parent. Filled from the first
/// per-parent diff; each later diff keeps a line only if it adds it too.
#[derive(Debug, Default)]
struct MergeLines {
    parents: usize,
    /// Which per-parent diff is being read (0-based).
    diff: usize,
    /// Per path, the lines added by every diff so far.
    lines: HashMap<Vec<u8>, Candidates>,
    /// Per path, the merge's blob.
    blobs: HashMap<Vec<u8>, String>,
}

impl MergeLines {
    fn added(&mut self, path: &[u8], number: usize, text: &[u8]) {
        if self.diff == 0 {
            self.lines
                .entry(path.to_vec())
                .or_default()
                .insert(number, (1, text.to_vec()));
        } else if let Some((seen, _)) = self
            .lines
            .get_mut(path)
            .and_then(|lines| lines.get_mut(&number))
        {
            if *seen == self.diff {
                *seen += 1;
            }
        }
    }

    /// The chunks of lines present in no parent, in path order.
    fn finish(self, commit: &str, chunk: &mut dyn FnMut(AddedChunk)) {
        let mut paths: Vec<_> = self.lines.into_iter().collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, lines) in paths {
            let mut done = AddedChunk {
                commit: commit.to_string(),
                blob: self.blobs.get(&path).cloned(),
                path,
                ..AddedChunk::default()
            };
            for (number, (seen, text)) in lines {
                if seen == self.parents {
                    done.push(number, &text);
                }
            }
            if !done.text.is_empty() {
                chunk(done);
            }
        }
    }
}

/// The file section being read: what is needed to scan its blob whole when git
/// printed no hunks for a changed file.
#[derive(Debug, Default)]
struct Section {
    path: Option<Vec<u8>>,
    new_blob: Option<String>,
    hunks: bool,
    gitlink: bool,
}

/// Reads a blob by id for the no-hunks fallback.
type BlobSource<'a> = &'a mut dyn FnMut(&str) -> anyhow::Result<Vec<u8>>;

/// Turns the stream of [`PatchLine`]s from `git log -p -m` into [`AddedChunk`]s: one
/// per (commit, file) for ordinary commits, and for a merge the lines it adds relative
/// to each parent. A changed file that git printed no hunks for (it must print them
/// under the pinned options; this is the fallback) counts as added throughout.
struct ChunkBuilder<'a> {
    chunk: &'a mut dyn FnMut(AddedChunk),
    blob: BlobSource<'a>,
    current: AddedChunk,
    path: Option<Vec<u8>>,
    merge: Option<MergeLines>,
    section: Section,
    error: Option<anyhow::Error>,
}

impl<'a> ChunkBuilder<'a> {
    fn new(chunk: &'a mut dyn FnMut(AddedChunk), blob: BlobSource<'a>) -> Self {
        ChunkBuilder {
            chunk,
            blob,
            current: AddedChunk::default(),
            path: None,
            merge: None,
            section: Section::default(),
            error: None,
        }
    }

    /// Passes on the lines gathered so far; later lines of the same file (the next
    /// piece of a large one) keep its path and blob.
    fn flush_file(&mut self) {
        if !self.current.text.is_empty() {
            let done = std::mem::take(&mut self.current);
            self.current.commit.clone_from(&done.commit);
            self.current.path.clone_from(&done.path);
            self.current.blob.clone_from(&done.blob);
            (self.chunk)(done);
        }
    }

    /// Ends a file's section; without hunks for a changed blob, its every line is added.
    fn end_section(&mut self) {
        self.flush_file();
        let section = std::mem::take(&mut self.section);
        let (false, false, Some(path), Some(blob)) = (
            section.hunks,
            section.gitlink,
            section.path,
            section.new_blob,
        ) else {
            return;
        };
        let content = match (self.blob)(&blob) {
            Ok(content) => content,
            Err(e) => {
                self.error.get_or_insert(e);
                return;
            }
        };
        let content = content.strip_suffix(b"\n").unwrap_or(&content);
        self.current.path.clone_from(&path);
        self.current.blob = Some(blob);
        for (i, text) in content.split(|&b| b == b'\n').enumerate() {
            self.added(&path, i + 1, text);
        }
        self.flush_file();
    }

    fn finish_commit(&mut self) {
        self.end_section();
        if let Some(merge) = self.merge.take() {
            merge.finish(&self.current.commit, self.chunk);
        }
    }

    fn added(&mut self, path: &[u8], number: usize, text: &[u8]) {
        match &mut self.merge {
            Some(merge) => merge.added(path, number, text),
            None => {
                self.current.push(number, text);
                // However large the file, a worker gets it in bounded pieces.
                if self.current.text.len() >= crate::scan::added::PIECE {
                    self.flush_file();
                }
            }
        }
    }

    fn line(&mut self, line: PatchLine<'_>) {
        match line {
            PatchLine::Commit { id, parents } => {
                self.end_section();
                let id = String::from_utf8_lossy(id);
                if let Some(merge) = self.merge.as_mut().filter(|_| id == self.current.commit) {
                    merge.diff += 1;
                } else {
                    self.finish_commit();
                    self.current.commit = id.into_owned();
                    self.merge = (parents > 1).then(|| MergeLines {
                        parents,
                        ..MergeLines::default()
                    });
                }
                self.path = None;
            }
            PatchLine::FileStart(path) => {
                self.end_section();
                self.section.path = path;
                self.path = None;
            }
            PatchLine::Target(path) => self.section.path = Some(path),
            // A submodule's ids are commits in another repository, not blobs.
            PatchLine::Gitlink => self.section.gitlink = true,
            PatchLine::Index { old, new, mode } => {
                self.section.gitlink |= mode == b"160000";
                if old != new && !new.iter().all(|&b| b == b'0') {
                    self.section.new_blob = Some(String::from_utf8_lossy(new).into_owned());
                }
            }
            PatchLine::Path(path) => {
                self.flush_file();
                self.current.path = path.clone().unwrap_or_default();
                self.current.blob.clone_from(&self.section.new_blob);
                if let (Some(merge), Some(path), Some(blob)) =
                    (&mut self.merge, &path, &self.section.new_blob)
                {
                    merge.blobs.insert(path.clone(), blob.clone());
                }
                if path.is_some() {
                    self.section.path.clone_from(&path);
                }
                self.path = path;
            }
            PatchLine::Hunk => self.section.hunks = true,
            PatchLine::Added(number, text) => {
                if let Some(path) = self.path.take() {
                    self.added(&path, number, text);
                    self.path = Some(path);
                }
            }
            PatchLine::Other => {}
        }
    }
}

/// Streams `git log -p -m` for `revisions` (pinned options) and calls `chunk` for each
/// (commit, file) with the lines it adds; a merge adds the lines that are in none of its
/// parents. Memory holds one chunk at a time, or for a merge the lines its first
/// per-parent diff adds (plus what `chunk` keeps).
pub fn for_each_added_chunk(
    root: &Path,
    revisions: &[String],
    mut chunk: impl FnMut(AddedChunk),
) -> anyhow::Result<()> {
    let mut child = command(root)
        .args([
            "log",
            "-p",
            "-m",
            "--root",
            "--no-show-signature",
            "--no-notes",
            LOG_FORMAT,
        ])
        .args(DIFF_OPTIONS)
        .arg("--full-index")
        .args(revisions)
        .arg("--")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git log")?;
    let stdout = child.stdout.take().context("git log has no stdout")?;
    // Read stderr beside stdout, so that a chatty git cannot block on a full pipe.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut err = Vec::new();
            let _ = e.read_to_end(&mut err);
            err
        })
    });
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut parser = PatchParser::default();
    // Started only if the fallback needs a blob.
    let mut blobs: Option<BlobReader> = None;
    let mut blob = |id: &str| -> anyhow::Result<Vec<u8>> {
        let reader = match &mut blobs {
            Some(reader) => reader,
            None => blobs.insert(BlobReader::start(root)?),
        };
        reader
            .read(id, u64::MAX)?
            .context("git cat-file: no content")
    };
    let mut builder = ChunkBuilder::new(&mut chunk, &mut blob);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        builder.line(parser.line(&line));
    }
    builder.finish_commit();
    if let Some(e) = builder.error.take() {
        return Err(e);
    }
    let status = child.wait()?;
    let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        bail!(
            "git log {} failed: {}",
            revisions.join(" "),
            String::from_utf8_lossy(&err).trim()
        );
    }
    Ok(())
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
        assert_eq!(
            added.lines[&b"x".to_vec()],
            [2, 3, 4, 12].into_iter().collect()
        );
        assert_eq!(added.lines.len(), 1);
        assert_eq!(added.with_hunks, [b"x".to_vec()].into_iter().collect());
    }

    #[test]
    fn context_lines_keep_the_count() {
        // A hunk with context (GIT_DIFF_OPTS, or interHunkContext joining two hunks):
        // added lines after a context line are still added, at the right numbers.
        let diff = b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,5 @@\n+one\n a\n\n-b\n+two\n+three\n";
        let added = added_lines(diff);
        assert_eq!(added.lines[&b"x".to_vec()], [1, 4, 5].into_iter().collect());
    }

    #[test]
    fn a_file_without_hunks_is_not_marked() {
        let diff = b"diff --git a/x b/x\nindex 1..2 100644\nBinary files a/x and b/x differ\ndiff --git a/y b/y\n--- a/y\n+++ b/y\n@@ -1 +0,0 @@\n-gone\n";
        let added = added_lines(diff);
        assert!(added.lines.is_empty());
        assert_eq!(added.with_hunks, [b"y".to_vec()].into_iter().collect());
    }

    fn chunks(log: &[u8]) -> Vec<(String, String, Vec<usize>, String)> {
        let mut out = Vec::new();
        let mut push = |c: AddedChunk| {
            out.push((
                c.commit,
                String::from_utf8(c.path).unwrap(),
                c.lines,
                String::from_utf8(c.text).unwrap(),
            ))
        };
        let mut blob = |id: &str| Ok(format!("blob {id}\nsecond line\n").into_bytes());
        let mut builder = ChunkBuilder::new(&mut push, &mut blob);
        let mut parser = PatchParser::default();
        for line in log.split(|&b| b == b'\n') {
            builder.line(parser.line(line));
        }
        builder.finish_commit();
        out
    }

    #[test]
    fn a_merge_adds_the_lines_no_parent_has() {
        let log = b"\0commit m p1 p2\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -3,0 +4 @@\n+evil\n@@ -4,0 +6 @@\n+side\n\0commit m p1 p2\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+main\n@@ -2,0 +4 @@\n+evil\n\0commit c p1\n\ndiff --git a/g b/g\n--- /dev/null\n+++ b/g\n@@ -0,0 +1 @@\n+new\n";
        assert_eq!(
            chunks(log),
            vec![
                ("m".into(), "f".into(), vec![4], "evil\n".into()),
                ("c".into(), "g".into(), vec![1], "new\n".into()),
            ]
        );
        // A merge whose result is one parent's (its diff is empty) adds nothing.
        let log =
            b"\0commit m p1 p2\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -3,0 +4 @@\n+side\n";
        assert!(chunks(log).is_empty());
    }

    #[test]
    fn paths_from_diff_git_lines() {
        assert_eq!(diff_git_path(b"a/x.py b/x.py"), Some(b"x.py".to_vec()));
        assert_eq!(
            diff_git_path(b"a/dir b/x b/dir b/x"),
            Some(b"dir b/x".to_vec())
        );
        assert_eq!(
            diff_git_path(b"\"a/caf\\303\\251 \\\"q\" \"b/caf\\303\\251 \\\"q\""),
            Some("caf\u{e9} \"q".as_bytes().to_vec())
        );
        // A rename's names differ: `rename to` says the new one.
        assert_eq!(diff_git_path(b"a/old b/new"), None);
        assert_eq!(diff_git_path(b"x"), None);
    }

    #[test]
    fn a_file_without_hunks_is_read_whole() {
        let log = b"\0commit c p\n\ndiff --git a/f b/f\nindex 1111..2222 100644\nBinary files a/f and b/f differ\ndiff --git a/m b/m\nold mode 100644\nnew mode 100755\ndiff --git a/s b/s\nnew file mode 160000\nindex 0000..3333\ndiff --git a/o b/n\nsimilarity index 90%\nrename from o\nrename to n\nindex 4444..5555 100644\nBinary files a/o and b/n differ\n";
        assert_eq!(
            chunks(log),
            vec![
                (
                    "c".into(),
                    "f".into(),
                    vec![1, 2],
                    "blob 2222\nsecond line\n".into()
                ),
                (
                    "c".into(),
                    "n".into(),
                    vec![1, 2],
                    "blob 5555\nsecond line\n".into()
                ),
            ]
        );
    }

    #[test]
    fn zero_ids() {
        assert!(is_zero_id(&"0".repeat(40)));
        assert!(is_zero_id(&"0".repeat(64)));
        assert!(!is_zero_id(&"0".repeat(39)));
        assert!(!is_zero_id(&format!("{}1", "0".repeat(39))));
        assert!(!is_zero_id("HEAD"));
    }
}
