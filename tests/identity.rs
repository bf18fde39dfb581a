//! Identity discovery (DESIGN §1): sources in order, SSH keys, passphrases, permissions.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// A project whose secrets are readable by `keys` (paths of age identity files).
fn project_for(p: &Project, publics: &[String]) {
    p.write(".env.secrets.recipients", publics.join("\n") + "\n");
    let c = age_encrypt(
        &p.path(".env.secrets.recipients"),
        "WHO=secret-value-9\n",
        true,
    );
    p.write(".env.secrets", c);
}

fn ssh_keygen(path: &Path, kind: &str, passphrase: &str) -> String {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut cmd = Command::new("ssh-keygen");
    cmd.args([
        "-q",
        "-t",
        kind,
        "-N",
        passphrase,
        "-C",
        "test@example",
        "-f",
    ])
    .arg(path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    assert!(cmd.status().unwrap().success());
    fs::read_to_string(format!("{}.pub", path.display())).unwrap()
}

#[test]
fn sources_are_tried_in_order_and_the_first_one_wins() {
    let p = Project::new();
    let flag = p.home.join("flag.txt");
    let env_path = p.home.join("env-path.txt");
    let default = p.default_identity_path();
    let env_key_file = p.home.join("env-key.txt");
    let flag_pub = p.age_keygen(&flag);
    let env_path_pub = p.age_keygen(&env_path);
    let env_key_pub = p.age_keygen(&env_key_file);
    let default_pub = p.age_keygen(&default);
    let env_key = fs::read_to_string(&env_key_file).unwrap();

    let with_all_sources = |readable: &String| {
        project_for(&p, std::slice::from_ref(readable));
        let mut cmd = p.envshim();
        cmd.args([
            "-i",
            flag.to_str().unwrap(),
            "exec",
            "--",
            "printenv",
            "WHO",
        ])
        .env("ENVSHIM_AGE_KEY", &env_key)
        .env("ENVSHIM_IDENTITY", &env_path);
        Run::from(cmd.output().unwrap())
    };
    // With every source present, --identity wins: only a file for it decrypts.
    with_all_sources(&flag_pub).ok();
    with_all_sources(&env_key_pub)
        .code(2)
        .clean_error()
        .stderr_has(&["recipients add", &flag_pub])
        .never_shows("secret-value-9");

    // Without --identity, ENVSHIM_AGE_KEY wins over ENVSHIM_IDENTITY and the default.
    project_for(&p, std::slice::from_ref(&env_key_pub));
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "printenv", "WHO"])
        .env("ENVSHIM_AGE_KEY", &env_key)
        .env("ENVSHIM_IDENTITY", &env_path);
    assert_eq!(
        Run::from(cmd.output().unwrap()).ok().stdout,
        "secret-value-9\n"
    );

    // Then ENVSHIM_IDENTITY over the default.
    project_for(&p, std::slice::from_ref(&env_path_pub));
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "printenv", "WHO"])
        .env("ENVSHIM_IDENTITY", &env_path);
    Run::from(cmd.output().unwrap()).ok();
    project_for(&p, std::slice::from_ref(&default_pub));
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "true"])
        .env("ENVSHIM_IDENTITY", &env_path);
    Run::from(cmd.output().unwrap())
        .code(2)
        .stderr_has(&[&env_path_pub]);

    // Finally the default file.
    p.run(["exec", "--", "true"]).ok();
}

#[test]
fn ssh_keys_in_home_are_used_when_they_are_recipients() {
    let p = Project::new();
    let key = p.home.join(".ssh/id_ed25519");
    let public = ssh_keygen(&key, "ed25519", "");
    // Not a recipient: not used, and the error says where envshim looked.
    let other = p.home.join("other.txt");
    let other_pub = p.age_keygen(&other);
    project_for(&p, std::slice::from_ref(&other_pub));
    p.run(["exec", "--", "true"])
        .code(2)
        .clean_error()
        .stderr_has(&[
            "no identity found",
            "ENVSHIM_AGE_KEY",
            "identity.txt",
            "id_ed25519",
            "envshim keygen",
        ]);
    // A recipient (with its comment, as ssh-keygen writes it): used.
    project_for(&p, &[public.trim().to_string()]);
    let r = p.run(["exec", "--", "printenv", "WHO"]).ok();
    assert_eq!(r.stdout, "secret-value-9\n");
}

