//! What a scan shows and keeps (issue 11, items 7, 8, 10, 12, 14): repository text on a
//! terminal and in CI logs, redaction of encoded secrets, salted slow fingerprints,
//! baselines read by default and updated additively, a quiet hook, progress, and
//! fingerprints that do not depend on where the scan runs from.
//!
//! Fake tokens are assembled at run time (prefix + body) so that this source file does
//! not itself look like a leak to a scanner.

use std::path::Path;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::*;

/// A fake GitHub classic token; `n` picks one of several (generated, not real keys).
fn token(n: usize) -> String {
    let body = "Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru";
    let rotated = format!("{}{}", &body[n % body.len()..], &body[..n % body.len()]);
    format!("{}{}", "ghp_", rotated)
}

/// Runs envshim in `dir` with `args`.
fn run_in(p: &Project, dir: &Path, args: &[&str]) -> Run {
    p.envshim()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// (path, fingerprint) of each finding of a `--format json` run, sorted.
fn fingerprints(r: &Run) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn baseline(p: &Project) -> Value {
    serde_json::from_str(&p.read(".envshim-baseline.json")).unwrap()
}

fn baseline_len(p: &Project) -> usize {
    baseline(p)["findings"].as_array().unwrap().len()
}

/// What terminals and CI runners would act on: escape and bell characters, C1 controls,
/// bidi controls, a line that starts with `::` (GitHub runs it), `##[` anywhere in a line
/// (GitHub, Azure Pipelines).
fn assert_inert(what: &str, text: &str) {
    for c in text.chars() {
        let acts = (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
        assert!(!acts, "{what} holds {c:?}:\n{text}");
    }
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::") || line.starts_with("::error file="),
            "{what} has a line that is a workflow command: {line:?}"
        );
        assert!(
            !line.contains("##[") && !line.contains("##vso["),
            "{what} has a log command: {line:?}"
        );
    }
}

/// Item 7: rule ids and descriptions from `envshim.toml` and file names reach the text
/// report, stderr and GitHub annotations with every control character, bidi control and
/// CI log command made visible and inert; JSON and SARIF keep the exact text.
#[test]
fn repository_text_is_shown_escaped_and_cannot_command_a_terminal_or_ci() {
    let p = Project::new();
    // A rule id must be a plain name; one with controls is refused, and the refusal is
    // inert too.
    let crafted = "acme\u{1b}]0;pwned\u{7}";
    p.write(
        "envshim.toml",
        format!(
            "[[scan.rule]]\nid = {}\ndescription = \"d\"\nkeywords = [\"acme_\"]\n\
             regex = '''(?P<secret>acme_[a-z0-9]{{20}})'''\n",
            toml_string(crafted)
        ),
    );
    let r = p.run(["scan", "--no-known"]).code(2);
    assert_inert("refused id", &r.stderr);
    assert!(!r.stderr.contains("pwned"), "{}", r.stderr);
    let id = "acme-token";
    let description = "ACME \u{1b}[2J\u{202e}txt.exe ##[add-mask]x\n::error::injected";
    p.write(
        "envshim.toml",
        format!(
            "[[scan.rule]]\nid = {}\ndescription = {}\nkeywords = [\"acme_\"]\n\
             regex = '''(?P<secret>acme_[a-z0-9]{{20}})'''\n",
            toml_string(id),
            toml_string(description)
        ),
    );
    let secret = format!("{}{}", "acme_", "q8rt1mwc4lp0vx7hn2kd");
    let names = [
        "::set-output name=x::y.py",
        "red\u{1b}[31m.py",
        "nl\n::error file=z::forged.py",
        "rtl\u{202e}yp.txt",
        "ci ##[add-mask]m.py",
    ];
    for name in names {
        p.write(name, format!("key = {secret}\n"));
    }

    let r = p.run(["scan", "--no-known"]).code(1).never_shows(&secret);
    assert_inert("text stdout", &r.stdout);
    assert_inert("text stderr", &r.stderr);
    // Shown, not obeyed.
    for shown in ["\\e[2J\\u{202e}txt.exe", "#\\x23[add-mask]"] {
        assert!(r.stdout.contains(shown), "lacks {shown:?}:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("\\x3a:set-output"), "{}", r.stdout);

    // GitHub annotations: one command per finding, each with exactly its four properties.
    let r = p.run(["scan", "--no-known", "--format", "github"]).code(1);
    assert_inert("annotations", &r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), names.len(), "{}", r.stdout);
    for line in lines {
        // As the runner parses it: the command and properties end at the next `::`.
        let rest = line.strip_prefix("::error ").expect(line);
        let end = rest.find("::").expect(line);
        let properties: Vec<&str> = rest[..end].split(',').collect();
        let keys: Vec<&str> = properties
            .iter()
            .map(|p| p.split('=').next().unwrap())
            .collect();
        assert_eq!(keys, ["file", "line", "col", "title"], "{line}");
    }

    // JSON and SARIF: exact text (serde escapes it), nothing lost.
    let r = p.run(["scan", "--no-known", "--format", "json"]).code(1);
    let report = r.json();
    let mut paths: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["rule"], id);
            assert_eq!(f["description"], description);
            f["path"].as_str().unwrap()
        })
        .collect();
    paths.sort_unstable();
    let mut expected = names.to_vec();
    expected.sort_unstable();
    assert_eq!(paths, expected);
    let r = p.run(["scan", "--no-known", "--format", "sarif"]).code(1);
    let sarif = r.json();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], id);

    // Configuration errors quote nothing of the file (so nothing to escape).
    p.write(
        "envshim.toml",
        format!("[scan]\ndisable = [{}]\n", toml_string(description)),
    );
    let r = p.run(["scan", "--no-known"]).code(2);
    assert_inert("error", &r.stderr);
    assert!(!r.stderr.contains("[2J"), "{r:?}");
}

