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
    let mut forms = Vec::new();
    for entry in doc.entries() {
        let value = entry.value.as_str();
        if value.chars().count() < MIN_LEN {
            continue;
        }
        let encoded = Zeroizing::new([
            value.to_string(),
            base64::engine::general_purpose::STANDARD.encode(value),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
            percent_encode(value, b"-._~"),
        ]);
        for (text, form) in encoded.iter().zip(Form::ALL) {
            if !patterns.contains(text) {
                patterns.push(text.clone());
                names.push(entry.key.clone());
                forms.push(form);
            }
        }
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    let automaton = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns.iter())?;
    Ok(Some(KnownValues {
        names,
        forms,
        automaton,
    }))
}

/// How a known value appears in the text: as it is or encoded. Redaction and
/// fingerprints work on the decoded value, so that an encoded prefix never shows more of
/// the secret than the limits allow (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The value itself.
    Plain,
    /// Standard base64, padded.
    Base64,
    /// URL-safe base64, unpadded.
    Base64Url,
    /// Percent-encoded.
    Percent,
}

impl Form {
    /// In the order `from_document` searches them.
    const ALL: [Form; 4] = [Form::Plain, Form::Base64, Form::Base64Url, Form::Percent];

    /// The value that `text` (a match of this form) encodes.
    pub fn decode(self, text: &[u8]) -> Option<String> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let bytes = match self {
            Form::Plain => text.to_vec(),
            Form::Base64 => STANDARD.decode(text).ok()?,
            Form::Base64Url => URL_SAFE_NO_PAD.decode(text).ok()?,
            Form::Percent => percent_decode(text)?,
        };
        String::from_utf8(bytes).ok()
    }

    /// How a description names the form ("" for the value itself).
    pub fn label(self) -> &'static str {
        match self {
            Form::Plain => "",
            Form::Base64 => " (base64-encoded)",
            Form::Base64Url => " (URL-safe base64)",
            Form::Percent => " (percent-encoded)",
        }
    }
}

/// Undoes [`percent_encode`].
fn percent_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' {
            let hex = std::str::from_utf8(text.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_decodes_what_from_document_encodes() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let value = "p@ss wörd/+?&=~x"; // envshim:allow: made up
        let encoded = [
            value.to_string(),
            STANDARD.encode(value),
            URL_SAFE_NO_PAD.encode(value),
            percent_encode(value, b"-._~"),
        ];
        for (text, form) in encoded.iter().zip(Form::ALL) {
            assert_eq!(
                form.decode(text.as_bytes()).as_deref(),
                Some(value),
                "{form:?}"
            );
        }
        assert_eq!(Form::Percent.decode(b"%2"), None);
    }
}
