//! `envshim scan` in working-tree mode.
//!
//! Fake tokens are assembled at run time (prefix + body) so that this source file does
//! not itself look like a leak to a scanner.

use std::fs;
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;

use crate::util::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    findings: Vec<JsonFinding>,
    summary: JsonSummary,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFinding {
    rule: String,
    description: String,
    path: String,
    line: usize,
    column: usize,
    commit: Option<String>,
    confidence: String,
    redacted: String,
    fingerprint: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSummary {
    files: u64,
    bytes: u64,
    skipped: u64,
    suppressed: u64,
    below_confidence: u64,
    elapsed_ms: u64,
}

fn json(p: &Project, args: &[&str]) -> (Run, Report) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let r = p.run(&all);
    let report: Report = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r:?}"));
    (r, report)
}

fn rules_of(report: &Report) -> Vec<(String, String, usize)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.path.clone(), f.line))
        .collect()
}

#[test]
fn finds_tokens_in_hidden_files_and_respects_ignore_files() {
    let p = Project::new();
    let token = github_token();
    p.write(
        "src/config.py",
        format!("import os\n\nGITHUB_TOKEN = \"{token}\"\n"),
    );
    p.write(
        ".github/workflows/ci.yml",
        format!("env:\n  TOKEN: {token}\n"),
    );
    p.write(
        ".npmrc",
        format!("//registry.example.org/:_authToken=x\ngh={token}\n"),
    );
    p.write("ignored/by-gitignore.txt", &token);
    p.write(".gitignore", "ignored/\n");
    p.write("skipped/by-envshimignore.txt", &token);
    p.write(".envshimignore", "skipped/\n");
    p.write(".git/config-leak", &token);
    let started = Instant::now();
    let (r, report) = json(&p, &[]);
    let wall_ms = started.elapsed().as_millis() as u64;
    let r = r.code(1);
    let mut paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![".github/workflows/ci.yml", ".npmrc", "src/config.py"],
        "{r:?}"
    );
    let f = report
        .findings
        .iter()
        .find(|f| f.path == "src/config.py")
        .unwrap();
    assert_eq!((f.line, f.column), (3, 17));
    assert_eq!(f.redacted, "ghp_…(40 chars)");
    assert_eq!(f.commit, None);
    assert_eq!(f.fingerprint.len(), 32);
    assert!(!f.description.is_empty());
    assert!(report.summary.files >= 5 && report.summary.bytes > 0);
    // The scan's own time is part of the run the test timed, and counted in milliseconds.
    assert!(
        report.summary.elapsed_ms <= wall_ms,
        "elapsed_ms {} > {wall_ms} ms measured around the whole run",
        report.summary.elapsed_ms
    );
}

#[test]
fn clean_trees_exit_0_and_findings_exit_1() {
    let p = Project::new();
    p.write(
        "README.md",
        "Set GITHUB_TOKEN in your CI settings; never commit it.\n",
    );
    p.write(
        "src/main.rs",
        "fn main() { let token = std::env::var(\"TOKEN\"); }\n",
    );
    p.run(["scan"]).ok().stderr_has(&["0 findings"]);
    p.write(
        "src/leak.rs",
        format!("const K: &str = \"{}\";\n", stripe_key()),
    );
    let r = p.run(["scan"]).code(1);
    assert!(r.stdout.contains("src/leak.rs:1:18"), "{r:?}");
    assert!(r.stdout.contains("envshim set NAME"), "{r:?}");
    p.run(["scan", "no/such/path"])
        .code(2)
        .clean_error()
        .stderr_has(&["no/such/path"]);
}

