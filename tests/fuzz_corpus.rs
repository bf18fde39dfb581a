//! Replays every committed fuzz input — the seed corpora and the inputs that once
//! crashed a target (`fuzz/regressions`) — through the fuzz targets, on stable, in every
//! test run. The coverage-guided runs themselves are `fuzz/run.sh`.

use std::path::Path;

use envshim::fuzzing;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == ".keep") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{target} failed on {}", path.display());
            count += 1;
        }
    }
    assert!(count >= 4, "{target}: only {count} committed inputs");
}

#[test]
fn dotenv_inputs() {
    replay("dotenv", fuzzing::dotenv);
}

#[test]
fn secrets_file_inputs() {
    replay("secrets_file", fuzzing::secrets_file);
}

#[test]
fn recipients_inputs() {
    replay("recipients", fuzzing::recipients);
}

#[test]
fn scanner_inputs() {
    replay("scanner", fuzzing::scanner);
}

/// The seeds really reach the code behind the reader: one decrypts with the fuzz key.
#[test]
fn secrets_file_seeds_decrypt() {
    use std::str::FromStr;
    let identity = age::x25519::Identity::from_str(fuzzing::FUZZ_IDENTITY).unwrap();
    assert_eq!(identity.to_public().to_string(), fuzzing::FUZZ_RECIPIENT);
    let ids: Vec<Box<dyn age::Identity>> = vec![Box::new(identity)];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/secrets_file");
    for name in ["armored", "binary", "two_recipients_binary"] {
        let bytes = std::fs::read(root.join(name)).unwrap();
        let plain = envshim::secrets::crypto::decrypt(&bytes, &ids).unwrap();
        assert!(plain.starts_with(b"A=1\n"), "{name}");
    }
}
