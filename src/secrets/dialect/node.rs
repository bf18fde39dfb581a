//! Node's `dotenv` (`require('dotenv').parse`), from its documented rules: `KEY=value`
//! or `KEY: value`, an optional `export `, keys of letters, digits, `_`, `.` and `-`;
//! values in single, double or backtick quotes (which may span lines and are kept as
//! they are, except that double quotes turn `\n` and `\r` into newlines), or unquoted
//! up to the first `#`, trimmed. `$` is never expanded. A line it cannot read is
//! skipped, and a key defined twice takes its last value.
//!
//! The scan follows how the library's pattern matches: a quoted value ends at the first
//! closing quote after which the line holds only spaces or a comment; where no such quote
//! exists, the value is read unquoted.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::{buffer, line_of, Definition, DialectError, Part};

/// Whitespace as JavaScript's `\s` and `trim()` know it.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The byte offset after the whitespace that starts at `at`.
fn skip_space(text: &str, at: usize) -> usize {
    text[at..]
        .find(|c: char| !js_space(c))
        .map_or(text.len(), |i| at + i)
}

/// The byte offset of the next line's start after `at` (or the end).
fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// What may follow a value: spaces, then a `#` comment or the end of the line. Returns
/// where the definition's last line ends.
fn tail(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let line = &rest[..line_end];
    let body = line.trim_start_matches(js_space);
    (body.is_empty() || body.starts_with('#')).then_some(at + line_end)
}

/// One match: the key, the value as written (quotes included), where it ends.
struct Found<'a> {
    key: &'a str,
    key_at: usize,
    raw: &'a str,
    /// Where `raw` ends in the text.
    raw_end: usize,
    end: usize,
}

/// Tries to read a definition starting at the line start `at`.
fn definition_at(text: &str, at: usize) -> Option<Found<'_>> {
    let start = skip_space(text, at);
    let rest = &text[start..];
    let after_export = rest
        .strip_prefix("export")
        .filter(|r| r.starts_with(js_space))
        .map(|r| skip_space(text, text.len() - r.len()));
    // With `export ` first, as the library tries it; then `export` as a key.
    for key_at in after_export.into_iter().chain([start]) {
        let key_len = text[key_at..]
            .find(|c: char| !key_char(c))
            .unwrap_or(text.len() - key_at);
        if key_len == 0 {
            continue;
        }
        let key_end = key_at + key_len;
        let eq = skip_space(text, key_end);
        let value_at = if text[eq..].starts_with('=') {
            eq + 1
        } else if let Some(after) = text[key_end..].strip_prefix(':') {
            // `KEY: value`: the colon and one whitespace character.
            match after.chars().next().filter(|&c| js_space(c)) {
                Some(space) => key_end + 1 + space.len_utf8(),
                None => continue,
            }
        } else {
            continue;
        };
        let (raw, end) = value_span(text, value_at);
        return Some(Found {
            key: &text[key_at..key_end],
            key_at,
            raw: &text[raw.clone()],
            raw_end: raw.end,
            end,
        });
    }
    None
}

/// Where the value starting at `at` is (quotes included) and where its definition ends.
fn value_span(text: &str, at: usize) -> (std::ops::Range<usize>, usize) {
    let open_at = skip_space(text, at);
    if let Some(quote) = text[open_at..]
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))
    {
        // The first quote not escaped by a backslash ends the value if the line goes on
        // with nothing but a comment; else an earlier escaped quote may, latest first.
        let body = open_at + 1;
        let mut unescaped = None;
        let mut escaped = Vec::new();
        for (i, c) in text[body..].char_indices() {
            if c == quote {
                let at = body + i;
                if text[..at].ends_with('\\') && at > body {
                    escaped.push(at);
                } else {
                    unescaped = Some(at);
                    break;
                }
            }
        }
        for close in unescaped.into_iter().chain(escaped.into_iter().rev()) {
            if let Some(end) = tail(text, close + 1) {
                return (open_at..close + 1, end);
            }
        }
    }
    let len = text[at..].find(['#', '\n']).unwrap_or(text.len() - at);
    let end = tail(text, at + len).unwrap_or(at + len);
    (at..at + len, end)
}

