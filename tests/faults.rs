//! Concurrent writers and writers killed mid-write.

use std::process::Stdio;
use std::time::Duration;

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

#[test]
fn a_writer_killed_at_any_moment_leaves_a_readable_file() {
    let p = Project::initialized();
    p.set("BASE", "base-value", &[]).ok();
    for i in 0..40u64 {
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
        // Spread the kills over the whole run of a write (a few milliseconds).
        std::thread::sleep(Duration::from_micros((i * 397) % 12_000));
        let _ = child.kill();
        let _ = child.wait();
        let r = age_decrypt(&p.default_identity_path(), &p.path(".env.secrets")).ok();
        assert!(
            r.stdout.contains("BASE=base-value"),
            "iteration {i}:\n{r:?}"
        );
        p.run(["exec", "--", "true"]).ok();
    }
    // Later writes clean up the temporary files killed writers left behind.
    p.set("AFTER", "x", &[]).ok();
    let litter: Vec<_> = std::fs::read_dir(&p.root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".envshim-"))
        .collect();
    assert!(litter.is_empty(), "{litter:?}");
}
