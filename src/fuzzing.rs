//! Fuzz targets: each takes arbitrary bytes, runs one of envshim's parsers on them and
//! panics when a promise is broken — a crash, an error message that quotes the input, a
//! rewrite that changes a value, a finding outside its buffer.
//!
//! They live in the library so that two drivers share them: the cargo-fuzz targets in
//! `fuzz/` (coverage-guided, nightly) and the corpus replay in `tests/fuzz_corpus.rs`
//! (every committed seed and regression input, on stable, in every test run).

use std::str::FromStr;
use std::sync::OnceLock;

use crate::scan::engine::{KnownValues, Matcher};
use crate::scan::rules::RuleSet;
use crate::scan::{Finding, Stats};
use crate::secrets::dotenv::{self, ParseError};
use crate::secrets::{crypto, recipients};

/// The identity the `secrets_file` seeds are encrypted to. It protects nothing: it is
/// published here so that the fuzzer can reach the plaintext side of the reader.
pub const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-1NCVV5XR40PM5WCU4R0MFGJSC8Q2Q4NXERJT5AQHKRT0N8DXML3HSJWF60G"; // envshim:allow

/// The public key of [`FUZZ_IDENTITY`].
pub const FUZZ_RECIPIENT: &str = "age1xwtj48hvqnlcqkgx42j3f5kl7mhe3k9c9aeaj32dqy25f0nzcyjs8ptpg4";

/// The dotenv parser and writer.
///
/// - Errors name lines, keys and section names, never other text of the input.
/// - A parsed document renders back to its input (a final newline added).
/// - Setting any value (here: the input itself, and every value changed) and parsing the
///   rendered text gives back exactly that value, with every other entry untouched.
/// - The example file parses, with the same keys and every value empty.
pub fn dotenv(data: &[u8]) {
    let doc = match dotenv::parse_bytes(data) {
        Ok(doc) => doc,
        Err(err) => return check_error_quotes_nothing(&err),
    };
    let text = std::str::from_utf8(data).expect("parse_bytes accepted it");
    let rendered = doc.render();
    let mut expected = text.to_string();
    if !expected.is_empty() && !expected.ends_with('\n') {
        expected.push('\n');
    }
    assert!(*rendered == expected, "render(parse(text)) != text");

    // Every value survives being rewritten, and so do the entries around it.
    let mut edited = dotenv::parse(&rendered).expect("rendered text parses");
    let originals: Vec<(String, String)> = doc
        .entries()
        .map(|e| (e.key.clone(), e.value.to_string()))
        .collect();
    let new_value = |old: &str| format!("{old}'\"$\\ #x\n${{HOME}}");
    for (key, value) in &originals {
        edited.set(key, &new_value(value), None);
    }
    // The input itself, as the value of a key the document does not have yet.
    let input_value: String = String::from_utf8_lossy(data).replace('\0', "");
    let mut new_key = String::from("FUZZ_INPUT");
    while doc.get(&new_key).is_some() {
        new_key.push('_');
    }
    edited.set(&new_key, &input_value, Some(dotenv::Scope::Deploy));
    let reparsed = dotenv::parse(&edited.render()).expect("a rewritten document parses");
    for (key, value) in &originals {
        let entry = reparsed.get(key).expect("rewritten key present");
        assert!(*entry.value == new_value(value), "value of {key} changed");
        assert_eq!(entry.scope, doc.get(key).unwrap().scope, "scope of {key}");
    }
    let entry = reparsed.get(&new_key).expect("new key present");
    assert!(
        *entry.value == input_value,
        "a new value did not round-trip"
    );
    assert_eq!(entry.scope, dotenv::Scope::Deploy);
    assert_eq!(reparsed.entries().count(), edited.entries().count());

    let example = dotenv::parse(&doc.example(None, &[], &|_| true).0).expect("the example parses");
    let keys = |d: &dotenv::Document| d.entries().map(|e| e.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&example), keys(&doc));
    assert!(example.entries().all(|e| e.value.is_empty()));
}