/// Reads `text` (line endings already `\n`) as Node's dotenv does.
pub(super) fn read(
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Definition>, DialectError> {
    if text.contains(['\u{2028}', '\u{2029}']) {
        return Err(DialectError(format!(
            "line {}: a Unicode line or paragraph separator, which Node's dotenv treats as a \
             line end in some places and not in others; replace it",
            line_of(text, text.find(['\u{2028}', '\u{2029}']).unwrap_or(0))
        )));
    }
    let mut found: Vec<(Definition, Vec<usize>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut at = 0;
    while at < text.len() {
        let line_end = next_line(text, at);
        let Some(m) = definition_at(text, at) else {
            let line = text[at..line_end].trim_matches(js_space);
            if !line.is_empty() && !line.starts_with('#') {
                warnings.push(format!(
                    "line {}: not a definition Node's dotenv can read; it skips the line, and so \
                     does this import",
                    line_of(text, at)
                ));
            }
            at = line_end;
            continue;
        };
        let line = line_of(text, m.key_at);
        let value = unquote(m.raw);
        if let Some(&i) = index.get(m.key) {
            let (previous, lines) = &mut found[i];
            lines.push(line);
            previous.parts = vec![Part::Text(value)];
        } else {
            index.insert(m.key.to_string(), found.len());
            found.push((
                Definition {
                    key: m.key.to_string(),
                    line,
                    parts: vec![Part::Text(value)],
                },
                vec![line],
            ));
        }
        // A `#` right after a value ends it, where the other dialects would go on.
        let hash_cut = text[m.raw_end..].starts_with('#') && !m.raw.ends_with(js_space);
        notice_differences(m.key, line, m.raw, hash_cut, warnings);
        at = next_line(text, m.end);
    }
    for (definition, lines) in &found {
        if let [.., last] = lines.as_slice() {
            if lines.len() > 1 {
                warnings.push(format!(
                    "{}: defined {} times; Node's dotenv keeps the last definition (line {last}), \
                     and so does this import",
                    super::place(definition.line, &definition.key),
                    lines.len()
                ));
            }
        }
    }
    Ok(found.into_iter().map(|(d, _)| d).collect())
}

/// The value of a definition written `raw`: trimmed, outer quotes removed, and in double
/// quotes `\n` and `\r` turned into a newline and a carriage return.
fn unquote(raw: &str) -> Zeroizing<String> {
    let trimmed = raw.trim_matches(js_space);
    let first = trimmed.chars().next();
    let inner = match first {
        Some(q @ ('\'' | '"' | '`')) if trimmed.len() >= 2 && trimmed.ends_with(q) => {
            &trimmed[1..trimmed.len() - 1]
        }
        _ => trimmed,
    };
    let mut out = buffer(inner.len());
    if first != Some('"') {
        out.push_str(inner);
        return out;
    }
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            ('\\', Some('r')) => {
                chars.next();
                out.push('\r');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Warns where another dialect reads the same definition otherwise.
fn notice_differences(
    key: &str,
    line: usize,
    raw: &str,
    hash_cut: bool,
    warnings: &mut Vec<String>,
) {
    let at = super::place(line, key);
    if hash_cut {
        warnings.push(format!(
            "{at}: Node's dotenv ends an unquoted value at `#` even without a space before it, \
             and so does the stored value (the other dialects keep the `#` and what follows)"
        ));
    }
    let value = raw.trim_matches(js_space);
    if value.contains('$') {
        warnings.push(format!(
            "{at}: Node's dotenv takes `$` literally, and so does the stored value (dotenvy, \
             python-dotenv and Docker Compose would expand `${{...}}` references)"
        ));
    }
    if value.starts_with('`') {
        warnings.push(format!(
            "{at}: backticks quote the value for Node's dotenv only; the other dialects keep \
             them as part of the value"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pairs, stored};
    use super::super::{read, Dialect};

    fn values(text: &str) -> Vec<(String, String)> {
        read(Dialect::Node, text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .definitions
            .into_iter()
            .map(|d| (d.key, d.value.to_string()))
            .collect()
    }

    #[test]
    fn documented_rules() {
        let text = "BASIC=basic\n\n# comment\nEMPTY=\nJSON={\"foo\": \"bar\"}\nTRIM=  some value  \n\
                    SINGLE='quoted'\nKEEP=\"  some value  \"\nNL=\"new\\nline\"\nSQ_NL='new\\nline'\n\
                    BT=`has 'single' and \"double\"`\nCOMMENT=value # comment\nHASH=a#b\n\
                    QHASH=\"a # b\"\nexport EXP=1\nSPACED = spaced\nYAML: yaml\n";
        assert_eq!(
            values(text),
            pairs(&[
                ("BASIC", "basic"),
                ("EMPTY", ""),
                ("JSON", "{\"foo\": \"bar\"}"),
                ("TRIM", "some value"),
                ("SINGLE", "quoted"),
                ("KEEP", "  some value  "),
                ("NL", "new\nline"),
                ("SQ_NL", "new\\nline"),
                ("BT", "has 'single' and \"double\""),
                ("COMMENT", "value"),
                ("HASH", "a"),
                ("QHASH", "a # b"),
                ("EXP", "1"),
                ("SPACED", "spaced"),
                ("YAML", "yaml"),
            ])
        );
    }

    #[test]
    fn multi_line_values_in_every_quote() {
        let text = "D=\"one\ntwo\"\nS='one\n# not a comment\ntwo'\nB=`one\ntwo`\nAFTER=1\n";
        assert_eq!(
            values(text),
            pairs(&[
                ("D", "one\ntwo"),
                ("S", "one\n# not a comment\ntwo"),
                ("B", "one\ntwo"),
                ("AFTER", "1"),
            ])
        );
    }

    #[test]
    fn quotes_that_do_not_close_the_line_are_part_of_an_unquoted_value() {
        let text = "A='it's'\nB=\"x\" y\nC=\"unclosed\nD=\"a\\\"b\"\nE='a\\'\n";
        assert_eq!(
            values(text),
            pairs(&[
                ("A", "it's"),
                ("B", "\"x\" y"),
                ("C", "\"unclosed"),
                ("D", "a\\\"b"),
                ("E", "a\\"),
            ])
        );
    }

    #[test]
    fn duplicates_keep_the_last_and_unreadable_lines_are_skipped_with_a_warning() {
        let reading = read(Dialect::Node, "A=1\njunk line\nA=2\n").unwrap();
        assert_eq!(reading.definitions.len(), 1);
        assert_eq!(reading.definitions[0].value.as_str(), "2");
        assert_eq!(reading.warnings.len(), 2, "{:?}", reading.warnings);
        assert!(reading.warnings[0].starts_with("line 2: not a definition"));
        assert!(reading.warnings[1].starts_with("line 1 (A): defined 2 times"));
        assert!(!reading.warnings.iter().any(|w| w.contains("junk")));
    }

    #[test]
    fn dollars_are_literal_in_the_stored_text() {
        assert_eq!(
            stored(Dialect::Node, "URL=postgres://u:${DB_PASS}@h/db\n"),
            pairs(&[("URL", "URL='postgres://u:${DB_PASS}@h/db'")])
        );
    }
}
