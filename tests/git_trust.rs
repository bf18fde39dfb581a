//! A change cannot hide its lines from `scan --staged`, `--range` and `--history`: git
//! attributes, merge commits, user git settings and a new branch's zero base.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::git::commit_findings;
use crate::util::*;

fn postgres() -> String {
    format!(
        "url = postgres://app:{}@db.internal/app",
        "Vx7qT2mK9pLz4Wn8"
    )
}

type Found = Vec<(String, usize, String)>;

/// Runs `scan --no-known --format json ARGS` in `dir` with `env` added; returns the run
/// and the sorted (path, line, commit) of its findings.
fn scan_in(p: &Project, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (Run, Found) {
    let mut cmd = p.envshim();
    cmd.args(["scan", "--no-known", "--format", "json"])
        .args(args)
        .current_dir(dir);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let r: Run = cmd.output().expect("run envshim").into();
    let found = path_line_commit(&r);
    (r, found)
}

/// `path:line` pairs, for the staged mode (no commit).
fn lines_of(found: &Found) -> Vec<(String, usize)> {
    found.iter().map(|(p, l, _)| (p.clone(), *l)).collect()
}

/// What a case is, and how to set it up in a fresh repository.
type Case = (&'static str, fn(&Project));

#[test]
fn attributes_cannot_hide_added_lines() {
    let t = github_token();
    // Each marks the changed files as binary, or converts them for diffs, so that git
    // prints no added lines unless told otherwise.
    let cases: [Case; 4] = [
        ("-diff in the change's own .gitattributes", |p| {
            p.write(".gitattributes", "*.py -diff\n");
        }),
        ("binary in .git/info/attributes", |p| {
            p.write(".git/info/attributes", "* binary\n");
        }),
        ("a textconv that rewrites the secret", |p| {
            p.write(".gitattributes", "*.py diff=hide\n");
            git(p, &["config", "diff.hide.textconv", "sed s/ghp_/xxxx/"]).ok();
        }),
        ("an external diff driver that prints nothing", |p| {
            p.write(".gitattributes", "*.py diff=hide\n");
            git(p, &["config", "diff.hide.command", "true"]).ok();
        }),
    ];
    for (what, setup) in cases {
        let p = Project::new();
        p.write("a.py", "x = 1\ny = 2\n");
        let base = commit_all(&p, "base");
        setup(&p);
        p.write("a.py", format!("x = 1\ny = 2\nT = '{t}'\n"));
        p.write("b.py", format!("T = '{t}'\n"));
        git(&p, &["add", "-A"]).ok();
        let (r, found) = commit_findings(&p, &["--staged"]);
        r.code(1);
        assert_eq!(
            lines_of(&found),
            vec![("a.py".into(), 3), ("b.py".into(), 1)],
            "--staged, {what}"
        );
        let c = commit_all(&p, "secret");
        let expected: Found = vec![("a.py".into(), 3, c.clone()), ("b.py".into(), 1, c)];
        let (r, found) = commit_findings(&p, &["--range", &format!("{base}..HEAD")]);
        r.code(1);
        assert_eq!(found, expected, "--range, {what}");
        let (r, found) = commit_findings(&p, &["--history"]);
        r.code(1);
        assert_eq!(found, expected, "--history, {what}");
    }
}

#[test]
fn a_merge_is_scanned_for_what_no_parent_has() {
    let p = Project::new();
    p.write("f.py", "a = 1\nb = 2\nc = 3\n");
    let base = commit_all(&p, "base");
    // A branch brings a secret of its own and a conflicting change.
    let from_branch = diverge(
        &p,
        "side",
        &[
            ("f.py", "a = 1\nb = 'side'\nc = 3\n"),
            ("side.py", &format!("T = '{}'\n", github_token())),
        ],
        &[("f.py", "a = 1\nb = 'main'\nc = 3\n")],
    );
    // An evil merge: the conflict's resolution adds a secret that neither side has.
    git(&p, &["merge", "-q", "side"]).code(1);
    p.write(
        "f.py",
        format!("a = 1\nb = 'both'\nK = '{}'\nc = 3\n", stripe_key()),
    );
    let evil = commit_all(&p, "merge side");
    // A clean merge, stopped before its commit and edited.
    diverge(&p, "side2", &[("s2.txt", "ok\n")], &[("m2.txt", "ok\n")]);
    git(&p, &["merge", "-q", "--no-ff", "--no-commit", "side2"]).ok();
    p.write("g.py", format!("x = 1\n{}\n", postgres()));
    let edited = commit_all(&p, "merge side2");

    // The branch's secret is reported once, against the commit that added it; each
    // merge's own addition against the merge.
    let expected: Found = vec![
        ("f.py".into(), 3, evil.clone()),
        ("g.py".into(), 2, edited.clone()),
        ("side.py".into(), 1, from_branch),
    ];
    let (r, found) = commit_findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    assert_eq!(found, expected);
    let (r, found) = commit_findings(&p, &["--history"]);
    r.code(1);
    assert_eq!(found, expected);
    // A user's choice of how merges are shown (`-m` follows it) changes nothing.
    for shown in [
        "first-parent",
        "combined",
        "dense-combined",
        "remerge",
        "off",
    ] {
        let global = p.home.join(format!("gitconfig-{shown}"));
        let global = global.to_str().unwrap();
        Command::new("git")
            .args(["config", "--file", global, "log.diffMerges", shown])
            .status()
            .unwrap();
        let (r, found) = scan_in(
            &p,
            &p.root,
            &[("GIT_CONFIG_GLOBAL", global)],
            &["--history"],
        );
        r.code(1);
        assert_eq!(found, expected, "log.diffMerges={shown}");
    }
    // The merges alone.
    let (r, found) = commit_findings(&p, &["--range", &format!("{evil}^1..{evil}")]);
    r.code(1);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&("f.py".into(), 3, evil)));
    let (r, found) = commit_findings(&p, &["--range", &format!("{edited}^1..{edited}")]);
    r.code(1);
    assert_eq!(found, vec![("g.py".into(), 2, edited)]);
}

