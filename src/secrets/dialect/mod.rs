//! Plaintext dotenv files as other libraries read them (`import --dialect`, DESIGN §2),
//! each definition turned into text of envshim's own dialect (dotenvy's, see
//! [`super::dotenv`]) that gives, when the file is used, the value the library gives for
//! the original.
//!
//! Each library's rules are written here from its documentation and checked against the
//! library itself by the integration tests. A line whose meaning cannot be carried over
//! is refused with its line number (and its key when that is a valid name); where the
//! dialects read a line differently, a warning says so. Neither ever quotes a value, and
//! a name is only quoted once it has been read as the key of a definition.

mod compose;
mod node;
mod python;

use std::fmt;

use zeroize::Zeroizing;

use super::dotenv::{self, Scope};

/// Whose rules a plaintext dotenv file is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// The Rust `dotenvy` crate, envshim's own dialect: stored as written.
    Dotenvy,
    /// Node's `dotenv`: backticks, `#` always starts a comment, `$` taken literally.
    Node,
    /// `python-dotenv`: `${VAR}` expanded, even in single quotes; `$VAR` literal.
    Python,
    /// Docker Compose `env_file`: `$VAR`, `${VAR}`, `$$` for a dollar sign.
    Compose,
}

impl Dialect {
    /// The library, as the user knows it.
    pub fn library(self) -> &'static str {
        match self {
            Dialect::Dotenvy => "dotenvy",
            Dialect::Node => "Node's dotenv",
            Dialect::Python => "python-dotenv",
            Dialect::Compose => "Docker Compose",
        }
    }
}

/// One definition to store.
pub struct Imported {
    /// The variable name.
    pub key: String,
    /// 1-based line of the definition in the source.
    pub line: usize,
    /// The section the source puts it in, when the source has section markers.
    pub scope: Option<Scope>,
    /// The definition in dotenvy syntax, ending in a newline.
    pub text: Zeroizing<String>,
    /// The value dotenvy computes for `text` alone, in this process (references are
    /// expanded again when the secrets file is used).
    pub value: Zeroizing<String>,
}

impl fmt::Debug for Imported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text or the value, even in debug output.
        f.debug_struct("Imported")
            .field("key", &self.key)
            .field("line", &self.line)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What a source file holds: its definitions in file order, and what the user should
/// know about how they were read.
#[derive(Debug)]
pub struct Reading {
    /// The definitions.
    pub definitions: Vec<Imported>,
    /// Warnings, one sentence each, naming lines and keys, never values.
    pub warnings: Vec<String>,
}

/// Why a source file cannot be imported. Names a line (and a key), never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectError(String);

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DialectError {}

/// An error about the definition of `key` on `line`; `key` is named only if it is a
/// valid name (a malformed "name" may be a stray secret).
fn error_at(line: usize, key: &str, reason: impl fmt::Display) -> DialectError {
    DialectError(format!("{}: {reason}", place(line, key)))
}

/// `line N (KEY)`, or `line N` when `key` is not a valid name.
fn place(line: usize, key: &str) -> String {
    if valid_name(key) {
        format!("line {line} ({key})")
    } else {
        format!("line {line}")
    }
}

/// A name dotenvy reads as a key: an ASCII letter or `_`, then letters, digits, `_`, `.`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// A piece of a value as a library reads it.
enum Part {
    /// Text taken as it is.
    Text(Zeroizing<String>),
    /// A variable expanded when the file is used (the environment, else an earlier
    /// definition, else empty).
    Ref(String),
}

/// A definition as a library reads it, before it is written in dotenvy syntax.
struct Definition {
    key: String,
    line: usize,
    parts: Vec<Part>,
}

/// The largest source accepted, in bytes: a dotenv file is a few KiB.
pub const MAX_SOURCE_BYTES: usize = 16 << 20;

/// Reads `text` as `dialect` reads it.
pub fn read(dialect: Dialect, text: &str) -> Result<Reading, DialectError> {
    let mut warnings = Vec::new();
    let definitions = match dialect {
        Dialect::Dotenvy => return read_dotenvy(text),
        Dialect::Node => node::read(&newlines_to_lf(text), &mut warnings)?,
        Dialect::Python => python::read(&newlines_to_lf(text), &mut warnings)?,
        Dialect::Compose => compose::read(text, &mut warnings)?,
    };
    let mut out = Vec::with_capacity(definitions.len());
    for definition in definitions {
        out.push(render(dialect, definition)?);
    }
    Ok(Reading {
        definitions: out,
        warnings,
    })
}

