//! The dotenv dialect inside `.env.secrets` (DESIGN §2): scope markers, one definition per
//! key, `# optional` marks, and values with exactly the semantics of `dotenvy`.
//!
//! Parsing happens in two passes. This module finds the structure itself — which lines
//! are markers, comments and entries, where a multi-line quoted value ends — because it
//! must name lines in errors and know each key's scope. The values are then computed by
//! `dotenvy` over the same text, so quoting, escapes, `export ` and `${VAR}` expansion
//! behave as every other dotenv tool built on it. When the two passes disagree the file is
//! rejected, never guessed at. Error messages carry line numbers and key names, never
//! a line's text: a malformed line may well hold a secret.

use std::fmt;

use zeroize::Zeroizing;

/// Which processes a variable is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Given to the application (the default).
    Runtime,
    /// Given only to deploy tooling; removed from runtime processes.
    Deploy,
}

impl Scope {
    /// The marker name, as written in `# [name]`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Runtime => "runtime",
            Scope::Deploy => "deploy",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One `KEY=value` definition.
pub struct Entry {
    /// The variable name.
    pub key: String,
    /// The section it appears in.
    pub scope: Scope,
    /// 1-based line on which the definition starts.
    pub line: usize,
    /// True when the definition's last line ends in a `# optional` comment.
    pub optional: bool,
    /// The value as `dotenvy` computes it; wiped from memory on drop.
    pub value: Zeroizing<String>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the value, even in debug output.
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("scope", &self.scope)
            .field("line", &self.line)
            .field("optional", &self.optional)
            .finish_non_exhaustive()
    }
}

/// A parsed dotenv document.
#[derive(Debug, Default)]
pub struct Document {
    /// The definitions, in file order.
    pub entries: Vec<Entry>,
}

impl Document {
    /// The definition of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The definitions in `scope`, in file order.
    pub fn in_scope(&self, scope: Scope) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.scope == scope)
    }
}

/// Why a dotenv document was rejected. Displays name lines and keys, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The bytes are not UTF-8.
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
    },
    /// A `# [name]` marker other than runtime/deploy.
    UnknownMarker {
        /// 1-based line of the marker.
        line: usize,
        /// The name inside the brackets.
        name: String,
    },
    /// A key defined twice.
    DuplicateKey {
        /// The key.
        key: String,
        /// Line of the first definition.
        first: usize,
        /// Line of the second definition.
        second: usize,
    },
    /// A line that is not a comment, a marker or a `NAME=value` definition.
    Malformed {
        /// 1-based line.
        line: usize,
        /// What is wrong, without quoting the line.
        reason: &'static str,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotUtf8 { line } => {
                write!(f, "line {line}: the text is not valid UTF-8")
            }
            ParseError::UnknownMarker { line, name } => write!(
                f,
                "line {line}: unknown section marker `# [{name}]`; sections are `# [runtime]` and `# [deploy]`"
            ),
            ParseError::DuplicateKey { key, first, second } => write!(
                f,
                "{key} is defined twice, on lines {first} and {second}; keep one of them"
            ),
            ParseError::Malformed { line, reason } => write!(f, "line {line}: {reason}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses dotenv bytes, checking UTF-8 first.
pub fn parse_bytes(bytes: &[u8]) -> Result<Document, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Err(ParseError::NotUtf8 { line })
        }
    }
}

/// The structure of one definition, before its value is computed.
struct Span {
    key: String,
    scope: Scope,
    line: usize,
    optional: bool,
    /// Byte range of the definition's text (all of its lines) in the document.
    range: std::ops::Range<usize>,
}

/// Parses dotenv text into a [`Document`].
pub fn parse(text: &str) -> Result<Document, ParseError> {
    let spans = structure(text)?;
    let values = match values_of(text) {
        Ok(values) => values,
        Err(()) => return Err(locate_value_error(text, &spans)),
    };
    if values.len() != spans.len() {
        let line = spans
            .iter()
            .zip(values.iter())
            .find(|(s, (k, _))| s.key != *k)
            .map_or_else(|| spans.last().map_or(1, |s| s.line), |(s, _)| s.line);
        return Err(ParseError::Malformed {
            line,
            reason: "this definition could not be parsed unambiguously; quote its value",
        });
    }
    let mut entries = Vec::with_capacity(spans.len());
    for (span, (key, value)) in spans.into_iter().zip(values) {
        if span.key != key {
            return Err(ParseError::Malformed {
                line: span.line,
                reason: "this definition could not be parsed unambiguously; quote its value",
            });
        }
        entries.push(Entry {
            key: span.key,
            scope: span.scope,
            line: span.line,
            optional: span.optional,
            value,
        });
    }
    Ok(Document { entries })
}

