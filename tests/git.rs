//! Git integration: `scan --staged` and the pre-commit hook, in real repositories.

use std::fs;
use std::process::Command;

use crate::util::*;

fn staged_paths(p: &Project, extra: &[&str]) -> (Run, Vec<(String, usize)>) {
    let mut args = vec!["--staged"];
    args.extend_from_slice(extra);
    let (r, found) = commit_findings(p, &args);
    (
        r,
        found
            .into_iter()
            .map(|(path, line, _)| (path, line))
            .collect(),
    )
}

#[test]
fn staged_scans_the_index_and_only_added_lines() {
    let p = Project::new();
    let t = github_token();
    // First commit (no HEAD yet): everything staged is new.
    p.write("a.py", format!("x = 1\nT = '{t}'\n"));
    git(&p, &["add", "a.py"]).ok();
    let (r, found) = staged_paths(&p, &[]);
    r.code(1);
    assert_eq!(found, vec![("a.py".into(), 2)]);
    git(&p, &["commit", "-q", "--no-verify", "-m", "one"]).ok();

    // A change elsewhere in the file does not re-report the old secret...
    p.write("a.py", format!("x = 2\nT = '{t}'\n"));
    git(&p, &["add", "a.py"]).ok();
    let (r, found) = staged_paths(&p, &[]);
    r.ok();
    assert!(found.is_empty());
    // ...unless asked for whole files.
    let (r, found) = staged_paths(&p, &["--all-lines"]);
    r.code(1);
    assert_eq!(found, vec![("a.py".into(), 2)]);

    // The index, not the working tree: an unstaged secret is not this commit's.
    p.write("b.py", format!("T = '{t}'\n"));
    let (r, _) = staged_paths(&p, &[]);
    r.ok();
    // Staged, then removed from the working tree: still in the commit.
    git(&p, &["add", "b.py"]).ok();
    fs::remove_file(p.path("b.py")).unwrap();
    let (r, found) = staged_paths(&p, &[]);
    r.code(1);
    assert_eq!(found, vec![("b.py".into(), 1)]);
    git(&p, &["commit", "-q", "--no-verify", "-m", "two"]).ok();
}

#[test]
fn renames_deletions_binaries_odd_paths_and_submodules() {
    let p = Project::new();
    let t = github_token();
    p.write("old/name.py", format!("T = '{t}'\n"));
    p.write("gone.txt", format!("T = '{t}'\n"));
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "base"]).ok();
    // A deletion adds no lines; a rename is a deletion and an addition, so what the
    // file holds is scanned at its new path (where no allowlist or baseline entry for
    // the old path applies), in --staged and in --range.
    git(&p, &["rm", "-q", "gone.txt"]).ok();
    let (r, found) = staged_paths(&p, &[]);
    r.ok();
    assert!(found.is_empty());
    git(&p, &["mv", "old/name.py", "new-name.py"]).ok();
    let (r, found) = staged_paths(&p, &[]);
    r.code(1);
    assert_eq!(found, vec![("new-name.py".into(), 1)]);
    let base = head(&p);
    git(&p, &["commit", "-q", "--no-verify", "-m", "move"]).ok();
    let (r, found) = commit_findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(paths, ["new-name.py"]);
    // What a change adds to a binary-looking blob is scanned too (as --range does);
    // odd names are reported as they are.
    let mut blob = b"\x00\x01binary ".to_vec();
    blob.extend_from_slice(t.as_bytes());
    p.write("image.bin", blob);
    p.write("dir with space/ca\u{e9}.txt", format!("t = {t}\n"));
    p.write("line\nbreak.txt", format!("t = {t}\n"));
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"latin1-\xe9.txt");
        fs::write(p.root.join(name), format!("t = {t}\n")).unwrap();
    }
    git(&p, &["add", "-A"]).ok();
    // A submodule entry (gitlink) is skipped, not read as a blob.
    let sub = Project::new();
    sub.write("x", "1\n");
    git(&sub, &["add", "x"]).ok();
    git(&sub, &["commit", "-q", "--no-verify", "-m", "sub"]).ok();
    let head =
        String::from_utf8(git(&sub, &["rev-parse", "HEAD"]).ok().stdout.into_bytes()).unwrap();
    git(
        &p,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{},vendor/sub", head.trim()),
        ],
    )
    .ok();
    let (r, mut found) = staged_paths(&p, &[]);
    let r = r.code(1);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("dir with space/ca\u{e9}.txt".into(), 1),
            ("image.bin".into(), 1),
            ("latin1-\u{fffd}.txt".into(), 1),
            ("line\nbreak.txt".into(), 1)
        ],
        "{r:?}"
    );
    assert!(!r.stderr.contains("skipped"), "{r:?}");
}

