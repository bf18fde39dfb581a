//! `envshim init` and `envshim keygen`.

use std::fs;

use crate::util::*;

#[test]
fn init_creates_everything_and_age_can_read_it() {
    let p = Project::new();
    let r = p.run(["init"]).ok();
    assert!(r.stderr.contains("created your identity"), "{r:?}");
    let identity = p.default_identity_path();
    assert_eq!(mode_of(&identity), 0o600);
    assert_eq!(mode_of(identity.parent().unwrap()), 0o700);
    let public = public_key_of(&identity);
    let recipients = fs::read_to_string(p.path(".env.secrets.recipients")).unwrap();
    assert!(recipients.lines().any(|l| l == public), "{recipients}");
    let armored = fs::read_to_string(p.path(".env.secrets")).unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let plain = age_decrypt(&identity, &p.path(".env.secrets")).ok();
    assert!(plain.stdout.contains("# [runtime]") && plain.stdout.contains("# [deploy]"));
    let example = fs::read_to_string(p.path(".env.secrets.example")).unwrap();
    assert!(example.contains("# [runtime]") && example.contains("# [deploy]"));
    let gitignore = fs::read_to_string(p.path(".gitignore")).unwrap();
    for line in [
        ".env",
        ".env.*",
        "!.env.secrets",
        "!.env.secrets.recipients",
        "!.env.secrets.example",
    ] {
        assert!(gitignore.lines().any(|l| l == line), "{gitignore}");
    }
    // git agrees: plaintext dotenv files are ignored, the envshim files are not.
    p.write(".env", "A=1\n");
    p.write(".env.local", "A=1\n");
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(&p.root)
        .output()
        .unwrap();
    let status = String::from_utf8(out.stdout).unwrap();
    assert!(status.contains(".env.secrets\n") && status.contains(".env.secrets.example"));
    assert!(
        !status.contains(".env.local") && !status.contains(" .env\n"),
        "{status}"
    );
    // The new file works with exec at once.
    p.run(["exec", "--", "true"]).ok();
}

#[test]
fn init_uses_an_existing_identity_and_extra_recipients() {
    let p = Project::new();
    let mine = p.default_identity();
    let other_path = p.home.join("other.txt");
    let other = p.age_keygen(&other_path);
    p.run(["init", "--recipient", &other]).ok();
    let recipients = fs::read_to_string(p.path(".env.secrets.recipients")).unwrap();
    assert!(recipients.contains(&mine) && recipients.contains(&other));
    age_decrypt(&other_path, &p.path(".env.secrets")).ok();
    age_decrypt(&p.default_identity_path(), &p.path(".env.secrets")).ok();
}

#[test]
fn init_never_overwrites_without_force() {
    let p = Project::new();
    p.run(["init"]).ok();
    let before = p.snapshot();
    p.run(["init"])
        .code(2)
        .clean_error()
        .stderr_has(&[".env.secrets", "--force"]);
    assert_eq!(before, p.snapshot(), "a refused init changed files");
    p.run(["init", "--force"]).ok();
    assert_ne!(
        fs::read(p.path(".env.secrets")).unwrap(),
        before
            .iter()
            .find(|(f, _)| f.ends_with(".env.secrets"))
            .unwrap()
            .1
    );
}

#[test]
fn init_with_a_companion_name_keeps_environments_apart() {
    let p = Project::new();
    fs::create_dir_all(p.path("deploy")).unwrap();
    p.run(["-f", "deploy/prod.env.secrets", "init"]).ok();
    for name in [
        "prod.env.secrets",
        "prod.env.secrets.recipients",
        "prod.env.secrets.example",
    ] {
        assert!(p.path("deploy").join(name).exists(), "{name}");
    }
    assert!(!p.path(".env.secrets").exists());
    let gitignore = fs::read_to_string(p.path("deploy/.gitignore")).unwrap();
    assert!(gitignore.contains("!prod.env.secrets\n"), "{gitignore}");
}

#[test]
fn init_refuses_a_file_nobody_could_decrypt() {
    let p = Project::new();
    // An SSH identity with no public half beside it: envshim cannot know its recipient.
    let key = p.home.join("keys/id_ed25519");
    fs::create_dir_all(key.parent().unwrap()).unwrap();
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    fs::remove_file(key.with_extension("pub")).unwrap();
    let before = p.snapshot();
    p.run(["-i", key.to_str().unwrap(), "init"])
        .code(2)
        .clean_error()
        .stderr_has(&["--recipient"]);
    assert_eq!(before, p.snapshot());
    let bad = p
        .run(["init", "--recipient", "not-a-key"])
        .code(2)
        .clean_error();
    assert!(bad.stderr.contains("age public key"), "{bad:?}");
    assert_eq!(before, p.snapshot());
}

#[test]
fn keygen_writes_a_private_identity_that_age_accepts() {
    let p = Project::new();
    let r = p.run(["keygen"]).ok();
    let path = p.default_identity_path();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(r.stdout.trim(), public_key_of(&path));
    let before = fs::read(&path).unwrap();
    p.run(["keygen"])
        .code(2)
        .clean_error()
        .stderr_has(&["--force"]);
    assert_eq!(before, fs::read(&path).unwrap());
    let out = p.path("ci-key.txt");
    let r = p.run(["keygen", "-o", "ci-key.txt"]).ok();
    assert_eq!(mode_of(&out), 0o600);
    assert_eq!(r.stdout.trim(), public_key_of(&out));
    let r = p.run(["keygen", "-o", "-"]).ok();
    assert!(r.stdout.contains("AGE-SECRET-KEY-1"));
}