/// A repository where `dir/café.py` had four lines and a change rewrites the first and
/// adds a secret after two unchanged lines (so a context line can end the hunk).
/// Checks that `--staged`, `--range` and `--history`, run in `cwd` (relative to the
/// root) with `env`, find the secret on line 4.
fn finds_the_secret_with(what: &str, p: &Project, cwd: &str, env: &[(&str, &str)]) {
    let path = "dir/caf\u{e9}.py";
    p.write(path, "x = 1\ny = 2\nz = 3\n");
    let base = commit_all(p, "base");
    p.write(
        path,
        format!("x = 10\ny = 2\nz = 3\nT = '{}'\n", github_token()),
    );
    git(p, &["add", "-A"]).ok();
    let dir = p.root.join(cwd);
    let (r, found) = scan_in(p, &dir, env, &["--staged"]);
    r.code(1);
    assert_eq!(lines_of(&found), vec![(path.into(), 4)], "--staged, {what}");
    let c = commit_all(p, "secret");
    let expected: Found = vec![(path.into(), 4, c)];
    let (r, found) = scan_in(p, &dir, env, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    assert_eq!(found, expected, "--range, {what}");
    let (r, found) = scan_in(p, &dir, env, &["--history"]);
    r.code(1);
    assert_eq!(found, expected, "--history, {what}");
}

#[test]
fn user_git_settings_cannot_hide_added_lines() {
    let settings: &[(&str, &str)] = &[
        // The repro: context between two changes joins them into one hunk.
        ("diff.interHunkContext", "5"),
        ("diff.context", "5"),
        ("diff.noprefix", "true"),
        ("diff.mnemonicPrefix", "true"),
        ("diff.srcPrefix", "x/"),
        ("diff.dstPrefix", "y/"),
        ("color.diff", "always"),
        ("color.ui", "always"),
        ("diff.relative", "true"),
        ("core.quotePath", "false"),
        ("log.showSignature", "true"),
        ("log.showRoot", "false"),
        ("diff.suppressBlankEmpty", "true"),
        ("diff.external", "true"),
        ("diff.submodule", "diff"),
        ("diff.algorithm", "patience"),
        ("core.bigFileThreshold", "1"),
    ];
    for (key, value) in settings {
        // In the repository's own configuration, run from a subdirectory...
        let p = Project::new();
        git(&p, &["config", key, value]).ok();
        finds_the_secret_with(&format!("{key}={value} (repository)"), &p, "dir", &[]);
        // ...and in a global file.
        let p = Project::new();
        let global = p.home.join("gitconfig");
        let global = global.to_str().unwrap();
        Command::new("git")
            .args(["config", "--file", global, key, value])
            .status()
            .unwrap();
        let env = [("GIT_CONFIG_GLOBAL", global)];
        finds_the_secret_with(&format!("{key}={value} (global)"), &p, ".", &env);
    }
    // The environment: settings given to git as variables, and GIT_DIFF_OPTS, which
    // sets the context length even over -U0.
    let environments: &[&[(&str, &str)]] = &[
        &[("GIT_DIFF_OPTS", "--unified=3")],
        &[("GIT_EXTERNAL_DIFF", "true")],
        &[
            ("GIT_CONFIG_COUNT", "1"),
            ("GIT_CONFIG_KEY_0", "diff.interHunkContext"),
            ("GIT_CONFIG_VALUE_0", "5"),
        ],
        &[("GIT_CONFIG_PARAMETERS", "'diff.interhunkcontext'='5'")],
    ];
    for env in environments {
        let p = Project::new();
        finds_the_secret_with(&format!("{env:?}"), &p, ".", env);
    }
}

#[test]
fn a_staged_file_without_hunks_counts_as_added_throughout() {
    // A git whose staged patch shows no hunks at all (as `Binary files differ` would):
    // each changed file is then scanned whole rather than not at all.
    let real = real_git();
    let p = Project::new();
    let path = path_with_git_wrapper(
        &p,
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --raw ] && exec {real} \"$@\"; done\n\
             for a in \"$@\"; do [ \"$a\" = --cached ] && {{ {real} \"$@\" >/dev/null; exit $?; }}; done\n\
             exec {real} \"$@\"\n"
        ),
    );
    p.write("old.py", format!("x = 1\nT = '{}'\n", github_token()));
    p.write("same.py", format!("T = '{}'\n", github_token()));
    commit_all(&p, "base");
    p.write("old.py", format!("x = 2\nT = '{}'\n", github_token()));
    p.write("new.py", format!("y = 1\nK = '{}'\n", stripe_key()));
    // A mode change alone adds no line: same blob, no fallback.
    set_mode(&p.path("same.py"), 0o755);
    git(&p, &["add", "-A"]).ok();
    let (r, found) = scan_in(&p, &p.root, &[("PATH", &path)], &["--staged"]);
    r.code(1);
    assert_eq!(
        lines_of(&found),
        vec![("new.py".into(), 2), ("old.py".into(), 2)]
    );
}