#[test]
fn hook_install_is_idempotent_respects_hooks_path_and_other_hooks() {
    let p = Project::new();
    p.run(["hook", "install"]).ok().stderr_has(&["installed"]);
    let hook = p.path(".git/hooks/pre-commit");
    assert_eq!(mode_of(&hook) & 0o111, 0o111);
    assert_eq!(
        fs::read(&hook).unwrap(),
        fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/pre-commit")).unwrap()
    );
    p.run(["hook", "install"])
        .ok()
        .stderr_has(&["already installed"]);
    p.run(["hook", "uninstall"]).ok();
    assert!(!hook.exists());

    // Someone else's hook is never replaced silently, nor removed.
    fs::write(&hook, "#!/bin/sh\necho theirs\n").unwrap();
    p.run(["hook", "install"])
        .code(2)
        .clean_error()
        .stderr_has(&["--force"]);
    assert_eq!(
        fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\necho theirs\n"
    );
    p.run(["hook", "uninstall"]).code(2).clean_error();
    assert!(hook.exists());
    p.run(["hook", "install", "--force"]).ok();
    assert!(fs::read_to_string(&hook).unwrap().contains("scan --staged"));

    // core.hooksPath is honoured.
    let q = Project::new();
    git(&q, &["config", "core.hooksPath", "githooks"]).ok();
    q.run(["hook", "install"]).ok();
    assert!(q.path("githooks/pre-commit").exists());
    assert!(!q.path(".git/hooks/pre-commit").exists());
}

#[test]
fn the_hook_blocks_a_commit_with_a_secret_and_explains_the_ways_out() {
    let p = Project::new();
    p.run(["hook", "install"]).ok();
    p.write("clean.py", "x = 1\n");
    git(&p, &["add", "clean.py"]).ok();
    git(&p, &["commit", "-q", "-m", "clean"]).ok();
    p.write("leak.py", format!("T = '{}'\n", github_token()));
    git(&p, &["add", "leak.py"]).ok();
    let r = git(&p, &["commit", "-q", "-m", "leak"]);
    let r = r.code(1).never_shows(&github_token());
    for expected in [
        "leak.py:1:6",
        "github-pat-classic",
        "ghp_…(40 chars)",
        "rotate",
        "envshim set NAME",
        "envshim:allow",
        "git commit --no-verify",
    ] {
        assert!(
            r.stderr.contains(expected) || r.stdout.contains(expected),
            "lacks {expected:?}:\n{r:?}"
        );
    }
    assert!(git(&p, &["log", "--oneline"]).ok().stdout.lines().count() == 1);
    // Fails closed when envshim is missing.
    let r = git_with(
        &p,
        &p.root,
        "/nonexistent/envshim",
        &["commit", "-q", "-m", "leak"],
    )
    .code(1);
    assert!(
        r.stderr.contains("not installed") && r.stderr.contains("--no-verify"),
        "{r:?}"
    );
    // Allowed inline: the commit goes through.
    p.write(
        "leak.py",
        format!("T = '{}'  # envshim:allow test fixture\n", github_token()),
    );
    git(&p, &["add", "leak.py"]).ok();
    git(&p, &["commit", "-q", "-m", "allowed"]).ok();
}

