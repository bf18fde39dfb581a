//! Docker Compose `env_file` (compose-go), from its documented rules: `KEY=value` (or
//! `KEY: value`) with an optional `export `; single-quoted values are literal (`\'` is a
//! quote), double-quoted values decode `\n`, `\r`, `\t`, `\\`, `\"`, `\$` and the other
//! C escapes, and both may span lines; unquoted values run to the end of the line, less a
//! ` #` comment, and keep backslashes. Unquoted and double-quoted values then have `$NAME`,
//! `${NAME}` and `$$` (a dollar sign) expanded; the `${NAME:-default}` family has no
//! dotenvy equivalent and is refused. A name alone on its line passes the host's
//! variable through and is not imported.

use std::collections::HashMap;

use super::{buffer, error_at, line_of, push_text, valid_name, Definition, DialectError, Part};

/// Spaces within a line.
fn blank(c: char) -> bool {
    c != '\n' && c.is_whitespace()
}

/// A character of a `$NAME` reference's name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Reads `text` as Docker Compose reads an `env_file`.
pub(super) fn read(
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Definition>, DialectError> {
    // Compose has no notion of `\r\n`: a `\r` is whitespace that ends an unquoted value
    // (and is trimmed with it), and part of the value inside quotes.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out: Vec<Definition> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut lines: Vec<Vec<usize>> = Vec::new();
    let mut order: Vec<usize> = Vec::new();
    let mut seq = 0;
    let mut referenced: Vec<String> = Vec::new();
    let mut at = 0;
    loop {
        at += text[at..].len() - text[at..].trim_start().len();
        if at >= text.len() {
            break;
        }
        let line = line_of(text, at);
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        if text[at..].starts_with('#') {
            at = line_end;
            continue;
        }
        if let Some(after) = text[at..].strip_prefix("export") {
            if after.starts_with(blank) {
                at += "export".len();
                at += text[at..].len() - text[at..].trim_start_matches(blank).len();
            }
        }
        let key_len = text[at..line_end].find(['=', ':']).unwrap_or(line_end - at);
        let key = text[at..at + key_len].trim_end();
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']'));
        if !key_ok {
            return Err(DialectError(format!(
                "line {line}: not a definition Docker Compose can read; fix or remove it"
            )));
        }
        if at + key_len == line_end {
            warnings.push(format!(
                "line {line}: a name without `=` passes the host's variable through in Docker \
                 Compose; there is no value to import"
            ));
            at = line_end;
            continue;
        }
        let key = key.to_string();
        at += key_len + 1;
        at += text[at..].len() - text[at..].trim_start_matches(blank).len();
        let parts = match text[at..].chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (inner, end) = quoted(text, at, quote)
                    .ok_or_else(|| error_at(line, &key, "a quoted value that is never closed"))?;
                let after_line = text[end..].find('\n').map_or(text.len(), |i| end + i);
                let after = text[end..after_line].trim_start_matches(blank);
                if !after.is_empty() && !after.starts_with('#') {
                    return Err(error_at(
                        line,
                        &key,
                        "text after the closing quote, which Docker Compose reads as another \
                         definition; remove it or put it in a comment",
                    ));
                }
                at = after_line;
                if quote == '\'' {
                    let mut parts = Vec::new();
                    push_text(&mut parts, &inner);
                    parts
                } else {
                    interpolate(&unescape(&inner), line, &key)?
                }
            }
            _ => {
                let raw = &text[at..line_end];
                let raw = raw.find(" #").map_or(raw, |i| &raw[..i]).trim_end();
                at = line_end;
                interpolate(raw, line, &key)?
            }
        };
        seq += 1;
        for part in &parts {
            if let Part::Ref(name) = part {
                referenced.push(name.clone());
            }
        }
        match index.get(&key) {
            Some(&i) => {
                // Stored where it was last defined, so that its references see what
                // Compose's saw (a key referred to is never defined twice, see below).
                lines[i].push(line);
                order[i] = seq;
                out[i] = Definition { key, line, parts };
            }
            None => {
                index.insert(key.clone(), out.len());
                lines.push(vec![line]);
                order.push(seq);
                out.push(Definition { key, line, parts });
            }
        }
    }
    for (definition, lines) in out.iter().zip(&lines) {
        if lines.len() < 2 {
            continue;
        }
        let place = super::place(lines[0], &definition.key);
        if referenced.contains(&definition.key) {
            return Err(DialectError(format!(
                "{place}: defined {} times and referred to by a `$` reference, so its value \
                 depends on where it is read; keep one definition",
                lines.len()
            )));
        }
        warnings.push(format!(
            "{place}: defined {} times; Docker Compose keeps the last value, and so does this \
             import",
            lines.len()
        ));
    }
    let mut out: Vec<_> = order.into_iter().zip(out).collect();
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