/// Item 7: the same for `--staged`, where paths come from git, and for the pre-commit
/// hook's whole output.
#[test]
fn the_hook_shows_repository_text_escaped() {
    let p = Project::new();
    p.write(
        "envshim.toml",
        format!(
            "[[scan.rule]]\nid = \"acme-token\"\ndescription = {}\nkeywords = [\"acme_\"]\n\
             regex = '''(?P<secret>acme_[a-z0-9]{{20}})'''\n",
            toml_string("ACME \u{1b}]8;;http://x\u{7}link\n::add-mask::x")
        ),
    );
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "config"]).ok();
    p.run(["hook", "install"]).ok();
    let secret = format!("{}{}", "acme_", "q8rt1mwc4lp0vx7hn2kd");
    p.write("tab\t\u{1b}[8m.py", format!("key = {secret}\n"));
    git(&p, &["add", "-A"]).ok();
    let r = git(&p, &["commit", "-q", "-m", "leak"]).code(1);
    assert_inert("hook stdout", &r.stdout);
    assert_inert("hook stderr", &r.stderr);
    // (git shows a hook's standard output on its standard error)
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("tab\\t\\e[8m.py"), "{r:?}");
    assert!(
        all.contains("\\e]8;;http://x\\x07link\\n::add-mask"),
        "{r:?}"
    );
}

