//! set, get, list, rm, import, export.

use serde::Deserialize;

use crate::util::*;

#[test]
fn set_reads_one_value_from_stdin_and_get_prints_it() {
    let p = Project::initialized();
    p.set("API_TOKEN", "tok-123\n", &[])
        .ok()
        .stderr_has(&["API_TOKEN added (runtime)"])
        .never_shows("tok-123");
    assert_eq!(p.run(["get", "API_TOKEN"]).ok().stdout, "tok-123\n");
    // Exactly one trailing newline is stripped; inner ones are kept.
    p.set("PEM", "line1\nline2\n\n", &[]).ok();
    assert_eq!(p.run(["get", "PEM"]).ok().stdout, "line1\nline2\n\n");
    p.set("CRLF", "value\r\n", &[]).ok();
    assert_eq!(p.run(["get", "CRLF"]).ok().stdout, "value\n");
    // Awkward values survive, and the real age CLI sees valid dotenv.
    let awkward = "it's \"quoted\" $HOME ${X} \\ # not a comment";
    p.set("AWKWARD", awkward, &[]).ok();
    assert_eq!(
        p.run(["get", "AWKWARD"]).ok().stdout,
        format!("{awkward}\n")
    );
    let r = p.run(["exec", "--", "printenv", "AWKWARD"]).ok();
    assert_eq!(r.stdout, format!("{awkward}\n"));
    assert!(p.plaintext().contains("API_TOKEN=tok-123"));
}

#[test]
fn set_refuses_bad_names_and_empty_input() {
    let p = Project::initialized();
    let before = p.snapshot();
    for name in ["1ABC", "A-B", "A B", "", "Ä"] {
        p.set(name, "v", &[])
            .code(2)
            .clean_error()
            .stderr_has(&["not a valid variable name"]);
    }
    p.set("EMPTY", "", &[])
        .code(2)
        .clean_error()
        .stderr_has(&["no value on standard input"]);
    p.run_with_input(["set", "BIN"], b"\xff\xfe")
        .code(2)
        .clean_error()
        .stderr_has(&["UTF-8"]);
    assert_eq!(before, p.snapshot());
}

#[test]
fn set_with_value_flag_warns_about_argv() {
    let p = Project::initialized();
    p.run(["set", "A", "--value", "visible"])
        .ok()
        .stderr_has(&["ps", "history"]);
    assert_eq!(p.run(["get", "A"]).ok().stdout, "visible\n");
    p.run(["set", "EMPTY", "--value", ""]).ok();
    assert_eq!(p.run(["get", "EMPTY"]).ok().stdout, "\n");
}

#[test]
fn set_prompts_masked_on_a_terminal() {
    let p = Project::initialized();
    let mut cmd = p.envshim();
    cmd.args(["set", "DB_PASSWORD"]);
    let r = on_terminal(&mut cmd, &[("DB_PASSWORD", "typed-secret-42")]).ok();
    assert!(!r.stdout.contains("typed-secret-42"), "echoed:\n{r:?}");
    assert_eq!(
        p.run(["get", "DB_PASSWORD"]).ok().stdout,
        "typed-secret-42\n"
    );
}

#[test]
fn existing_keys_keep_place_scope_and_comments() {
    let p = Project::new();
    p.secrets("# top comment\nA=1 # keep me\n\n# [deploy]\n# deploy comment\nD=2\n");
    p.write(".env.secrets.example", "A= # optional\n# [deploy]\nD=\n");
    p.set("A", "one", &[])
        .ok()
        .stderr_has(&["A changed (runtime)"]);
    p.set("D", "two", &[])
        .ok()
        .stderr_has(&["D changed (deploy)"]);
    p.set("N", "new", &[]).ok();
    p.set("A", "one", &[]).ok().stderr_has(&["A unchanged"]);
    assert_eq!(
        p.plaintext(),
        "# top comment\nA=one # keep me\nN=new\n\n# [deploy]\n# deploy comment\nD=two\n"
    );
    // --deploy moves a key, --runtime moves it back.
    p.set("A", "one", &["--deploy"])
        .ok()
        .stderr_has(&["A changed (deploy)"]);
    assert_eq!(
        p.plaintext(),
        "# top comment\nN=new\n\n# [deploy]\n# deploy comment\nD=two\nA=one\n"
    );
    // The example follows: no values and no comment text, `# optional` kept.
    let example = p.read(".env.secrets.example");
    assert!(example.starts_with("# The keys of the encrypted secrets file"));
    assert!(
        example.ends_with("\nN=\n\n# [deploy]\nD=\nA= # optional\n"),
        "{example}"
    );
    assert!(!example.contains("comment"), "{example}");
    let r = p.run(["exec", "--", "sh", "-c", "echo ${A-unset}"]).ok();
    assert_eq!(r.stdout, "unset\n");
}

