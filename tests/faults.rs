//! Concurrent writers and writers killed mid-write.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn concurrent_writers_never_lose_an_update() {
    let p = Project::initialized();
    let writer = |tag: &str| {
        p.shell(&format!(
            "for i in $(seq 1 25); do printf v$i | \"$0\" -q set KEY_{tag}_$i || exit 1; done"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let a = writer("A");
    let b = writer("B");
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let plain = p.plaintext();
    let keys = plain.lines().filter(|l| l.starts_with("KEY_")).count();
    assert_eq!(keys, 50, "{plain}");
    assert_eq!(
        p.read(".env.secrets.example")
            .lines()
            .filter(|l| l.starts_with("KEY_"))
            .count(),
        50
    );
}

/// Where a kill landed, as far as the files show.
#[derive(Debug, Default)]
struct Landings {
    /// The file is as before: killed before the new file was renamed into place.
    before_rename: u32,
    /// The new value is in: killed after the rename (or not killed at all).
    after_rename: u32,
    /// Killed mid-write: a temporary file was left behind, or the secrets file has the
    /// new value while the example (written next) does not yet.
    mid_write: u32,
}

#[test]
fn a_writer_killed_at_any_moment_leaves_a_readable_file() {
    let p = Project::initialized();
    p.set("BASE", "base-value", &[]).ok();
    // How long one whole `set` takes here, so that the kills can be spread over it
    // rather than over a guess that a fast or a loaded machine would make wrong.
    let mut whole = Duration::ZERO;
    for i in 0..3 {
        let started = Instant::now();
        p.set(&format!("WARM_{i}"), "x", &[]).ok();
        whole = whole.max(started.elapsed());
    }
    let mut before = p.plaintext();
    let mut landings = Landings::default();
    let mut i = 0u32;
    // At least 40 kills, and more (up to 400) until some are seen to land mid-write,
    // before the rename and after it.
    while i < 40
        || ((landings.mid_write < 3 || landings.before_rename == 0 || landings.after_rename == 0)
            && i < 400)
    {
        // The warm-up can run faster than a loaded machine later does: when every kill
        // so far came before the rename, spread the next ones over a longer time.
        if i > 0 && i.is_multiple_of(20) && landings.after_rename == 0 {
            whole = whole.mul_f64(2.0);
        }
        let mut child = p
            .envshim()
            .args(["set", &format!("KEY_{i}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(format!("value-{i}").as_bytes()).unwrap();
        }
        // Kill at a point spread evenly over the run (golden-ratio steps), a bit past
        // its end too.
        let at = (f64::from(i) * 0.618_034).fract() * 1.2;
        std::thread::sleep(whole.mul_f64(at));
        let _ = child.kill();
        let _ = child.wait();
        let litter = temporaries(&p);
        // The file decrypts to exactly the old content or exactly the new.
        let after = age_decrypt(&p.default_identity_path(), &p.path(".env.secrets"))
            .ok()
            .stdout;
        let added = format!("KEY_{i}=value-{i}\n");
        let without_new = after.replacen(&added, "", 1);
        assert!(
            without_new == before && after.contains("BASE=base-value"),
            "iteration {i}: neither old nor new:\n{after}"
        );
        let landed = after != before;
        let example_behind = landed
            && !p
                .read(".env.secrets.example")
                .contains(&format!("KEY_{i}="));
        if !litter.is_empty() || example_behind {
            landings.mid_write += 1;
        }
        if landed {
            landings.after_rename += 1;
        } else {
            landings.before_rename += 1;
        }
        before = after;
        p.run(["exec", "--", "true"]).ok();
        i += 1;
    }
    eprintln!("{i} kills over runs of {whole:?}: {landings:?}");
    // Without these the test would pass without having tested anything.
    assert!(
        landings.mid_write > 0,
        "no kill landed mid-write in {i} tries: {landings:?}"
    );
    assert!(
        landings.before_rename > 0 && landings.after_rename > 0,
        "{landings:?}"
    );
    // Later writes clean up the temporary files killed writers left behind.
    p.set("AFTER", "x", &[]).ok();
    let litter = temporaries(&p);
    assert!(litter.is_empty(), "{litter:?}");
}

/// The temporary files of writers in the repository's top directory.
fn temporaries(p: &Project) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(&p.root)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with(".envshim-"))
        .collect()
}

#[test]
fn edit_and_set_at_once_both_land() {
    let p = Project::initialized();
    p.set("BEFORE", "before-value", &[]).ok();
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let go = dir.path().join("go");
    // The editor says it has started, then waits for the test's go-ahead.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        format!(
            "#!/bin/sh\ntouch '{}'\nfor i in $(seq 1 200); do [ -e '{}' ] && break; sleep 0.05; done\n\
             echo 'FROM_EDIT=edit-value' >> \"$1\"\n",
            started.display(),
            go.display()
        ),
    )
    .unwrap();
    set_mode(&editor, 0o755);
    let edit = p
        .envshim()
        .arg("edit")
        .env("EDITOR", &editor)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut edit = edit;
    for _ in 0..1000 {
        if started.exists() || edit.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started.exists(), "the editor never started");
    // edit holds the writers' lock while its editor runs: set must wait, not race.
    let mut set = p
        .envshim()
        .args(["set", "FROM_SET"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        set.stdin.take().unwrap().write_all(b"set-value").unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&go, "").unwrap();
    let edit = edit.wait_with_output().unwrap();
    let set = set.wait_with_output().unwrap();
    assert!(edit.status.success(), "{:?}", Run::from(edit));
    let set = Run::from(set).ok();
    assert!(
        set.stderr.contains("waiting for another envshim"),
        "{set:?}"
    );
    let plain = p.plaintext();
    for line in [
        "BEFORE=before-value",
        "FROM_EDIT=edit-value",
        "FROM_SET=set-value",
    ] {
        assert!(plain.contains(line), "{line} lost:\n{plain}");
    }
}

/// Killed at any moment while adding or removing a recipient, the recipients file never
/// lists fewer keys than can read the secrets file, and the file reads as before.
#[test]
fn a_recipient_change_killed_at_any_moment_never_hides_a_reader() {
    let p = Project::initialized();
    p.set("BASE", "base-value", &[]).ok();
    let other_id = p.home.join("other.txt");
    let other = p.age_keygen(&other_id);
    for i in 0..60u64 {
        let verb = if i % 2 == 0 { "add" } else { "rm" };
        let mut child = p
            .envshim()
            .args(["recipients", verb, &other])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros((i * 641) % 15_000));
        let _ = child.kill();
        let _ = child.wait();
        let listed = p.read(".env.secrets.recipients").contains(&other);
        let reads = age_decrypt(&other_id, &p.path(".env.secrets")).code == 0;
        assert!(
            listed || !reads,
            "iteration {i} ({verb}): a reader is not listed"
        );
        assert!(p.plaintext().contains("BASE=base-value"), "iteration {i}");
        // Finish the change, so that the next iteration starts from a known state.
        let done = p.run(["recipients", verb, &other]);
        assert!(
            done.code == 0
                || done.stderr.contains("already")
                || done.stderr.contains(" is not in "),
            "{done:?}"
        );
    }
}