#[test]
fn no_output_format_contains_a_whole_secret() {
    let p = Project::new();
    let secrets = [github_token(), stripe_key()];
    p.write(
        "a.env.yaml",
        format!("a: {}\nb: {}\n", secrets[0], secrets[1]),
    );
    p.write(".env", "DB_PASSWORD=Zr8v!Qm2#Lx5Tn9w\n");
    for format in ["text", "json", "sarif", "github"] {
        let r = p.run(["scan", "--format", format]).code(1);
        for secret in secrets
            .iter()
            .map(String::as_str)
            .chain(["Zr8v!Qm2#Lx5Tn9w"])
        {
            r.stdout
                .contains(secret)
                .then(|| panic!("{format} shows {secret}"));
            r.stderr
                .contains(secret)
                .then(|| panic!("{format} shows {secret}"));
        }
    }
    p.run(["scan", "--update-baseline"]).ok();
    let baseline = p.read(".envshim-baseline.json");
    for secret in &secrets {
        assert!(!baseline.contains(secret.as_str()));
    }
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let p = Project::new();
    p.write(
        "src/a.py",
        format!("T = '{}'\nS = '{}'\n", github_token(), stripe_key()),
    );
    p.write("dir with space/b.txt", github_token());
    let r = p.run(["scan", "--format", "sarif"]).code(1);
    let sarif = p.write("out.sarif", &r.stdout);
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemas/sarif-schema-2.1.0.json"
    );
    let check = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n\
             jsonschema.validate(doc, schema)\n\
             results = doc['runs'][0]['results']\n\
             assert len(results) == 3, results\n\
             print('valid')",
            schema,
        ])
        .arg(&sarif)
        .output()
        .unwrap();
    let check: Run = check.into();
    check.ok();
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let uris = sarif_uris(&doc);
    assert!(uris.contains(&"dir%20with%20space/b.txt"), "{uris:?}");
}

#[test]
fn github_annotations() {
    let p = Project::new();
    p.write("src/a,b.py", format!("\nT = '{}'\n", github_token()));
    let r = p.run(["scan", "--format", "github"]).code(1);
    let line = r.stdout.lines().next().unwrap();
    assert!(
        line.starts_with("::error file=src/a%2Cb.py,line=2,col=6,title=envshim%3A "),
        "{line}"
    );
    assert!(
        line.contains("::") && line.ends_with("ghp_…(40 chars)"),
        "{line}"
    );
}

#[test]
fn inline_allows_config_allowlists_and_baselines_suppress_and_are_counted() {
    let p = Project::new();
    let t = github_token();
    p.write(
        "same-line.txt",
        format!("token = {t} # envshim:allow test fixture\n"),
    );
    p.write(
        "line-before.txt",
        format!("# envshim:allow: documented fake\ntoken = {t}\n"),
    );
    p.write("fixtures/a.txt", format!("token = {t}\n"));
    p.write(
        "envshim.toml",
        "[scan.allowlist]\npaths = [\"fixtures/**\"]\n",
    );
    let (r, report) = json(&p, &[]);
    r.ok();
    assert!(report.findings.is_empty());
    assert_eq!(report.summary.suppressed, 3);

    // A baseline accepts what is there; it survives moved lines.
    p.write("src/old.py", format!("\n\nT = '{t}'\n"));
    p.run(["scan", "--update-baseline"])
        .ok()
        .stderr_has(&["wrote 1 fingerprint"]);
    let (r, report) = json(&p, &["--baseline", ".envshim-baseline.json"]);
    r.ok();
    assert_eq!(report.summary.suppressed, 4);
    p.write(
        "src/old.py",
        format!("# a new header\nimport os\n\n\n\nT = '{t}'\n"),
    );
    json(&p, &["--baseline", ".envshim-baseline.json"]).0.ok();
    // A new secret is still reported.
    p.write("src/new.py", format!("S = '{}'\n", stripe_key()));
    let (r, report) = json(&p, &["--baseline", ".envshim-baseline.json"]);
    r.code(1);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].path, "src/new.py");
    // A missing baseline is an error, not "allow everything".
    p.run(["scan", "--baseline", "nope.json"])
        .code(2)
        .clean_error();
}

#[test]
fn config_adds_rules_without_dropping_the_builtins() {
    let p = Project::new();
    p.write(
        "a.txt",
        format!(
            "acme = acme_k3j5h6g7f8d9s0a1q2w3\ngh = {}\n",
            github_token()
        ),
    );
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme-token\"\ndescription = \"ACME token\"\nkeywords = [\"acme_\"]\nregex = '''(?P<secret>acme_[a-z0-9]{20})'''\n",
    );
    let (r, report) = json(&p, &[]);
    r.code(1);
    let rules: Vec<String> = report.findings.iter().map(|f| f.rule.clone()).collect();
    assert!(rules.contains(&"acme-token".to_string()), "{rules:?}");
    assert_eq!(rules.len(), 2, "{rules:?}");
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"broken-rule\"\ndescription = \"x\"\nkeywords = [\"x\"]\nregex = '''(?P<secret>[a-'''\n",
    );
    p.run(["scan"])
        .code(2)
        .clean_error()
        .stderr_has(&["custom rule 1", "regex"])
        .never_shows("broken-rule");
    p.write("envshim.toml", "[scan]\nunknown_setting = 1\n");
    p.run(["scan"]).code(2).stderr_has(&["envshim.toml"]);
}