/// A clone like a CI checkout's: `origin` (bare) has `main` with a secret and `other`
/// with another; this clone's `feature` branch adds a third and is pushed (so
/// `origin/feature` holds HEAD). Returns the clone and feature's commit.
fn new_branch_clone() -> (Project, String) {
    let p = Project::new();
    let origin = p.home.join("origin.git");
    Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&origin)
        .status()
        .unwrap();
    git(&p, &["remote", "add", "origin", origin.to_str().unwrap()]).ok();
    git(&p, &["checkout", "-q", "-b", "main"]).ok();
    p.write("main.py", format!("T = '{}'\n", github_token()));
    commit_all(&p, "main");
    git(&p, &["push", "-q", "origin", "main"]).ok();
    git(&p, &["checkout", "-q", "-b", "other"]).ok();
    p.write("other.py", format!("K = '{}'\n", stripe_key()));
    commit_all(&p, "other");
    git(&p, &["push", "-q", "origin", "other"]).ok();
    git(&p, &["checkout", "-q", "-b", "feature", "main"]).ok();
    p.write("feature.py", format!("x = 1\n{}\n", postgres()));
    let feature = commit_all(&p, "feature");
    git(&p, &["push", "-q", "origin", "feature"]).ok();
    git(&p, &["remote", "set-head", "origin", "main"]).ok();
    (p, feature)
}