fn toml_string(text: &str) -> String {
    // TOML basic strings take \uXXXX escapes for every character outside printable ASCII.
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Item 8: an encoded known value is redacted on its decoded value — a 12-character
/// secret shows 2 characters whatever its encoding, never an encoded prefix that decodes
/// to more (`VHIw…` is 3 characters of the secret).
#[test]
fn encoded_known_values_are_redacted_on_the_decoded_secret() {
    let p = Project::initialized();
    // envshim:allow: made-up passwords for the redaction test
    let short = "Tr0ub4dor&3x";
    let long = "Correct-Horse-Battery-9";
    p.set("DB_PASSWORD", short, &[]).ok();
    p.set("API_PASSWORD", long, &[]).ok();
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    p.write("plain.txt", format!("pw {short}\n"));
    p.write("b64.yaml", format!("password: {}\n", b64.encode(short)));
    p.write("url.txt", format!("t={}\n", url.encode(long)));
    // envshim:allow: the same made-up password, percent-encoded
    p.write("pct.txt", "url = postgres://app:Tr0ub4dor%263x@db/app\n");
    p.write("long.yaml", format!("password: {}\n", b64.encode(long)));
    let r = p.run(["scan", "--format", "json"]).code(1);
    let r = r.never_shows(short).never_shows(long);
    let mut shown: Vec<(String, String, String)> = r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "known-secret")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["redacted"].as_str().unwrap().to_string(),
                f["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    shown.sort();
    let expect = |path: &str, redacted: &str, form: &str| {
        let found = shown
            .iter()
            .find(|(p, _, _)| p == path)
            .unwrap_or_else(|| panic!("no known-secret finding in {path}: {shown:?}"));
        assert_eq!(found.1, redacted, "{path}: {shown:?}");
        assert!(found.2.contains(form), "{path}: {shown:?}");
    };
    expect("plain.txt", "Tr…(12 chars)", "DB_PASSWORD");
    expect("b64.yaml", "Tr…(12 chars)", "(base64-encoded)");
    expect("pct.txt", "Tr…(12 chars)", "(percent-encoded)");
    expect("long.yaml", "Corr…(23 chars)", "(base64-encoded)");
    expect("url.txt", "Corr…(23 chars)", "(URL-safe base64)");
    // The text report says the same.
    let r = p.run(["scan"]).code(1);
    assert!(!r.stdout.contains("VHIw"), "{}", r.stdout);
}

/// The format-1 fingerprint: unsalted SHA-256 of rule, path and secret.
fn v1_fingerprint(rule: &str, path: &str, secret: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("envshim-fingerprint-v1\0{rule}\0{path}\0{secret}"));
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Item 8: a report's fingerprint does not confirm a guess by a fast hash: it is not the
/// unsalted SHA-256 of rule, path and secret; it is stable from run to run (code
/// scanning matches alerts by it); once the repository has a baseline it is salted
/// with the baseline's own random salt, so two repositories holding the same secret at
/// the same path show different fingerprints. The baseline holds no length.
#[test]
fn fingerprints_are_salted_per_repository_and_not_a_fast_hash() {
    let t = token(0);
    let make = || {
        let p = Project::new();
        p.write("app.py", format!("T = '{t}'\n"));
        p
    };
    let (a, b) = (make(), make());
    let scan = |p: &Project| fingerprints(&p.run(["scan", "--no-known", "--format", "json"]));
    let first = scan(&a);
    assert_eq!(first.len(), 1);
    assert_ne!(
        first[0].1,
        v1_fingerprint("github-pat-classic", "app.py", &t)
    );
    assert_eq!(first, scan(&a), "stable from run to run");
    // SARIF carries the same.
    let sarif = a.run(["scan", "--no-known", "--format", "sarif"]).json();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(
        result["partialFingerprints"]["envshim/v2"],
        first[0].1.as_str()
    );

    for p in [&a, &b] {
        p.run(["scan", "--no-known", "--update-baseline"])
            .ok()
            .stderr_has(&["wrote 1 fingerprint", "(1 new, 0 dropped)"]);
        let file = baseline(p);
        assert_eq!(file["version"], 2);
        let salt = file["salt"].as_str().unwrap();
        assert!(
            salt.len() >= 32 && salt.bytes().all(|c| c.is_ascii_hexdigit()),
            "{salt}"
        );
        let entry = &file["findings"][0];
        let mut keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["fingerprint", "path", "rule"],
            "nothing else, no length"
        );
        let mut top: Vec<&String> = file.as_object().unwrap().keys().collect();
        top.sort();
        assert_eq!(top, ["findings", "salt", "version"]);
    }
    let (salted_a, salted_b) = (
        fingerprints(&a.run(["scan", "--no-known", "--no-baseline", "--format", "json"])),
        fingerprints(&b.run(["scan", "--no-known", "--no-baseline", "--format", "json"])),
    );
    assert_eq!(salted_a, first, "--no-baseline: the fixed salt");
    assert_ne!(baseline(&a)["salt"], baseline(&b)["salt"]);
    assert_ne!(
        baseline(&a)["findings"][0]["fingerprint"],
        baseline(&b)["findings"][0]["fingerprint"],
        "same secret, same path, another repository: another fingerprint"
    );
    assert_eq!(salted_b, first);
    // A crafted baseline: a short salt or an unknown format is bad input, not "allow all".
    a.write(
        ".envshim-baseline.json",
        r#"{"version": 2, "salt": "00", "findings": []}"#,
    );
    a.run(["scan", "--no-known"])
        .code(2)
        .clean_error()
        .stderr_has(&["not an envshim baseline", "salt"]);
    a.write(
        ".envshim-baseline.json",
        r#"{"version": 3, "findings": []}"#,
    );
    a.run(["scan", "--no-known"]).code(2).clean_error();
    // An entry that would match a finding whose fingerprint was never computed.
    a.write(
        ".envshim-baseline.json",
        format!(
            r#"{{"version": 2, "salt": "{}", "findings": [{{"fingerprint": "", "rule": "github-pat-classic", "path": "other.py"}}]}}"#,
            "ab".repeat(16)
        ),
    );
    a.run(["scan", "--no-known"])
        .code(2)
        .clean_error()
        .stderr_has(&["not an envshim baseline"]);
}

