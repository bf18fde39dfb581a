//! Known values: the decrypted secrets themselves, and their base64 and URL-encoded
//! forms, so that even a password no regex could recognise is caught (`known-secret`).
//! Only values that look like secrets are searched (DESIGN §4): a mode, a port, a region
//! or a path in the secrets file would otherwise block every commit that mentions it.

use aho_corasick::{AhoCorasickBuilder, MatchKind};
use base64::Engine;
use zeroize::Zeroizing;

use super::engine::KnownValues;
use crate::secrets::dotenv::Document;

/// Values shorter than this are too common to search for.
pub const MIN_LEN: usize = 8;

/// Builds the automaton for the values in `doc`; None when there are none to search.
pub fn from_document(doc: &Document) -> anyhow::Result<Option<KnownValues>> {
    from_secrets(doc, None)
}

/// Builds the automaton for the values in `doc` that look like secrets and that
/// `example` (the reviewed example file) does not mark `# public`.
pub fn from_secrets(
    doc: &Document,
    example: Option<&Document>,
) -> anyhow::Result<Option<KnownValues>> {
    from_all(&[doc], example)
}

/// [`from_secrets`] for the values of several documents (the secrets file as the
/// working tree and as a range's base commit have it).
pub fn from_all(
    docs: &[&Document],
    example: Option<&Document>,
) -> anyhow::Result<Option<KnownValues>> {
    // By key, once: a look-up per entry would be quadratic in a large file.
    let public: std::collections::HashSet<&str> = example
        .iter()
        .flat_map(|e| e.entries())
        .filter(|e| e.public)
        .map(|e| e.key.as_str())
        .collect();
    // The values and their encodings are plaintext: wiped when dropped. (The automaton
    // keeps its own copy, in its own layout, for as long as the scan runs.)
    let mut patterns: Zeroizing<Vec<String>> = Zeroizing::new(Vec::new());
    let mut names = Vec::new();
    let mut forms = Vec::new();
    for entry in docs.iter().flat_map(|doc| doc.entries()) {
        if public.contains(entry.key.as_str()) {
            continue;
        }
        let mut values = vec![Zeroizing::new(entry.value.to_string())];
        // The password of a URL is searched on its own too: it is often also written
        // alone (a compose file's POSTGRES_PASSWORD).
        if let Some(password) = url_password(&entry.value) {
            values.push(password);
        }
        for value in values.iter().map(|v| v.as_str()) {
            if !looks_secret(value) {
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

/// True when a value looks like a secret, so that finding it in a file means something:
/// not a number, a word or a few words (`production`, `us-east-1`, `Acme Shop`), a host,
/// an e-mail address, a path, or a URL without credentials — every one of which is
/// mentioned in code as a matter of course. A phrase of four or more words separated by
/// spaces is a passphrase (`correct horse battery staple`) and is searched; a URL whose
/// password looks like a secret is searched.
pub fn looks_secret(value: &str) -> bool {
    let value = value.trim();
    if value.chars().count() < MIN_LEN {
        return false;
    }
    if let Some(password) = url_password(value) {
        return !plain(&password);
    }
    if value.split(' ').filter(|w| !w.is_empty()).count() >= 4
        && value.split(' ').all(|w| w.is_empty() || word(w))
    {
        return true;
    }
    // Four or more words joined by `-`, `_` or `.` with a capitalised one among them
    // (`Correct-Horse-Battery-9`) are a passphrase too: the names, hosts and buckets that
    // are joined that way are written in one case (`acme-prod-user-uploads`, `US-EAST-1`).
    let tokens: Vec<&str> = value.split(['-', '_', '.']).collect();
    if tokens.len() >= 4
        && tokens.iter().any(|t| capitalised(t))
        && tokens
            .iter()
            .any(|t| t.bytes().any(|b| b.is_ascii_lowercase()))
    {
        return true;
    }
    !plain(value)
}

/// `Word`: a capital and then only lower-case letters, at least three in all.
fn capitalised(token: &str) -> bool {
    let mut chars = token.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && token.len() >= 3
        && chars.all(|c| c.is_ascii_lowercase())
}

/// The password of a URL with credentials (`scheme://user:password@host…`),
/// percent-decoded; None for anything else.
pub fn url_password(value: &str) -> Option<Zeroizing<String>> {
    let (scheme, rest) = value.split_once("://")?;
    let scheme_ok = scheme.chars().next()?.is_ascii_alphabetic()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.:".contains(c));
    if !scheme_ok {
        return None;
    }
    // Up to the last `@`, not the first `/`: a password is often written with a raw
    // `/`, `?` or `#` that its reader takes literally, though RFC 3986 wants them encoded.
    let (userinfo, _host) = rest.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    if password.is_empty() || user.contains(['/', '?', '#', ' ']) || password.contains(' ') {
        return None;
    }
    Some(Zeroizing::new(percent_decode_lenient(password)))
}

/// Decodes `%XX` escapes (an invalid one is kept as written).
fn percent_decode_lenient(text: &str) -> String {
    let bytes = text.as_bytes();
    // A password: the intermediate copy is wiped too.
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Made only of words and numbers joined by the separators of names, hosts, paths, URLs
/// and e-mail addresses.
fn plain(value: &str) -> bool {
    value
        .split([
            ' ', '\t', '-', '_', '.', '/', '\\', ':', '@', '+', '?', '&', '=', '#', ',', '~',
        ])
        .all(|token| token.is_empty() || word(token) || number(token))
}

/// Digits only (a port, an id, a part of an address or a version).
fn number(token: &str) -> bool {
    token.bytes().all(|b| b.is_ascii_digit())
}

/// A word as people write one: letters only, lower case, upper case, capitalised or
/// camelCase (each hump after the first at least three letters: a random mix of cases
/// has short humps), at most 24 letters, and without six lower-case consonants in a row
/// (a random string of letters has them); or a short name with a number (`v1`, `ec2`,
/// `ipv6`).
fn word(token: &str) -> bool {
    let letters = token.trim_end_matches(|c: char| c.is_ascii_digit());
    if letters.len() < token.len() {
        return !letters.is_empty() && token.len() <= 4 && word(letters);
    }
    if token.is_empty() || token.len() > 24 || !token.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let bytes = token.as_bytes();
    let mut consonants = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 && b.is_ascii_uppercase() && bytes[i - 1].is_ascii_lowercase() {
            // The capital, or an acronym (`parseHTTPResponse`), and its lower case.
            let capitals = bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_uppercase())
                .count();
            let hump = capitals
                + bytes[i + capitals..]
                    .iter()
                    .take_while(|b| b.is_ascii_lowercase())
                    .count();
            if hump < 3 {
                return false;
            }
        }
        if b.is_ascii_lowercase() && !b"aeiouy".contains(&b) {
            consonants += 1;
            if consonants >= 6 {
                return false;
            }
        } else {
            consonants = 0;
        }
    }
    true
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

    #[test]
    fn numbers_booleans_words_hosts_paths_and_plain_urls_are_not_searched() {
        for value in [
            // numbers, ports, addresses
            "3000",
            "12345678",
            "10.0.0.1",
            "3.14159265",
            // booleans and modes
            "false",
            "disabled",
            "production",
            "development",
            "PRODUCTION",
            "Production",
            // a few words, names, regions
            "us-east-1",
            "ap-southeast-2",
            "Acme Dashboard",
            "my_app_database",
            "myAppDatabase",
            "parseHTTPResponse",
            "acme-prod-user-uploads",
            // hosts, e-mail addresses
            "db.internal.example.com",
            "ops-team@example.com",
            // paths
            "/var/lib/app/data",
            "./config/settings.yaml",
            "C:\\Program Files\\App",
            "~/.ssh/known_hosts",
            // URLs without credentials, or whose password is a word
            "https://api.example.com/v1",
            "redis://cache:6379/0",
            "http://localhost:3000",
            "postgres://app:postgres@localhost:5432/app",
        ] {
            assert!(!looks_secret(value), "{value:?} should not be searched");
        }
    }

    #[test]
    fn passwords_keys_passphrases_and_credentials_in_urls_are_searched() {
        for value in [
            "hunter2hunter2",
            "Tq7#mV2p9Lz4Wx8K",
            "password1",
            "Passw0rd",
            "s3cr3t-Pw9x",
            "correct horse battery staple",
            "Correct-Horse-Battery-9",
            "QxZpLmRvTkWnBsYd",
            "xkqpwmzrtbvnlsdf",
            "deadbeef0123456789abcdef",
            "123e4567-e89b-12d3-a456-426614174000",
            // envshim:allow: made-up credentials for the predicate's test
            "postgres://app:s3cr3t-Pw9x@db:5432/app",
            "https://hooks.example.com/services/T01ABCDEF/B02GHIJKL/aBcD3fGh1JkLmNoP",
            // envshim:allow: a made-up key
            "sk_live_51Hq7TzW2mK9pLx4Nv8Rc3Bd6",
        ] {
            assert!(looks_secret(value), "{value:?} should be searched");
        }
    }

    #[test]
    fn short_values_are_not_searched_whatever_they_look_like() {
        assert!(!looks_secret("k8#Zq!"));
        assert!(!looks_secret("       k8#Zq!       "));
    }

    #[test]
    fn the_password_of_a_url_is_decoded() {
        assert_eq!(
            // envshim:allow: a made-up password
            url_password("mysql://root:p%40ss%3Aw0rd@db/x")
                .as_deref()
                .map(String::as_str),
            Some("p@ss:w0rd")
        );
        assert!(url_password("https://api.example.com/v1").is_none());
        assert!(url_password("https://user@example.com/").is_none());
        assert!(url_password("not a url: x@y").is_none());
        assert!(url_password("https://host/path?mail=a@example.com").is_none());
        assert_eq!(
            url_password("postgres://app:Zr8v!Qm2#Lx5/n9w@db/app")
                .as_deref()
                .map(String::as_str),
            Some("Zr8v!Qm2#Lx5/n9w")
        );
    }

    #[test]
    fn public_values_in_the_example_are_not_searched() {
        let doc = crate::secrets::dotenv::parse(
            "NODE_ENV=production\nA='Tq7#mV2p9Lz4Wx8K'\nB='hunter2hunter2'\n",
        )
        .unwrap();
        let example = crate::secrets::dotenv::parse("A= # public\nB= # optional\n").unwrap();
        let known = from_secrets(&doc, Some(&example)).unwrap().unwrap();
        // B in its forms (raw, base64 with and without padding); A is public and
        // NODE_ENV a word.
        assert_eq!(known.names, vec!["B"; 3]);
        let without_example = from_secrets(&doc, None).unwrap().unwrap();
        assert!(without_example.names.iter().any(|n| n == "A"));
        assert!(!without_example.names.iter().any(|n| n == "NODE_ENV"));
    }
}