/// The text between the quote at `at` and its closing quote (a backslash before the
/// quote character makes it part of the value; other backslashes are kept for
/// [`unescape`]), and the offset after the closing quote.
fn quoted(text: &str, at: usize, quote: char) -> Option<(zeroize::Zeroizing<String>, usize)> {
    let body = at + 1;
    let mut out = buffer(text.len() - body);
    let mut chars = text[body..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Some((out, body + i + 1));
        }
        if c == '\\' {
            match chars.peek() {
                Some(&(_, next)) if next == quote => {
                    chars.next();
                    out.push(quote);
                    continue;
                }
                Some(&(_, next)) => {
                    chars.next();
                    out.push('\\');
                    out.push(next);
                    continue;
                }
                None => return None,
            }
        }
        out.push(c);
    }
    None
}

/// Decodes the escapes of a double-quoted value. `\$` becomes `$$`, which [`interpolate`]
/// reads as a dollar sign; unknown escapes are kept as written.
fn unescape(inner: &str) -> zeroize::Zeroizing<String> {
    let mut out = buffer(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.peek() {
            Some('n') => "\n",
            Some('r') => "\r",
            Some('t') => "\t",
            Some('a') => "\u{7}",
            Some('b') => "\u{8}",
            Some('f') => "\u{c}",
            Some('v') => "\u{b}",
            Some('\\') => "\\",
            Some('$') => "$$",
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push_str(decoded);
    }
    out
}

/// Splits a value on Compose's interpolation: `$$` is a dollar sign, `$NAME` and `${NAME}`
/// are references; `${NAME:-default}` and the like are refused, and so is a `${...}` that
/// Compose itself rejects.
fn interpolate(value: &str, line: usize, key: &str) -> Result<Vec<Part>, DialectError> {
    let mut parts = Vec::new();
    let mut literal = buffer(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        literal.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            literal.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let name_len = body.find(|c: char| !name_char(c)).unwrap_or(body.len());
            let name = &body[..name_len];
            if !body[name_len..].starts_with('}') || !valid_name(name) {
                let reason =
                    if body[name_len..].starts_with([':', '-', '+', '?']) && valid_name(name) {
                        "`${NAME:-default}` and the other `${NAME...}` forms have no equivalent in \
                     dotenvy, which expands references when the file is used; write the value \
                     out, or use `${NAME}`"
                    } else {
                        "a `${...}` that Docker Compose cannot read"
                    };
                return Err(error_at(line, key, reason));
            }
            push_text(&mut parts, &literal);
            literal = buffer(value.len());
            parts.push(Part::Ref(name.to_string()));
            rest = &body[name_len + 1..];
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            let name_len = after.find(|c: char| !name_char(c)).unwrap_or(after.len());
            push_text(&mut parts, &literal);
            literal = buffer(value.len());
            parts.push(Part::Ref(after[..name_len].to_string()));
            rest = &after[name_len..];
        } else {
            literal.push('$');
            rest = after;
        }
    }
    literal.push_str(rest);
    push_text(&mut parts, &literal);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pairs, stored};
    use super::super::{read, Dialect};

    #[test]
    fn values_and_references() {
        let text =
            "A=1\r\nB=$A_x ${A}\r\nC='${A} $A'\nD=\"x\\ty\\$A\\\\$A\"\nE=a\\$b\nF=cost $$5 $ $5\n\
                    G=hello world # c\nH=a#b\nI = spaced\nJ: yaml\nexport K=k\n";
        assert_eq!(
            stored(Dialect::Compose, text),
            pairs(&[
                ("A", "A=1"),
                ("B", "B=\"${A_x} ${A}\""),
                ("C", "C='${A} $A'"),
                ("D", "D=\"x\ty\\$A\\\\${A}\""),
                ("E", "E=\"a\\\\${b}\""),
                ("F", "F='cost $5 $ $5'"),
                ("G", "G='hello world'"),
                ("H", "H='a#b'"),
                ("I", "I=spaced"),
                ("J", "J=yaml"),
                ("K", "K=k"),
            ])
        );
    }

    #[test]
    fn defaults_are_refused() {
        for value in ["${PORT:-80}", "${PORT-80}", "${PORT:?set it}", "${PORT:+x}"] {
            let err = read(Dialect::Compose, &format!("K={value}\n")).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("line 1 (K): `${NAME:-default}`"),
                "{err}"
            );
        }
        let err = read(Dialect::Compose, "K=${5}\n").unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }

    #[test]
    fn multi_line_values() {
        assert_eq!(
            stored(Dialect::Compose, "A=\"one\r\ntwo\"\r\nB='x\ny'\nC=z\r\n"),
            pairs(&[("A", "A='one\r\ntwo'"), ("B", "B='x\ny'"), ("C", "C=z")])
        );
    }

    #[test]
    fn a_redefined_key_is_stored_where_it_was_last_defined() {
        assert_eq!(
            stored(Dialect::Compose, "T_D=1\nT_B=b\nT_D=$T_B\n"),
            pairs(&[("T_B", "T_B=b"), ("T_D", "T_D=\"${T_B}\"")])
        );
        let err = read(Dialect::Compose, "T_A=1\nT_B=$T_A\nT_A=2\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 1 (T_A): defined 2 times and referred"),
            "{err}"
        );
    }
}