/// Item 8: a format-1 baseline (unsalted) is still read; the next update writes format 2
/// and its entries are converted.
#[test]
fn old_baselines_still_suppress_and_are_rewritten_in_format_2() {
    let p = Project::new();
    let t = token(1);
    p.write("app.py", format!("T = '{t}'\n"));
    p.write("lib.py", format!("T = '{t}'\n"));
    let entry = |path: &str| {
        format!(
            r#"{{"fingerprint": "{}", "rule": "github-pat-classic", "path": "{path}"}}"#,
            v1_fingerprint("github-pat-classic", path, &t)
        )
    };
    p.write(
        ".envshim-baseline.json",
        format!(
            r#"{{"version": 1, "findings": [{}, {}]}}"#,
            entry("app.py"),
            entry("lib.py")
        ),
    );
    p.run(["scan", "--no-known"])
        .ok()
        .stderr_has(&["2 suppressed"]);
    // A partial update converts what it saw and keeps the rest as it was.
    p.run(["scan", "--no-known", "--update-baseline", "app.py"])
        .ok()
        .stderr_has(&[
            "wrote 1 fingerprint",
            "(0 new, 0 dropped",
            "1 old entry kept",
        ]);
    let file = baseline(&p);
    assert_eq!(file["version"], 2);
    assert_eq!(file["unsalted_v1"].as_array().unwrap().len(), 1);
    p.run(["scan", "--no-known"])
        .ok()
        .stderr_has(&["2 suppressed"]);
    // A whole-repository update converts everything.
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 2 fingerprints", "(0 new, 0 dropped)"]);
    let file = baseline(&p);
    assert!(file.get("unsalted_v1").is_none(), "{file}");
    assert!(!p.read(".envshim-baseline.json").contains(&v1_fingerprint(
        "github-pat-classic",
        "app.py",
        &t
    )));
    p.run(["scan", "--no-known"])
        .ok()
        .stderr_has(&["2 suppressed"]);
}

/// Item 10: the default baseline is read without `--baseline` (by `scan` and the hook),
/// and `scan --staged --update-baseline` adds to a 6-entry baseline instead of replacing
/// it; only an update from a scan of the whole working tree drops entries.
#[test]
fn the_default_baseline_is_read_and_partial_updates_only_add() {
    let p = Project::new();
    p.run(["hook", "install"]).ok();
    for n in 0..6 {
        p.write(&format!("old{n}.py"), format!("T = '{}'\n", token(n)));
    }
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "old"]).ok();
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 6 fingerprints", "(6 new, 0 dropped)"]);
    assert_eq!(baseline_len(&p), 6);
    // Read by default: the accepted findings no longer fail the scan.
    p.run(["scan", "--no-known"])
        .ok()
        .stderr_has(&["6 suppressed"]);
    p.run(["scan", "--no-known", "--no-baseline"]).code(1);

    // The issue's repro: two new secrets staged, then a staged update.
    p.write("new0.py", format!("T = '{}'\n", token(10)));
    p.write("new1.py", format!("T = '{}'\n", token(11)));
    git(&p, &["add", "-A"]).ok();
    p.run(["scan", "--no-known", "--staged"]).code(1);
    p.run(["scan", "--no-known", "--staged", "--update-baseline"])
        .ok()
        .stderr_has(&[
            "wrote 8 fingerprints",
            "(2 new, 0 dropped; a partial scan only adds)",
        ]);
    assert_eq!(baseline_len(&p), 8, "the six old entries are kept");
    git(&p, &["add", "-A"]).ok();
    // The hook reads it too: the commit goes through.
    git(&p, &["commit", "-q", "-m", "accepted"]).ok();

    // A partial scan from a subdirectory drops nothing, even of entries it cannot see.
    std::fs::create_dir_all(p.path("sub")).unwrap();
    p.write("sub/x.py", "x = 1\n");
    for n in 0..3 {
        std::fs::remove_file(p.path(&format!("old{n}.py"))).unwrap();
    }
    run_in(
        &p,
        &p.path("sub"),
        &["scan", "--no-known", "--update-baseline"],
    )
    .ok()
    .stderr_has(&["(0 new, 0 dropped; a partial scan only adds)"]);
    assert_eq!(baseline_len(&p), 8);
    // The whole working tree: entries whose findings are gone are dropped, and it says so.
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 5 fingerprints", "(0 new, 3 dropped)"]);
    assert_eq!(baseline_len(&p), 5);
    // An explicit baseline that does not exist is still an error, not "allow all".
    p.run(["scan", "--no-known", "--baseline", "nope.json"])
        .code(2)
        .clean_error();
}

