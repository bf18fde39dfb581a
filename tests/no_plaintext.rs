//! No plaintext on disk: every command that touches secret values runs under its own
//! HOME, TMPDIR and XDG_RUNTIME_DIR; afterwards those trees, the repository's work tree
//! and /dev/shm are searched for the values. The two exceptions DESIGN §1 allows
//! (`export` to stdout, `edit`'s scratch file) are exercised too: the export goes to a
//! pipe, and the scratch file must be gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

/// Values that appear nowhere else, so that a hit can only be a leak from this test.
const SET: &str = "nPd7-SET-value-4Kq9vX2m";
const DEPLOY: &str = "nPd7-DEPLOY-value-8Rz3wB6t";
const MULTI_1: &str = "nPd7-first-line-5Jh2";
const MULTI_2: &str = "nPd7-second-line-7Lc4";
const IMPORTED: &str = "nPd7-IMPORTED-value-3Wn8pQ1s";
const EDITED: &str = "nPd7-EDITED-value-6Ty1kD9f";

struct Isolated {
    p: Project,
    tmp: PathBuf,
    runtime: PathBuf,
    /// Outside every searched tree: the test's own editor script lives here.
    outside: PathBuf,
    _dirs: tempfile::TempDir,
}

impl Isolated {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let tmp = dirs.path().join("tmp");
        let runtime = dirs.path().join("run");
        fs::create_dir_all(&tmp).unwrap();
        fs::create_dir_all(&runtime).unwrap();
        set_mode(&runtime, 0o700);
        Isolated {
            p: Project::new(),
            tmp,
            runtime,
            outside: dirs.path().to_path_buf(),
            _dirs: dirs,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.p.envshim();
        cmd.args(args)
            .env("TMPDIR", &self.tmp)
            .env("XDG_RUNTIME_DIR", &self.runtime);
        cmd
    }

    /// Runs a command; its output may show a value only where `shows` says so.
    fn run(&self, args: &[&str], input: Option<&str>, shows: bool) -> Run {
        use std::io::Write;
        use std::process::Stdio;
        let mut cmd = self.cmd(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(input) = input {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        drop(stdin);
        let run: Run = child.wait_with_output().unwrap().into();
        let run = run.ok();
        for value in [SET, DEPLOY, MULTI_1, MULTI_2, IMPORTED, EDITED] {
            assert!(
                !run.stderr.contains(value),
                "{args:?} shows a value:\n{run:?}"
            );
            if !shows {
                assert!(
                    !run.stdout.contains(value),
                    "{args:?} shows a value:\n{run:?}"
                );
            }
        }
        run
    }
}

/// Every regular file under `root` (not following symlinks), skipping `skip`.
fn files_under(root: &Path, skip: &[PathBuf], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, skip, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

#[test]
fn no_command_leaves_a_secret_value_on_disk() {
    let s = Isolated::new();
    let p = &s.p;
    s.run(&["init"], None, false);
    s.run(&["set", "API_KEY"], Some(SET), false);
    s.run(&["set", "--deploy", "CLOUD_TOKEN"], Some(DEPLOY), false);
    s.run(
        &["set", "CERT"],
        Some(&format!("{MULTI_1}\n{MULTI_2}")),
        false,
    );
    s.run(
        &["import", "-"],
        Some(&format!("IMPORTED_SECRET=\"{IMPORTED}\"\n")),
        false,
    );

    // An editor that adds a line and records where its file was.
    let editor = s.outside.join("editor.sh");
    fs::write(
        &editor,
        format!("#!/bin/sh\necho \"$1\" > \"$0.where\"\necho 'EDITED_SECRET={EDITED}' >> \"$1\"\n"),
    )
    .unwrap();
    set_mode(&editor, 0o755);
    let mut edit = s.cmd(&["edit"]);
    let out = edit.env("EDITOR", &editor).output().unwrap();
    assert!(out.status.success(), "{:?}", Run::from(out));
    let where_file = s.outside.join("editor.sh.where");
    let scratch = PathBuf::from(fs::read_to_string(&where_file).unwrap().trim());
    assert!(scratch.starts_with(&s.runtime), "{scratch:?}");
    assert!(!scratch.exists() && !scratch.parent().unwrap().exists());

    s.run(&["list"], None, false);
    assert_eq!(
        s.run(&["get", "API_KEY"], None, true).stdout,
        format!("{SET}\n")
    );
    let shown = s.run(
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "printf '%s|%s' \"$API_KEY\" \"$IMPORTED_SECRET\"",
        ],
        None,
        true,
    );
    assert_eq!(shown.stdout, format!("{SET}|{IMPORTED}"));
    let deploy = s.run(
        &[
            "exec",
            "--scope",
            "deploy",
            "--",
            "sh",
            "-c",
            "printf %s \"$CLOUD_TOKEN\"",
        ],
        None,
        true,
    );
    assert_eq!(deploy.stdout, DEPLOY);
    let exported = s.run(&["export"], None, true);
    for value in [SET, DEPLOY, MULTI_1, MULTI_2, IMPORTED, EDITED] {
        assert!(exported.stdout.contains(value), "{value} not exported");
    }

    let other = p.age_keygen(&p.home.join("other.txt"));
    s.run(&["recipients", "add", &other], None, false);
    s.run(&["recipients", "list"], None, false);
    s.run(&["recipients", "rm", &other], None, false);
    s.run(&["hook", "install"], None, false);
    s.run(&["doctor"], None, false);

    // The scanner finds a known value in a plaintext file, and shows it redacted only.
    let leak = p.write("notes.txt", format!("the key is {SET}\n"));
    let mut scan = s.cmd(&["scan", "--format", "json", "notes.txt"]);
    let out: Run = scan.output().unwrap().into();
    let out = out.code(1).never_shows(SET);
    assert!(out.stdout.contains("known-secret"), "{out:?}");
    let staged = Command::new("git")
        .args(["add", "notes.txt"])
        .current_dir(&p.root)
        .status()
        .unwrap();
    assert!(staged.success());
    let out: Run = s.cmd(&["scan", "--staged"]).output().unwrap().into();
    out.code(1).never_shows(SET);

    // Now look everywhere a plaintext copy could have been left.
    let mut files = Vec::new();
    files_under(&p.home, &[], &mut files);
    files_under(&s.tmp, &[], &mut files);
    files_under(&s.runtime, &[], &mut files);
    files_under(Path::new("/dev/shm"), &[], &mut files);
    // The work tree, but not git's object store (the test staged notes.txt itself) and
    // not the file the test wrote on purpose.
    files_under(&p.root, &[p.path(".git"), leak], &mut files);
    let mut searched = 0;
    for file in &files {
        let Ok(bytes) = fs::read(file) else { continue };
        searched += 1;
        let text = String::from_utf8_lossy(&bytes);
        for value in [SET, DEPLOY, MULTI_1, MULTI_2, IMPORTED, EDITED] {
            assert!(!text.contains(value), "{value} found in {}", file.display());
        }
    }
    assert!(searched >= 4, "searched only {searched} files: {files:?}");
    // And the secrets file really holds every value, encrypted.
    let plain = p.plaintext();
    for value in [SET, DEPLOY, MULTI_1, MULTI_2, IMPORTED, EDITED] {
        assert!(plain.contains(value), "{value} missing from the secrets");
    }
    let leftovers: Vec<_> = fs::read_dir(&s.tmp)
        .unwrap()
        .chain(fs::read_dir(&s.runtime).unwrap())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
