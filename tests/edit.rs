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
    // Every catchable signal that ends a process by default; the status is 128 + its
    // number, as shells report it.
    for (signal, number) in [
        ("-TERM", 15),
        ("-INT", 2),
        ("-HUP", 1),
        ("-QUIT", 3),
        ("-USR1", 10),
        ("-USR2", 12),
        ("-ALRM", 14),
        ("-PIPE", 13),
    ] {
        let _ = fs::remove_file(p.path("path"));
        let mut child = edit(&p, &run)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The editor writes the path and a newline; wait for the whole line (the file
        // exists, empty, before its text is written).
        let deadline = Instant::now() + Duration::from_secs(20);
        let written = || fs::read_to_string(p.path("path")).unwrap_or_default();
        while !written().ends_with('\n') {
            assert!(Instant::now() < deadline, "the editor never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let scratch = PathBuf::from(written().trim());
        assert!(scratch.exists());
        let ok = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(128 + number), "{signal}");
        assert!(!scratch.exists(), "{signal}: plaintext left at {scratch:?}");
        assert_no_scratch(&run);
        assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    }
}

/// While envshim holds plaintext (here: while the editor runs), other processes of the
/// same user cannot read its memory: /proc/PID/mem belongs to root, not to the user. The
/// editor and the commands `exec` starts are ordinary, dumpable processes.
#[test]
fn envshims_memory_is_closed_to_the_users_other_processes() {
    let p = Project::new();
    let as_root = is_root();
    // Root may read any process's memory; run the scenario as `nobody` instead.
    let (user, prefix) = if as_root {
        let top = p.root.parent().unwrap();
        set_mode(top, 0o755);
        let chown = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&p.root)
            .arg(&p.home)
            .status()
            .unwrap();
        assert!(chown.success());
        (
            "65534".to_string(),
            "setpriv --reuid=65534 --regid=65534 --clear-groups ",
        )
    } else {
        (uid(), "")
    };
    let out = p.home.join("seen.txt");
    let editor = p.home.join("editor.sh");
    fs::write(
        &editor,
        format!(
            "#!/bin/sh\n{{ stat -c '%u' /proc/$PPID/mem; id -u; \
             python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))'; }} > '{}'\n",
            out.display()
        ),
    )
    .unwrap();
    set_mode(&editor, 0o755);
    if as_root {
        let chown = Command::new("chown")
            .args(["65534:65534"])
            .arg(&editor)
            .status()
            .unwrap();
        assert!(chown.success());
    }
    let script = format!(
        "{prefix}\"$0\" -q init && EDITOR='{}' {prefix}\"$0\" edit && \
         {prefix}\"$0\" exec -- python3 -c 'import ctypes; print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))'",
        editor.display()
    );
    let run: Run = p.shell(&script).output().unwrap().into();
    let run = run.ok();
    let seen = fs::read_to_string(&out).unwrap();
    let seen: Vec<&str> = seen.lines().collect();
    // The scenario runs as an ordinary user (the editor says who it is), and envshim's
    // memory belongs to root, not to that user.
    assert_eq!(seen[1], user, "{seen:?}");
    assert_eq!(
        seen[0], "0",
        "envshim's memory belongs to uid {}, not root",
        seen[0]
    );
    assert_eq!(seen[2], "1", "the editor should be dumpable");
    assert_eq!(
        run.stdout.trim(),
        "1",
        "the exec'd command should be dumpable"
    );
}

#[test]
fn without_an_editor_or_a_terminal_edit_refuses_instead_of_printing_secrets() {
    let (p, run) = setup("exit 0");
    let r: Run = edit(&p, &run).env_remove("EDITOR").output().unwrap().into();
    r.code(2)
        .clean_error()
        .stderr_has(&["no editor is configured", "set VISUAL or EDITOR"])
        .never_shows("deploy-secret");
    assert_no_scratch(&run);
}

#[test]
fn plaintext_left_by_a_killed_edit_is_wiped_by_the_next_one() {
    let (p, run) = setup("exit 0");
    // A scratch directory as a SIGKILLed `edit` leaves it: named after a process that
    // no longer exists.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let stale = run.join(format!("envshim-edit-{pid}-AbC123"));
    fs::create_dir(&stale).unwrap();
    fs::write(stale.join(".env.secrets.env"), "D=left-behind-secret\n").unwrap();
    // One of a live process (this test) is somebody's edit in progress: kept.
    let live = run.join(format!("envshim-edit-{}-XyZ789", std::process::id()));
    fs::create_dir(&live).unwrap();
    let r: Run = edit(&p, &run).output().unwrap().into();
    r.ok()
        .stderr_has(&["wiped 1 plaintext scratch directory"])
        .never_shows("left-behind-secret");
    assert!(!stale.exists(), "stale plaintext left at {stale:?}");
    assert!(live.exists(), "a live edit's directory was removed");
}