/// Item 14: the path in a fingerprint is repository-relative in every mode, so a
/// baseline written at the root suppresses the same findings from a subdirectory, with
/// an absolute path, from outside the repository, and in `--staged`.
#[test]
fn fingerprints_do_not_depend_on_where_the_scan_runs_from() {
    let p = Project::new();
    p.write("src/app.py", format!("T = '{}'\n", token(2)));
    p.write("lib/util.py", format!("T = '{}'\n", token(3)));
    let at_root = fingerprints(&p.run(["scan", "--no-known", "--format", "json"]));
    assert_eq!(at_root.len(), 2);
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 2 fingerprints"]);
    let file = baseline(&p);
    let mut paths: Vec<&str> = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(paths, ["lib/util.py", "src/app.py"]);
    let baseline_file = p.path(".envshim-baseline.json");
    let baseline_arg = baseline_file.to_str().unwrap();
    let root = p.root.to_str().unwrap();

    let src = p.path("src");
    let app = p.path("src/app.py");
    let cases: Vec<(&Path, Vec<&str>)> = vec![
        (&src, vec![]),
        (&src, vec!["../lib"]),
        (&src, vec!["app.py"]),
        (&p.root, vec![root]),
        (&p.home, vec![root]),
        (&p.home, vec![app.to_str().unwrap()]),
    ];
    for (dir, paths) in cases {
        let mut args = vec!["scan", "--no-known", "--baseline", baseline_arg];
        args.extend(paths.iter().copied());
        let r = run_in(&p, dir, &args);
        assert_eq!(r.code, 0, "from {dir:?} with {paths:?}: {r:?}");
        assert!(r.stderr.contains("suppressed"), "{r:?}");
        // The same fingerprints as at the root, whatever the reported path.
        args.retain(|a| *a != "--baseline" && *a != baseline_arg);
        args.extend(["--no-baseline", "--format", "json"]);
        let here: Vec<String> = fingerprints(&run_in(&p, dir, &args))
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        assert!(
            here.iter().all(|f| at_root.iter().any(|(_, r)| r == f)) && !here.is_empty(),
            "from {dir:?} with {paths:?}: {here:?} vs {at_root:?}"
        );
    }
    // The default baseline is found from a subdirectory too.
    run_in(&p, &src, &["scan", "--no-known"]).ok();
    // --staged, run from a subdirectory.
    git(&p, &["add", "-A"]).ok();
    run_in(
        &p,
        &src,
        &["scan", "--no-known", "--staged", "--baseline", baseline_arg],
    )
    .ok();
    run_in(&p, &src, &["scan", "--no-known", "--staged"]).ok();

    // Outside git: relative to the scanned directory, wherever the scan runs from.
    let plain = p.home.join("plain");
    std::fs::create_dir_all(plain.join("deep")).unwrap();
    std::fs::write(plain.join("deep/k.py"), format!("T = '{}'\n", token(4))).unwrap();
    run_in(
        &p,
        &p.home,
        &["scan", "--no-known", "--update-baseline", "plain"],
    )
    .ok();
    let written = plain.join(".envshim-baseline.json");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.contains("\"deep/k.py\""), "{text}");
    let written = written.to_str().unwrap();
    run_in(&p, &plain, &["scan", "--no-known"]).ok();
    run_in(
        &p,
        &plain.join("deep"),
        &["scan", "--no-known", "--baseline", written, ".."],
    )
    .ok();
}

