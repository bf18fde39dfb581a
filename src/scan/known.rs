//! Known values: the decrypted secrets themselves, and their base64 and URL-encoded
//! forms, so that even a password no regex could recognise is caught (`known-secret`).

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use base64::Engine;
use zeroize::Zeroizing;

use super::engine::KnownValues;
use crate::secrets::dotenv::Document;

/// Values shorter than this are too common to search for.
pub const MIN_LEN: usize = 8;

/// Builds the automaton for the values in `doc`; None when there are none to search.
pub fn from_document(doc: &Document) -> anyhow::Result<Option<KnownValues>> {
    // The values and their encodings are plaintext: wiped when dropped. (The automaton
    // keeps its own copy, in its own layout, for as long as the scan runs.)
    let mut patterns: Zeroizing<Vec<String>> = Zeroizing::new(Vec::new());
    let mut names = Vec::new();
    for entry in doc.entries() {
        let value = entry.value.as_str();
        if value.chars().count() < MIN_LEN {
            continue;
        }
        let forms = Zeroizing::new([
            value.to_string(),
            base64::engine::general_purpose::STANDARD.encode(value),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
            percent_encode(value, b"-._~"),
        ]);
        for form in forms.iter() {
            if !patterns.contains(form) {
                patterns.push(form.clone());
                names.push(entry.key.clone());
            }
        }
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns.iter())?;
    Ok(Some(KnownValues { names, automaton }))
}

/// Percent-encodes every byte that is not ASCII alphanumeric or in `safe`.
pub fn percent_encode(value: &str, safe: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || safe.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
