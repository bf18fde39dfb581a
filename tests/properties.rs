//! Property tests: generated documents, edits and buffers, checked against a model.
//! The checks on each input are the fuzz targets' (`envshim::fuzzing`), so that the
//! coverage-guided fuzzer and these generators hold the code to the same promises.
//!
//! Generated documents are written by this file's own quoting ([`encode`]), from
//! dotenvy's rules, never by envshim's: "parses to what was written" must not be a round
//! trip of envshim's output through envshim's parser.

use std::collections::BTreeMap;

use envshim::fuzzing;
use envshim::secrets::dialect::{self, Dialect};
use envshim::secrets::dotenv::{self, Scope};
use proptest::prelude::*;

/// One line (or multi-line definition) of a generated document.
#[derive(Debug, Clone)]
enum Line {
    Blank,
    Comment(String),
    Marker(Scope),
    Entry {
        key: String,
        value: String,
        export: bool,
        optional: bool,
        /// Choices for [`encode`]: where a quoted or unquoted piece starts, which kind,
        /// and which optional escapes.
        writing: Vec<u8>,
    },
}

/// How a piece of a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// No quotes; backslash escapes.
    Bare,
    /// `'...'`: everything literal.
    Single,
    /// `"..."`: backslash escapes, `$` expanded unless escaped.
    Double,
}

/// Whether `c` can be written in a piece of kind `piece`; `first` and `last` say where
/// `c` is in the value. dotenvy 0.15's rules:
/// - unquoted, a space or tab ends the value (so a space is written `\ `), and the
///   escapes are `\\`, `\'`, `\"`, `\$`, `\ ` and `\n` (a newline). dotenvy trims
///   whitespace at the end of a line, backslash or not: an escaped space cannot end a
///   value. A value that starts with `#` is a comment. Tabs, carriage returns and other
///   whitespace have no escape.
/// - single quotes keep everything literally up to the next `'`; a backslash is literal
///   too, but dotenvy's line reader takes it as an escape of the next character, so a
///   value holding one is not single-quoted.
/// - double quotes keep everything, with the escapes above; `\`, `"` and `$` must be
///   escaped (`$` starts an expansion).
fn fits(piece: Piece, c: char, first: bool, last: bool) -> bool {
    match piece {
        Piece::Bare => match c {
            ' ' => !last,
            '\n' => true,
            '#' => !first,
            c => !c.is_whitespace(),
        },
        Piece::Single => c != '\'' && c != '\\',
        Piece::Double => true,
    }
}

/// Writes `value` as a dotenv value, in pieces of the kinds [`fits`] allows, as the
/// `writing` choices say. Adjacent pieces (`ab'c d'"e"`) join into one value.
fn encode(value: &str, writing: &[u8]) -> String {
    let mut choices = writing.iter().copied().cycle();
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return ["", "''", "\"\""][usize::from(choices.next().unwrap_or(0)) % 3].to_string();
    }
    let mut out = String::new();
    let mut open: Option<Piece> = None;
    let close = |out: &mut String, open: Option<Piece>| match open {
        Some(Piece::Single) => out.push('\''),
        Some(Piece::Double) => out.push('"'),
        _ => {}
    };
    for (i, &c) in chars.iter().enumerate() {
        let choice = choices.next().unwrap_or(0);
        let (first, last) = (i == 0, i + 1 == chars.len());
        let piece = match open {
            Some(piece) if choice % 8 != 0 && fits(piece, c, first, last) => piece,
            _ => {
                close(&mut out, open);
                let fitting: Vec<Piece> = [Piece::Bare, Piece::Single, Piece::Double]
                    .into_iter()
                    .filter(|&p| fits(p, c, first, last))
                    .collect();
                let piece = fitting[usize::from(choice / 8) % fitting.len()];
                match piece {
                    Piece::Single => out.push('\''),
                    Piece::Double => out.push('"'),
                    Piece::Bare => {}
                }
                open = Some(piece);
                piece
            }
        };
        let optional_escape = choice & 0x40 != 0;
        match (piece, c) {
            (Piece::Single, c) => out.push(c),
            (_, '\\' | '"' | '$') | (Piece::Bare, '\'' | ' ') => {
                out.push('\\');
                out.push(c);
            }
            (Piece::Bare, '\n') => out.push_str("\\n"),
            (Piece::Double, '\'' | ' ') if optional_escape => {
                out.push('\\');
                out.push(c);
            }
            (Piece::Double, '\n') if optional_escape => out.push_str("\\n"),
            (_, c) => out.push(c),
        }
    }
    close(&mut out, open);
    out
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::Runtime), Just(Scope::Deploy)]
}