/// Parse errors carry only line numbers, identifiers and fixed reasons.
fn check_error_quotes_nothing(err: &ParseError) {
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    };
    match err {
        ParseError::NotUtf8 { .. } | ParseError::Malformed { .. } => {}
        // A key is a name the user chose; it may be long but is never a value.
        ParseError::DuplicateKey { key, .. } => assert!(word(key), "not a key in error"),
        ParseError::UnknownMarker { name, .. } => {
            assert!(word(name) && name.len() <= 32, "section name in error")
        }
    }
}

/// The secrets-file reader on armored or binary age input: never a panic; a file that
/// decrypts is parsed like any other.
pub fn secrets_file(data: &[u8]) {
    static IDENTITY: OnceLock<age::x25519::Identity> = OnceLock::new();
    let identity = IDENTITY.get_or_init(|| {
        age::x25519::Identity::from_str(FUZZ_IDENTITY).expect("the fuzz identity parses")
    });
    let identities: Vec<Box<dyn age::Identity>> = vec![Box::new(identity.clone())];
    if let Ok(plaintext) = crypto::decrypt(data, &identities) {
        dotenv(&plaintext);
    }
}

/// The recipients parser: never a panic; what it accepts renders and parses back to the
/// same keys.
pub fn recipients(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keys) = recipients::parse(text) else {
        return;
    };
    let canonical: Vec<String> = keys.iter().map(|k| k.canonical()).collect();
    let written: Vec<String> = keys.iter().map(|k| k.text.clone()).collect();
    let again = recipients::parse(&recipients::render(&written)).expect("rendered keys parse");
    let again: Vec<String> = again.iter().map(|k| k.canonical()).collect();
    assert_eq!(again, canonical);
    for key in &keys {
        let _ = key.to_age();
    }
}

/// The scanner on arbitrary bytes, with every built-in rule and a few known values:
/// every match lies inside the buffer, on character boundaries when the buffer is text,
/// and every finding's line and column point into the buffer.
pub fn scanner(data: &[u8]) {
    struct Setup {
        rules: RuleSet,
        known: KnownValues,
    }
    static SETUP: OnceLock<Setup> = OnceLock::new();
    let setup = SETUP.get_or_init(|| {
        let doc = dotenv::parse(
            "DB_PASSWORD=correct-horse-battery\nPIN='héllo wörld ✓✓'\nTOKEN=aaaaaaaa\n",
        )
        .expect("fixed document");
        Setup {
            rules: RuleSet::load(Vec::new(), &[]).expect("built-in rules"),
            known: crate::scan::known::from_document(&doc)
                .expect("automaton")
                .expect("values"),
        }
    });
    let matcher = Matcher {
        rules: &setup.rules,
        known: Some(&setup.known),
        allow_secrets: &[],
    };
    // The path decides which path-restricted rules run; try a plain and a special one.
    for path in ["src/main.rs", ".env"] {
        let text = std::str::from_utf8(data).ok();
        for hit in matcher.candidates(path, data) {
            assert!(
                hit.start <= hit.end && hit.end <= data.len(),
                "match out of bounds"
            );
            if let Some(text) = text {
                assert!(
                    text.is_char_boundary(hit.start) && text.is_char_boundary(hit.end),
                    "rule {} matched inside a character",
                    hit.rule
                );
            }
        }
        let mut findings: Vec<Finding> = Vec::new();
        matcher.scan(path, data, &Stats::default(), &mut findings);
        let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        for f in &findings {
            assert!(f.line >= 1 && f.line <= lines.len(), "line out of range");
            let chars = String::from_utf8_lossy(lines[f.line - 1]).chars().count();
            assert!(
                f.column >= 1 && f.column <= chars + 1,
                "column out of range"
            );
            assert!(f.redacted.chars().count() <= 40, "redaction too long");
        }
    }
}
