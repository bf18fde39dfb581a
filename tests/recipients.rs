//! `envshim recipients`: the file changes and the secrets are re-encrypted to exactly it.

use crate::util::*;

#[test]
fn add_lets_a_second_identity_decrypt_and_rm_takes_it_away() {
    let p = Project::initialized();
    p.set("A", "value-a", &[]).ok();
    let bob = p.home.join("bob.txt");
    let bob_pub = p.age_keygen(&bob);
    age_decrypt(&bob, &p.path(".env.secrets")).code(1);

    p.run(["recipients", "add", &bob_pub])
        .ok()
        .stderr_has(&["2 recipients"]);
    assert!(p
        .read(".env.secrets.recipients")
        .lines()
        .any(|l| l == bob_pub));
    assert!(age_decrypt(&bob, &p.path(".env.secrets"))
        .ok()
        .stdout
        .contains("A=value-a"));
    let r = p.run(["-i", bob.to_str().unwrap(), "get", "A"]).ok();
    assert_eq!(r.stdout, "value-a\n");
    p.run(["recipients", "add", &bob_pub])
        .ok()
        .stderr_has(&["already a recipient"]);

    let list = p.run(["recipients", "list"]).ok().stdout;
    let mine = public_key_of(&p.default_identity_path());
    assert!(list.contains(&format!("{mine}  (you)")), "{list}");
    assert!(list.contains(&bob_pub));

    p.run(["recipients", "rm", &bob_pub])
        .ok()
        .stderr_has(&["rotate"]);
    age_decrypt(&bob, &p.path(".env.secrets")).code(1);
    assert!(!p.read(".env.secrets.recipients").contains(&bob_pub));
    assert_eq!(p.run(["get", "A"]).ok().stdout, "value-a\n");
    // The comments of the recipients file survive.
    assert!(p.read(".env.secrets.recipients").starts_with("# "));
}

#[test]
fn removing_yourself_or_the_last_recipient_is_refused() {
    let p = Project::initialized();
    let mine = public_key_of(&p.default_identity_path());
    let before = p.snapshot();
    p.run(["recipients", "rm", &mine])
        .code(2)
        .clean_error()
        .stderr_has(&["last recipient"]);
    let bob = p.home.join("bob.txt");
    let bob_pub = p.age_keygen(&bob);
    p.run(["recipients", "add", &bob_pub]).ok();
    let before_rm = p.snapshot();
    p.run(["recipients", "rm", &mine])
        .code(2)
        .clean_error()
        .stderr_has(&["your own key", "--force"]);
    assert_eq!(before_rm, p.snapshot());
    p.run(["recipients", "rm", &mine, "--force"]).ok();
    age_decrypt(&p.default_identity_path(), &p.path(".env.secrets")).code(1);
    age_decrypt(&bob, &p.path(".env.secrets")).ok();
    drop(before);
}

#[test]
fn bad_keys_change_nothing() {
    let p = Project::initialized();
    let before = p.snapshot();
    p.run(["recipients", "add", "age1notakey"])
        .code(2)
        .clean_error();
    p.run(["recipients", "add", "ssh-dss AAAAB3NzaC1kc3M="])
        .code(2)
        .clean_error();
    p.run(["recipients", "rm", "age1unknown"])
        .code(2)
        .clean_error()
        .stderr_has(&["recipients list"]);
    assert_eq!(before, p.snapshot());
}

#[test]
fn ssh_recipients_can_be_added() {
    let p = Project::initialized();
    let key = p.home.join("alice_ed25519");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "alice@example", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let public = std::fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    p.run(["recipients", "add", public.trim()]).ok();
    p.set("S", "for-alice", &[]).ok();
    let r = p.run(["-i", key.to_str().unwrap(), "get", "S"]).ok();
    assert_eq!(r.stdout, "for-alice\n");
}