/// Values with what breaks dotenv writers: quotes, backslashes, `$`, `#`, newlines,
/// carriage returns, tabs, spaces at either end, non-ASCII.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_./:@%+,=~^-]{0,24}",
        "[ -~]{0,40}",
        "[ -~\n\t\r]{0,40}",
        "[\"'\\\\$# \n{}A-Z]{0,16}",
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        Just(Line::Blank),
        "[ -~]{0,30}".prop_map(|c| Line::Comment(c.replace(['[', ']'], ""))),
        scope().prop_map(Line::Marker),
        (
            "[A-Z_][A-Z0-9_]{0,8}",
            value(),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 1..8),
        )
            .prop_map(|(key, value, export, optional, writing)| Line::Entry {
                key,
                value,
                export,
                optional,
                writing,
            }),
    ]
}

/// Writes generated lines as a dotenv document (keys made unique), with the model of
/// what it defines: key → (value, scope, optional).
fn document(lines: &[Line]) -> (String, BTreeMap<String, (String, Scope, bool)>) {
    let mut text = String::new();
    let mut model = BTreeMap::new();
    let mut scope = Scope::Runtime;
    for line in lines {
        match line {
            Line::Blank => text.push('\n'),
            Line::Comment(c) => text.push_str(&format!("#{c}\n")),
            Line::Marker(s) => {
                scope = *s;
                text.push_str(&format!("# [{s}]\n"));
            }
            Line::Entry {
                key,
                value,
                export,
                optional,
                writing,
            } => {
                if model.contains_key(key) {
                    continue;
                }
                let export = if *export { "export " } else { "" };
                let mark = if *optional { " # optional" } else { "" };
                let written = encode(value, writing);
                text.push_str(&format!("{export}{key}={written}{mark}\n"));
                model.insert(key.clone(), (value.clone(), scope, *optional));
            }
        }
    }
    (text, model)
}

