//! `envshim doctor`: one line per check, exit 1 on problems, the fix named.

use std::process::Command;

use crate::util::*;

#[test]
fn a_fresh_project_is_healthy() {
    let p = Project::initialized();
    p.set("A", "1", &[]).ok();
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("envshim hook install"), "{r:?}");
    p.run(["hook", "install"]).ok();
    let r = p.run(["doctor"]).ok();
    assert!(r.stdout.contains("no problems found"), "{r:?}");
    assert!(!r.stdout.contains("FAIL"), "{r:?}");
}

#[test]
fn problems_are_named_with_their_fix() {
    let p = Project::initialized();
    p.run(["hook", "install"]).ok();
    p.set("A", "secret-value-1", &[]).ok();
    // An example that drifted.
    p.write(".env.secrets.example", "# [runtime]\n");
    // A tracked plaintext dotenv file.
    p.write("app/.env.production", "X=1\n");
    let ok = Command::new("git")
        .args(["add", "-f", "app/.env.production"])
        .current_dir(&p.root)
        .status()
        .unwrap();
    assert!(ok.success());
    let r = p.run(["doctor"]).code(1).never_shows("secret-value-1");
    for expected in [
        "FAIL  ",
        "example is out of date",
        "envshim doctor --fix",
        "git tracks plaintext dotenv: app/.env.production",
        "git rm --cached",
        "2 problems found",
    ] {
        assert!(r.stdout.contains(expected), "lacks {expected:?}:\n{r:?}");
    }
    p.run(["doctor", "--fix"]).code(1);
    assert!(p.read(".env.secrets.example").contains("A=\n"));
    Command::new("git")
        .args(["rm", "-q", "--cached", "app/.env.production"])
        .current_dir(&p.root)
        .status()
        .unwrap();
    p.run(["doctor"]).ok();
}

#[test]
fn identity_and_file_problems() {
    let p = Project::initialized();
    p.run(["hook", "install"]).ok();
    set_mode(&p.default_identity_path(), 0o644);
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("chmod 600"), "{r:?}");
    set_mode(&p.default_identity_path(), 0o600);

    let stranger = p.home.join("stranger.txt");
    let stranger_pub = p.age_keygen(&stranger);
    let r = p.run(["-i", stranger.to_str().unwrap(), "doctor"]).code(1);
    assert!(
        r.stdout
            .contains(&format!("envshim recipients add {stranger_pub}")),
        "{r:?}"
    );

    p.write(".gitignore", "");
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("git would not ignore .env"), "{r:?}");

    p.write(".env.secrets", "A=plaintext\n");
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("is not encrypted"), "{r:?}");
}

#[test]
fn no_secrets_file_at_all() {
    let p = Project::new();
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("envshim init"), "{r:?}");
}
