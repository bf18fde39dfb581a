//! Bounded work on hostile input: every limit is an error that names it (exit 2), and
//! nothing grows without bound. Each input here was slow or unbounded before the limit.
//! The time checks are generous guards against quadratic behaviour coming back (each
//! case ran for a minute or more without its limit), not benchmarks.

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Runs envshim with `args` and a deadline; fails the test if it is exceeded.
fn within(p: &Project, args: &[&str], limit: Duration) -> Run {
    let start = Instant::now();
    let r = p.run(args);
    assert!(
        start.elapsed() < limit,
        "{args:?} took {:?}:\n{r:?}",
        start.elapsed()
    );
    r
}

#[test]
fn an_age_header_with_thousands_of_stanzas_is_refused() {
    let p = Project::new();
    let public = p.default_identity();
    let recipients = p.write("r.txt", format!("{public}\n"));
    // A binary age file from the real CLI, its one stanza repeated 16,000 times.
    let file = age_encrypt(&recipients, "A=1\n", false);
    let text = file.clone();
    let start = text.windows(3).position(|w| w == b"-> ").unwrap();
    let end = text.windows(4).position(|w| w == b"\n---").unwrap() + 1;
    let stanza = &text[start..end];
    let mut crafted = text[..start].to_vec();
    for _ in 0..16_000 {
        crafted.extend_from_slice(stanza);
    }
    crafted.extend_from_slice(&text[start..]);
    p.write(".env.secrets", &crafted);
    within(&p, &["get", "A"], Duration::from_secs(10))
        .code(2)
        .clean_error()
        .stderr_has(&["more than 1024 recipient stanzas", "the limit"]);
    // The unmodified file still works.
    p.write(".env.secrets", &file);
    assert_eq!(p.run(["get", "A"]).ok().stdout, "1\n");
}

#[test]
fn doubling_references_cannot_expand_to_a_gigabyte() {
    // Three shapes: braced doubling; `$A_`, which dotenvy reads as `$A` then `_` (a
    // bound that read the name as `A_` would count nothing); and a linear one, a 1 MiB
    // value referred to by thousands of lines (each value under 1 MiB, gigabytes in all).
    let mut braced = String::from("A=xxxxxxxxxxxxxxxx\n");
    let mut underscore = String::from(&format!("A={}\n", "x".repeat(1000)));
    let mut previous = String::from("A");
    for i in 1..=25 {
        braced.push_str(&format!("L{i}=\"${{{previous}}}${{{previous}}}\"\n"));
        underscore.push_str(&format!("L{i}=\"${previous}_${previous}_\"\n"));
        previous = format!("L{i}");
    }
    assert!(braced.len() < 800);
    let mut linear = format!("A={}\n", "x".repeat(1000 * 1000));
    for i in 0..3000 {
        linear.push_str(&format!("B{i}=${{A}}\n"));
    }
    for (name, text) in [
        ("braced", braced),
        ("underscore", underscore),
        ("linear", linear),
    ] {
        let p = Project::new();
        p.secrets(&text);
        let r = within(&p, &["exec", "--", "true"], Duration::from_secs(20));
        assert_eq!(r.code, 2, "{name}:\n{r:?}");
        r.clean_error()
            .stderr_has(&["line ", "1 MiB", "16 MiB", "the limits"]);
    }
}

#[test]
fn a_hundred_thousand_keys_take_linear_work() {
    let p = Project::new();
    // Deploy keys, so that a runtime `exec` plans all 100,000 (to remove them) but
    // starts its command with an environment the kernel accepts.
    let mut text = String::with_capacity(3 << 20);
    text.push_str("# [deploy]\n");
    for i in 0..100_000 {
        text.push_str(&format!("KEY_{i}=value-{i}\n"));
    }
    p.secrets(&text);
    let mut example = String::from("# [deploy]\n");
    for i in 0..100_000 {
        example.push_str(&format!("KEY_{i}=\n"));
    }
    p.write(".env.secrets.example", example);
    within(&p, &["exec", "--", "true"], Duration::from_secs(20)).ok();
    let r = within(&p, &["get", "KEY_99999"], Duration::from_secs(20)).ok();
    assert_eq!(r.stdout, "value-99999\n");
    // A write rebuilds the example: by key, not by scanning it once per key (96 s).
    within(
        &p,
        &["set", "NEW_KEY", "--deploy", "--value", "v"],
        Duration::from_secs(30),
    )
    .ok();
    assert!(p
        .read(".env.secrets.example")
        .ends_with("KEY_99999=\nNEW_KEY=\n"));
    // A duplicate at the very end is still found, naming both lines.
    text.push_str("KEY_5=again\n");
    p.secrets(&text);
    within(&p, &["exec", "--", "true"], Duration::from_secs(20))
        .code(2)
        .stderr_has(&["KEY_5 is defined twice, on lines 7 and 100002"]);
}

#[test]
fn devices_and_fifos_are_read_only_up_to_a_limit() {
    let p = Project::initialized();
    let before = fs::read(p.path(".env.secrets")).unwrap();
    // A recipients file that is /dev/zero.
    fs::remove_file(p.path(".env.secrets.recipients")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.path(".env.secrets.recipients")).unwrap();
    within(&p, &["set", "A", "--value", "1"], Duration::from_secs(10))
        .code(2)
        .clean_error()
        .stderr_has(&["recipients", "larger than 1 MiB"]);
    assert_eq!(before, fs::read(p.path(".env.secrets")).unwrap());
    // A secrets file that is a FIFO fed forever.
    let q = Project::new();
    q.default_identity();
    let fifo = q.path(".env.secrets");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut feeder = Command::new("sh")
        .arg("-c")
        .arg("exec cat /dev/zero > \"$1\"")
        .arg("feeder")
        .arg(&fifo)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = within(&q, &["get", "A"], Duration::from_secs(10));
    let _ = feeder.kill();
    let _ = feeder.wait();
    r.code(2).clean_error().stderr_has(&["larger than 16 MiB"]);
}