/// Item 12: a clean `--staged` (every commit through the hook) prints nothing at all —
/// not a summary, not a note about a missing identity; a blocked commit states its
/// advice once, with the deliberate way out.
#[test]
fn a_clean_staged_scan_is_silent_and_a_blocked_commit_advises_once() {
    let p = Project::initialized();
    p.run(["hook", "install"]).ok();
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "-m", "init"]).ok();
    p.write("clean.py", "x = 1\n");
    git(&p, &["add", "clean.py"]).ok();
    let r = p.run(["scan", "--staged"]).ok();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""), "{r:?}");
    // Without an identity the known values cannot be searched: still silent when clean.
    let elsewhere = p.home.join("no-identity");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let r: Run = p
        .envshim()
        .env("HOME", &elsewhere)
        .args(["scan", "--staged"])
        .output()
        .unwrap()
        .into();
    let r = r.ok();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""), "{r:?}");
    // The hook adds nothing to a clean commit.
    let r = git(&p, &["commit", "-q", "-m", "clean"]).ok();
    assert!(
        !r.stderr.contains("envshim") && r.stdout.is_empty(),
        "{r:?}"
    );

    // A blocked commit: the findings, then the advice once, with --no-verify in it.
    p.write("leak.py", format!("T = '{}'\n", token(5)));
    git(&p, &["add", "leak.py"]).ok();
    let r = git(&p, &["commit", "-q", "-m", "leak"]).code(1);
    let all = format!("{}{}", r.stdout, r.stderr);
    for once in [
        "envshim:allow",
        "git commit --no-verify",
        "rotate",
        "--update-baseline",
    ] {
        assert_eq!(
            all.matches(once).count(),
            1,
            "{once:?} not exactly once:\n{all}"
        );
    }
    assert!(all.contains("leak.py:1:6"), "{all}");
    assert!(
        all.contains("envshim scan --staged --update-baseline"),
        "{all}"
    );
    // Other modes still end with a summary line.
    p.run(["scan", "--no-known", "clean.py"])
        .ok()
        .stderr_has(&["0 findings in 1 file"]);
}

/// Item 12: on a terminal, a working-tree scan shows files, bytes and rate while it runs.
#[test]
fn progress_on_a_terminal_shows_files_bytes_and_rate() {
    let p = Project::new();
    // Enough text that the scan outlasts a few ticks of the spinner in a debug build.
    let line = "let value = compute(alpha, beta, gamma); // nothing secret here at all\n";
    let body = line.repeat(4000);
    for n in 0..150 {
        p.write(&format!("d{}/f{n}.rs", n % 10), &body);
    }
    let mut cmd = p.envshim();
    cmd.args(["scan", "--no-known", "--threads", "1"]);
    let r = on_terminal(&mut cmd, &[]).ok();
    let shown = r.stdout.replace('\r', "\n");
    let progress: Vec<&str> = shown.lines().filter(|l| l.contains("scanning:")).collect();
    assert!(
        progress.iter().any(|l| {
            // `scanning: 37 files, 10.55 MiB (4.12 MiB/s), 2s`
            let Some(rest) = l.split("scanning: ").nth(1) else {
                return false;
            };
            let files: u64 = rest.split(' ').next().unwrap().parse().unwrap_or(0);
            files > 0 && rest.contains(" files, ") && rest.contains("B (") && rest.contains("B/s)")
        }),
        "no progress line with files, bytes and rate:\n{shown}"
    );
    assert!(shown.contains("0 findings in 150 files"), "{shown}");
}

