//! `envshim exec`: scopes, overrides, required variables, and exec semantics.

use std::process::{Command, Stdio};

use crate::util::*;

const SECRETS: &str = "\
# [runtime]
APP_TOKEN=runtime-value-1
export QUOTED='has # hash and \"quotes\"'
MULTI=\"line one
line two\"
EXPANDED=\"${APP_TOKEN}/x\"
# [deploy]
DEPLOY_TOKEN=deploy-value-2
";

fn project() -> Project {
    let p = Project::new();
    p.secrets(SECRETS);
    p
}

/// Runs `exec` with `args`, and a shell that prints the named variables.
fn show(p: &Project, args: &[&str], vars: &[&str], env: &[(&str, &str)]) -> Run {
    let script: String = vars
        .iter()
        .map(|v| format!("printf '%s=[%s]\\n' {v} \"${{{v}-<unset>}}\";"))
        .collect();
    let mut cmd = p.envshim();
    cmd.arg("exec").args(args).args(["--", "sh", "-c", &script]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap().into()
}

#[test]
fn runtime_scope_injects_runtime_values_with_dotenv_semantics() {
    let p = project();
    let r = show(
        &p,
        &[],
        &["APP_TOKEN", "QUOTED", "MULTI", "EXPANDED", "DEPLOY_TOKEN"],
        &[],
    )
    .ok();
    assert_eq!(
        r.stdout,
        "APP_TOKEN=[runtime-value-1]\nQUOTED=[has # hash and \"quotes\"]\n\
         MULTI=[line one\nline two]\nEXPANDED=[runtime-value-1/x]\nDEPLOY_TOKEN=[<unset>]\n"
    );
}

#[test]
fn deploy_variables_are_removed_from_runtime_even_when_inherited() {
    let p = project();
    let r = show(&p, &[], &["DEPLOY_TOKEN"], &[("DEPLOY_TOKEN", "inherited")]).ok();
    assert_eq!(r.stdout, "DEPLOY_TOKEN=[<unset>]\n");
    // Declared deploy only in the example: still removed.
    p.write(".env.secrets.example", "# [deploy]\nCI_ONLY= # optional\n");
    let r = show(&p, &[], &["CI_ONLY"], &[("CI_ONLY", "inherited")]).ok();
    assert_eq!(r.stdout, "CI_ONLY=[<unset>]\n");
}

#[test]
fn deploy_and_all_scopes() {
    let p = project();
    let r = show(
        &p,
        &["--scope", "deploy"],
        &["APP_TOKEN", "DEPLOY_TOKEN"],
        &[],
    )
    .ok();
    assert_eq!(
        r.stdout,
        "APP_TOKEN=[<unset>]\nDEPLOY_TOKEN=[deploy-value-2]\n"
    );
    let r = show(&p, &["--scope", "all"], &["APP_TOKEN", "DEPLOY_TOKEN"], &[]).ok();
    assert_eq!(
        r.stdout,
        "APP_TOKEN=[runtime-value-1]\nDEPLOY_TOKEN=[deploy-value-2]\n"
    );
}

#[test]
fn file_values_win_unless_no_override() {
    let p = project();
    let inherited = [("APP_TOKEN", "from-parent"), ("OTHER", "kept")];
    let r = show(&p, &[], &["APP_TOKEN", "OTHER"], &inherited).ok();
    assert_eq!(r.stdout, "APP_TOKEN=[runtime-value-1]\nOTHER=[kept]\n");
    let r = show(&p, &["--no-override"], &["APP_TOKEN", "OTHER"], &inherited).ok();
    assert_eq!(r.stdout, "APP_TOKEN=[from-parent]\nOTHER=[kept]\n");
}

#[test]
fn missing_required_variables_stop_the_run_before_it_starts() {
    let p = project();
    p.write(
        ".env.secrets.example",
        "APP_TOKEN=\nNEEDED_ONE=\nMAYBE= # optional\nNEEDED_TWO=\n# [deploy]\nDEPLOY_TOKEN=\nDEPLOY_NEEDED=\n",
    );
    let marker = p.path("ran");
    let r = p
        .run(["exec", "--", "touch", marker.to_str().unwrap()])
        .code(2)
        .clean_error()
        .stderr_has(&["NEEDED_ONE, NEEDED_TWO", ".env.secrets.example"]);
    assert!(
        !r.stderr.contains("MAYBE") && !r.stderr.contains("DEPLOY_NEEDED"),
        "{r:?}"
    );
    assert!(
        !marker.exists(),
        "the command ran although variables were missing"
    );
    p.run(["exec", "--scope", "deploy", "--", "true"])
        .code(2)
        .stderr_has(&["DEPLOY_NEEDED"]);
    // Provided by the parent environment: not missing.
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "true"])
        .env("NEEDED_ONE", "x")
        .env("NEEDED_TWO", "y");
    Run::from(cmd.output().unwrap()).ok();
}