#[test]
fn a_config_near_rule_finds_a_token_beside_its_keyword_only() {
    let p = Project::new();
    // 32 hex digits: a secret beside the provider's name, an id anywhere else.
    let token = "3f9a0c4e7b21d865f0a9c3e4b7d21f86";
    p.write(
        "app.py",
        format!(
            "ACME_SECRET = '{token}'\ncommit = '{token}'\nnote = 'the documentation on our wiki explains how acme works'\n"
        ),
    );
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme-secret\"\ndescription = \"ACME secret\"\nkind = \"near\"\nkeywords = [\"acme\"]\ntoken = \"hex\"\nlength = [32, 32]\n",
    );
    let (r, report) = json(&p, &[]);
    r.code(1).never_shows(token);
    let found: Vec<(String, usize)> = report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.line))
        .collect();
    assert_eq!(found, vec![("acme-secret".to_string(), 1)]);
    // A shape the kind cannot express is a configuration error, not a silent no-op.
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme-secret\"\ndescription = \"d\"\nkind = \"near\"\nkeywords = [\"acme\"]\ntoken = \"hexadecimal\"\nlength = [32, 32]\n",
    );
    p.run(["scan"])
        .code(2)
        .clean_error()
        .stderr_has(&["custom rule 1", "token"]);
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme-secret\"\ndescription = \"d\"\nkind = \"near\"\nkeywords = [\"acme\"]\ntoken = \"hex\"\nlength = [32, 32]\nregex = 'x'\n",
    );
    p.run(["scan"])
        .code(2)
        .stderr_has(&["`regex` does not apply"]);
}

#[test]
fn binary_large_empty_and_non_utf8_files() {
    let p = Project::new();
    let t = github_token();
    let mut binary = b"\x00\x01\x02binary".to_vec();
    binary.extend_from_slice(t.as_bytes());
    p.write("blob.bin", binary);
    p.write("big.txt", format!("{}\n{t}\n", "a".repeat(70000)));
    p.write("empty.txt", "");
    let mut latin1 = b"caf\xe9 = 1\n".to_vec();
    latin1.extend_from_slice(format!("token = {t}\n").as_bytes());
    p.write("latin1.txt", latin1);
    p.write("envshim.toml", "[scan]\nmax_file_size = 65536\n");
    let (r, report) = json(&p, &[]);
    let r = r.code(1);
    assert_eq!(
        rules_of(&report),
        vec![("github-pat-classic".into(), "latin1.txt".into(), 2)],
        "{r:?}"
    );
    assert_eq!(report.summary.skipped, 2);
    assert!(
        r.stderr.contains("2 skipped (1 over the size limit"),
        "{r:?}"
    );
}

#[test]
fn symlink_loops_do_not_hang() {
    let p = Project::new();
    std::os::unix::fs::symlink(".", p.path("loop")).unwrap();
    std::os::unix::fs::symlink("missing-target", p.path("dangling")).unwrap();
    p.write("a.txt", "nothing here\n");
    p.run(["scan"]).ok();
}

#[test]
fn file_level_mistakes() {
    let p = Project::new();
    p.write("deploy/prod.env.secrets", "DB=plaintext\n");
    // A private key's marker (assembled, so this source does not look like a key).
    let marker = format!("-----BEGIN {}-----", "OPENSSH PRIVATE KEY");
    p.write("keys/id_ed25519", format!("{marker}\nb3BlbnNzaC1rZXk\n"));
    p.write(".env.keys", "DOTENV_PRIVATE_KEY=1\n");
    let (_, report) = json(&p, &[]);
    let rules: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    for rule in [
        "unencrypted-secrets-file",
        "ssh-private-key-file",
        "dotenv-keys-file",
    ] {
        assert!(rules.contains(&rule), "{rule} missing from {rules:?}");
    }
    // An encrypted secrets file is fine.
    p.run(["-q", "init"]).ok();
    let (r, report) = json(&p, &["--no-known", ".env.secrets"]);
    assert!(report.findings.is_empty(), "{r:?}");
    r.ok();
}

