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