#[test]
fn ssh_rsa_recipients_and_identity_flag() {
    let p = Project::new();
    let key = p.home.join("keys/deploy_rsa");
    let public = ssh_keygen(&key, "rsa", "");
    project_for(&p, &[public.trim().to_string()]);
    let r = p
        .run(["-i", key.to_str().unwrap(), "exec", "--", "printenv", "WHO"])
        .ok();
    assert_eq!(r.stdout, "secret-value-9\n");
}

#[test]
fn passphrase_protected_ssh_key_prompts_on_the_terminal() {
    let p = Project::new();
    let key = p.home.join(".ssh/id_ed25519");
    let public = ssh_keygen(&key, "ed25519", "correct horse");
    project_for(&p, &[public.trim().to_string()]);
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "printenv", "WHO"]);
    let r = on_terminal(&mut cmd, &[("assphrase", "correct horse")]).ok();
    assert!(r.stdout.contains("secret-value-9"), "{r:?}");
    assert!(
        !r.stdout.contains("correct horse"),
        "passphrase echoed:\n{r:?}"
    );
}

#[test]
fn passphrase_protected_age_identity_prompts_on_the_terminal() {
    use age::secrecy::SecretString;
    use std::io::Write;
    let p = Project::new();
    let plain = p.home.join("plain.txt");
    let public = p.age_keygen(&plain);
    project_for(&p, std::slice::from_ref(&public));
    // Encrypt the identity file with a passphrase, as `age -p` would.
    let encryptor =
        age::Encryptor::with_user_passphrase(SecretString::from("open sesame".to_string()));
    let mut out = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = encryptor.wrap_output(armor).unwrap();
    w.write_all(&fs::read(&plain).unwrap()).unwrap();
    w.finish().unwrap().finish().unwrap();
    let locked: PathBuf = p.home.join("locked.age");
    fs::write(&locked, out).unwrap();
    set_mode(&locked, 0o600);
    let mut cmd = p.envshim();
    cmd.args([
        "-i",
        locked.to_str().unwrap(),
        "exec",
        "--",
        "printenv",
        "WHO",
    ]);
    let r = on_terminal(&mut cmd, &[("assphrase", "open sesame")]).ok();
    assert!(r.stdout.contains("secret-value-9"), "{r:?}");
    assert!(
        !r.stdout.contains("open sesame"),
        "passphrase echoed:\n{r:?}"
    );
}

#[test]
fn identity_files_readable_by_others_are_refused() {
    let p = Project::new();
    let public = p.default_identity();
    project_for(&p, &[public]);
    let path = p.default_identity_path();
    for mode in [0o644, 0o640, 0o604] {
        set_mode(&path, mode);
        p.run(["exec", "--", "true"])
            .code(2)
            .clean_error()
            .stderr_has(&["chmod 600", path.to_str().unwrap()]);
    }
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "true"])
        .env("ENVSHIM_IDENTITY", &path);
    Run::from(cmd.output().unwrap())
        .code(2)
        .stderr_has(&["chmod 600"]);
    set_mode(&path, 0o600);
    p.run(["exec", "--", "true"]).ok();
}

#[test]
fn env_key_with_garbage_is_a_clear_error() {
    let p = Project::new();
    let public = p.default_identity();
    project_for(&p, &[public]);
    let mut cmd = p.envshim();
    cmd.args(["exec", "--", "true"])
        .env("ENVSHIM_AGE_KEY", "AGE-SECRET-KEY-1NOTAKEY");
    Run::from(cmd.output().unwrap())
        .code(2)
        .clean_error()
        .stderr_has(&["ENVSHIM_AGE_KEY"])
        .never_shows("NOTAKEY");
}
