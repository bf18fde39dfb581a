//! Small things users hit: what a failed `exec` really means, did-you-mean for key names,
//! moving a key between scopes, `whoami`, labelled recipients, plain SSH key errors.

use std::process::Command;

use crate::util::*;

/// The exit status real bash gives `cmd` run in `dir`.
fn bash_status(dir: &std::path::Path, cmd: &str) -> i32 {
    Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .expect("bash")
        .status
        .code()
        .expect("bash exited")
}

#[test]
fn a_bad_interpreter_or_a_directory_is_named_and_exits_as_bash_does() {
    let p = Project::initialized();
    let bad = p.write("bad.sh", "#!/nonexistent/interp -x\necho hi\n");
    set_mode(&bad, 0o755);
    let crlf = p.write("crlf.sh", "#!/bin/sh\r\necho hi\r\n");
    set_mode(&crlf, 0o755);
    std::fs::create_dir(p.path("adir")).unwrap();
    for (cmd, fragments) in [
        (
            "./bad.sh",
            &["cannot run ./bad.sh: its interpreter `/nonexistent/interp` (from the #! line) was not found"][..],
        ),
        (
            "./crlf.sh",
            &["its interpreter `/bin/sh\\r`", "carriage return", "sed -i"][..],
        ),
        ("./adir", &["cannot run ./adir: it is a directory"][..]),
    ] {
        let expected = bash_status(&p.root, cmd);
        assert!(expected == 126 || expected == 127, "bash gave {expected}");
        let r = p
            .run(["exec", "--", cmd])
            .code(expected)
            .clean_error()
            .stderr_has(fragments);
        assert!(!r.stderr.contains("command not found"), "{r:?}");
        assert!(!r.stderr.contains("permission denied"), "{r:?}");
    }

    // Found through PATH, the same diagnosis.
    let bin = p.path("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(&bad, bin.join("badcmd")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let r: Run = p
        .envshim()
        .env("PATH", &path)
        .args(["exec", "--", "badcmd"])
        .output()
        .unwrap()
        .into();
    r.code(127)
        .clean_error()
        .stderr_has(&["cannot run badcmd: its interpreter `/nonexistent/interp`"]);

    // Still a plain "not found" when there is no such file.
    p.run(["exec", "--", "./no-such-file"])
        .code(127)
        .clean_error()
        .stderr_has(&["./no-such-file: command not found"]);
}

/// A new SSH key pair under the project's HOME; returns the private key path and the
/// public key line.
fn ssh_keygen(p: &Project, name: &str, comment: &str) -> (std::path::PathBuf, String) {
    let key = p.home.join(name);
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(ok.success());
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    (key, public.trim().to_string())
}

#[test]
fn labelled_recipients_are_read_kept_listed_and_age_still_reads_the_file() {
    let p = Project::initialized();
    let mine = public_key_of(&p.default_identity_path());
    // What a team writes by hand: a trailing label after an age key.
    p.write(
        ".env.secrets.recipients",
        format!("# Our team\n\n{mine} # alice\n"),
    );
    // The real age CLI rejects that line (age 1.1); envshim reads it ...
    let age_r = Command::new("age")
        .arg("-R")
        .arg(p.path(".env.secrets.recipients"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        !age_r.status.success(),
        "age -R now accepts labels: simplify"
    );
    p.set("A", "value-a", &[]).ok();
    let doctor = p.run(["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("line 3: `age -R` rejects a label after an age key"),
        "{doctor:?}"
    );

    // ... and every file it writes, age reads: the label moves above its key.
    let (bob_key, bob_pub) = ssh_keygen(&p, "bob_ed25519", "bob@laptop");
    p.run(["recipients", "add", &format!("{bob_pub} # bob")])
        .ok();
    let carol = p.home.join("carol.txt");
    let carol_pub = p.age_keygen(&carol);
    p.run(["recipients", "add", &carol_pub, "--label", "carol"])
        .ok();
    let file = p.read(".env.secrets.recipients");
    assert!(file.starts_with("# Our team\n\n"), "{file}");
    assert!(file.contains(&format!("\n# alice\n{mine}\n")), "{file}");
    assert!(file.contains(&format!("\n# bob\n{bob_pub}\n")), "{file}");
    assert!(
        file.contains(&format!("\n# carol\n{carol_pub}\n")),
        "{file}"
    );
    age_encrypt(
        &p.path(".env.secrets.recipients"),
        "readable by age -R",
        true,
    );
    let doctor = p.run(["doctor"]);
    assert!(!doctor.stdout.contains("rejects a label"), "{doctor:?}");

    let list = p.run(["recipients", "list"]).ok().stdout;
    assert!(
        list.contains(&format!("{mine}  (you)  # alice\n")),
        "{list}"
    );
    assert!(list.contains(&format!("{bob_pub}  # bob\n")), "{list}");
    assert!(list.contains(&format!("{carol_pub}  # carol\n")), "{list}");
    for key in [&bob_key, &carol] {
        let r = age_decrypt(key, &p.path(".env.secrets")).ok();
        assert!(r.stdout.contains("A=value-a"), "{r:?}");
    }

    // SSH keys may keep a trailing label: age reads it as part of the key's comment.
    let (_, dave_pub) = ssh_keygen(&p, "dave_ed25519", "dave@desk");
    let mut file = p.read(".env.secrets.recipients");
    file.push_str(&format!("{dave_pub} # dave\n"));
    p.write(".env.secrets.recipients", &file);
    age_encrypt(&p.path(".env.secrets.recipients"), "still readable", true);
    let list = p.run(["recipients", "list"]).ok().stdout;
    assert!(list.contains(&format!("{dave_pub}  # dave\n")), "{list}");

    // A removed key takes its label along; the others keep theirs.
    p.run(["recipients", "rm", &carol_pub]).ok();
    let file = p.read(".env.secrets.recipients");
    assert!(!file.contains("carol"), "{file}");
    assert!(file.contains(&format!("\n# bob\n{bob_pub}\n")), "{file}");
    assert!(file.contains(&format!("{dave_pub} # dave\n")), "{file}");
    // `rm` takes a key as listed, label and all.
    p.run(["recipients", "rm", &format!("{bob_pub}  # bob")])
        .ok();
    assert!(!p.read(".env.secrets.recipients").contains("bob"));
}

#[test]
fn unusable_public_keys_are_one_plain_sentence() {
    let p = Project::initialized();
    let before = p.snapshot();
    for (key, says) in [
        (
            "ssh-ed25519 AAAAnotbase64",
            "not a valid ssh-ed25519 public key: copy the whole line of its .pub file",
        ),
        (
            "ssh-dss AAAAB3NzaC1kc3M=",
            "ssh-dss keys cannot be age recipients",
        ),
    ] {
        let r = p
            .run(["recipients", "add", key])
            .code(2)
            .clean_error()
            .stderr_has(&[says]);
        assert!(!r.stderr.contains("Invalid("), "{r:?}");
        assert!(!r.stderr.contains("Unsupported("), "{r:?}");
    }
    // A private key pasted by mistake is not repeated.
    let secret = std::fs::read_to_string(p.default_identity_path()).unwrap();
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_string();
    p.run(["recipients", "add", &secret])
        .code(2)
        .clean_error()
        .stderr_has(&["that is a private key"])
        .never_shows(&secret["AGE-SECRET-KEY-1".len()..]);
    assert_eq!(before, p.snapshot());

    // The same sentence, with the line, for a bad key in the file.
    let mine = public_key_of(&p.default_identity_path());
    p.write(
        ".env.secrets.recipients",
        format!("{mine}\nssh-ed25519 AAAAnotbase64 eve\n"),
    );
    let r = p
        .set("A", "x", &[])
        .code(2)
        .clean_error()
        .stderr_has(&["line 2: not a valid ssh-ed25519 public key"]);
    assert!(!r.stderr.contains("Invalid("), "{r:?}");
}

/// A project whose secrets (written by the real `age`) hold a `${HOST}` reference and a
/// quoted value.
fn project_with_references() -> Project {
    let p = Project::new();
    p.secrets(
        "# [runtime]\nHOST=db.internal\nDATABASE_URL=\"postgres://app@${HOST}/app\"\n\
         API_TOKEN='tok-123 456'\n",
    );
    p
}

#[test]
fn a_mistyped_name_gets_a_suggestion() {
    let p = project_with_references();
    p.run(["get", "DATABSE_URL"])
        .code(2)
        .clean_error()
        .stderr_has(&["DATABSE_URL is not set", "Did you mean DATABASE_URL?"])
        .never_shows("postgres");
    p.run(["get", "api_token"])
        .code(2)
        .clean_error()
        .stderr_has(&["Did you mean API_TOKEN?"])
        .never_shows("tok-123");
    let before = p.snapshot();
    p.run(["rm", "HSOT"])
        .code(2)
        .clean_error()
        .stderr_has(&["nothing was changed", "Did you mean HOST?"]);
    assert_eq!(before, p.snapshot());
    // Nothing close: no guess, the old advice.
    let r = p
        .run(["get", "SENTRY_DSN"])
        .code(2)
        .clean_error()
        .stderr_has(&["envshim set SENTRY_DSN"]);
    assert!(!r.stderr.contains("Did you mean"), "{r:?}");
}

#[test]
fn mv_moves_a_key_between_scopes_without_its_value_being_entered() {
    let p = project_with_references();
    // No value on stdin or a terminal (stdin is /dev/null): the value comes from the file.
    p.run(["mv", "API_TOKEN", "--deploy"])
        .ok()
        .stderr_has(&["API_TOKEN moved to the deploy section", "value unchanged"])
        .never_shows("tok-123");
    let plaintext = p.plaintext();
    let deploy = plaintext
        .split("# [deploy]")
        .nth(1)
        .expect("a deploy section");
    assert!(deploy.contains("API_TOKEN='tok-123 456'\n"), "{plaintext}");
    assert_eq!(plaintext.matches("API_TOKEN").count(), 1, "{plaintext}");
    let example = p.read(".env.secrets.example");
    let deploy = example
        .split("# [deploy]")
        .nth(1)
        .expect("a deploy section");
    assert!(deploy.contains("API_TOKEN="), "{example}");
    assert_eq!(p.run(["get", "API_TOKEN"]).ok().stdout, "tok-123 456\n");
    let runtime = p
        .run(["exec", "--", "sh", "-c", "echo \"[${API_TOKEN-unset}]\""])
        .ok();
    assert_eq!(runtime.stdout, "[unset]\n");
    let deploy = p
        .run([
            "exec",
            "--scope",
            "deploy",
            "--",
            "sh",
            "-c",
            "echo \"[$API_TOKEN]\"",
        ])
        .ok();
    assert_eq!(deploy.stdout, "[tok-123 456]\n");

    // Back again, and a second move is a no-op.
    p.run(["mv", "API_TOKEN", "--runtime"]).ok();
    let before = p.snapshot();
    p.run(["mv", "API_TOKEN", "--runtime"])
        .ok()
        .stderr_has(&["already in the runtime section"]);
    assert_eq!(before, p.snapshot());

    // Moving HOST below DATABASE_URL would change what ${HOST} gives: refused.
    p.run(["mv", "HOST", "--deploy"])
        .code(2)
        .clean_error()
        .stderr_has(&["would change the value of DATABASE_URL", "envshim edit"])
        .never_shows("db.internal");
    p.run(["mv", "DATABSE_URL", "--deploy"])
        .code(2)
        .clean_error()
        .stderr_has(&["Did you mean DATABASE_URL?"]);
    p.run(["mv", "API_TOKEN"]).code(2);
    assert_eq!(before, p.snapshot());
    assert_eq!(
        p.run(["get", "DATABASE_URL"]).ok().stdout,
        "postgres://app@db.internal/app\n"
    );
}

#[test]
fn whoami_shows_the_identity_its_public_key_and_whether_it_is_a_recipient() {
    let p = Project::initialized();
    let mine = public_key_of(&p.default_identity_path());
    p.write(".env.secrets.recipients", format!("# alice\n{mine}\n"));
    let r = p.run(["whoami"]).ok();
    let identity = p.default_identity_path();
    assert!(
        r.stdout
            .contains(&format!("identity: {}\n", identity.display())),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!("{mine}  a recipient of ")),
        "{r:?}"
    );
    assert!(r.stdout.contains(".env.secrets  # alice\n"), "{r:?}");

    // Another key: not a recipient, and what to ask for.
    let bob = p.home.join("bob.txt");
    let bob_pub = p.age_keygen(&bob);
    let r = p.run(["-i", bob.to_str().unwrap(), "whoami"]).ok();
    assert!(
        r.stdout
            .contains(&format!("identity: --identity {}", bob.display())),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("{bob_pub}  NOT a recipient of ")),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("`envshim recipients add {bob_pub}`")),
        "{r:?}"
    );

    // The key from ENVSHIM_AGE_KEY: its public half only.
    let text = std::fs::read_to_string(&bob).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let r: Run = p
        .envshim()
        .env("ENVSHIM_AGE_KEY", secret)
        .arg("whoami")
        .output()
        .unwrap()
        .into();
    let r = r.ok().never_shows(&secret["AGE-SECRET-KEY-1".len()..]);
    assert!(r.stdout.contains("identity: ENVSHIM_AGE_KEY\n"), "{r:?}");
    assert!(r.stdout.contains(&bob_pub), "{r:?}");

    // Outside any project: the identity still, nothing to compare with.
    let r: Run = p
        .envshim()
        .current_dir(&p.home)
        .arg("whoami")
        .output()
        .unwrap()
        .into();
    let r = r.ok();
    assert!(
        r.stdout
            .contains(&format!("{mine}  (no .env.secrets here to check)")),
        "{r:?}"
    );

    // No identity at all: the usual advice.
    let q = Project::new();
    q.run(["whoami"])
        .code(2)
        .clean_error()
        .stderr_has(&["no identity found", "envshim keygen"]);
}

#[test]
fn exec_names_the_misspelt_key_behind_a_missing_variable() {
    let p = Project::initialized();
    // A teammate's example declares DATABASE_URL; this clone set it under a typo.
    p.write(".env.secrets.example", "HOST=\nDATABASE_URL=\n");
    p.set("HOST", "db.internal", &[]).ok();
    // envshim:allow: a made-up password
    p.set("DATABSE_URL", "postgres://u:pw-9f8e7d@db/app", &[])
        .ok();
    p.run(["exec", "--", "true"])
        .code(2)
        .clean_error()
        .stderr_has(&[
            "required variable is missing: DATABASE_URL",
            "The file sets DATABSE_URL: did you mean DATABASE_URL?",
        ])
        .never_shows("pw-9f8e7d");
    // Nothing near: no guess.
    p.write(".env.secrets.example", "HOST=\nSENTRY_DSN=\n");
    let r = p.run(["exec", "--", "true"]).code(2).clean_error();
    assert!(!r.stderr.contains("did you mean"), "{r:?}");
}