#[test]
fn known_values_catch_what_no_regex_can() {
    let p = Project::initialized();
    // envshim:allow: a made-up password for the known-values test
    let password = "pw-Tr0ub4dor&3!";
    p.set("DB_PASSWORD", password, &[]).ok();
    p.set("SHORT", "abc", &[]).ok();
    p.write("notes.txt", format!("db login uses {password} for now\n"));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(password);
    p.write("k8s/secret.yaml", format!("data:\n  password: {b64}\n"));
    p.write(
        "app.cfg",
        // envshim:allow: the same made-up password, URL-encoded
        "url = postgres://app:pw-Tr0ub4dor%263%21@db/app\n",
    );
    p.write("short.txt", "abc abc abc\n");
    let (r, report) = json(&p, &[]);
    let r = r.code(1).never_shows(password);
    let known: Vec<(String, usize)> = report
        .findings
        .iter()
        .filter(|f| f.rule == "known-secret")
        .map(|f| (f.path.clone(), f.line))
        .collect();
    assert_eq!(
        known,
        vec![
            ("app.cfg".into(), 1),
            ("k8s/secret.yaml".into(), 2),
            ("notes.txt".into(), 1)
        ],
        "{r:?}"
    );
    assert!(report
        .findings
        .iter()
        .any(|f| f.description.contains("DB_PASSWORD")));
    // --no-known turns the known-value findings off, identity or not: what only a known
    // value can find is no longer reported, and every rule finding still is.
    let by_rules: Vec<_> = rules_of(&report)
        .into_iter()
        .filter(|(rule, _, _)| rule != "known-secret")
        .collect();
    let without_known_values = |r: &Run, report: &Report| {
        let found = rules_of(report);
        assert!(
            found.iter().all(|(rule, path, _)| rule != "known-secret"
                && path != "notes.txt"
                && path != "k8s/secret.yaml"),
            "{r:?}"
        );
        assert!(by_rules.iter().all(|f| found.contains(f)), "{r:?}");
    };
    let (r, without) = json(&p, &["--no-known"]);
    without_known_values(&r, &without);
    // Without an identity the rules still run, and the user is told.
    std::fs::remove_file(p.default_identity_path()).unwrap();
    let r = p.run(["scan"]).stderr_has(&["no identity"]);
    assert!(!r.stdout.contains("known-secret"), "{r:?}");
    // Unless known values were turned off: then there is nothing to tell.
    let (r, without) = json(&p, &["--no-known"]);
    assert!(!r.stderr.contains("no identity"), "{r:?}");
    without_known_values(&r, &without);
}

#[test]
fn a_100_mb_file_and_a_100_000_file_tree() {
    let p = Project::new();
    let t = github_token();
    {
        use std::io::Write;
        let file = fs::File::create(p.path("huge/big.log")).or_else(|_| {
            fs::create_dir_all(p.path("huge")).unwrap();
            fs::File::create(p.path("huge/big.log"))
        });
        let mut w = std::io::BufWriter::new(file.unwrap());
        let line =
            "2026-11-24T12:00:00Z INFO request handled in 12 ms path=/api/v1/items status=200\n";
        let lines = 100 * 1024 * 1024 / line.len() + 1;
        for _ in 0..lines {
            w.write_all(line.as_bytes()).unwrap();
        }
        writeln!(w, "token={t}").unwrap();
        w.flush().unwrap();
        let lines_total = lines + 1;
        p.write("envshim.toml", "[scan]\nmax_file_size = 200000000\n");
        let started = Instant::now();
        let (r, report) = json(&p, &["huge"]);
        let wall_ms = started.elapsed().as_millis() as u64;
        r.code(1);
        // Reading 100 MB is most of this run: the reported time is most of the time the
        // test measured, and not more.
        let elapsed_ms = report.summary.elapsed_ms;
        assert!(
            elapsed_ms <= wall_ms && elapsed_ms * 2 >= wall_ms,
            "elapsed_ms {elapsed_ms}, measured around the run {wall_ms} ms"
        );
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].line, lines_total);
        assert!(report.summary.bytes > 100 * 1024 * 1024);
        fs::remove_dir_all(p.path("huge")).unwrap();
    }
    for d in 0..100 {
        let dir = p.path(&format!("tree/d{d:03}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            fs::write(dir.join(format!("f{f:04}.txt")), "let x = 1;\n").unwrap();
        }
    }
    p.write("tree/d050/leak.txt", format!("t = {t}\n"));
    let (r, report) = json(&p, &["tree"]);
    r.code(1);
    assert_eq!(report.summary.files, 100_001);
    assert_eq!(
        rules_of(&report),
        vec![("github-pat-classic".into(), "tree/d050/leak.txt".into(), 1)]
    );
}