#[test]
fn a_zero_base_scans_the_commits_on_no_other_remote_branch() {
    let (p, feature) = new_branch_clone();
    let expected: Found = vec![("feature.py".into(), 2, feature)];
    for zeros in ["0".repeat(40), "0".repeat(64)] {
        let (r, found) = commit_findings(&p, &["--range", &format!("{zeros}..HEAD")]);
        r.code(1);
        assert_eq!(found, expected);
    }
    // Without remote branches: all of HEAD's history.
    git(&p, &["remote", "remove", "origin"]).ok();
    let (r, found) = commit_findings(&p, &["--range", &format!("{}..HEAD", "0".repeat(40))]);
    r.code(1);
    let paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(paths, ["feature.py", "main.py"]);

    // A base that is not here (a force-push's old head) is a plain error that says
    // what to do.
    let gone = "1234567890abcdef1234567890abcdef12345678";
    let r = p
        .run(["scan", "--range", &format!("{gone}..HEAD")])
        .code(2)
        .clean_error();
    assert!(
        r.stderr.contains("not a commit in this repository")
            && r.stderr.contains("fetch-depth")
            && r.stderr.contains(&"0".repeat(40))
            && !r.stderr.contains("fatal"),
        "{r:?}"
    );
    let r = p
        .run(["scan", "--range", "HEAD..nope"])
        .code(2)
        .clean_error();
    assert!(r.stderr.contains("\"nope\" is not a commit"), "{r:?}");
    let r = p.run(["scan", "--range", "HEAD"]).code(2).clean_error();
    assert!(r.stderr.contains("A..B"), "{r:?}");
}

/// The `run:` script of the workflow step `name`, without its indentation.
fn workflow_script(workflow: &str, name: &str) -> String {
    let mut lines = workflow
        .lines()
        .skip_while(|l| !l.contains(&format!("name: {name}")));
    lines.next().unwrap_or_else(|| panic!("no step {name:?}"));
    let run = lines
        .find(|l| l.trim_start().starts_with("run: |"))
        .expect("a run: | block");
    let key_indent = run.len() - run.trim_start().len();
    let body: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > key_indent)
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap();
    body.iter()
        .map(|l| if l.len() >= indent { &l[indent..] } else { "" })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the workflow's scan step as GitHub would for a push of `sha` to `branch` with
/// `before`, the default branch being `default`: the step's status output and its run.
fn run_workflow_push(
    p: &Project,
    sha: &str,
    branch: &str,
    default: &str,
    before: &str,
) -> (String, Run) {
    let workflow = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ci/github-actions.yml"
    ))
    .unwrap();
    let mut script = workflow_script(&workflow, "Scan the commits of this change");
    for (expression, value) in [
        ("github.event_name", "push"),
        ("github.event.before", before),
        ("github.sha", sha),
        ("github.ref_name", branch),
        ("github.event.repository.default_branch", default),
        ("github.event.pull_request.base.sha", ""),
        ("github.event.pull_request.head.sha", ""),
    ] {
        script = script.replace(&format!("${{{{ {expression} }}}}"), value);
    }
    assert!(!script.contains("${{"), "{script}");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let output = p.home.join("github_output");
    fs::write(&output, "").unwrap();
    let r: Run = Command::new("sh")
        .args(["-e", "-c", &script])
        .current_dir(&p.root)
        .env("PATH", &path)
        .env("HOME", &p.home)
        .env("GITHUB_OUTPUT", &output)
        .output()
        .unwrap()
        .into();
    (fs::read_to_string(&output).unwrap(), r.ok())
}

#[test]
fn the_github_workflow_scans_a_new_branch_and_a_force_push() {
    let (p, feature) = new_branch_clone();
    // A push event: the first push of a branch (before = zeros), then a force-push
    // (before = a commit the clone does not have); through the branch's merge base with
    // the default branch, and, when the default branch is not fetched, through the zero
    // base.
    for default in ["main", "trunk"] {
        for before in [
            "0".repeat(40),
            "1234567890abcdef1234567890abcdef12345678".into(),
        ] {
            let (status, r) = run_workflow_push(&p, &feature, "feature", default, &before);
            assert_eq!(status, "status=1\n", "{default} {before}: {r:?}");
            assert!(r.stdout.contains("::error file=feature.py,line=2"), "{r:?}");
            assert!(
                !r.stdout.contains("main.py") && !r.stdout.contains("other.py"),
                "{r:?}"
            );
            let sarif: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(p.path("envshim.sarif")).unwrap())
                    .unwrap();
            assert_eq!(sarif_uris(&sarif), ["feature.py"]);
        }
    }
}

