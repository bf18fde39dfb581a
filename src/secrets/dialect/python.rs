//! `python-dotenv` (`dotenv_values`, `load_dotenv`), from its documented rules:
//! `KEY=value` with an optional `export `; keys of any characters but `=`, `#` and
//! whitespace (or in single quotes); single-quoted values decode `\\` and `\'`,
//! double-quoted values also `\"`, `\n`, `\t`, `\r`, `\a`, `\b`, `\f`, `\v`, and both may
//! span lines; unquoted values run to the end of the line, less a comment that follows
//! whitespace. Every value, single-quoted ones included, then has `${NAME}` and
//! `${NAME:-default}` expanded (`$NAME` is literal). A key without `=` has no value, and
//! a line it cannot parse is skipped with a warning — which this import refuses instead.

use std::collections::HashMap;

use super::{buffer, error_at, line_of, push_text, valid_name, Definition, DialectError, Part};

/// Whitespace as Python's `\s` (and `str.isspace`) know it.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whitespace within a line.
fn py_blank(c: char) -> bool {
    c != '\n' && py_space(c)
}

/// A definition as python-dotenv parses it, before `${...}` expansion.
struct Raw {
    key: String,
    line: usize,
    /// `None` for a key without `=`.
    value: Option<zeroize::Zeroizing<String>>,
    single_quoted: bool,
}

struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip(&mut self, keep: impl Fn(char) -> bool) -> usize {
        let len = self.rest().find(|c| !keep(c)).unwrap_or(self.rest().len());
        self.at += len;
        len
    }

    /// A quoted string at the reader (its opening quote included): the text between the
    /// quotes, in which a backslash escapes any one character.
    fn quoted(&mut self, quote: char) -> Option<&'a str> {
        let body = self.at + 1;
        let mut chars = self.text[body..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                chars.next()?;
            } else if c == quote {
                self.at = body + i + 1;
                return Some(&self.text[body..body + i]);
            }
        }
        None
    }

    /// One binding, as python-dotenv's parser reads it; `Err(())` where it reports a
    /// line it cannot parse.
    fn binding(&mut self) -> Result<Option<Raw>, ()> {
        self.skip(py_space);
        if self.rest().is_empty() {
            return Ok(None);
        }
        let line = line_of(self.text, self.at);
        if let Some(after) = self.rest().strip_prefix("export") {
            if after.starts_with(py_blank) {
                self.at += "export".len();
                self.skip(py_blank);
            }
        }
        let key = match self.rest().chars().next() {
            Some('#') => None,
            Some('\'') => {
                let inner = self.rest()[1..].find('\'').ok_or(())?;
                if inner == 0 {
                    return Err(());
                }
                let key = &self.rest()[1..1 + inner];
                self.at += inner + 2;
                Some(key.to_string())
            }
            _ => {
                let len = self
                    .rest()
                    .find(|c: char| c == '=' || c == '#' || py_space(c))
                    .unwrap_or(self.rest().len());
                if len == 0 {
                    return Err(());
                }
                let key = &self.rest()[..len];
                self.at += len;
                Some(key.to_string())
            }
        };
        self.skip(py_blank);
        let mut single_quoted = false;
        let value = if self.rest().starts_with('=') {
            self.at += 1;
            let spaced = self.skip(py_blank) > 0;
            Some(match self.rest().chars().next() {
                Some('#') if spaced => buffer(0),
                Some(q @ ('\'' | '"')) => {
                    single_quoted = q == '\'';
                    let inner = self.quoted(q).ok_or(())?;
                    decode(inner, q)
                }
                None | Some('\n') => buffer(0),
                Some(_) => {
                    let len = self.rest().find('\n').unwrap_or(self.rest().len());
                    let part = &self.rest()[..len];
                    self.at += len;
                    let cut = part
                        .char_indices()
                        .find(|&(i, c)| c == '#' && part[..i].ends_with(py_space))
                        .map_or(part.len(), |(i, _)| {
                            part[..i].trim_end_matches(py_space).len()
                        });
                    let kept = part[..cut].trim_end_matches(py_space);
                    let mut out = buffer(kept.len());
                    out.push_str(kept);
                    out
                }
            })
        } else {
            None
        };
        // A comment, then the end of the line.
        let blank = self.rest().len() - self.rest().trim_start_matches(py_blank).len();
        if self.rest()[blank..].starts_with('#') {
            self.at += self.rest().find('\n').unwrap_or(self.rest().len());
        }
        self.skip(py_blank);
        match self.rest().chars().next() {
            None => {}
            Some('\n') => self.at += 1,
            Some(_) => return Err(()),
        }
        Ok(key.map(|key| Raw {
            key,
            line,
            value,
            single_quoted,
        }))
    }
}

