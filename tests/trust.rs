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

/// Runs `envshim edit` with `script` (a shell script body; `$1` is the file) as the
/// editor, and `env` added to envshim's environment.
fn edit_with(p: &Project, script: &str, env: &[(&str, &str)]) -> Run {
    let editor = p.write("editor.sh", format!("#!/bin/sh\n{script}"));
    set_mode(&editor, 0o755);
    let mut cmd = p.envshim();
    cmd.env("EDITOR", &editor).arg("edit");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
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
    edit_with(
        &p,
        "if [ -n \"${ENVSHIM_AGE_KEY+x}\" ]; then echo leaked >&2; exit 1; fi\n\
         printf 'NEW=1\\n' >> \"$1\"\n",
        &[("ENVSHIM_AGE_KEY", &key)],
    )
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

#[test]
fn comments_of_the_secrets_never_reach_the_example() {
    let p = Project::initialized();
    edit_with(
        &p,
        "cat >> \"$1\" <<'X'\n# previous password: Winter2023!Corp\nDB_PASSWORD=x # was Summer2022!Corp\n\
         # -----BEGIN OPENSSH PRIVATE KEY-----\n# b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n\
         # -----END OPENSSH PRIVATE KEY-----\nOPT=1 # optional\nX\n",
        &[],
    )
    .ok();
    let example = p.read(".env.secrets.example");
    for leaked in [
        "Winter2023",
        "Summer2022",
        "OPENSSH",
        "b3BlbnNz",
        "previous password",
    ] {
        assert!(
            !example.contains(leaked),
            "{leaked} in the example:\n{example}"
        );
    }
    assert!(example.contains("\nDB_PASSWORD=\n"), "{example}");
    assert!(example.contains("\nOPT= # optional\n"), "{example}");
    assert!(example.contains("# [deploy]\n"), "{example}");
    // The comments stay in the secrets file itself.
    assert!(p
        .plaintext()
        .contains("# previous password: Winter2023!Corp"));
}

#[test]
fn init_force_keeps_every_recipient() {
    let p = Project::initialized();
    let mate = p.home.join("mate.txt");
    let mate_pub = p.age_keygen(&mate);
    p.run(["recipients", "add", &mate_pub]).ok();
    let before = p.read(".env.secrets.recipients");
    p.run(["init", "--force"])
        .ok()
        .stderr_has(&["kept the 2 recipients"]);
    assert_eq!(p.read(".env.secrets.recipients"), before);
    // The teammate can still read the new file, with the real age CLI.
    age_decrypt(&mate, &p.path(".env.secrets")).ok();
}

/// Runs the command an error message suggests (the text between the last pair of
/// backquotes), as printed, in a shell whose `envshim` is the binary under test.
fn run_advice(p: &Project, stderr: &str) -> Run {
    let advice = stderr
        .rsplit('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no `command` in {stderr:?}"));
    let script = format!("envshim() {{ \"$0\" \"$@\"; }}\n{advice}");
    p.shell(&script).output().unwrap().into()
}

#[test]
fn advice_in_errors_works_when_run_as_printed() {
    // A file name a shell would act on: printed advice quotes it.
    let p = Project::initialized();
    let odd = "my $(touch PWNED) file.env.secrets";
    p.run(["-f", odd, "init"]).ok();
    p.write(odd, "ODD=1\n");
    let r = p.run(["-f", odd, "list"]).code(2).clean_error();
    run_advice(&p, &r.stderr).ok();
    assert!(
        !p.path("PWNED").exists(),
        "the advice ran a command from the file name"
    );
    assert_eq!(p.run(["-f", odd, "get", "ODD"]).ok().stdout, "1\n");

    // A plaintext .env.secrets: the suggested command encrypts it, keeping the readers.
    p.write(".env.secrets", "API_TOKEN=plain-value-1\n");
    let r = p.run(["list"]).code(2).clean_error();
    run_advice(&p, &r.stderr).ok();
    assert_eq!(p.run(["get", "API_TOKEN"]).ok().stdout, "plain-value-1\n");
    assert!(!p.path(".env.secrets.plain").exists());
    // doctor's fix for the same problem is the same command.
    p.write(".env.secrets", "API_TOKEN=plain-value-2\n");
    let r = p.run(["doctor"]).code(1);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("mv "))
        .unwrap()
        .to_string();
    run_advice(&p, &line).ok();
    assert_eq!(p.run(["get", "API_TOKEN"]).ok().stdout, "plain-value-2\n");

    // The secrets file deleted, its companions still there.
    fs::remove_file(p.path(".env.secrets")).unwrap();
    let r = p.run(["list"]).code(2).clean_error();
    run_advice(&p, &r.stderr).ok();
    p.run(["list"]).ok();

    // A deleted recipients file: restored from git as the message says.
    let git = |args: &[&str]| {
        assert!(std::process::Command::new("git")
            .args(args)
            .current_dir(&p.root)
            .status()
            .unwrap()
            .success())
    };
    git(&["add", "-A"]);
    git(&["commit", "-qm", "secrets"]);
    fs::remove_file(p.path(".env.secrets.recipients")).unwrap();
    let r = p.set("B", "2", &[]).code(2).clean_error();
    run_advice(&p, &r.stderr).ok();
    p.set("B", "2", &[]).ok();
}

#[test]
fn doctor_checks_every_scope_and_reports_each_problem_once() {
    let p = Project::initialized();
    p.run(["hook", "install"]).ok();
    p.set("A", "1", &[]).ok();
    // The example declares a deploy key that nobody has set yet.
    let example = p.read(".env.secrets.example");
    assert!(example.contains("# [deploy]\n"), "{example}");
    p.write(
        ".env.secrets.example",
        example.replace("# [deploy]\n", "# [deploy]\nDEPLOY_TOKEN=\n"),
    );
    p.run(["exec", "--scope", "deploy", "--", "true"]).code(2);
    let r = p.run(["doctor"]).code(1);
    assert!(
        r.stdout
            .contains("required deploy variable is not set: DEPLOY_TOKEN"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("envshim set DEPLOY_TOKEN --deploy"),
        "{r:?}"
    );
    assert!(r.stdout.contains("1 problem found"), "{r:?}");

    // A plaintext secrets file is one problem, not two, and every fix is concrete.
    p.write(".env.secrets", "A=1\n");
    let r = p.run(["doctor"]).code(1);
    assert_eq!(r.stdout.matches("FAIL").count(), 1, "{r:?}");
    assert!(!r.stdout.contains("see the message"), "{r:?}");

    // No secrets file at all: every other check still runs.
    let q = Project::new();
    let r = q.run(["doctor"]).code(1);
    assert!(r.stdout.contains("envshim init"), "{r:?}");
    assert!(r.stdout.contains("pre-commit hook"), "{r:?}");
    assert!(r.stdout.contains(".gitignore") || r.stdout.contains("git would not ignore"));
}

#[test]
fn doctor_flags_loader_variables_and_names_the_identity_variables() {
    let p = Project::new();
    p.secrets("A=1\nLD_PRELOAD=/tmp/x.so\n");
    p.write(".env.secrets.example", "A=\n");
    let key = fs::read_to_string(p.default_identity_path()).unwrap();
    let r: Run = p
        .envshim()
        .env("ENVSHIM_AGE_KEY", &key)
        .arg("doctor")
        .output()
        .unwrap()
        .into();
    let r = r.code(1);
    assert!(r.stdout.contains("sets LD_PRELOAD"), "{r:?}");
    assert!(
        r.stdout
            .contains("ENVSHIM_AGE_KEY is removed from every command"),
        "{r:?}"
    );
    // --fix does not declare it behind the user's back.
    p.run(["doctor", "--fix"]).code(1);
    assert!(!p.read(".env.secrets.example").contains("LD_PRELOAD"));
}

/// `keygen --force` over a 0644 file: the new key must be 0600 from the moment it
/// exists. strace records every mode change envshim makes; none may give the new key
/// (or its temporary file) group or other bits. (Polling from another thread cannot
/// catch a window of microseconds reliably; the system calls show it every time.)
#[test]
fn keygen_force_never_exposes_the_new_key_with_the_old_mode() {
    let p = Project::new();
    let path = p.home.join("id.txt");
    p.run(["keygen", "-o", path.to_str().unwrap()]).ok();
    set_mode(&path, 0o644);
    let trace = p.home.join("trace.txt");
    let out = p
        .envshim()
        .args(["keygen", "--force", "-o", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    set_mode(&path, 0o644);
    let status = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=chmod,fchmod,fchmodat,openat,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&trace)
        .arg(BIN)
        .args(["keygen", "--force", "-o", path.to_str().unwrap()])
        .env("HOME", &p.home)
        .status()
        .expect("strace (Debian package `strace`; scripts/test.sh installs it)");
    assert!(status.success());
    let calls = fs::read_to_string(&trace).unwrap();
    assert!(calls.contains("rename"), "strace saw no rename:\n{calls}");
    let widened: Vec<&str> = calls
        .lines()
        .filter(|l| {
            l.contains("chmod") && (l.contains("0644") || l.contains("0640") || l.contains("0604"))
        })
        .collect();
    assert!(
        widened.is_empty(),
        "a mode change exposed the key: {widened:?}"
    );
    assert_eq!(mode_of(&path), 0o600);
}

#[test]
fn a_nul_in_a_value_is_refused_naming_the_key() {
    let p = Project::initialized();
    p.set("GOOD", "1", &[]).ok();
    let before = fs::read(p.path(".env.secrets")).unwrap();
    p.set("BAD_KEY", "a\0b", &[])
        .code(2)
        .clean_error()
        .stderr_has(&["BAD_KEY", "NUL"]);
    assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    edit_with(&p, "printf 'EDITED=x\\000y\\n' >> \"$1\"\n", &[])
        .code(2)
        .stderr_has(&["EDITED", "NUL"]);
    assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    // A file written by other means: exec names the variable.
    let q = Project::new();
    q.secrets("OTHER=x\0y\n");
    q.run(["exec", "--", "true"])
        .code(2)
        .clean_error()
        .stderr_has(&["OTHER", "NUL"]);
}

/// Runs `envshim COMMAND` (words split by the shell) into a pipe whose reader has
/// closed it (`exec 1>&-` would give EBADF; a pipe whose reader is gone gives EPIPE);
/// returns envshim's stderr followed by `status=N`, its exit status.
fn with_closed_stdout(p: &Project, command: &str) -> String {
    let script = format!(
        "\"$0\" {command} | (exec 0<&-; sleep 0.2); echo \"status=${{PIPESTATUS[0]}}\" >&2"
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script, BIN])
        .current_dir(&p.root)
        .env("HOME", &p.home)
        .env_remove("ENVSHIM_AGE_KEY")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let p = Project::initialized();
    // A healthy project, so that doctor's own status is 0 (its status is kept).
    p.run(["hook", "install"]).ok();
    p.set("A", "1", &[]).ok();
    for command in [
        "doctor",
        "completions bash",
        "man",
        "list",
        "recipients list",
        "export",
        "get A",
        "whoami",
        "keygen -o -",
        "scan --format json .",
    ] {
        let stderr = with_closed_stdout(&p, command);
        assert!(
            !stderr.contains("internal error") && !stderr.contains("Broken pipe"),
            "{command}: {stderr}"
        );
        assert!(stderr.contains("status=0"), "{command}: {stderr}");
    }
}

#[test]
fn the_advice_for_a_newcomer_without_an_identity_works() {
    // The owner's identity lives outside the newcomer's HOME.
    let p = Project::new();
    let owner = p.home.join("../owner.txt");
    let owner_pub = p.age_keygen(&owner);
    p.write(".env.secrets.recipients", format!("{owner_pub}\n"));
    p.write(
        ".env.secrets",
        age_encrypt(&p.path(".env.secrets.recipients"), "A=team-value\n", true),
    );
    let r = p
        .run(["get", "A"])
        .code(2)
        .clean_error()
        .stderr_has(&["`envshim keygen`", "envshim recipients add"]);
    assert!(r.stderr.contains("no identity found"), "{r:?}");
    // As printed: keygen, which prints the public key to hand to a recipient ...
    let newcomer_pub = p.run(["keygen"]).ok().stdout.trim().to_string();
    // ... who adds it as the message says.
    p.run([
        "-i",
        owner.to_str().unwrap(),
        "recipients",
        "add",
        &newcomer_pub,
    ])
    .ok();
    assert_eq!(p.run(["get", "A"]).ok().stdout, "team-value\n");
    // A deleted example and `doctor --fix`, as doctor advises for a broken example.
    p.write(".env.secrets.example", "not a dotenv line\n");
    let r = p.run(["doctor"]).code(1);
    assert!(r.stdout.contains("envshim doctor --fix"), "{r:?}");
    fs::remove_file(p.path(".env.secrets.example")).unwrap();
    p.run(["doctor", "--fix"]);
    assert!(p.read(".env.secrets.example").contains("\nA=\n"));
}

/// Encrypts `plaintext` to the project's recipients with the real `age` CLI, as anyone
/// who can read the public recipients file can: a forged secrets file.
fn forge(p: &Project, plaintext: &str) {
    p.write(
        ".env.secrets",
        age_encrypt(&p.path(".env.secrets.recipients"), plaintext, true),
    );
}

#[test]
fn a_victims_next_write_does_not_declare_forged_keys() {
    let p = Project::initialized();
    p.set("API_KEY", "a", &[]).ok();
    p.set("DEPLOY_TOKEN", "d", &["--deploy"]).ok();
    forge(
        &p,
        "API_KEY=x\nLD_PRELOAD=/tmp/evil.so\nEXTRA=1\n# [deploy]\nDEPLOY_TOKEN=d\n",
    );
    p.run(["exec", "--", "true"])
        .code(2)
        .stderr_has(&["LD_PRELOAD"]);
    // Ordinary writes by the victim: none declares what the forger added.
    p.set("UNRELATED", "u", &[])
        .ok()
        .stderr_has(&["LD_PRELOAD, EXTRA", "left undeclared"]);
    p.run(["rm", "API_KEY"]).ok();
    let mate = p.home.join("mate.txt");
    let mate_pub = p.age_keygen(&mate);
    p.run(["recipients", "add", &mate_pub]).ok();
    let example = p.read(".env.secrets.example");
    assert!(!example.contains("LD_PRELOAD"), "{example}");
    assert!(!example.contains("EXTRA"), "{example}");
    assert!(example.contains("\nUNRELATED=\n"), "{example}");
    p.run(["exec", "--", "true"])
        .code(2)
        .stderr_has(&["LD_PRELOAD"]);
    // Setting the key itself is a deliberate act: then it is declared.
    p.set("EXTRA", "2", &[]).ok();
    assert!(p.read(".env.secrets.example").contains("\nEXTRA=\n"));
    // doctor --fix declares reviewed keys, never a loader variable.
    p.run(["doctor", "--fix"]);
    assert!(!p.read(".env.secrets.example").contains("LD_PRELOAD"));
}

#[test]
fn only_keys_the_example_declares_in_that_scope_are_set() {
    let p = Project::new();
    p.secrets(
        "API_KEY=x\nEXTRA=undeclared\nHOME=/tmp/forged-home\nDEPLOY_TOKEN=forged-into-runtime\n\
         # [deploy]\nREAL_DEPLOY=d\nPATH=/nowhere\nNO_PROXY=x\nUNDECLARED_DEPLOY=x\n",
    );
    p.write(
        ".env.secrets.example",
        "API_KEY=\n# [deploy]\nREAL_DEPLOY=\nDEPLOY_TOKEN=\n",
    );
    let script = "printf '%s|%s|%s|%s|%s\\n' \"${EXTRA-unset}\" \"${DEPLOY_TOKEN-unset}\" \
                  \"${NO_PROXY-unset}\" \"${UNDECLARED_DEPLOY-unset}\" \"$HOME\"";
    // HOME is a loader variable (dotfiles run commands): refused while undeclared.
    p.run(["exec", "--", "sh", "-c", script])
        .code(2)
        .stderr_has(&["HOME", "refusing to run"]);
    p.secrets(
        "API_KEY=x\nEXTRA=undeclared\nDEPLOY_TOKEN=forged-into-runtime\n\
         # [deploy]\nREAL_DEPLOY=d\nPATH=/nowhere\nNO_PROXY=x\nUNDECLARED_DEPLOY=x\n",
    );
    let r: Run = p
        .envshim()
        .env("NO_PROXY", "corp.internal")
        .env("UNDECLARED_DEPLOY", "inherited")
        .args(["exec", "--", "sh", "-c", script])
        .output()
        .unwrap()
        .into();
    let r = r.ok().stderr_has(&["EXTRA, DEPLOY_TOKEN", "not set"]);
    // Undeclared: not set. Declared deploy but placed in runtime: not set. A forged
    // deploy section does not remove what the parent had (NO_PROXY, PATH).
    assert!(
        r.stdout.starts_with("unset|unset|corp.internal|inherited|"),
        "{r:?}"
    );
    let r = p
        .run(["exec", "--allow-undeclared", "--", "sh", "-c", script])
        .ok();
    assert!(r.stdout.starts_with("undeclared|unset|"), "{r:?}");
}

#[test]
fn a_runtime_value_may_not_carry_a_deploy_value() {
    let p = Project::new();
    p.secrets(
        "API_KEY=\"https://${DEPLOY_TOKEN}@attacker.invalid/\"\n# [deploy]\nDEPLOY_TOKEN=real\n",
    );
    p.write(
        ".env.secrets.example",
        "API_KEY=\n# [deploy]\nDEPLOY_TOKEN=\n",
    );
    p.run(["exec", "--", "true"])
        .code(2)
        .clean_error()
        .stderr_has(&["API_KEY refers to DEPLOY_TOKEN", "deploy"])
        .never_shows("real");
    // The deploy scope itself may use it.
    p.run(["exec", "--scope", "deploy", "--", "true"]).ok();
}

#[test]
fn reviewed_files_cannot_hide_lines() {
    // A reader hidden behind a carriage return in the recipients file.
    let p = Project::initialized();
    p.set("API_KEY", "a", &[]).ok();
    let attacker = p.home.join("attacker.txt");
    let attacker_pub = p.age_keygen(&attacker);
    let mut recipients = p.read(".env.secrets.recipients");
    recipients.push_str(&format!(
        "{attacker_pub}\r# Change it with `envshim recipients add|rm`.\n"
    ));
    p.write(".env.secrets.recipients", recipients);
    p.run(["recipients", "list"])
        .code(2)
        .stderr_has(&["carriage return"]);
    p.set("API_KEY", "new", &[])
        .code(2)
        .stderr_has(&["carriage return"]);
    assert_eq!(age_decrypt(&attacker, &p.path(".env.secrets")).code, 1);
    // An escape sequence in a comment line is refused too.
    let q = Project::initialized();
    let mut recipients = q.read(".env.secrets.recipients");
    recipients.push_str("# \u{1b}[1A\u{1b}[2K\n");
    q.write(".env.secrets.recipients", recipients);
    q.run(["recipients", "list"])
        .code(2)
        .stderr_has(&["escape character"]);

    // The example: a declaration hidden behind a carriage return, a value, a bomb.
    let r = Project::new();
    r.secrets("API_KEY=x\nLD_PRELOAD=/tmp/evil.so\n");
    for (example, expected, line) in [
        (
            "API_KEY=\nLD_PRELOAD=\r# rotated 2026-11\n",
            "carriage return",
            "line 2:",
        ),
        ("API_KEY=\nLD_PRELOAD=x\n", "holds keys only", "line 2:"),
        (
            "A=xxxxxxxxxxxxxxxx\nB=${A}${A}${A}${A}\nC=${B}${B}${B}${B}\n",
            "holds keys only",
            "line 1:",
        ),
    ] {
        r.write(".env.secrets.example", example);
        r.run(["exec", "--", "true"])
            .code(2)
            .clean_error()
            .stderr_has(&[expected, line]);
    }
}

#[test]
fn a_closed_stdout_keeps_the_scan_status_and_a_dead_git_is_an_error() {
    let p = Project::new();
    // (A random-looking token: `1234567890abcdef…` is a placeholder.)
    let token = github_token();
    p.write("config.txt", format!("token = {token}\n"));
    let stderr = with_closed_stdout(&p, "scan --format json .");
    assert!(stderr.contains("status=1"), "{stderr}");
    // A git whose cat-file dies: the staged scan must not pass quietly.
    p.write("staged.txt", "hello\n");
    assert!(std::process::Command::new("git")
        .args(["add", "staged.txt"])
        .current_dir(&p.root)
        .status()
        .unwrap()
        .success());
    let fake = p.home.join("fakegit");
    fs::create_dir_all(&fake).unwrap();
    let real_git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let git = fake.join("git");
    fs::write(
        &git,
        format!(
            "#!/bin/sh\ncase \"$*\" in *cat-file*) exit 128;; esac\nexec {} \"$@\"\n",
            real_git.trim()
        ),
    )
    .unwrap();
    set_mode(&git, 0o755);
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    for _ in 0..5 {
        let r: Run = p
            .envshim()
            .env("PATH", &path)
            .args(["scan", "--staged"])
            .output()
            .unwrap()
            .into();
        assert_ne!(r.code, 0, "a dead git passed the hook:\n{r:?}");
    }
}

#[test]
fn no_route_carries_a_deploy_value_into_a_runtime_variable() {
    // Found in review: an undeclared hop, a comment that dotenvy does not see as one
    // (two no-break spaces), and a quote that dotenvy opens where a naive reader sees a
    // comment. Each got the CI's deploy token into DATABASE_URL.
    let forged = [
        "# [runtime]\nHOP=${CLOUDFLARE_API_TOKEN}\nDATABASE_URL=${HOP}\n",
        "# [runtime]\nDATABASE_URL=x\u{a0}\u{a0}#${CLOUDFLARE_API_TOKEN}\n",
        "# [runtime]\nA=x  #'\nDATABASE_URL='\nDATABASE_URL=${CLOUDFLARE_API_TOKEN} #'\n\
         # [deploy]\nCLOUDFLARE_API_TOKEN=y\n",
    ];
    for text in forged {
        let p = Project::new();
        p.secrets(text);
        p.write(
            ".env.secrets.example",
            "A=\nDATABASE_URL=\n# [deploy]\nCLOUDFLARE_API_TOKEN=\n",
        );
        let r: Run = p
            .envshim()
            .env("CLOUDFLARE_API_TOKEN", "cf-from-ci-0123456789")
            .args(["exec", "--", "sh", "-c", "echo \"DB=$DATABASE_URL\""])
            .output()
            .unwrap()
            .into();
        assert_eq!(r.code, 2, "{text:?}:\n{r:?}");
        r.clean_error()
            .stderr_has(&["DATABASE_URL", "deploy"])
            .never_shows("cf-from-ci");
    }
    // Without a reference to a deploy variable, a runtime value that merely equals a
    // deploy one (a region) is fine.
    let p = Project::new();
    p.secrets("REGION=europe-west1\n# [deploy]\nAWS_REGION=europe-west1\n");
    p.write(".env.secrets.example", "REGION=\n# [deploy]\nAWS_REGION=\n");
    p.run(["exec", "--", "true"]).ok();
}

#[test]
fn edits_and_a_missing_example_do_not_declare_forged_keys_or_marks() {
    let p = Project::initialized();
    p.set("DATABASE_URL", "pg", &[]).ok();
    p.set("CLOUDFLARE_API_TOKEN", "cf", &["--deploy"]).ok();
    forge(
        &p,
        "# [runtime]\nDATABASE_URL=pg # optional\nLD_PRELOAD=/tmp/evil.so \n\
         NODE_OPTIONS=--require=/tmp/x.js\r\n# [deploy]\nCLOUDFLARE_API_TOKEN=cf # optional\n",
    );
    // An editor that trims trailing spaces and CRs while changing one value.
    edit_with(
        &p,
        "sed -i -e 's/[[:space:]]*$//' -e 's#=pg#=pg2#' \"$1\"\n",
        &[],
    )
    .ok()
    .stderr_has(&["LD_PRELOAD", "left undeclared"]);
    let example = p.read(".env.secrets.example");
    assert!(!example.contains("LD_PRELOAD") && !example.contains("NODE_OPTIONS"));
    // A forged `# optional` mark on a key the edit left alone does not reach the
    // example (DATABASE_URL's line was edited, so its mark is the editor's choice).
    assert!(example.contains("\nCLOUDFLARE_API_TOKEN=\n"), "{example}");
    p.run(["exec", "--", "true"])
        .code(2)
        .stderr_has(&["LD_PRELOAD"]);
    // With the example deleted, the next write declares keys, but no loader variable.
    fs::remove_file(p.path(".env.secrets.example")).unwrap();
    p.set("NEWKEY", "v", &[]).ok();
    let example = p.read(".env.secrets.example");
    assert!(example.contains("\nNEWKEY=\n"), "{example}");
    assert!(!example.contains("LD_PRELOAD"), "{example}");
}

#[test]
fn doctor_keeps_its_status_when_its_reader_stops_early() {
    let p = Project::new();
    let stderr = with_closed_stdout(&p, "doctor");
    assert!(stderr.contains("status=1"), "{stderr}");
    // An unknown section marker is named by its line, not by its (maybe secret) word.
    let q = Project::initialized();
    q.write("m.env", "A=1\n#[Hunter2-pass.word]\n");
    q.run(["import", "m.env"])
        .code(2)
        .stderr_has(&["line 2", "unknown section marker"])
        .never_shows("Hunter2");
}