#[test]
fn a_branch_push_takes_its_settings_from_the_default_branch_not_its_previous_push() {
    // Push 1 of a branch allowlists a path (red: suppression-widened); push 2 puts a
    // secret there. With push 1 as the base, push 2 would read push 1's allowlist and
    // pass; the workflow takes the base from the default branch instead.
    let (p, _) = new_branch_clone();
    p.write(
        "envshim.toml",
        "[scan.allowlist]\npaths = [\"vendor/**\"]\n",
    );
    let first = commit_all(&p, "allowlist vendor");
    let (status, r) = run_workflow_push(&p, &first, "feature", "main", &"0".repeat(40));
    assert_eq!(status, "status=1\n", "{r:?}");
    assert!(r.stdout.contains("suppression-widened"), "{r:?}");
    p.write("vendor/x.py", format!("T = '{}'\n", github_token()));
    let second = commit_all(&p, "vendor");
    let (status, r) = run_workflow_push(&p, &second, "feature", "main", &first);
    assert_eq!(status, "status=1\n", "{r:?}");
    assert!(r.stdout.contains("file=vendor/x.py"), "{r:?}");
}

#[test]
fn the_hook_sees_what_commit_a_and_a_partial_commit_commit() {
    // `git commit -a` and `git commit PATH` run the hook on a temporary index
    // (GIT_INDEX_FILE); that index is the one scanned, attributes and settings or not.
    let p = Project::new();
    p.run(["hook", "install"]).ok();
    git(&p, &["config", "diff.interHunkContext", "5"]).ok();
    p.write(".gitattributes", "*.py -diff\n");
    p.write("a.py", "x = 1\ny = 2\nz = 3\n");
    p.write("b.py", "x = 1\n");
    commit_all(&p, "base");
    let t = github_token();
    p.write("a.py", format!("x = 10\ny = 2\nz = 3\nT = '{t}'\n"));
    let r = git(&p, &["commit", "-q", "-a", "-m", "all"]).code(1);
    assert!(r.stderr.contains("a.py:4:6"), "{r:?}");
    // Partial: only a.py is committed, from a temporary index; b.py's staged change is
    // not part of it.
    p.write("b.py", "x = 2\n");
    git(&p, &["add", "b.py"]).ok();
    let r = git(&p, &["commit", "-q", "-m", "partial", "--", "a.py"]).code(1);
    assert!(r.stderr.contains("a.py:4:6"), "{r:?}");
    p.write("a.py", "x = 10\ny = 2\nz = 3\n");
    p.write("b.py", format!("x = 2\nT = '{t}'\n"));
    git(&p, &["commit", "-q", "-m", "partial", "--", "a.py"]).ok();
    assert_eq!(
        git(&p, &["log", "--oneline"]).ok().stdout.lines().count(),
        2
    );
}

#[test]
fn a_commit_without_hunks_counts_as_added_throughout() {
    // A git that prints `Binary files … differ` for every file in `log` (its --text
    // dropped, every file marked -diff): the changed blobs are scanned whole.
    let real = real_git();
    let p = Project::new();
    let attrs = p.home.join("attributes");
    fs::write(&attrs, "* -diff\n").unwrap();
    let path = path_with_git_wrapper(
        &p,
        &format!(
            "#!/bin/sh\nlog=0\nfor a in \"$@\"; do [ \"$a\" = log ] && log=1; done\n\
             [ $log = 1 ] || exec {real} \"$@\"\n\
             for a in \"$@\"; do shift; [ \"$a\" = --text ] || set -- \"$@\" \"$a\"; done\n\
             exec {real} -c core.attributesFile={} \"$@\"\n",
            attrs.display()
        ),
    );
    p.write("b.py", "x = 1\n");
    p.write("c.py", format!("T = '{}'\n", github_token()));
    let base = commit_all(&p, "base");
    p.write("a.py", format!("T = '{}'\n", github_token()));
    p.write("b.py", format!("x = 1\nK = '{}'\n", stripe_key()));
    // A mode change alone, and a submodule, add no lines to scan.
    set_mode(&p.path("c.py"), 0o755);
    git(
        &p,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{base},vendor/sub"),
        ],
    )
    .ok();
    let c = commit_all(&p, "secrets");
    let (r, found) = scan_in(
        &p,
        &p.root,
        &[("PATH", &path)],
        &["--range", &format!("{base}..HEAD")],
    );
    r.code(1);
    assert_eq!(
        found,
        vec![("a.py".into(), 1, c.clone()), ("b.py".into(), 2, c)]
    );
}