/// The escapes python-dotenv decodes inside quotes; other backslashes stay.
fn decode(inner: &str, quote: char) -> zeroize::Zeroizing<String> {
    let mut out = buffer(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match (quote, chars.peek()) {
            (_, Some('\\')) => Some('\\'),
            (_, Some('\'')) => Some('\''),
            ('"', Some('"')) => Some('"'),
            ('"', Some('a')) => Some('\u{7}'),
            ('"', Some('b')) => Some('\u{8}'),
            ('"', Some('f')) => Some('\u{c}'),
            ('"', Some('n')) => Some('\n'),
            ('"', Some('r')) => Some('\r'),
            ('"', Some('t')) => Some('\t'),
            ('"', Some('v')) => Some('\u{b}'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                chars.next();
                out.push(d);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A `${NAME}` or `${NAME:-default}` at the start of `text`: the name, the default, and
/// the length of the reference.
fn reference(text: &str) -> Option<(&str, Option<&str>, usize)> {
    let body = text.strip_prefix("${")?;
    let name_len = body.find(['}', ':'])?;
    let name = &body[..name_len];
    let after = &body[name_len..];
    if after.starts_with('}') {
        return Some((name, None, 2 + name_len + 1));
    }
    let default_body = after.strip_prefix(":-")?;
    let default_len = default_body.find('}')?;
    Some((
        name,
        Some(&default_body[..default_len]),
        2 + name_len + 2 + default_len + 1,
    ))
}

/// Reads `text` (line endings already `\n`) as python-dotenv does.
pub(super) fn read(
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Definition>, DialectError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader { text, at: 0 };
    let mut raws: Vec<Raw> = Vec::new();
    while reader.at < text.len() {
        let start = reader.at;
        match reader.binding() {
            Ok(Some(raw)) => raws.push(raw),
            Ok(None) => {}
            Err(()) => {
                let at =
                    start + text[start..].len() - text[start..].trim_start_matches(py_space).len();
                return Err(DialectError(format!(
                    "line {}: python-dotenv cannot parse this line (it skips it with a warning); \
                     fix or remove it",
                    line_of(text, at)
                )));
            }
        }
    }
    // Which keys have a value by each definition, for `${NAME:-default}`.
    // One slot per key, holding its last definition (and that definition's place in the
    // file); `None` for a key whose last definition has no value.
    let mut out: Vec<Option<(usize, Definition)>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut defined: HashMap<&str, bool> = HashMap::new();
    let mut lines: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut referenced: Vec<&str> = Vec::new();
    for (seq, raw) in raws.iter().enumerate() {
        match index.get(raw.key.as_str()) {
            Some(&i) => lines[i].1.push(raw.line),
            None => {
                index.insert(&raw.key, out.len());
                lines.push((&raw.key, vec![raw.line]));
                out.push(None);
            }
        }
        let slot = index[raw.key.as_str()];
        let Some(value) = &raw.value else {
            warnings.push(format!(
                "line {}: a name without `=`; python-dotenv gives it no value, so it is not \
                 imported",
                raw.line
            ));
            defined.insert(&raw.key, false);
            out[slot] = None;
            continue;
        };
        let mut single_quoted_refs = false;
        let mut parts = Vec::new();
        let mut literal_from = 0;
        let mut at = 0;
        let mut dollar_names = false;
        while let Some(found) = value[at..].find('$') {
            let start = at + found;
            let rest = &value[start..];
            let Some((name, default, len)) = reference(rest) else {
                dollar_names |= rest[1..].starts_with(|c: char| c.is_alphabetic() || c == '_');
                at = start + 1;
                continue;
            };
            push_text(&mut parts, &value[literal_from..start]);
            single_quoted_refs |= raw.single_quoted;
            if name.is_empty() {
                push_text(&mut parts, default.unwrap_or(""));
            } else if !valid_name(name) {
                return Err(error_at(
                    raw.line,
                    &raw.key,
                    "a `${...}` reference names a variable dotenvy cannot look up",
                ));
            } else if default.is_some() && defined.get(name) != Some(&true) {
                return Err(error_at(
                    raw.line,
                    &raw.key,
                    "`${NAME:-default}` (a default for a variable not defined earlier in the \
                     file) has no equivalent in dotenvy, which expands references when the file \
                     is used; write the value out, or use `${NAME}`",
                ));
            } else {
                // A default for a variable defined earlier is never used.
                referenced.push(name);
                parts.push(Part::Ref(name.to_string()));
            }
            at = start + len;
            literal_from = at;
        }
        push_text(&mut parts, &value[literal_from..]);
        if single_quoted_refs {
            warnings.push(format!(
                "{}: python-dotenv expands `${{...}}` even in single quotes, and so does the \
                 stored value (dotenvy and Docker Compose take single-quoted text literally)",
                super::place(raw.line, &raw.key)
            ));
        }
        if dollar_names {
            warnings.push(format!(
                "{}: python-dotenv takes `$NAME` (without braces) literally, and so does the \
                 stored value (dotenvy and Docker Compose would expand it)",
                super::place(raw.line, &raw.key)
            ));
        }
        defined.insert(&raw.key, true);
        // Stored where it was last defined, so that its references see what python-dotenv's
        // saw (a key referred to is never defined twice, see below).
        out[slot] = Some((
            seq,
            Definition {
                key: raw.key.clone(),
                line: raw.line,
                parts,
            },
        ));
    }
    for (key, at) in lines {
        if at.len() < 2 {
            continue;
        }
        let place = super::place(at[0], key);
        if referenced.contains(&key) {
            return Err(DialectError(format!(
                "{place}: defined {} times and referred to by `${{...}}`, so its value depends on \
                 where it is read; keep one definition",
                at.len()
            )));
        }
        warnings.push(format!(
            "{place}: defined {} times; python-dotenv keeps the last value, and so does this \
             import",
            at.len()
        ));
    }
    let mut out: Vec<_> = out.into_iter().flatten().collect();
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pairs, stored};
    use super::super::{read, Dialect};

    #[test]
    fn values_and_references() {
        let text =
            "A=1\nB=${A}-x\nC='${A}'\nD=$A\nE=\"tab\\tq\\\"\"\nF='it\\'s'\nG=hello world # c\n\
                    H=a#b\nI=  \nexport J=${UNSET_ELSEWHERE}\nK=${A:-d}\nL=${:-lit}\n";
        assert_eq!(
            stored(Dialect::Python, text),
            pairs(&[
                ("A", "A=1"),
                ("B", "B=\"${A}-x\""),
                ("C", "C=\"${A}\""),
                ("D", "D='$A'"),
                ("E", "E='tab\tq\"'"),
                ("F", "F=\"it's\""),
                ("G", "G='hello world'"),
                ("H", "H='a#b'"),
                ("I", "I="),
                ("J", "J=\"${UNSET_ELSEWHERE}\""),
                ("K", "K=\"${A}\""),
                ("L", "L=lit"),
            ])
        );
    }

    #[test]
    fn a_default_for_an_unknown_variable_is_refused() {
        let err = read(Dialect::Python, "A=1\nK=${PORT:-8080}\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2 (K): `${NAME:-default}`"),
            "{err}"
        );
        assert!(!err.to_string().contains("8080"));
    }

    #[test]
    fn unparsable_lines_are_refused() {
        let err = read(Dialect::Python, "A=1\nB=\"x\"junk\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 2: python-dotenv cannot parse"),
            "{err}"
        );
        let err = read(Dialect::Python, "A=1\n\nB='never closed\n").unwrap_err();
        assert!(err.to_string().starts_with("line 3:"), "{err}");
    }

    #[test]
    fn names_without_values_are_skipped_without_being_quoted() {
        let reading = read(Dialect::Python, "sk_live_abc\nA=1\n").unwrap();
        assert_eq!(reading.definitions.len(), 1);
        assert!(reading.warnings[0].starts_with("line 1: a name without `=`"));
        assert!(!reading.warnings.iter().any(|w| w.contains("sk_live")));
    }

    #[test]
    fn multi_line_values() {
        let text = "A=\"one\ntwo\"\nB='one\n# two'\n";
        assert_eq!(
            stored(Dialect::Python, text),
            pairs(&[("A", "A='one\ntwo'"), ("B", "B='one\n# two'")])
        );
    }

    #[test]
    fn a_redefined_key_is_stored_where_it_was_last_defined() {
        assert_eq!(
            stored(Dialect::Python, "T_D=1\nT_B=b\nT_D=${T_B}\n"),
            pairs(&[("T_B", "T_B=b"), ("T_D", "T_D=\"${T_B}\"")])
        );
        let err = read(Dialect::Python, "T_A=1\nT_B=${T_A}\nT_A=2\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 1 (T_A): defined 2 times and referred"),
            "{err}"
        );
    }
}