/// The dotenvy dialect: every definition stored as written.
fn read_dotenvy(text: &str) -> Result<Reading, DialectError> {
    let doc = dotenv::parse(text).map_err(|e| {
        DialectError(format!(
            "{e} (as dotenvy reads it; for a file written for another library, pass \
             --dialect node, python or compose)"
        ))
    })?;
    let marked = doc.has_markers();
    let mut warnings = Vec::new();
    let mut definitions = Vec::new();
    for entry in doc.entries() {
        if entry.raw.contains('\0') {
            return Err(error_at(
                entry.line,
                &entry.key,
                "the value contains a NUL byte, which no environment variable can hold",
            ));
        }
        dotenvy_differences(entry, &mut warnings);
        definitions.push(Imported {
            key: entry.key.clone(),
            line: entry.line,
            scope: marked.then_some(entry.scope),
            text: entry.raw.clone(),
            value: entry.value.clone(),
        });
    }
    Ok(Reading {
        definitions,
        warnings,
    })
}

/// Warns where dotenvy expands a `$` that the other dialects (and shells) read otherwise.
fn dotenvy_differences(entry: &dotenv::Entry, warnings: &mut Vec<String>) {
    let refs = dotenv::references(&entry.raw);
    let at = place(entry.line, &entry.key);
    if refs
        .iter()
        .any(|r| !r.braced && !r.name.starts_with(|c: char| c.is_alphabetic()))
    {
        warnings.push(format!(
            "{at}: dotenvy drops a `$` followed by a digit, another `$` or nothing (it expands \
             a \"variable\" of that name, usually empty), where shells and Docker Compose keep \
             a dollar sign; write `\\$` for a literal dollar sign"
        ));
    }
    if refs.iter().any(|r| !r.braced && r.then_underscore) {
        warnings.push(format!(
            "{at}: dotenvy ends a `$NAME` reference at the first character that is not a \
             letter or digit (so `_` is not part of the name, unlike in shells and Docker \
             Compose); write `${{NAME}}` to make the name explicit"
        ));
    }
}

/// The definition in dotenvy syntax, checked to read back as the library reads it.
fn render(dialect: Dialect, definition: Definition) -> Result<Imported, DialectError> {
    let Definition { key, line, parts } = definition;
    if !valid_name(&key) {
        return Err(DialectError(format!(
            "line {line}: the name is not one dotenvy reads ({} allows it); use letters, digits \
             and `_`, starting with a letter or `_`",
            dialect.library()
        )));
    }
    let nul = parts
        .iter()
        .any(|p| matches!(p, Part::Text(t) if t.contains('\0')));
    if nul {
        return Err(error_at(
            line,
            &key,
            "the value contains a NUL byte, which no environment variable can hold",
        ));
    }
    let literal = parts.iter().all(|p| matches!(p, Part::Text(_)));
    let size: usize = parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.len() * 2,
            Part::Ref(name) => name.len() + 3,
        })
        .sum::<usize>()
        + key.len()
        + 4;
    let mut text = Zeroizing::new(String::with_capacity(size));
    text.push_str(&key);
    text.push('=');
    if literal {
        let mut value = Zeroizing::new(String::with_capacity(size));
        for part in &parts {
            if let Part::Text(t) = part {
                value.push_str(t);
            }
        }
        text.push_str(&dotenv::quote(&value));
    } else {
        text.push('"');
        for part in &parts {
            match part {
                Part::Text(t) => dotenv::escape_double_quoted(t, &mut text),
                Part::Ref(name) => {
                    text.push_str("${");
                    text.push_str(name);
                    text.push('}');
                }
            }
        }
        text.push('"');
    }
    text.push('\n');
    // The text must read back as one definition of `key` whose parts are `parts`.
    let doc = dotenv::parse(&text).map_err(|_| unexpressible(line, &key))?;
    let entry = match doc.entries().collect::<Vec<_>>().as_slice() {
        [entry] if entry.key == key => *entry,
        _ => return Err(unexpressible(line, &key)),
    };
    let wanted: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Ref(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
        .collect();
    let found = dotenv::references(&entry.raw);
    let same_refs = found.len() == wanted.len()
        && found
            .iter()
            .zip(&wanted)
            .all(|(f, w)| f.braced && f.name == *w);
    if !same_refs {
        return Err(unexpressible(line, &key));
    }
    if literal {
        let mut value = Zeroizing::new(String::with_capacity(size));
        for part in &parts {
            if let Part::Text(t) = part {
                value.push_str(t);
            }
        }
        if value != entry.value {
            return Err(unexpressible(line, &key));
        }
    }
    Ok(Imported {
        value: entry.value.clone(),
        key,
        line,
        scope: None,
        text,
    })
}