#[derive(Debug, Deserialize)]
struct Listing {
    file: String,
    variables: Vec<Variable>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Variable {
    name: String,
    scope: String,
    required: bool,
    set: bool,
}

#[test]
fn list_shows_scope_requirement_and_status_never_values() {
    let p = Project::new();
    p.secrets("A=secret-aaa\nB=secret-bbb\n# [deploy]\nD=secret-ddd\n");
    p.write(
        ".env.secrets.example",
        "A=\nB= # optional\nMISSING=\n# [deploy]\nD=\nLATER= # optional\n",
    );
    let r = p.run(["list", "--json"]).ok().never_shows("secret-");
    let listing: Listing = serde_json::from_str(&r.stdout).expect("list --json is JSON");
    assert!(listing.file.ends_with(".env.secrets"));
    let v = |name: &str, scope: &str, required: bool, set: bool| Variable {
        name: name.into(),
        scope: scope.into(),
        required,
        set,
    };
    assert_eq!(
        listing.variables,
        vec![
            v("A", "runtime", true, true),
            v("B", "runtime", false, true),
            v("D", "deploy", true, true),
            v("MISSING", "runtime", true, false),
            v("LATER", "deploy", false, false),
        ]
    );
    let table = p.run(["list"]).ok().never_shows("secret-");
    assert!(table.stdout.contains("MISSING") && table.stdout.contains("missing"));
}

#[test]
fn rm_removes_from_secrets_and_example() {
    let p = Project::initialized();
    p.set("A", "1", &[]).ok();
    p.set("B", "2", &[]).ok();
    p.run(["rm", "A"]).ok();
    assert!(!p.plaintext().contains("A=1"));
    assert!(!p.read(".env.secrets.example").contains("A="));
    p.run(["get", "A"]).code(2).clean_error();
    let before = p.snapshot();
    p.run(["rm", "A"])
        .code(2)
        .clean_error()
        .stderr_has(&["not defined"]);
    assert_eq!(before, p.snapshot());
    // A key only the example declares can be removed too.
    let example = p.read(".env.secrets.example");
    p.write(".env.secrets.example", format!("{example}ONLY_DECLARED=\n"));
    p.run(["rm", "ONLY_DECLARED"]).ok();
    assert!(!p.read(".env.secrets.example").contains("ONLY_DECLARED"));
}

#[test]
fn import_merges_and_reports() {
    let p = Project::initialized();
    p.set("KEEP", "same", &[]).ok();
    p.set("CHANGE", "old", &["--deploy"]).ok();
    p.write(
        ".env",
        "KEEP=same\nCHANGE=new\nexport ADDED=\"with # hash\"\n",
    );
    p.run(["import", ".env"])
        .ok()
        .stderr_has(&["1 added, 1 changed, 1 unchanged", "rm -- .env"]);
    assert_eq!(p.run(["get", "ADDED"]).ok().stdout, "with # hash\n");
    // CHANGE kept its deploy scope.
    assert!(p
        .run(["list", "--json"])
        .ok()
        .stdout
        .contains("\"scope\": \"deploy\""));
    p.write("ci.env", "CI_TOKEN=abc\n");
    p.run(["import", "ci.env", "--deploy"]).ok();
    let r = p
        .run(["exec", "--scope", "deploy", "--", "printenv", "CI_TOKEN"])
        .ok();
    assert_eq!(r.stdout, "abc\n");
    // Bad input: nothing changes.
    let before = p.snapshot();
    p.write("bad.env", "A=1\nnot a line\n");
    let before_bad = p.snapshot();
    p.run(["import", "bad.env"])
        .code(2)
        .clean_error()
        .stderr_has(&["bad.env", "line 2"]);
    p.run(["import", "missing.env"])
        .code(2)
        .clean_error()
        .stderr_has(&["missing.env"]);
    p.run(["import", ".env.secrets"])
        .code(2)
        .clean_error()
        .stderr_has(&["already age-encrypted"]);
    assert_eq!(before_bad, p.snapshot());
    drop(before);
}

#[test]
fn export_and_import_round_trip_byte_for_byte() {
    let p = Project::initialized();
    for (k, v, extra) in [
        ("PLAIN", "abc", &[][..]),
        ("SPACES", "a b  c", &[]),
        ("MULTI", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----", &[]),
        ("QUOTES", "both ' and \" and \\", &[]),
        ("DOLLAR", "pa$$word${X}", &[]),
        ("DEPLOY", "d-value", &["--deploy"]),
    ] {
        p.set(k, v, extra).ok();
    }
    let exported = p.run(["export"]).ok().stdout;
    assert_eq!(exported, p.plaintext());
    // Into a second, empty file: same values, and exporting that gives the same bytes.
    p.run(["-q", "-f", "copy.env.secrets", "init"]).ok();
    p.run_with_input(
        ["-f", "copy.env.secrets", "import", "-"],
        exported.as_bytes(),
    )
    .ok();
    let copy = p
        .run(["-f", "copy.env.secrets", "export", "--scope", "runtime"])
        .ok()
        .stdout;
    let original = p.run(["export", "--scope", "runtime"]).ok().stdout;
    assert_eq!(copy, original);
    let copy = p
        .run(["-f", "copy.env.secrets", "export", "--scope", "deploy"])
        .ok()
        .stdout;
    assert_eq!(copy, "# [deploy]\nDEPLOY=d-value\n");
    for key in ["MULTI", "QUOTES", "DOLLAR"] {
        assert_eq!(
            p.run(["-f", "copy.env.secrets", "get", key]).ok().stdout,
            p.run(["get", key]).ok().stdout
        );
    }
}