/// Puts `script` in the project's HOME as an executable `git`; returns a PATH on which
/// it comes before the real git.
fn path_with_git_wrapper(p: &Project, script: &str) -> String {
    let bin = p.home.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("git");
    fs::write(&wrapper, script).unwrap();
    set_mode(&wrapper, 0o755);
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

fn real_git() -> String {
    let out = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A real RSA private key in PEM (`ssh-keygen -m PEM`), written in the project's home;
/// returns its text.
fn pem_key(p: &Project) -> String {
    let path = p.home.join("pem-key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""])
        .arg("-f")
        .arg(&path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    fs::read_to_string(path).unwrap()
}

/// `--range A..HEAD` and `--history`, each with the findings it reports.
fn range_and_history(p: &Project, base: &str) -> Vec<(String, Run, Found)> {
    let range = format!("{base}..HEAD");
    [vec!["--range", range.as_str()], vec!["--history"]]
        .into_iter()
        .map(|args| {
            let (r, found) = commit_findings(p, &args);
            (args[0].to_string(), r, found)
        })
        .collect()
}

#[test]
fn a_key_pasted_into_an_old_skeleton_is_the_change_s() {
    let p = Project::new();
    let key = pem_key(&p);
    let lines: Vec<&str> = key.lines().collect();
    let (first, last) = (lines[0], lines[lines.len() - 1]);
    let body = lines[1];
    p.write("server.key", format!("{first}\nPASTE_KEY_HERE\n{last}\n"));
    let base = commit_all(&p, "skeleton");
    p.write("server.key", &key);
    git(&p, &["add", "-A"]).ok();
    let (r, found) = commit_findings(&p, &["--staged"]);
    let r = r.code(1).never_shows(body);
    assert_eq!(lines_of(&found), vec![("server.key".into(), 1)], "{r:?}");
    let c = commit_all(&p, "the key");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.code(1).never_shows(body);
        assert_eq!(
            found,
            vec![("server.key".into(), 1, c.clone())],
            "{mode}: {r:?}"
        );
    }
}

/// Lines of ordinary code adding up to more than `bytes`.
fn bulk(bytes: usize) -> String {
    let line = "let value = compute(1, 2);\n";
    line.repeat(bytes / line.len() + 1)
}

#[test]
fn a_change_to_a_large_file_is_scanned_whole() {
    let t = github_token();
    let big = bulk(11 << 20);
    let n = big.lines().count();
    // A new file over max_file_size (10 MiB) ending in a token.
    let p = Project::new();
    p.write("a.py", "x = 1\n");
    let base = commit_all(&p, "base");
    p.write("big.js", format!("{big}T = '{t}'\n"));
    git(&p, &["add", "-A"]).ok();
    let (r, found) = commit_findings(&p, &["--staged"]);
    r.code(1);
    assert_eq!(lines_of(&found), vec![("big.js".into(), n + 1)]);
    let c = commit_all(&p, "big");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.code(1);
        assert_eq!(
            found,
            vec![("big.js".into(), n + 1, c.clone())],
            "{mode}: {r:?}"
        );
    }
    // A token appended to a file already over the limit.
    let base = head(&p);
    p.write("big.js", format!("{big}T = '{t}'\nU = '{t}'\n"));
    git(&p, &["add", "-A"]).ok();
    let (r, found) = commit_findings(&p, &["--staged"]);
    r.code(1);
    assert_eq!(lines_of(&found), vec![("big.js".into(), n + 2)]);
    let c = commit_all(&p, "appended");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.code(1);
        let found: Found = found.into_iter().filter(|f| f.2 == c).collect();
        assert_eq!(
            found,
            vec![("big.js".into(), n + 2, c.clone())],
            "{mode}: {r:?}"
        );
    }
    // The working-tree walk keeps its limit.
    p.run(["scan", "--no-known", "."])
        .ok()
        .stderr_has(&["over the size limit"]);
}

#[test]
fn a_binary_looking_file_s_added_lines_are_scanned() {
    let t = github_token();
    let p = Project::new();
    p.write("a.py", "x = 1\n");
    let base = commit_all(&p, "base");
    p.write("data.bin", format!("\0\nT = '{t}'\n"));
    git(&p, &["add", "-A"]).ok();
    let (r, found) = commit_findings(&p, &["--staged"]);
    r.code(1);
    assert_eq!(lines_of(&found), vec![("data.bin".into(), 2)]);
    let c = commit_all(&p, "binary");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.code(1);
        assert_eq!(
            found,
            vec![("data.bin".into(), 2, c.clone())],
            "{mode}: {r:?}"
        );
    }
}