fn defined(doc: &dotenv::Document) -> BTreeMap<String, (String, Scope, bool)> {
    doc.entries()
        .map(|e| (e.key.clone(), (e.value.to_string(), e.scope, e.optional)))
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Set(String, String, Option<Scope>),
    Remove(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => ("[A-E]", value(), proptest::option::of(scope()))
            .prop_map(|(k, v, s)| Edit::Set(k, v, s)),
        1 => "[A-E]".prop_map(Edit::Remove),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Comments, order, sections, quoting and multi-line values: the parser reads what
    /// the writer wrote, and rendering gives the text back byte for byte.
    #[test]
    fn parse_render_is_the_identity(lines in proptest::collection::vec(line(), 0..12)) {
        let (text, model) = document(&lines);
        // First, that this file's quoting is right: dotenvy itself reads the values meant.
        let by_dotenvy: BTreeMap<String, String> = dotenvy::from_read_iter(text.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(format!("the test wrote bad dotenv: {e}\n{text:?}")))?;
        let meant: BTreeMap<String, String> =
            model.iter().map(|(k, (v, _, _))| (k.clone(), v.clone())).collect();
        prop_assert_eq!(by_dotenvy, meant, "the test wrote bad dotenv:\n{:?}", text);
        let doc = dotenv::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        prop_assert_eq!(&*doc.render(), &text);
        prop_assert_eq!(defined(&doc), model);
        fuzzing::dotenv(text.as_bytes());
    }

    /// A sequence of set and remove, each rendered and parsed again, agrees with a map.
    #[test]
    fn edits_agree_with_a_model(
        lines in proptest::collection::vec(line(), 0..8),
        edits in proptest::collection::vec(edit(), 1..12),
    ) {
        let (text, model) = document(&lines);
        let mut model: BTreeMap<String, (String, Scope)> =
            model.into_iter().map(|(k, (v, s, _))| (k, (v, s))).collect();
        let mut doc = dotenv::parse(&text).unwrap();
        for edit in edits {
            match edit {
                Edit::Set(key, value, scope) => {
                    let old_scope = model.get(&key).map(|(_, s)| *s);
                    doc.set(&key, &value, scope);
                    let scope = scope.or(old_scope).unwrap_or(Scope::Runtime);
                    model.insert(key, (value, scope));
                }
                Edit::Remove(key) => {
                    prop_assert_eq!(doc.remove(&key), model.remove(&key).is_some());
                }
            }
            let rendered = doc.render();
            doc = dotenv::parse(&rendered)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{:?}", &*rendered)))?;
            let now: BTreeMap<_, _> = defined(&doc)
                .into_iter()
                .map(|(k, (v, s, _))| (k, (v, s)))
                .collect();
            prop_assert_eq!(&now, &model);
        }
    }

    /// However a line holding a secret is broken, the error names the line, not the text.
    #[test]
    fn errors_never_quote_a_malformed_line(
        before in proptest::collection::vec(line(), 0..4),
        secret in "[A-Za-z0-9]{16,32}",
        breakage in 0..6usize,
    ) {
        let (mut text, model) = document(&before);
        // A duplicate of an earlier key would be the error instead.
        prop_assume!(!model.contains_key("API_KEY"));
        let line = text.matches('\n').count() + 1;
        let broken = match breakage {
            0 => format!("API_KEY=\"{secret}\n"),
            1 => format!("{secret}\n"),
            2 => format!("API KEY={secret}\n"),
            3 => format!("API_KEY='{secret}\n"),
            4 => format!("-{secret}=1\n"),
            _ => format!("API_KEY=\"{secret}\\q\"\n"),
        };
        text.push_str(&broken);
        let message = match dotenv::parse(&text) {
            Ok(_) => return Err(TestCaseError::fail(format!("accepted {broken:?}"))),
            Err(err) => err.to_string(),
        };
        prop_assert!(
            message.starts_with(&format!("line {line}: ")),
            "{message:?} does not name line {line}"
        );
        for window in secret.as_bytes().windows(8) {
            let window = std::str::from_utf8(window).unwrap();
            prop_assert!(!message.contains(window), "{message:?} quotes the secret");
        }
    }

    /// Scanner matches stay inside the buffer and on character boundaries, on text with
    /// real token shapes spliced into arbitrary Unicode, and on arbitrary bytes.
    #[test]
    fn scanner_positions_are_in_bounds_and_on_boundaries(
        parts in proptest::collection::vec(prop_oneof![
            any::<String>(),
            // A generated fake in the documented token shape. envshim:allow
            Just("ghp_Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru".to_string()),
            Just("password = \"Tq7#mV2p9Lz4Wx8K\"".to_string()),
            Just("correct-horse-battery".to_string()),
            Just("héllo wörld ✓✓".to_string()),
            Just("AKIA".to_string()),
            Just("\n".to_string()),
        ], 0..10),
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let text = parts.concat();
        fuzzing::scanner(text.as_bytes());
        let mut mixed = text.into_bytes();
        mixed.extend_from_slice(&bytes);
        fuzzing::scanner(&mixed);
    }

    /// Every dialect's reader, on definitions whose values are made of what matters to
    /// dotenv readers (quotes, escapes, `$` references, comments, line ends): no panic,
    /// and every definition it returns is one dotenvy definition of its key.
    #[test]
    fn dialect_readers_give_dotenvy_definitions(
        lines in proptest::collection::vec(
            (
                prop_oneof![Just(""), Just("export "), Just("  ")],
                prop_oneof![Just("T_A"), Just("T_B"), Just("T-C"), Just("1D")],
                prop_oneof![Just("="), Just(" = "), Just(": "), Just(":")],
                proptest::collection::vec(prop_oneof![
                    Just("abc"), Just(" "), Just("#"), Just(" #c"), Just("'"), Just("\""),
                    Just("`"), Just("\\"), Just("\\n"), Just("$"), Just("${T_A}"),
                    Just("$T_A_x"), Just("${T_B:-d}"), Just("$$"), Just("\n"), Just("\r\n"),
                    Just("\r"), Just("é"), Just("\t"), Just("{"), Just("}"), Just("\u{a0}"),
                    Just("\u{1c}"), Just("\u{2028}"), Just("\n# c\n"),
                ], 0..6),
            ),
            1..5,
        ),
    ) {
        let text: String = lines
            .iter()
            .map(|(prefix, key, sep, value)| format!("{prefix}{key}{sep}{}\n", value.concat()))
            .collect();
        for dialect in [Dialect::Dotenvy, Dialect::Node, Dialect::Python, Dialect::Compose] {
            let Ok(reading) = dialect::read(dialect, &text) else { continue };
            for definition in &reading.definitions {
                let doc = dotenv::parse(&definition.text)
                    .map_err(|e| TestCaseError::fail(format!("{dialect:?} {text:?}: {e}")))?;
                let keys: Vec<&str> = doc.entries().map(|e| e.key.as_str()).collect();
                prop_assert_eq!(keys, vec![definition.key.as_str()], "{:?} {:?}", dialect, text);
            }
        }
    }
}
