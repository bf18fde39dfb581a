//! Tests that only root can run: they mount a tmpfs to make a filesystem read-only or
//! full under envshim.
//!
//! Rust's built-in test harness cannot skip a test at run time: a test that returns
//! early when not root is reported as passed. So these tests are a binary of their own
//! with the libtest-mimic harness (same command line, same output), where a test can
//! end as "ignored" at run time: run by another user, each is reported as
//! `ignored, needs root ...` and counted among the ignored. As root (CI) they run.

use libtest_mimic::{Arguments, Completion, Trial};

#[allow(dead_code)] // the harness is shared with tests/tests.rs, which uses all of it
#[path = "util.rs"]
mod util;

use util::*;

fn main() {
    let args = Arguments::from_args();
    let tests = vec![
        needs_root(
            "faults::a_read_only_directory_is_an_error_that_changes_nothing",
            a_read_only_directory_is_an_error_that_changes_nothing,
        ),
        needs_root(
            "faults::a_full_disk_is_an_error_that_keeps_the_old_file",
            a_full_disk_is_an_error_that_keeps_the_old_file,
        ),
    ];
    libtest_mimic::run(&args, tests).exit();
}

/// A test that runs as root and is reported as ignored for any other user.
fn needs_root(name: &str, test: fn()) -> Trial {
    Trial::ignorable_test(name, move || {
        if !is_root() {
            return Ok(Completion::ignored_with("needs root: it mounts a tmpfs"));
        }
        test();
        Ok(Completion::Completed)
    })
}

/// A tmpfs mounted over a directory for the length of a test (root only).
struct Tmpfs {
    at: std::path::PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` over `at`; a failure to mount fails the test.
    fn mount(at: &std::path::Path, size: &str) -> Tmpfs {
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=755"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs on {}", at.display());
        Tmpfs {
            at: at.to_path_buf(),
        }
    }

    /// Remounts read-only (or read-write again).
    fn remount(&self, option: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.at)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.at)
            .status();
    }
}

/// A project whose repository is a fresh tmpfs of `size`, initialized with one value.
fn project_on_tmpfs(size: &str) -> (Project, Tmpfs) {
    let p = Project::new();
    let mount = Tmpfs::mount(&p.root, size);
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&p.root)
        .status()
        .unwrap();
    assert!(git.success());
    p.run(["-q", "init"]).ok();
    p.set("OLD", "old-value", &[]).ok();
    (p, mount)
}

fn a_read_only_directory_is_an_error_that_changes_nothing() {
    let (p, mount) = project_on_tmpfs("4m");
    let before = p.snapshot();
    mount.remount("ro");
    p.set("NEW", "new-value", &[])
        .code(2)
        .clean_error()
        .stderr_has(&["Read-only file system"])
        .never_shows("new-value");
    p.run(["rm", "OLD"])
        .code(2)
        .clean_error()
        .stderr_has(&["Read-only file system"]);
    mount.remount("rw");
    assert!(p.snapshot() == before, "files changed");
    assert!(p.plaintext().contains("OLD=old-value"));
}

fn a_full_disk_is_an_error_that_keeps_the_old_file() {
    let (p, _mount) = project_on_tmpfs("1m");
    let before = p.snapshot();
    // Fill the filesystem, then try to write a value larger than what is left.
    let filler = p.path("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    {
        use std::io::Write;
        let block = vec![b'x'; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    drop(f);
    let big = "v".repeat(64 * 1024);
    p.set("BIG", &big, &[])
        .code(2)
        .clean_error()
        .stderr_has(&["No space left on device"]);
    std::fs::remove_file(&filler).unwrap();
    let after: Vec<_> = p
        .snapshot()
        .into_iter()
        .filter(|(path, _)| path != &filler)
        .collect();
    assert!(
        after == before,
        "files changed or temporary files left behind"
    );
    assert!(p.plaintext().contains("OLD=old-value"));
    // With space again, the same write works.
    p.set("BIG", &big, &[]).ok();
    assert!(p.plaintext().contains(&big));
}