#[test]
fn random_binary_files_give_no_findings_in_the_git_modes() {
    // Pseudo-random bytes (xorshift, fixed seeds) behind a PNG signature: what a
    // committed image looks like to the scanner.
    let p = Project::new();
    p.write("a.py", "x = 1\n");
    let base = commit_all(&p, "base");
    for (i, seed) in [0x9e37_79b9_7f4a_7c15_u64, 0x2545_f491_4f6c_dd1d, 7, 1 << 40]
        .into_iter()
        .enumerate()
    {
        let mut x = seed;
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        while bytes.len() < 2 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        p.write(&format!("img{i}.png"), bytes);
    }
    git(&p, &["add", "-A"]).ok();
    let (r, found) = commit_findings(&p, &["--staged"]);
    r.ok();
    assert_eq!(found, vec![]);
    commit_all(&p, "images");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.ok();
        assert_eq!(found, vec![], "{mode}: {r:?}");
    }
}

#[test]
fn a_plaintext_secrets_file_added_in_a_commit_is_reported() {
    let p = Project::new();
    p.write("a.py", "x = 1\n");
    let base = commit_all(&p, "base");
    let public = p.age_keygen(&p.home.join("id.txt"));
    p.write("deploy/keys.recipients", format!("{public}\n"));
    let recipients = p.path("deploy/keys.recipients");
    p.write(
        "deploy/staging.env.secrets",
        age_encrypt(&recipients, "DB_PASSWORD=Zr8v!Qm2#Lx5Tn9w\n", true),
    );
    p.write(
        "deploy/test.env.secrets",
        age_encrypt(&recipients, "DB_PASSWORD=Zr8v!Qm2#Lx5Tn9w\n", false),
    );
    p.write(
        "deploy/prod.env.secrets",
        "# [runtime]\nNODE_ENV=production\n",
    );
    let c = commit_all(&p, "secrets files");
    for (mode, r, found) in range_and_history(&p, &base) {
        let r = r.code(1);
        assert_eq!(
            found,
            vec![("deploy/prod.env.secrets".into(), 1, c.clone())],
            "{mode}: {r:?}"
        );
        assert_eq!(r.json()["findings"][0]["rule"], "unencrypted-secrets-file");
    }
}

#[test]
fn a_staged_blob_over_the_hard_cap_is_reported_even_by_the_quiet_hook() {
    let p = Project::new();
    p.write("a.py", "x = 1\n");
    commit_all(&p, "base");
    // 257 MiB of one repeated line (git stores it in a few hundred KiB).
    let line = "let value = compute(1, 2);\n".repeat(1 << 10);
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(fs::File::create(p.path("huge.txt")).unwrap());
        while out.get_ref().metadata().unwrap().len() < 257 << 20 {
            for _ in 0..1024 {
                out.write_all(line.as_bytes()).unwrap();
            }
            out.flush().unwrap();
        }
    }
    git(&p, &["add", "-A"]).ok();
    let r = p.run(["scan", "--staged", "--no-known"]).ok();
    assert_eq!(r.stdout, "", "{r:?}");
    r.stderr_has(&["huge.txt is over 256 MiB", "not scanned", "1 skipped"]);
}
