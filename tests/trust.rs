//! The promises of the secrets workflow (DESIGN §1–3): the identity never reaches a
//! command, a forged file cannot change how programs load, the example holds no comment
//! text, and recovery never loses a reader.

use std::fs;

use crate::util::*;

const SECRETS: &str = "\
# [runtime]
APP_TOKEN=runtime-value-1
# [deploy]
DEPLOY_TOKEN=deploy-value-2
";

/// A project whose secrets are readable with the key in `ENVSHIM_AGE_KEY` only (the
/// default identity file is moved away), as in CI; returns the key text.
fn ci_project() -> (Project, String) {
    let p = Project::new();
    p.secrets(SECRETS);
    p.write(
        ".env.secrets.example",
        "APP_TOKEN=\n# [deploy]\nDEPLOY_TOKEN=\n",
    );
    let key = fs::read_to_string(p.default_identity_path()).unwrap();
    fs::remove_file(p.default_identity_path()).unwrap();
    (p, key)
}

#[test]
fn the_identity_variables_never_reach_the_command() {
    let (p, key) = ci_project();
    let id_file = p.home.join("ci-key.txt");
    fs::write(&id_file, &key).unwrap();
    set_mode(&id_file, 0o600);
    // The command tries what an attacker would: read the key, then the deploy scope.
    let script = "printf 'key=[%s] id=[%s]\\n' \"${ENVSHIM_AGE_KEY-unset}\" \
                  \"${ENVSHIM_IDENTITY-unset}\"; \"$0\" get DEPLOY_TOKEN";
    for (var, value) in [
        ("ENVSHIM_AGE_KEY", key.as_str()),
        ("ENVSHIM_IDENTITY", id_file.to_str().unwrap()),
    ] {
        let r: Run = p
            .envshim()
            .env(var, value)
            .args(["exec", "--", "sh", "-c", script, BIN])
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 2, "{var}: the nested get must fail:\n{r:?}");
        assert!(
            r.stdout.starts_with("key=[unset] id=[unset]\n"),
            "{var}:\n{r:?}"
        );
        assert!(r.stderr.contains("no identity found"), "{var}:\n{r:?}");
        r.never_shows("deploy-value-2")
            .never_shows("AGE-SECRET-KEY");
    }
    // Handed on deliberately, a deploy script can run envshim itself.
    let r: Run = p
        .envshim()
        .env("ENVSHIM_AGE_KEY", &key)
        .args(["exec", "--scope", "deploy", "--pass-identity", "--"])
        .args(["sh", "-c", "\"$0\" get DEPLOY_TOKEN", BIN])
        .output()
        .unwrap()
        .into();
    assert_eq!(r.ok().stdout, "deploy-value-2\n");
}

#[test]
fn the_editor_does_not_get_the_identity_variables() {
    let (p, key) = ci_project();
    let editor = p.write(
        "editor.sh",
        "#!/bin/sh\nif [ -n \"${ENVSHIM_AGE_KEY+x}\" ]; then echo leaked >&2; exit 1; fi\n\
         printf 'NEW=1\\n' >> \"$1\"\n",
    );
    set_mode(&editor, 0o755);
    p.envshim()
        .env("ENVSHIM_AGE_KEY", &key)
        .env("EDITOR", &editor)
        .arg("edit")
        .output()
        .map(Run::from)
        .unwrap()
        .ok();
}

/// A file someone forged with the public recipients: loader variables and keys the
/// reviewed example does not list.
const FORGED: &str = "\
APP_TOKEN=runtime-value-1
LD_PRELOAD=/tmp/evil.so
PATH=/tmp/evil-bin
EXTRA_KEY=x
";

#[test]
fn a_forged_file_cannot_set_loader_variables_the_example_does_not_declare() {
    let p = Project::new();
    p.secrets(FORGED);
    p.write(".env.secrets.example", "APP_TOKEN=\n");
    let evil = p.path("evil-bin");
    fs::create_dir_all(&evil).unwrap();
    let marker = p.path("ran-evil");
    let fake = p.write(
        "evil-bin/terraform",
        format!("#!/bin/sh\ntouch {}\n", marker.display()),
    );
    set_mode(&fake, 0o755);
    let r = p
        .run(["exec", "--", "sh", "-c", "echo ran; terraform version"])
        .code(2)
        .clean_error()
        .stderr_has(&["LD_PRELOAD, PATH", "does not declare"]);
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(!marker.exists(), "a command from the forged PATH ran");
    // Declared in the (reviewed) example, they are set, and undeclared keys are named.
    p.write(".env.secrets.example", "APP_TOKEN=\nLD_PRELOAD=\nPATH=\n");
    let r = p
        .run(["exec", "--", "/bin/sh", "-c", "printf %s \"$PATH\""])
        .ok()
        .stderr_has(&["defines EXTRA_KEY, which", "does not declare"]);
    assert_eq!(r.stdout, "/tmp/evil-bin");
    // A deploy-scope run does not inject runtime loader variables, so nothing is refused.
    p.write(".env.secrets.example", "APP_TOKEN=\n");
    p.run(["exec", "--scope", "deploy", "--", "true"]).ok();
}