#[test]
fn missing_variables_are_asked_for_on_a_terminal_without_echo() {
    let p = project();
    p.write(".env.secrets.example", "APP_TOKEN=\nASKED=\n");
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "sh", "-c", "echo \"got=[$ASKED]\""]);
    let r = on_terminal(&mut cmd, &[("ASKED", "typed-in-value-77")]).ok();
    assert!(r.stdout.contains("got=[typed-in-value-77]"), "{r:?}");
    assert_eq!(
        r.stdout.matches("typed-in-value-77").count(),
        1,
        "echoed:\n{r:?}"
    );
    // Used for this run only: nothing was written.
    assert!(!std::fs::read_to_string(p.path(".env.secrets.example"))
        .unwrap()
        .contains("typed-in"));
}

#[test]
fn the_command_replaces_envshim() {
    let p = project();
    let child = p
        .envshim()
        .args(["exec", "--", "sh", "-c", "echo $$"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        pid.to_string()
    );
}

/// The command inherits exactly the descriptors it would have had without envshim: not
/// the secrets file, the identity file or the writers' lock.
#[test]
fn the_command_inherits_no_descriptor_of_envshims() {
    let p = project();
    let script = "for fd in /proc/$$/fd/*; do printf '%s -> %s\\n' \"${fd##*/}\" \"$(readlink \"$fd\")\"; done";
    let direct = Command::new("sh")
        .args(["-c", script])
        .current_dir(&p.root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let through = p.run(["exec", "--", "sh", "-c", script]).ok();
    let direct = String::from_utf8(direct.stdout).unwrap();
    // Only the pipes differ (each run has its own); compare the descriptor numbers and
    // what each one is.
    let shape = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| match l.split_once(" -> ") {
                Some((fd, target)) if target.starts_with("pipe:") => format!("{fd} -> pipe"),
                _ => l.to_string(),
            })
            .collect()
    };
    assert_eq!(shape(&through.stdout), shape(&direct), "{through:?}");
    for name in [".env.secrets", "identity.txt", "/repo"] {
        assert!(
            !through.stdout.contains(name),
            "{name} leaked:\n{through:?}"
        );
    }
}

#[test]
fn exit_status_and_signals_are_the_commands_own() {
    use std::os::unix::process::ExitStatusExt;
    let p = project();
    p.run(["exec", "--", "sh", "-c", "exit 42"]).code(42);
    let mut child = p
        .envshim()
        .args(["exec", "--", "sh", "-c", "echo ready; exec sleep 30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "ready\n");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    let p = project();
    p.run(["exec", "--", "no-such-command-xyz"])
        .code(127)
        .clean_error()
        .stderr_has(&["no-such-command-xyz", "not found"]);
    let script = p.write("script.sh", "#!/bin/sh\necho hi\n");
    set_mode(&script, 0o644);
    p.run(["exec", "--", "./script.sh"])
        .code(126)
        .clean_error()
        .stderr_has(&["./script.sh"]);
}

#[test]
fn the_nearest_secrets_file_is_found_up_to_the_repository_root() {
    let p = project();
    std::fs::create_dir_all(p.path("a/b")).unwrap();
    let mut cmd = p.envshim();
    cmd.current_dir(p.path("a/b"))
        .args(["exec", "--", "printenv", "APP_TOKEN"]);
    let r = Run::from(cmd.output().unwrap()).ok();
    assert_eq!(r.stdout, "runtime-value-1\n");
    // A nested repository without its own file does not climb out of itself.
    let nested = p.path("a/nested");
    std::fs::create_dir_all(nested.join(".git")).unwrap();
    let mut cmd = p.envshim();
    cmd.current_dir(&nested).args(["exec", "--", "true"]);
    Run::from(cmd.output().unwrap())
        .code(2)
        .clean_error()
        .stderr_has(&["envshim init"]);
}

#[test]
fn file_flag_selects_an_environment_with_its_own_companions() {
    let p = project();
    let public = p.default_identity();
    p.write("deploy/prod.env.secrets.recipients", format!("{public}\n"));
    let ciphertext = age_encrypt(
        &p.path("deploy/prod.env.secrets.recipients"),
        "APP_TOKEN=prod\n",
        true,
    );
    p.write("deploy/prod.env.secrets", ciphertext);
    p.write(
        "deploy/prod.env.secrets.example",
        "APP_TOKEN=\nPROD_ONLY=\n",
    );
    p.run(["-f", "deploy/prod.env.secrets", "exec", "--", "true"])
        .code(2)
        .stderr_has(&["PROD_ONLY", "deploy/prod.env.secrets.example"]);
    p.write("deploy/prod.env.secrets.example", "APP_TOKEN=\n");
    let r = p
        .run([
            "-f",
            "deploy/prod.env.secrets",
            "exec",
            "--",
            "printenv",
            "APP_TOKEN",
        ])
        .ok();
    assert_eq!(r.stdout, "prod\n");
    let mut cmd = p.envshim();
    cmd.env("ENVSHIM_FILE", "deploy/prod.env.secrets").args([
        "exec",
        "--",
        "printenv",
        "APP_TOKEN",
    ]);
    assert_eq!(Run::from(cmd.output().unwrap()).ok().stdout, "prod\n");
}