#[test]
fn unreadable_files_and_directories_are_warnings_and_the_scan_goes_on() {
    // Root reads everything, so as root the scan runs as `nobody` (setpriv); any other
    // user is already kept out of mode-000 files.
    let p = Project::new();
    for dir in [p.root.parent().unwrap(), p.root.as_path()] {
        set_mode(dir, 0o755);
    }
    p.write("open/leak.txt", format!("t = {}\n", github_token()));
    let locked_file = p.write("locked.txt", "x\n");
    set_mode(&locked_file, 0o000);
    p.write("locked-dir/inner.txt", "x\n");
    set_mode(&p.path("locked-dir"), 0o000);
    let mut scan = if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(BIN);
        cmd
    } else {
        Command::new(BIN)
    };
    let r: Run = scan
        .args(["scan", "--no-known", "."])
        .current_dir(&p.root)
        .env("HOME", &p.home)
        .output()
        .unwrap()
        .into();
    let r = r.code(1);
    assert!(r.stdout.contains("open/leak.txt:1:5"), "{r:?}");
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("locked.txt"),
        "{r:?}"
    );
    assert!(r.stderr.contains("locked-dir"), "{r:?}");
    assert!(r.stderr.contains("2 unreadable"), "{r:?}");
    set_mode(&p.path("locked-dir"), 0o755);
}

/// Three findings of each confidence: a GitHub token (high), a value in a committed
/// dotenv file (medium) and a generic password assignment (low).
fn three_confidences(p: &Project) {
    p.write("src/app.py", format!("T = '{}'\n", github_token()));
    // envshim:allow: made-up passwords
    p.write(".env", "DB_PASSWORD=Zr8v!Qm2#Lx5Tn9w\n");
    // envshim:allow: made-up passwords
    p.write("src/settings.py", "db_password = \"Tq7#mV2p9Lz4Wx8K\"\n");
}

fn confidences(report: &Report) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.confidence.clone()))
        .collect();
    found.sort();
    found
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Every JSON finding carries its confidence; by default a scan reports medium and
/// above, and counts (and says) what it left out.
#[test]
fn json_findings_carry_their_confidence_and_the_default_floor_hides_low() {
    let p = Project::new();
    three_confidences(&p);
    let (r, report) = json(&p, &["--no-known"]);
    r.code(1)
        .stderr_has(&["1 below the confidence floor", "--confidence low"]);
    assert_eq!(
        confidences(&report),
        pairs(&[(".env", "medium"), ("src/app.py", "high")])
    );
    assert_eq!(report.summary.below_confidence, 1);
    let (r, report) = json(&p, &["--no-known", "--confidence", "low"]);
    r.code(1);
    assert_eq!(
        confidences(&report),
        pairs(&[
            (".env", "medium"),
            ("src/app.py", "high"),
            ("src/settings.py", "low")
        ])
    );
    assert_eq!(report.summary.below_confidence, 0);
    let (r, report) = json(&p, &["--no-known", "--confidence", "high"]);
    r.code(1).stderr_has(&["2 below the confidence floor"]);
    assert_eq!(confidences(&report), pairs(&[("src/app.py", "high")]));
    assert_eq!(report.summary.below_confidence, 2);
    // The text and GitHub formats say it briefly.
    let r = p.run(["scan", "--no-known", "--confidence", "low"]).code(1);
    assert!(
        r.stdout.contains("generic-password-assignment (low)"),
        "{}",
        r.stdout
    );
    let r = p.run(["scan", "--no-known", "--format", "github"]).code(1);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("::error file=.env,") && l.contains("(medium confidence)")),
        "{}",
        r.stdout
    );
}

