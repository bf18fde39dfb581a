//! Interoperability with the reference `age` CLI, both directions, armored and binary.

use crate::util::*;

#[test]
fn files_written_by_the_age_cli_are_read_armored_and_binary() {
    for armor in [true, false] {
        let p = Project::new();
        let public = p.default_identity();
        p.write(".env.secrets.recipients", format!("# team\n{public}\n"));
        let c = age_encrypt(&p.path(".env.secrets.recipients"), "K=v-from-age\n", armor);
        assert_eq!(c.starts_with(b"-----BEGIN"), armor);
        p.write(".env.secrets", c);
        let r = p.run(["exec", "--", "printenv", "K"]).ok();
        assert_eq!(r.stdout, "v-from-age\n");
    }
}

#[test]
fn files_written_by_envshim_decrypt_with_age() {
    let p = Project::new();
    p.run(["init"]).ok();
    let r = age_decrypt(&p.default_identity_path(), &p.path(".env.secrets")).ok();
    assert!(r.stdout.contains("# [runtime]"));
    // Encrypted to exactly the recipients listed: another key cannot read it.
    let stranger = p.home.join("stranger.txt");
    p.age_keygen(&stranger);
    age_decrypt(&stranger, &p.path(".env.secrets")).code(1);
}