/// Runs `dotenvy` over the text. Its error text quotes the offending line, so it is
/// dropped here; [`locate_value_error`] finds the line number instead.
fn values_of(text: &str) -> Result<Vec<(String, Zeroizing<String>)>, ()> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| item.map(|(k, v)| (k, Zeroizing::new(v))).map_err(|_| ()))
        .collect()
}

/// Finds which definition `dotenvy` rejected by parsing each one alone.
fn locate_value_error(text: &str, spans: &[Span]) -> ParseError {
    let line = spans
        .iter()
        .find(|s| values_of(&text[s.range.clone()]).is_err())
        .map_or(1, |s| s.line);
    ParseError::Malformed {
        line,
        reason: "the value is malformed (check its quotes, escapes and ${...} references)",
    }
}

/// Where a quote-aware walk over a value ended.
enum ValueEnd {
    /// The definition ends on this line; `optional` if its comment is `# optional`.
    Line { optional: bool },
    /// A quote (or a trailing backslash) continues the value onto the next line.
    Continues,
}

/// State of the quote-aware walk, carried across the lines of a multi-line value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Walks one physical line of a value, updating `quote`. `escaped` carries a backslash
/// that ended the previous line.
fn walk_value_line(line: &str, quote: &mut Quote, escaped: &mut bool) -> ValueEnd {
    let mut prev_space = false;
    for (i, c) in line.char_indices() {
        if *escaped {
            *escaped = false;
            prev_space = false;
            continue;
        }
        match (*quote, c) {
            (_, '\\') => *escaped = true,
            (Quote::None, '"') => *quote = Quote::Double,
            (Quote::None, '\'') => *quote = Quote::Single,
            (Quote::Double, '"') | (Quote::Single, '\'') => *quote = Quote::None,
            (Quote::None, '#') if prev_space => {
                let comment = line[i + 1..].trim();
                return ValueEnd::Line {
                    optional: comment.eq_ignore_ascii_case("optional"),
                };
            }
            _ => {}
        }
        prev_space = *quote == Quote::None && c.is_whitespace() && c != '\n' && c != '\r';
    }
    // A backslash that escaped the newline itself continues the value, as in dotenvy.
    if *quote != Quote::None || *escaped {
        ValueEnd::Continues
    } else {
        ValueEnd::Line { optional: false }
    }
}

/// The name inside a `# [name]` marker line, if the line is one.
fn marker_name(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix('[')?;
    let (name, after) = rest.split_once(']')?;
    after.trim().is_empty().then(|| name.trim())
}

/// Splits `KEY=` off a definition line; returns the key and the byte offset of the value.
fn split_key(line: &str) -> Result<(&str, usize), &'static str> {
    let lead = line.len() - line.trim_start().len();
    let mut rest = &line[lead..];
    let mut offset = lead;
    if let Some(after) = rest.strip_prefix("export") {
        if after.starts_with([' ', '\t']) {
            let trimmed = after.trim_start();
            offset += rest.len() - trimmed.len();
            rest = trimmed;
        }
    }
    let key_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .unwrap_or(rest.len());
    if key_len == 0 {
        return Err("expected NAME=value, a comment, or a section marker");
    }
    let key = &rest[..key_len];
    let after_key = &rest[key_len..];
    let eq = after_key.trim_start_matches([' ', '\t']);
    if !eq.starts_with('=') {
        return Err("expected `=` after the variable name");
    }
    let value_start = offset + key_len + (after_key.len() - eq.len()) + 1;
    Ok((key, value_start))
}