fn unexpressible(line: usize, key: &str) -> DialectError {
    error_at(
        line,
        key,
        "the value cannot be written so that dotenvy reads it the same",
    )
}

/// The text with `\r\n` and lone `\r` line endings made `\n`, as Node's dotenv and Python
/// (universal newlines) read files.
fn newlines_to_lf(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    1 + text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// A value buffer for text taken from `len` bytes of source: values never grow past
/// their source, so the buffer never moves (and never leaves an unwiped copy).
fn buffer(len: usize) -> Zeroizing<String> {
    Zeroizing::new(String::with_capacity(len))
}

/// Appends literal text to `parts`.
fn push_text(parts: &mut Vec<Part>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(Part::Text(last)) = parts.last_mut() {
        // Rare (adjacent literal pieces); a fresh buffer keeps the old one wiped.
        let mut joined = buffer(last.len() + text.len());
        joined.push_str(last);
        joined.push_str(text);
        *last = joined;
    } else {
        let mut owned = buffer(text.len());
        owned.push_str(text);
        parts.push(Part::Text(owned));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(key, text)` pairs as owned strings, for comparing with [`stored`].
    pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The stored text and value of each definition.
    pub(super) fn stored(dialect: Dialect, text: &str) -> Vec<(String, String)> {
        read(dialect, text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .definitions
            .into_iter()
            .map(|d| (d.key, d.text.trim_end_matches('\n').to_string()))
            .collect()
    }

    #[test]
    fn dotenvy_definitions_are_stored_as_written() {
        let text = "PW=pa$$w0rd$HOME\nexport URL=postgres://u:${DB_PASS}@h/db # db\r\nM=\"a\nb\"\n";
        let reading = read(Dialect::Dotenvy, text).unwrap();
        let texts: Vec<&str> = reading
            .definitions
            .iter()
            .map(|d| d.text.as_str())
            .collect();
        assert_eq!(
            texts,
            vec![
                "PW=pa$$w0rd$HOME\n",
                "export URL=postgres://u:${DB_PASS}@h/db # db\r\n",
                "M=\"a\nb\"\n"
            ]
        );
        assert_eq!(reading.warnings.len(), 1, "{:?}", reading.warnings);
        assert!(reading.warnings[0].starts_with("line 1 (PW): dotenvy drops a `$`"));
    }

    #[test]
    fn dotenvy_errors_suggest_a_dialect() {
        let err = read(Dialect::Dotenvy, "A=hello world # c\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1:"), "{err}");
        assert!(err.to_string().contains("--dialect node"), "{err}");
        assert!(!err.to_string().contains("hello"));
    }

    #[test]
    fn nul_is_refused_naming_the_key() {
        for dialect in [
            Dialect::Dotenvy,
            Dialect::Node,
            Dialect::Python,
            Dialect::Compose,
        ] {
            let err = read(dialect, "A=1\nB=x\0y\n").unwrap_err();
            assert!(
                err.to_string().starts_with("line 2 (B): "),
                "{dialect:?}: {err}"
            );
            assert!(err.to_string().contains("NUL"), "{dialect:?}: {err}");
        }
    }

    #[test]
    fn invalid_names_are_refused_without_being_quoted() {
        let err = read(Dialect::Node, "sk-live-123=1\n").unwrap_err();
        assert!(err.to_string().starts_with("line 1: "), "{err}");
        assert!(!err.to_string().contains("sk-live"), "{err}");
    }

    #[test]
    fn literal_dollars_are_escaped() {
        assert_eq!(
            stored(Dialect::Node, "A=${HOME} $x\nB=it's $5\n"),
            vec![
                ("A".into(), "A='${HOME} $x'".into()),
                ("B".into(), "B=\"it's \\$5\"".into())
            ]
        );
    }
}