/// Findings only below the floor: nothing is reported, exit 0, and the summary says
/// how many were left out.
#[test]
fn findings_only_below_the_floor_exit_zero_and_are_counted() {
    let p = Project::new();
    // envshim:allow: made-up passwords
    p.write(".env", "DB_PASSWORD=Zr8v!Qm2#Lx5Tn9w\n");
    let (r, report) = json(&p, &["--no-known", "--confidence", "high"]);
    r.ok()
        .stderr_has(&["0 findings", "1 below the confidence floor"]);
    assert!(report.findings.is_empty());
    assert_eq!(report.summary.below_confidence, 1);
}

/// `confidence` under `[scan]` sets the floor; the flag overrides it.
#[test]
fn the_configured_floor_applies_and_the_flag_overrides_it() {
    let p = Project::new();
    three_confidences(&p);
    p.write("envshim.toml", "[scan]\nconfidence = \"high\"\n");
    let (r, report) = json(&p, &["--no-known"]);
    r.code(1);
    assert_eq!(confidences(&report), pairs(&[("src/app.py", "high")]));
    assert_eq!(report.summary.below_confidence, 2);
    let (r, report) = json(&p, &["--no-known", "--confidence", "low"]);
    r.code(1);
    assert_eq!(report.findings.len(), 3);
    p.write("envshim.toml", "[scan]\nconfidence = \"low\"\n");
    let (_, report) = json(&p, &["--no-known"]);
    assert_eq!(report.findings.len(), 3);
}

/// A confidence that is not low, medium or high is bad input, from the flag or the
/// configuration.
#[test]
fn an_unknown_confidence_is_refused() {
    let p = Project::new();
    p.write("a.txt", "hello\n");
    p.run(["scan", "--confidence", "certain"])
        .code(2)
        .stderr_has(&["--confidence", "low", "medium", "high"]);
    p.write("envshim.toml", "[scan]\nconfidence = \"certain\"\n");
    p.run(["scan"])
        .code(2)
        .clean_error()
        .stderr_has(&["envshim.toml", "line 2", "`confidence`"]);
}