/// Item 14, documented behaviour (README): `.gitignore` says what git will not commit,
/// so it is honoured inside a git repository only; outside one every file is scanned
/// (an export, a build context or a backup may be copied whole), except what
/// `.envshimignore` or `.ignore` excludes, which apply everywhere.
#[test]
fn gitignore_applies_inside_git_only_and_envshimignore_everywhere() {
    let p = Project::new();
    let plain = p.home.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    for dir in [p.root.as_path(), plain.as_path()] {
        for (n, name) in ["kept.py", "gitignored.py", "envshimignored.py"]
            .iter()
            .enumerate()
        {
            std::fs::write(dir.join(name), format!("T = '{}'\n", token(20 + n))).unwrap();
        }
        std::fs::write(dir.join(".gitignore"), "gitignored.py\n").unwrap();
        std::fs::write(dir.join(".envshimignore"), "envshimignored.py\n").unwrap();
    }
    let found = |dir: &Path| -> Vec<String> {
        fingerprints(&run_in(
            &p,
            dir,
            &["scan", "--no-known", "--format", "json"],
        ))
        .into_iter()
        .map(|(path, _)| path)
        .collect()
    };
    assert_eq!(found(&p.root), ["kept.py"]);
    assert_eq!(found(&plain), ["gitignored.py", "kept.py"]);
}

/// Item 10: even an update from the whole working tree keeps what that run could not
/// see — `known-secret` entries when the values are not searched (`--no-known`, or no
/// identity), entries of files it could not read — and the repository's default
/// baseline must be a regular file (a link to `/dev/zero` is refused, not read forever).
#[test]
fn a_whole_update_keeps_what_it_could_not_see_and_the_default_baseline_is_a_file() {
    let p = Project::initialized();
    // envshim:allow: a made-up password
    let password = "pw-Tr0ub4dor&3!x";
    p.set("DB_PASSWORD", password, &[]).ok();
    p.write("notes.txt", format!("db login uses {password}\n"));
    p.write("app.py", format!("T = '{}'\n", token(7)));
    p.run(["scan", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 2 fingerprints", "(2 new, 0 dropped)"]);
    p.run(["scan", "--no-known", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 2 fingerprints", "(0 new, 0 dropped)"]);
    let rules: Vec<String> = baseline(&p)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rule"].as_str().unwrap().to_string())
        .collect();
    assert!(rules.contains(&"known-secret".to_string()), "{rules:?}");
    p.run(["scan"]).ok().stderr_has(&["2 suppressed"]);
    if !is_root() {
        // An unreadable file: its entry stays.
        set_mode(&p.path("app.py"), 0o000);
        p.run(["scan", "--update-baseline"])
            .ok()
            .stderr_has(&["(0 new, 0 dropped; a partial scan only adds)"]);
        set_mode(&p.path("app.py"), 0o644);
        assert_eq!(baseline_len(&p), 2);
    }

    std::fs::remove_file(p.path(".envshim-baseline.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.path(".envshim-baseline.json")).unwrap();
    p.run(["scan", "--no-known"])
        .code(2)
        .clean_error()
        .stderr_has(&["not a regular file", "--no-baseline"]);
    p.run(["scan", "--no-known", "--no-baseline"]).code(1);
}

/// Item 8: a password people chose cannot be confirmed from a report or a baseline at
/// any cost per guess: its fingerprint names the place (rule, path, what precedes it on
/// its line), not the password. A provider token's fingerprint still follows the token.
#[test]
fn a_chosen_password_is_not_in_its_fingerprint() {
    let p = Project::new();
    let scan = |p: &Project| {
        // Generic password findings are low confidence: shown on request.
        let r = p
            .run([
                "scan",
                "--no-known",
                "--confidence",
                "low",
                "--format",
                "json",
            ])
            .code(1);
        let report = r.json();
        let findings = report["findings"].as_array().unwrap().clone();
        findings
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap().to_string(),
                    f["fingerprint"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    // envshim:allow: made-up passwords
    p.write("settings.py", "db_password = \"Winter2025!xQ\"\n");
    let first = scan(&p);
    assert_eq!(first.len(), 1, "{first:?}");
    // Another password at the same place: the same fingerprint, so no guess can be
    // checked against it. Moved down a line: the same too.
    // envshim:allow: made-up passwords
    p.write("settings.py", "\n\ndb_password = \"Qz7#Lm2!vR9wKp\"\n");
    assert_eq!(scan(&p), first);
    // A token's fingerprint follows the token.
    p.write("settings.py", format!("T = '{}'\n", github_token()));
    let token = scan(&p);
    p.write(
        "settings.py",
        format!(
            "T = '{}{}'\n",
            "ghp_", "Ab8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru"
        ),
    );
    let other = scan(&p);
    assert_eq!(token[0].0, other[0].0);
    assert_ne!(token[0].1, other[0].1);
}
