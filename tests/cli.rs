//! Help, version and completions.

use crate::util::*;

#[test]
fn every_command_has_help_with_examples() {
    let p = Project::new();
    for cmd in [
        &[][..],
        &["init"],
        &["keygen"],
        &["exec"],
        &["completions"],
        &["man"],
    ] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--help");
        let r = p.run(&args).ok();
        assert!(r.stdout.contains("Examples:"), "{args:?}:\n{r:?}");
        assert!(r.stdout.contains("envshim"), "{r:?}");
    }
    let r = p.run(["--version"]).ok();
    assert!(r.stdout.starts_with("envshim "));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let p = Project::new();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef envshim"),
        ("fish", "complete -c envshim"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let r = p.run(["completions", shell]).ok();
        assert!(r.stdout.contains(marker), "{shell}:\n{r:?}");
        assert!(r.stdout.contains("exec"), "{shell}");
    }
    // bash accepts the script.
    let r = p.run(["completions", "bash"]).ok();
    let script = p.write("envshim.bash", r.stdout);
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(script)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_quickstart_example_runs() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/quickstart/run.sh");
    let r: Run = std::process::Command::new(script)
        .env("ENVSHIM", BIN)
        .env_remove("ENVSHIM_IDENTITY")
        .env_remove("ENVSHIM_FILE")
        .output()
        .unwrap()
        .into();
    let r = r.ok();
    assert!(
        r.stdout.contains("GREETING=Hello from an encrypted file"),
        "{r:?}"
    );
    assert!(r.stdout.contains("MULTI_LINE has 2 lines"), "{r:?}");
    assert!(r.stdout.contains("DEPLOY_TOKEN is not visible"), "{r:?}");
}

#[test]
fn the_man_page_is_roff_for_the_same_command_line() {
    let p = Project::new();
    let r = p.run(["man"]).ok();
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH envshim"),
        "{r:?}"
    );
    for word in ["exec", "keygen", "init", "\\-\\-identity"] {
        assert!(r.stdout.contains(word), "man page lacks {word}");
    }
}

#[test]
fn the_ci_examples_validate_against_the_published_schemas() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/ci");
    for (file, schema) in [
        ("github-actions.yml", "vendor.github-workflows"),
        ("gitlab-ci.yml", "vendor.gitlab-ci"),
    ] {
        let r: Run = std::process::Command::new("check-jsonschema")
            .args(["--builtin-schema", schema, file])
            .current_dir(dir)
            .output()
            .expect("check-jsonschema (pip install check-jsonschema)")
            .into();
        r.ok();
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        assert!(text.contains("envshim scan --range"), "{file}");
    }
}

#[test]
fn this_repository_passes_its_own_scan() {
    // Dogfooding: fixtures and the demo key are allowed by path (envshim.toml) or inline
    // marks, never by disabling rules.
    let r: Run = std::process::Command::new(BIN)
        .args(["scan", "--no-known", "."])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
        .into();
    let r = r.ok();
    assert!(r.stderr.contains("0 findings"), "{r:?}");
    let config =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/envshim.toml")).unwrap();
    assert!(
        !config
            .lines()
            .any(|l| l.trim_start().starts_with("disable")),
        "rules must not be disabled to pass"
    );
}