/// First pass: markers, comments, and the line span and scope of every definition.
fn structure(text: &str) -> Result<Vec<Span>, ParseError> {
    let mut spans: Vec<Span> = Vec::new();
    let mut scope = Scope::Runtime;
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    let mut offset = 0;
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let start = offset;
        offset += line.len();
        // A byte-order mark at the very start is allowed, as dotenvy allows it.
        let line_text = if index == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let trimmed = line_text.trim();
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') {
            if let Some(name) = marker_name(trimmed) {
                scope = match name.to_ascii_lowercase().as_str() {
                    "runtime" => Scope::Runtime,
                    "deploy" => Scope::Deploy,
                    _ => {
                        return Err(ParseError::UnknownMarker {
                            line: number,
                            name: name.to_string(),
                        })
                    }
                };
            }
            continue;
        }
        let (key, value_start) = split_key(line_text).map_err(|reason| ParseError::Malformed {
            line: number,
            reason,
        })?;
        let mut quote = Quote::None;
        let mut escaped = false;
        let mut end = walk_value_line(&line_text[value_start..], &mut quote, &mut escaped);
        while let ValueEnd::Continues = end {
            match lines.next() {
                Some((_, next)) => {
                    offset += next.len();
                    end = walk_value_line(next, &mut quote, &mut escaped);
                }
                None => {
                    return Err(ParseError::Malformed {
                        line: number,
                        reason: "a quoted value starts here and is never closed",
                    })
                }
            }
        }
        let ValueEnd::Line { optional } = end else {
            unreachable!("the loop above runs until the value ends")
        };
        if let Some(first) = spans.iter().find(|s| s.key == key) {
            return Err(ParseError::DuplicateKey {
                key: key.to_string(),
                first: first.line,
                second: number,
            });
        }
        spans.push(Span {
            key: key.to_string(),
            scope,
            line: number,
            optional,
            range: start..offset,
        });
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, Scope, String)> {
        parse(text)
            .unwrap()
            .entries
            .into_iter()
            .map(|e| (e.key, e.scope, e.value.to_string()))
            .collect()
    }

    #[test]
    fn scopes_follow_markers_and_default_to_runtime() {
        let v = values("A=1\n# [deploy]\nB=2\n  #  [ RUNTIME ]  \nC=3\n");
        assert_eq!(
            v,
            vec![
                ("A".into(), Scope::Runtime, "1".into()),
                ("B".into(), Scope::Deploy, "2".into()),
                ("C".into(), Scope::Runtime, "3".into()),
            ]
        );
    }

    #[test]
    fn dotenvy_semantics_for_values() {
        let text = "export A='x # y'\nB=\"multi\nline # kept\nvalue\"\nC=plain # comment\nD=\"${A}-z\"\nE='it''s'\n";
        let v = values(text);
        assert_eq!(v[0].2, "x # y");
        assert_eq!(v[1].2, "multi\nline # kept\nvalue");
        assert_eq!(v[2].2, "plain");
        assert_eq!(v[3].2, "x # y-z");
        assert_eq!(v.len(), 5);
    }

    #[test]
    fn a_marker_inside_a_multiline_value_is_part_of_the_value() {
        let v = values("A=\"one\n# [deploy]\ntwo\"\nB=2\n");
        assert_eq!(v[0].2, "one\n# [deploy]\ntwo");
        assert_eq!(v[1].1, Scope::Runtime);
    }

    #[test]
    fn optional_marks_are_read_from_the_comment() {
        let doc = parse("A= # optional\nB=x #Optional \nC='# optional'\nD=\n").unwrap();
        let flags: Vec<bool> = doc.entries.iter().map(|e| e.optional).collect();
        assert_eq!(flags, vec![true, true, false, false]);
    }

    #[test]
    fn errors_name_lines_and_never_values() {
        let err = parse("A=1\n# [staging]\n").unwrap_err();
        assert_eq!(
            err,
            ParseError::UnknownMarker {
                line: 2,
                name: "staging".into()
            }
        );
        let err = parse("A=1\n\nA=2\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "A is defined twice, on lines 1 and 3; keep one of them"
        );
        let err = parse("A=1\nhunter2-secret-value\n").unwrap_err();
        assert!(matches!(err, ParseError::Malformed { line: 2, .. }));
        assert!(!err.to_string().contains("hunter2"));
        let err = parse("A=1\nB=\"sk-unclosed\n").unwrap_err();
        assert!(matches!(err, ParseError::Malformed { line: 2, .. }));
        assert!(!err.to_string().contains("sk-unclosed"));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let err = parse_bytes(b"A=1\nB=\xff\xfe\n").unwrap_err();
        assert_eq!(err, ParseError::NotUtf8 { line: 2 });
    }
}