/// Runs `scan --format json` with `args`; returns sorted (path, line, commit).
pub(crate) fn commit_findings(p: &Project, args: &[&str]) -> (Run, Vec<(String, usize, String)>) {
    let mut all = vec!["scan", "--no-known", "--format", "json"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    let found = path_line_commit(&r);
    (r, found)
}

#[test]
fn range_and_history_name_the_commit_that_added_each_secret() {
    let p = Project::new();
    let t = github_token();
    let stripe = format!("{}{}", "sk_live_", "51Hq7TzW2mK9pLx4Nv8Rc3Bd6Fj1Sg5Yt0Ua");
    p.write("a.py", "x = 1\n");
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "base"]).ok();
    let base = head(&p);
    p.write("a.py", format!("x = 1\n\nT = '{t}'\n"));
    git(&p, &["commit", "-q", "--no-verify", "-am", "adds a token"]).ok();
    let c1 = head(&p);
    // A line that starts with "++ " prints as "+++ " in the diff: still content.
    p.write("b.txt", format!("++ {stripe}\n"));
    git(&p, &["add", "b.txt"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "adds a key"]).ok();
    let c2 = head(&p);
    p.write("a.py", format!("x = 2\n\nT = '{t}'\n"));
    git(&p, &["commit", "-q", "--no-verify", "-am", "touches a.py"]).ok();

    let (r, found) = commit_findings(&p, &["--range", &format!("{c1}..HEAD")]);
    r.code(1);
    assert_eq!(found, vec![("b.txt".into(), 1, c2.clone())]);
    let (r, found) = commit_findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    assert_eq!(
        found,
        vec![
            ("a.py".into(), 3, c1.clone()),
            ("b.txt".into(), 1, c2.clone())
        ]
    );

    // History covers every ref, including a branch that is not checked out.
    git(&p, &["checkout", "-q", "-b", "side", &base]).ok();
    p.write(
        "side.cfg",
        format!(
            "url = postgres://app:{}@db.internal/app\n",
            "Vx7qT2mK9pLz4Wn8"
        ),
    );
    git(&p, &["add", "side.cfg"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "side"]).ok();
    let side = head(&p);
    git(&p, &["checkout", "-q", "-"]).ok();
    let (r, found) = commit_findings(&p, &["--history"]);
    r.code(1);
    assert_eq!(
        found,
        vec![
            ("a.py".into(), 3, c1),
            ("b.txt".into(), 1, c2),
            ("side.cfg".into(), 1, side)
        ]
    );
    p.run(["scan", "--range", "nope..HEAD"])
        .code(2)
        .clean_error();
}

#[test]
fn baselines_survive_rebases_and_squashes() {
    let p = Project::new();
    let t = github_token();
    p.write("a.py", format!("T = '{t}'\n"));
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "one"]).ok();
    p.write("b.py", "y = 2\n");
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "two"]).ok();
    p.run(["scan", "--history", "--no-known", "--update-baseline"])
        .ok();
    // Squash everything into a new root commit: new SHAs, same content.
    let tree = git(&p, &["write-tree"]).ok().stdout.trim().to_string();
    let squashed = git(&p, &["commit-tree", &tree, "-m", "squashed"])
        .ok()
        .stdout
        .trim()
        .to_string();
    git(&p, &["reset", "-q", "--hard", &squashed]).ok();
    git(&p, &["reflog", "expire", "--expire=now", "--all"]).ok();
    git(&p, &["gc", "-q", "--prune=now"]).ok();
    let (r, found) = commit_findings(&p, &["--history", "--baseline", ".envshim-baseline.json"]);
    r.ok();
    assert!(found.is_empty());
    // The same secret in the working tree matches the same baseline entry.
    let (r, _) = commit_findings(&p, &["--baseline", ".envshim-baseline.json", "a.py"]);
    r.ok();
}

#[test]
fn the_pre_commit_framework_runs_the_hook_from_this_repository() {
    // The real `pre-commit` (PyPI) builds envshim from this checkout with `language:
    // rust`, as a user's .pre-commit-config.yaml would. Slow (one cargo build), once.
    let p = Project::new();
    let cache = p.home.join("pre-commit-cache");
    let try_repo = |p: &Project| -> Run {
        Command::new("pre-commit")
            .args(["try-repo", env!("CARGO_MANIFEST_DIR"), "envshim"])
            .current_dir(&p.root)
            .env("PRE_COMMIT_HOME", &cache)
            .env("HOME", &p.home)
            .output()
            .expect("pre-commit (pip install pre-commit)")
            .into()
    };
    p.write("leak.py", format!("T = '{}'\n", github_token()));
    git(&p, &["add", "leak.py"]).ok();
    let r = try_repo(&p).code(1).never_shows(&github_token());
    assert!(
        r.stdout.contains("leak.py:1:6") && r.stdout.contains("Failed"),
        "{r:?}"
    );
    fs::write(p.path("leak.py"), "T = 'nothing to see'\n").unwrap();
    git(&p, &["add", "leak.py"]).ok();
    let r = try_repo(&p).ok();
    assert!(r.stdout.contains("Passed"), "{r:?}");
}
