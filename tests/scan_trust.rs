//! A scan that the scanned change cannot switch off (issue 11, items 3 and 4): in
//! `--range`, configuration, ignore files and the baseline come from the base commit and
//! a change that widens them is reported; nonsensical limits are refused; tracked files
//! are scanned whatever an ignore rule says; configuration is read only from regular
//! files and no error quotes it.

use crate::util::*;

fn other_token() -> String {
    format!("{}{}", "ghp_", "Mx3Lq9Pw2Ze7Rt5Yu1Io8Kj4Hg6Fd0Sa2Nb")
}

/// `scan --no-known --format json ARGS`: the run and its findings as (rule, path,
/// commit, description), sorted.
fn findings(p: &Project, args: &[&str]) -> (Run, Vec<(String, String, String, String)>) {
    let mut all = vec!["scan", "--no-known", "--format", "json"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    let mut found: Vec<_> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["commit"].as_str().unwrap_or("").to_string(),
                f["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    (r, found)
}

/// (rule, path, commit) of the findings that are not about suppression.
fn secrets_found(found: &[(String, String, String, String)]) -> Vec<(String, String)> {
    found
        .iter()
        .filter(|f| f.0 != "suppression-widened")
        .map(|f| (f.1.clone(), f.2.clone()))
        .collect()
}

/// (path, commit, description) of the suppression-widened findings.
fn widened(found: &[(String, String, String, String)]) -> Vec<(String, String, String)> {
    found
        .iter()
        .filter(|f| f.0 == "suppression-widened")
        .map(|f| (f.1.clone(), f.2.clone(), f.3.clone()))
        .collect()
}

/// Runs envshim with `args`: refused as bad input (exit 2), with a clean error that
/// says each of `says` and never shows `marker`.
fn refused_without_quoting(p: &Project, args: &[&str], says: &[&str], marker: &str) {
    p.run(args)
        .code(2)
        .clean_error()
        .stderr_has(says)
        .never_shows(marker);
}

/// The repro: in the commit that adds the secret, every way to suppress it at
/// once. CI's `--range base..head` still reports the secret (configuration and baseline
/// come from the base) and reports each suppression change, naming file and commit.
#[test]
fn a_range_cannot_suppress_its_own_secret() {
    let p = Project::new();
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");

    p.write("app.py", format!("T = '{}'\n", github_token()));
    // The head's baseline accepts the secret (written by the real binary).
    p.run(["scan", "--no-known", "--update-baseline"]).ok();
    p.write(
        "envshim.toml",
        "[scan]\nmax_file_size = 0\n[scan.allowlist]\nsecrets = [\"\"]\npaths = [\"**\"]\n",
    );
    p.write(".envshimignore", "*\n");
    let head = commit_all(&p, "add app");

    let range = format!("{base}..HEAD");
    let (r, found) = findings(&p, &["--range", &range]);
    r.code(1);
    assert_eq!(secrets_found(&found), vec![("app.py".into(), head.clone())]);
    let files: Vec<(String, String)> = widened(&found)
        .into_iter()
        .map(|(path, commit, _)| (path, commit))
        .collect();
    assert_eq!(
        files,
        vec![
            (".envshim-baseline.json".into(), head.clone()),
            (".envshimignore".into(), head.clone()),
            ("envshim.toml".into(), head.clone()),
        ]
    );
    let reasons: Vec<String> = widened(&found).into_iter().map(|w| w.2).collect();
    assert!(
        reasons[0].contains("adds accepted fingerprints"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("ignores files that git tracks"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("no longer valid"), "{reasons:?}");

    // A CI job that names the head's baseline explicitly gets what it asked for (the
    // secret accepted), and the change to the baseline is still reported.
    let (r, found) = findings(
        &p,
        &["--range", &range, "--baseline", ".envshim-baseline.json"],
    );
    r.code(1);
    assert!(secrets_found(&found).is_empty(), "{found:?}");
    assert_eq!(widened(&found).len(), 3, "{found:?}");

    // SARIF and GitHub annotations carry the same finding.
    let r = p.run([
        "scan",
        "--no-known",
        "--format",
        "github",
        "--range",
        &range,
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("file=envshim.toml") && r.stdout.contains("suppression-widened"),
        "{r:?}"
    );
}

/// The base's own configuration applies (its allowlist still hides its fixtures), a
/// valid widening in the range does not, and each widening is named; narrowing is not a
/// finding. An explicit `--config` is the user's choice and is used as given.
#[test]
fn a_range_uses_the_base_configuration_and_reports_widening() {
    let p = Project::new();
    p.write(
        "envshim.toml",
        "[scan]\nmax_file_size = 100000\n[scan.allowlist]\npaths = [\"fixtures/**\"]\nsecrets = [\"^EXAMPLE\"]\n\n[[scan.rule]]\nid = \"internal-key\"\ndescription = \"Internal key\"\nkeywords = [\"ik_\"]\nregex = '''ik_[a-z0-9]{20}'''\n",
    );
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");

    // Narrowing (a larger limit, one fewer allowlisted secret) is not reported.
    p.write(
        "envshim.toml",
        "[scan]\nmax_file_size = 200000\n[scan.allowlist]\npaths = [\"fixtures/**\"]\n\n[[scan.rule]]\nid = \"internal-key\"\ndescription = \"Internal key\"\nkeywords = [\"ik_\"]\nregex = '''ik_[a-z0-9]{20}'''\n",
    );
    commit_all(&p, "narrow");

    p.write("src/app.py", format!("T = '{}'\n", github_token()));
    p.write("fixtures/sample.py", format!("T = '{}'\n", other_token()));
    p.write(
        "envshim.toml",
        "[scan]\nmax_file_size = 70000\ndisable = [\"github-pat-classic\"]\n[scan.allowlist]\npaths = [\"fixtures/**\", \"src/**\"]\nsecrets = [\"^ghp_\"]\n",
    );
    let widen = commit_all(&p, "widen");

    let range = format!("{base}..HEAD");
    let (r, found) = findings(&p, &["--range", &range]);
    r.code(1);
    assert_eq!(
        secrets_found(&found),
        vec![("src/app.py".into(), widen.clone())]
    );
    let widened = widened(&found);
    assert_eq!(widened.len(), 1, "{found:?}");
    let (path, commit, reason) = &widened[0];
    assert_eq!(
        (path.as_str(), commit.as_str()),
        ("envshim.toml", widen.as_str())
    );
    for part in [
        "lowers max_file_size",
        "disables rules",
        "allowlists more paths",
        "allowlists more secrets",
        "removes or changes custom rules",
    ] {
        assert!(reason.contains(part), "{part}: {reason}");
    }

    // The narrowing commit alone is clean.
    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD~1")]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");

    // --config given explicitly: the working tree's file, as asked; the change to it is
    // still reported.
    let (r, found) = findings(&p, &["--range", &range, "--config", "envshim.toml"]);
    r.code(1);
    assert!(secrets_found(&found).is_empty(), "{found:?}");
    assert_eq!(found.len(), 1, "{found:?}");
}

/// A merge that adds an allowlist entry neither parent had is reported; a merge that
/// takes one side's reviewed entry is not reported again for the merge.
#[test]
fn a_merge_that_widens_suppression_on_its_own_is_reported() {
    let p = Project::new();
    p.write("envshim.toml", "[scan.allowlist]\npaths = [\"a/**\"]\n");
    let base = commit_all(&p, "base");
    diverge(
        &p,
        "side",
        &[("side.txt", "side\n")],
        &[("main.txt", "main\n")],
    );
    git(&p, &["merge", "-q", "--no-commit", "--no-ff", "side"]).ok();
    p.write(
        "envshim.toml",
        "[scan.allowlist]\npaths = [\"a/**\", \"b/**\"]\n",
    );
    let merge = commit_all(&p, "merge");

    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let widened = widened(&found);
    assert_eq!(widened.len(), 1, "{found:?}");
    assert_eq!(
        (widened[0].0.as_str(), widened[0].1.as_str()),
        ("envshim.toml", merge.as_str())
    );
}

/// Each nonsensical limit is a configuration error (exit 2) that names the field, in the
/// working tree and in --staged: they would switch the scan off.
#[test]
fn limits_that_switch_the_scan_off_are_configuration_errors() {
    let p = Project::new();
    p.write("app.py", format!("T = '{}'\n", github_token()));
    git(&p, &["add", "app.py"]).ok();
    let cases = [
        (
            "[scan]\nmax_file_size = 0\n",
            "`max_file_size` must be at least",
        ),
        (
            "[scan]\nmax_file_size = 10\n",
            "`max_file_size` must be at least",
        ),
        (
            "[scan.allowlist]\nsecrets = [\"\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\".*\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\"^\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\"a?\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\".\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        // Patterns that check only length or "not a space" match any real secret.
        (
            "[scan.allowlist]\nsecrets = [\".{9}\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\".{64}\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = ['\\S{9}']\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\"[^ ]+\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\".{9,}\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        (
            "[scan.allowlist]\nsecrets = [\"(?s).+\"]\n",
            "`allowlist.secrets` matches every secret",
        ),
        // A limit that skips ordinary source files.
        (
            "[scan]\nmax_file_size = 1024\n",
            "`max_file_size` must be at least 65536",
        ),
        (
            "[scan]\nmax_file_size = 65535\n",
            "`max_file_size` must be at least 65536",
        ),
        (
            "[scan.allowlist]\npaths = [\"**\"]\n",
            "`allowlist.paths` matches every file",
        ),
        (
            "[scan.allowlist]\npaths = [\"*\"]\n",
            "`allowlist.paths` matches every file",
        ),
    ];
    for (config, message) in cases {
        p.write("envshim.toml", config);
        for mode in [
            &["scan", "--no-known"][..],
            &["scan", "--no-known", "--staged"][..],
        ] {
            p.run(mode)
                .code(2)
                .clean_error()
                .stderr_has(&["envshim.toml", message]);
        }
    }
    // Specific patterns and the smallest limit are accepted.
    p.write(
        "envshim.toml",
        "[scan]\nmax_file_size = 65536\n[scan.allowlist]\nsecrets = [\"^EXAMPLE\", \"[0-9a-f]{40}\", \"dummy.{9}\"]\n",
    );
    p.run(["scan", "--no-known"]).code(1);
}

/// Working-tree mode in a git repository scans a tracked file that .gitignore,
/// .ignore or .envshimignore matches (a force-added `.env.production`); an untracked
/// ignored file stays ignored.
#[test]
fn tracked_files_are_scanned_whatever_ignore_rules_say() {
    let p = Project::new();
    p.write(".gitignore", ".env.*\n");
    p.write(".ignore", "deploy/\n");
    p.write(".envshimignore", "*.cfg\n");
    p.write(
        ".env.production",
        format!("GITHUB_TOKEN={}\n", github_token()),
    );
    p.write("deploy/prod.sh", format!("export T='{}'\n", github_token()));
    p.write("sub/app.cfg", format!("token = '{}'\n", github_token()));
    commit_all(&p, "base");
    git(
        &p,
        &[
            "add",
            "-f",
            ".env.production",
            "deploy/prod.sh",
            "sub/app.cfg",
        ],
    )
    .ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "force"]).ok();
    // Untracked and ignored: not part of the repository, still skipped.
    p.write(".env.local", format!("GITHUB_TOKEN={}\n", other_token()));

    let paths = |found: Vec<(String, String, String, String)>| {
        let mut paths: Vec<String> = found.into_iter().map(|f| f.1).collect();
        paths.dedup();
        paths
    };
    let (r, found) = findings(&p, &[]);
    r.code(1);
    assert_eq!(
        paths(found),
        vec![".env.production", "deploy/prod.sh", "sub/app.cfg"]
    );
    // From a subdirectory, with the root given, the same files.
    let r = p
        .envshim()
        .current_dir(p.path("sub"))
        .args(["scan", "--no-known", "--format", "json", ".."])
        .output()
        .unwrap();
    let r: Run = r.into();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("../.env.production"), "{r:?}");
    assert!(!r.stdout.contains(".env.local"), "{r:?}");
    // Each file once (the walk and the tracked list do not both report it).
    let (_, found) = findings(&p, &["sub"]);
    assert_eq!(found.len(), 1, "{found:?}");
}

/// A committed envshim.toml that is a symlink (here to a file holding a marker, as
/// `/proc/self/environ` or an identity would) is refused with exit 2, and nothing of the
/// target is printed — in the working tree and as a range's base; a range that adds
/// such a link is reported.
#[test]
fn a_symlinked_config_is_refused_without_quoting_its_target() {
    let p = Project::new();
    let marker = "MARKER_k7Q2xv9";
    let outside = p.home.join("private.txt");
    std::fs::write(
        &outside,
        format!("PATH=/usr/bin:{marker}\nTOKEN={marker}\n"),
    )
    .unwrap();
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");
    std::os::unix::fs::symlink(&outside, p.path("envshim.toml")).unwrap();
    let head = commit_all(&p, "link");

    // Found, or named explicitly with --config (as --baseline is): refused alike.
    let range = format!("{base}..HEAD");
    for args in [
        &["scan"][..],
        &["scan", "--staged"][..],
        &["scan", "--config", "envshim.toml"][..],
        &["scan", "--range", &range, "--config", "envshim.toml"][..],
    ] {
        refused_without_quoting(&p, args, &["envshim.toml", "not a regular file"], marker);
    }
    // The range that adds the link: scanned with the base's configuration, the link
    // reported.
    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    let r = r.code(1).never_shows(marker);
    assert_eq!(
        widened(&found)
            .into_iter()
            .map(|w| (w.0, w.1))
            .collect::<Vec<_>>(),
        vec![("envshim.toml".into(), head)],
        "{r:?}"
    );
    // An explicit --baseline that is a link is refused too, for reading and for update.
    std::os::unix::fs::symlink(&outside, p.path("b.json")).unwrap();
    p.write("ok.toml", "[scan]\n");
    for update in [false, true] {
        let mut args = vec![
            "scan",
            "--no-known",
            "--config",
            "ok.toml",
            "--baseline",
            "b.json",
        ];
        if update {
            args.push("--update-baseline");
        }
        let args = &args[..];
        refused_without_quoting(&p, args, &["b.json is not a regular file"], marker);
    }
    assert!(std::fs::read_to_string(&outside).unwrap().contains(marker));
    std::fs::remove_file(p.path("b.json")).unwrap();
    // A base that holds the link is refused.
    refused_without_quoting(
        &p,
        &["scan", "--no-known", "--range", "HEAD..HEAD"],
        &["not a regular file"],
        marker,
    );
}

/// Configuration and baseline errors name the file, line, column and kind, never the
/// content: a broken line that holds a marker never shows it.
#[test]
fn configuration_errors_never_quote_the_file() {
    let p = Project::new();
    let marker = "MARKER_p3Zr8w";
    let cases = [
        (
            format!("[scan]\nmax_file_size = \"{marker}\"\n"),
            "line 2, column 17: a value has the wrong type (`max_file_size`)",
        ),
        (format!("[scan]\n{marker} = 1\n"), "line 2, column 1: unknown key"),
        (format!("x = \"{marker}\n"), "line 1, column"),
        (
            format!("[[scan.rule]]\nid = \"mine\"\ndescription = \"d\"\nkeywords = [\"k\"]\nregex = \"({marker}\"\n"),
            "custom rule 1: `regex` is not a valid regular expression (unclosed group",
        ),
        (
            format!("[[scan.rule]]\nid = \"{marker} \\u001b[2J\"\ndescription = \"d\"\nkeywords = [\"k\"]\nregex = \"k\"\n"),
            "custom rule 1 has an id that is not a plain name",
        ),
        (
            format!("[scan.allowlist]\nsecrets = [\"({marker}\"]\n"),
            "entry 1 of `allowlist.secrets` is not a valid regular expression",
        ),
        (
            format!("[scan.allowlist]\npaths = [\"{marker}[\"]\n"),
            "entry 1 of `allowlist.paths` is not a valid glob",
        ),
    ];
    for (config, message) in &cases {
        p.write("envshim.toml", config);
        refused_without_quoting(
            &p,
            &["scan", "--no-known"],
            &["envshim.toml", message],
            marker,
        );
    }
    std::fs::remove_file(p.path("envshim.toml")).unwrap();
    p.write(
        "b.json",
        format!("{{\"version\": \"{marker}\", \"findings\": []}}\n"),
    );
    refused_without_quoting(
        &p,
        &["scan", "--no-known", "--baseline", "b.json"],
        &["b.json is not an envshim baseline: line 1, column"],
        marker,
    );
}

/// Ignore files above a scanned directory are read by the walk, and a bad pattern in
/// one is reported as a warning: the warning names the file and line, never the pattern
/// (an ignore file may hold anything; one that is a link, to `/proc/self/environ` say,
/// is refused before it is read).
#[test]
fn ignore_file_warnings_never_quote_the_file() {
    let p = Project::new();
    let marker = "MARKER_w4Vn1";
    p.write(".gitignore", format!("HOME=/x\nSECRET={marker}[z-a]\n"));
    p.write(".envshimignore", format!("{marker}\\\n"));
    p.write("sub/app.py", format!("T = '{}'\n", github_token()));
    let r = p.run(["scan", "--no-known", "sub"]);
    let r = r.code(1).never_shows(marker);
    assert!(
        r.stderr
            .contains(".gitignore: line 2: an ignore pattern is not valid")
            && r.stderr
                .contains(".envshimignore: line 1: an ignore pattern is not valid"),
        "{r:?}"
    );
}

/// Ignore files anywhere in the tree are watched, and only lines that hide a tracked
/// file count (adding `node_modules/` is no finding); a configuration file is watched
/// whatever its case (a case-insensitive file system reads `ENVSHIM.TOML`).
#[test]
fn widening_is_found_in_nested_ignore_files_and_any_case() {
    let p = Project::new();
    p.write("sub/app.py", "x = 1\n");
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");
    p.write(".gitignore", "node_modules/\n*.log\n");
    let harmless = commit_all(&p, "ignore build output");
    p.write("sub/.ignore", "*.py\n");
    p.write(
        "docs/ENVSHIM.TOML",
        "[scan.allowlist]\npaths = [\"docs/**\"]\n",
    );
    let widen = commit_all(&p, "hide");

    let (r, found) = findings(&p, &["--range", &format!("{base}..{harmless}")]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");
    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let files: Vec<(String, String)> = widened(&found)
        .into_iter()
        .map(|(path, commit, _)| (path, commit))
        .collect();
    assert_eq!(
        files,
        vec![
            ("docs/ENVSHIM.TOML".into(), widen.clone()),
            ("sub/.ignore".into(), widen),
        ]
    );
}

/// Scanning tracked files that an ignore rule hides never follows a symlink: a tracked
/// directory replaced in the working tree by a link to a directory outside is not read
/// (the walk does not follow links either). A guard for the tracked-files pass.
#[test]
fn tracked_files_behind_a_symlinked_directory_are_not_read() {
    let p = Project::new();
    p.write(".gitignore", "conf/\n");
    p.write("conf/x.txt", "nothing\n");
    git(&p, &["add", "-f", ".gitignore", "conf/x.txt"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "base"]).ok();
    let outside = p.home.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.txt"), format!("T = '{}'\n", github_token())).unwrap();
    std::fs::remove_dir_all(p.path("conf")).unwrap();
    std::os::unix::fs::symlink(&outside, p.path("conf")).unwrap();
    let (r, found) = findings(&p, &[]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");
}

/// A nested envshim.toml replaces the one above it for scans from its directory: adding
/// one that drops the root's custom rule and size limit is a widening; adding a copy of
/// the root's is not.
#[test]
fn a_nested_configuration_is_compared_with_the_one_it_replaces() {
    let p = Project::new();
    let root_config = "[scan]\nmax_file_size = 20000000\n\n[[scan.rule]]\nid = \"internal-key\"\ndescription = \"Internal key\"\nkeywords = [\"ik_\"]\nregex = '''ik_[a-z0-9]{20}'''\n";
    p.write("envshim.toml", root_config);
    p.write("src/app.py", "x = 1\n");
    let base = commit_all(&p, "base");
    p.write("src/envshim.toml", root_config);
    let copy = commit_all(&p, "copy");
    p.write("src/envshim.toml", "[scan]\n");
    let replace = commit_all(&p, "replace");

    let (r, found) = findings(&p, &["--range", &format!("{base}..{copy}")]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");
    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let widened = widened(&found);
    assert_eq!(widened.len(), 1, "{found:?}");
    assert_eq!(
        (widened[0].0.as_str(), widened[0].1.as_str()),
        ("src/envshim.toml", replace.as_str())
    );
    assert!(
        widened[0].2.contains("lowers max_file_size")
            && widened[0].2.contains("removes or changes custom rules"),
        "{widened:?}"
    );
    // Removing the nested file makes the root's apply again: a narrowing, no finding.
    std::fs::remove_file(p.path("src/envshim.toml")).unwrap();
    commit_all(&p, "remove");
    let (r, found) = findings(&p, &["--range", &format!("{replace}..HEAD")]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");
}

/// A lower `max_file_size` skips more files, so lowering it is the widening and raising
/// it is not; an absent value is the default (10 MiB): removing a limit above it lowers
/// the limit, removing one below it raises it.
#[test]
fn lowering_max_file_size_is_the_widening() {
    let p = Project::new();
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");
    p.write("envshim.toml", "[scan]\nmax_file_size = 70000\n");
    let lower = commit_all(&p, "lower");
    p.write("envshim.toml", "[scan]\nmax_file_size = 20000000\n");
    let raise = commit_all(&p, "raise");
    p.write("envshim.toml", "[scan]\n");
    let drop_high = commit_all(&p, "drop the high limit");
    p.write("envshim.toml", "[scan]\nmax_file_size = 100000\n");
    commit_all(&p, "lower again");
    p.write("envshim.toml", "[scan]\n");
    let drop_low = commit_all(&p, "drop the low limit");

    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let commits: Vec<String> = widened(&found).into_iter().map(|w| w.1).collect();
    let lower_again = git(&p, &["rev-parse", "HEAD~1"]).stdout.trim().to_string();
    let mut expected = vec![lower.clone(), drop_high.clone(), lower_again];
    expected.sort();
    let mut commits_sorted = commits.clone();
    commits_sorted.sort();
    assert_eq!(commits_sorted, expected, "{found:?}");
    assert!(
        widened(&found)
            .iter()
            .all(|w| w.2.contains("lowers max_file_size")),
        "{found:?}"
    );
    assert!(!commits.contains(&raise) && !commits.contains(&drop_low));
}

/// A working-tree scan under a memory limit and a time limit: a scan that reads a
/// `.gitignore` linked to `/dev/zero` or blocks on a FIFO fails here instead of eating
/// the machine or hanging.
fn bounded_scan(p: &Project, args: &str) -> Run {
    p.shell(&format!(
        "ulimit -v 2000000; exec timeout 30 \"$0\" scan --no-known {args}"
    ))
    .output()
    .expect("run envshim")
    .into()
}

/// Ignore files are read only when they are regular files: a committed `.gitignore`,
/// `.ignore` or `.envshimignore` (at the top or in a subdirectory) that links to
/// `/dev/zero`, or a FIFO in its place, stops the scan with a clean error naming it
/// (exit 2) instead of a hang. The directory is not skipped in silence either.
#[test]
fn an_ignore_file_that_is_not_a_regular_file_is_refused_not_read() {
    for name in [
        ".gitignore",
        ".ignore",
        ".envshimignore",
        "sub/.envshimignore",
        "sub/.gitignore",
    ] {
        let p = Project::new();
        p.write("sub/app.py", "x = 1\n");
        std::os::unix::fs::symlink("/dev/zero", p.path(name)).unwrap();
        commit_all(&p, "link");
        bounded_scan(&p, "").code(2).clean_error().stderr_has(&[
            name,
            "is a symbolic link; ignore files must be regular files",
        ]);
        // A scan of the subdirectory reads the ignore files above it too.
        bounded_scan(&p, "sub")
            .code(2)
            .stderr_has(&[name, "is a symbolic link"]);
    }
    let p = Project::new();
    p.write("sub/app.py", "x = 1\n");
    let fifo = p.path("sub/.ignore");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    bounded_scan(&p, "")
        .code(2)
        .clean_error()
        .stderr_has(&["sub/.ignore", "is not a regular file"]);
}

/// In `--range`, a `# public` mark added to a key of the example file (any
/// `*.env.secrets.example`) stops `known-secret` from searching for its value: it is
/// reported, naming the file and not the key. Removing a key, or keeping a mark the base
/// had, is not.
#[test]
fn a_public_mark_added_to_the_example_is_reported() {
    let p = Project::new();
    p.write(".env.secrets.example", "API_TOKEN_QX7=\nDB_URL=\n");
    p.write(
        "deploy/prod.env.secrets.example",
        "OTHER_KEY_QX7=\nKEPT= # public\n",
    );
    let base = commit_all(&p, "base");
    p.write(".env.secrets.example", "API_TOKEN_QX7= # public\nDB_URL=\n");
    let mark = commit_all(&p, "mark public");
    p.write("deploy/prod.env.secrets.example", "KEPT= # public\n");
    commit_all(&p, "remove a key");
    p.write(
        "deploy/prod.env.secrets.example",
        "KEPT= # public\nOTHER_KEY_QX7= # public\n",
    );
    let mark_other = commit_all(&p, "mark another");

    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1).never_shows("QX7");
    let widened = widened(&found);
    let files: Vec<(&str, &str)> = widened
        .iter()
        .map(|w| (w.0.as_str(), w.1.as_str()))
        .collect();
    let mut expected = vec![
        (".env.secrets.example", mark.as_str()),
        ("deploy/prod.env.secrets.example", mark_other.as_str()),
    ];
    expected.sort();
    let mut files_sorted = files.clone();
    files_sorted.sort();
    assert_eq!(files_sorted, expected, "{found:?}");
    assert!(
        widened
            .iter()
            .all(|w| w.2.contains("marks a key `# public`")),
        "{found:?}"
    );
    // The commit that only removes a key is clean.
    let (r, found) = findings(&p, &["--range", &format!("{mark}..HEAD~1")]);
    r.ok();
    assert!(found.is_empty(), "{found:?}");
}

/// A whole-tree `--update-baseline` while a rule is disabled keeps that rule's entries:
/// the run could not report them, so it cannot know they no longer match. Enabling the
/// rule again finds the accepted secret still accepted.
#[test]
fn an_update_while_a_rule_is_disabled_keeps_its_entries() {
    let p = Project::new();
    p.write("app.py", format!("T = '{}'\n", github_token()));
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 1 fingerprint"]);
    p.write(
        "envshim.toml",
        "[scan]\ndisable = [\"github-pat-classic\"]\n",
    );
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 1 fingerprint", "0 dropped"]);
    std::fs::remove_file(p.path("envshim.toml")).unwrap();
    p.run(["scan", "--no-known"])
        .ok()
        .stderr_has(&["1 suppressed"]);
}

/// Rule ids in the configuration file are not quoted in errors unless they are built-in
/// ids: a token pasted into `disable`, or as the id of two custom rules, passes as a
/// plain name but never appears in the output.
#[test]
fn rule_id_errors_never_quote_an_id_from_the_file() {
    let p = Project::new();
    p.write("app.py", "x = 1\n");
    let token = other_token();
    let rule = |id: &str| {
        format!("[[scan.rule]]\nid = \"{id}\"\ndescription = \"d\"\nkeywords = [\"k\"]\nregex = \"k[0-9]+\"\n")
    };
    let cases = [
        (
            format!("[scan]\ndisable = [\"github-pat-classic\", \"{token}\"]\n"),
            "entry 2 of `disable` names no rule".to_string(),
        ),
        (
            format!("{}{}", rule(&token), rule(&token)),
            "custom rule 2 has the same id as another".to_string(),
        ),
        (
            format!("{}{}", rule("mine"), rule("github-pat-classic")),
            "custom rule 2 has the id of the built-in rule `github-pat-classic`".to_string(),
        ),
    ];
    for (config, message) in &cases {
        p.write("envshim.toml", config);
        refused_without_quoting(&p, &["scan", "--no-known"], &[message], &token);
    }
}

/// Raising the confidence floor in envshim.toml reports fewer findings: in a range it
/// is a widening (an absent floor counts as low, what the pre-commit hook uses);
/// lowering it is not.
#[test]
fn raising_the_confidence_floor_is_a_widening() {
    let p = Project::new();
    p.write("README.md", "hello\n");
    let base = commit_all(&p, "base");
    p.write("envshim.toml", "[scan]\nconfidence = \"medium\"\n");
    let medium = commit_all(&p, "medium");
    p.write("envshim.toml", "[scan]\nconfidence = \"high\"\n");
    let high = commit_all(&p, "high");
    p.write("envshim.toml", "[scan]\nconfidence = \"low\"\n");
    let low = commit_all(&p, "low");
    let (r, found) = findings(&p, &["--range", &format!("{base}..HEAD")]);
    r.code(1);
    let widened = widened(&found);
    let commits: Vec<&str> = widened.iter().map(|w| w.1.as_str()).collect();
    assert_eq!(commits.len(), 2, "{found:?}");
    assert!(commits.contains(&medium.as_str()) && commits.contains(&high.as_str()));
    assert!(!commits.contains(&low.as_str()));
    assert!(
        widened
            .iter()
            .all(|w| w.0 == "envshim.toml" && w.2.contains("raises the confidence floor")),
        "{widened:?}"
    );
}