/// The pre-commit hook's scan reports every confidence by default: in a small diff a
/// generic password is cheap to look at.
#[test]
fn a_staged_scan_reports_low_confidence_findings_by_default() {
    let p = Project::new();
    // envshim:allow: made-up passwords
    p.write("settings.py", "db_password = \"Tq7#mV2p9Lz4Wx8K\"\n");
    git(&p, &["add", "-A"]).ok();
    let r = p
        .run(["scan", "--staged", "--no-known", "--format", "json"])
        .code(1);
    let report: Report = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(confidences(&report), pairs(&[("settings.py", "low")]));
    let r = p
        .run(["scan", "--staged", "--no-known", "--confidence", "medium"])
        .ok();
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

/// SARIF results carry level and rank by confidence (high: error/90, medium:
/// warning/60, low: note/30), the rules their default level, and the document still
/// validates against the SARIF 2.1.0 schema.
#[test]
fn sarif_levels_and_ranks_follow_confidence_and_validate() {
    let p = Project::new();
    three_confidences(&p);
    let r = p
        .run([
            "scan",
            "--no-known",
            "--format",
            "sarif",
            "--confidence",
            "low",
        ])
        .code(1);
    let sarif = p.write("out.sarif", &r.stdout);
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemas/sarif-schema-2.1.0.json"
    );
    let check = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))\n\
             jsonschema.validate(doc, schema)\n\
             print('valid')",
            schema,
        ])
        .arg(&sarif)
        .output()
        .unwrap();
    let check: Run = check.into();
    check.ok();
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let run = &doc["runs"][0];
    let mut levels: Vec<(String, String, f64, String)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let rule = &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize];
            (
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["level"].as_str().unwrap().to_string(),
                r["rank"].as_f64().unwrap(),
                rule["defaultConfiguration"]["level"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    let expected: Vec<(String, String, f64, String)> = [
        (".env", "warning", 60.0, "warning"),
        ("src/app.py", "error", 90.0, "error"),
        ("src/settings.py", "note", 30.0, "note"),
    ]
    .iter()
    .map(|(u, l, r, d)| (u.to_string(), l.to_string(), *r, d.to_string()))
    .collect();
    assert_eq!(levels, expected);
}

/// Placeholders, documented example keys, templates, format slots, variable references,
/// runs, header names, hashes and UUIDs next to provider names and secret-looking keys:
/// nothing is reported, at any confidence. (Before the shared filter, eight of these
/// were.)
#[test]
fn placeholders_next_to_provider_names_are_not_reported() {
    let p = Project::new();
    let ghp = "ghp_";
    let sk_test = "sk_test_";
    let akia = "AKIA";
    let hex40 = "3f9a0c4e7b21d865f0a9c3e4b7d21f8612ab34cd";
    p.write(
        "settings.py",
        format!(
            "GITHUB_TOKEN = \"{ghp}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n\
             GITHUB_TOKEN_2 = \"{ghp}abcdefghijklmnopqrstuvwxyz0123456789\"\n\
             aws_access_key_id = \"{akia}IOSFODNN7EXAMPLE\"\n\
             aws_secret_access_key = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n\
             stripe.api_key = \"{sk_test}BQokikJOvBiI2HlWgH4olfQ2\"\n\
             STRIPE_KEY = \"{sk_test}4eC39HqLyjWDarjtT1zdp7dc\"\n\
             api_key = \"your_api_key\"\n\
             password = \"<password>\"\n\
             db_password = \"%(password)s\"\n\
             db_password_fmt = \"pw-%s-1\" % suffix\n\
             auth_token = \"{{0}}\".format(t)\n\
             secret = \"${{SECRET_KEY}}\"\n\
             api_token = \"$(vault read -field=token secret/api)\"\n\
             client_secret = \"$CLIENT_SECRET\"\n\
             api_secret = \"4b0f8c2e-9a1d-4e7b-b3c6-5d2e8f1a9c07\"\n\
             secret_key = \"0123456789abcdef0123456789abcdef\"\n\
             api_key = \"abcdef0123456789abcdef0123456789\"\n\
             password = \"Password123456\"\n\
             password = \"a1b2a1b2a1b2a1b2\"\n\
             api_key_header = \"X-Api-Key\"\n\
             secret = \"aaaaaaaaaaaaaaaa1\"\n\
             heroku_api_key = \"01234567-89ab-cdef-0123-456789abcdef\"\n\
             slack_token = \"xoxb-your-slack-bot-token\"\n"
        ),
    );
    p.write(
        "chart/values.yaml",
        format!(
            "apiKey: {{{{ .Values.apiKey }}}}\n\
             token: \"{{{{ .Values.secrets.token }}}}\"\n\
             integrity: \"sha512-q3Jt9Xk2Lm8Vb4Nc7Rz1Wp5Ys0Hd6Fg2Te9Ua3Ko8q3Jt9Xk2Lm8Vb4Nc7Rz1Wp5Ys0Hd6Fg2Te9Ua3Ko8==\"\n\
             commit_secret_sha: {hex40}\n"
        ),
    );
    p.write(
        "dist-info/RECORD",
        "pkg/x.pyi,sha256=glc_FZMyib4OhW7RQ42vav9er5-jeLUo8K4wfDaFsu8,1208\n",
    );
    p.write(
        ".env",
        "API_KEY=${API_KEY}\nDB_PASSWORD=changeme\nSECRET_TOKEN=<your token>\nSTRIPE_SECRET=%STRIPE_SECRET%\n",
    );
    let (r, report) = json(&p, &["--no-known", "--confidence", "low"]);
    r.ok();
    let found: Vec<(String, String, usize)> = rules_of(&report);
    assert!(found.is_empty(), "{found:?}");
    // The same files with a real-looking token added: found (the filter hides only the
    // placeholders).
    let token = format!("{ghp}Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru");
    p.write("token.py", format!("GITHUB_TOKEN = \"{token}\"\n"));
    let (r, report) = json(&p, &["--no-known", "--confidence", "low"]);
    r.code(1);
    assert_eq!(report.findings.len(), 1, "{:?}", rules_of(&report));
}
