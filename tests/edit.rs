//! `envshim edit` driven by scripted editors.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// A project with A=1, a private runtime dir for the scratch file, and `editor` (a shell
/// script body; `$1` is the file) as $EDITOR.
fn setup(editor: &str) -> (Project, PathBuf) {
    let p = Project::new();
    p.secrets("# note\nA=1\n# [deploy]\nD=deploy-secret\n");
    let run = p.home.join("run");
    fs::create_dir_all(&run).unwrap();
    set_mode(&run, 0o700);
    let script = p.write("editor.sh", format!("#!/bin/sh\nset -e\n{editor}\n"));
    set_mode(&script, 0o755);
    (p, run)
}

fn edit(p: &Project, run: &PathBuf) -> Command {
    let mut cmd = p.envshim();
    cmd.arg("edit")
        .env("EDITOR", p.path("editor.sh"))
        .env_remove("VISUAL")
        .env("XDG_RUNTIME_DIR", run);
    cmd
}

fn assert_no_scratch(run: &PathBuf) {
    let left: Vec<_> = fs::read_dir(run).unwrap().collect();
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
}

#[test]
fn a_valid_edit_is_saved_and_the_scratch_file_is_private_and_removed() {
    let dir = "$(dirname \"$1\")";
    let (p, run) = setup(&format!(
        "stat -c %a \"$1\" > \"$1.mode\"; cp \"$1.mode\" {root}/file-mode; stat -c %a \"{dir}\" > {root}/dir-mode; rm \"$1.mode\"\n\
         echo \"$1\" > {root}/path\nsed -i 's/^A=1$/A=2/' \"$1\"\necho 'N=new' >> \"$1\"",
        root = "\"$(dirname \"$0\")\""
    ));
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.ok().stderr_has(&["saved"]);
    assert_eq!(p.read("file-mode").trim(), "600");
    assert_eq!(p.read("dir-mode").trim(), "700");
    let path = PathBuf::from(p.read("path").trim());
    assert!(
        path.starts_with(&run),
        "scratch file not under XDG_RUNTIME_DIR: {path:?}"
    );
    assert!(!path.exists());
    assert_no_scratch(&run);
    assert_eq!(
        p.plaintext(),
        "# note\nA=2\n# [deploy]\nD=deploy-secret\nN=new\n"
    );
    assert!(p.read(".env.secrets.example").contains("N=\n"));
}

#[test]
fn an_invalid_edit_reopens_the_editor_until_fixed() {
    let (p, run) = setup(
        "root=$(dirname \"$0\")\n\
         if [ ! -f \"$root/count\" ]; then touch \"$root/count\"; echo 'oops-not-dotenv' >> \"$1\";\n\
         else sed -i '/oops-not-dotenv/d' \"$1\"; echo 'B=3' >> \"$1\"; fi",
    );
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.ok()
        .stderr_has(&["line 5", "Reopening"])
        .never_shows("oops-not-dotenv");
    assert!(p.plaintext().ends_with("B=3\n"));
    assert_no_scratch(&run);
}

#[test]
fn an_edit_that_stays_invalid_changes_nothing() {
    let (p, run) = setup("grep -q broken \"$1\" || echo 'broken line' >> \"$1\"");
    let before = fs::read(p.path(".env.secrets")).unwrap();
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.code(2).stderr_has(&["nothing was changed"]);
    assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    assert_no_scratch(&run);
}

#[test]
fn no_change_means_no_rewrite() {
    let (p, run) = setup("true");
    let before = fs::read(p.path(".env.secrets")).unwrap();
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.ok().stderr_has(&["no changes"]);
    assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    assert_no_scratch(&run);
}

#[test]
fn a_crashing_editor_changes_nothing() {
    let (p, run) = setup("echo 'A=changed' >> \"$1\"\nkill -9 $$");
    let before = p.snapshot();
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.code(2)
        .clean_error()
        .stderr_has(&["failed", "nothing was changed"]);
    assert_eq!(before, p.snapshot());
    assert_no_scratch(&run);
}

#[test]
fn a_signal_during_editing_removes_the_plaintext() {
    let (p, run) = setup("echo \"$1\" > \"$(dirname \"$0\")/path\"\nsleep 20");
    let before = fs::read(p.path(".env.secrets")).unwrap();
    for signal in ["-TERM", "-INT", "-HUP"] {
        let _ = fs::remove_file(p.path("path"));
        let mut child = edit(&p, &run)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !p.path("path").exists() {
            assert!(Instant::now() < deadline, "the editor never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let scratch = PathBuf::from(p.read("path").trim());
        assert!(scratch.exists());
        let ok = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{signal}");
        assert!(!scratch.exists(), "{signal}: plaintext left at {scratch:?}");
        assert_no_scratch(&run);
        assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    }
}
