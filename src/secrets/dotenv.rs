//! The dotenv dialect inside `.env.secrets` (DESIGN §2): scope markers, one definition per
//! key, `# optional` and `# public` marks, and values with exactly the semantics of `dotenvy`.
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
    /// True when the definition's last line ends in a `# public` comment: the value is
    /// not a secret, and the scanner does not search for it.
    pub public: bool,
    /// The value as `dotenvy` computes it; wiped from memory on drop.
    pub value: Zeroizing<String>,
    /// The definition's text as written (all its lines, with the final newline).
    pub raw: Zeroizing<String>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the value, even in debug output.
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("scope", &self.scope)
            .field("line", &self.line)
            .field("optional", &self.optional)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// One piece of a document, kept as written so that rewriting keeps comments and order.
#[derive(Debug)]
pub enum Item {
    /// Blank lines and comments.
    Text(String),
    /// A `# [scope]` marker line.
    Marker {
        /// The scope it opens.
        scope: Scope,
        /// The line as written.
        raw: String,
    },
    /// A definition.
    Entry(Entry),
}

/// A parsed dotenv document: every line kept, definitions parsed.
#[derive(Debug, Default)]
pub struct Document {
    /// The document's pieces in file order.
    pub items: Vec<Item>,
}

/// What [`Document::set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The key was new.
    Added,
    /// The value or the scope changed.
    Changed,
    /// Nothing changed.
    Unchanged,
}

impl Document {
    /// The definitions, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.items.iter().filter_map(|item| match item {
            Item::Entry(e) => Some(e),
            _ => None,
        })
    }

    /// The definition of `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries().find(|e| e.key == key)
    }

    /// The definitions in `scope`, in file order.
    pub fn in_scope(&self, scope: Scope) -> impl Iterator<Item = &Entry> {
        self.entries().filter(move |e| e.scope == scope)
    }

    /// True when the document has any scope marker.
    pub fn has_markers(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Item::Marker { .. }))
    }

    /// The document as text: every line as written, edited entries as rendered.
    pub fn render(&self) -> Zeroizing<String> {
        fn text(item: &Item) -> &str {
            match item {
                Item::Text(t) => t,
                Item::Marker { raw, .. } => raw,
                Item::Entry(e) => &e.raw,
            }
        }
        // Sized up front: a growing String would leave unwiped copies of the plaintext.
        let size = self.items.iter().map(|i| text(i).len() + 1).sum();
        let mut out = Zeroizing::new(String::with_capacity(size));
        for item in &self.items {
            out.push_str(text(item));
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// Sets `key` to `value`. An existing key keeps its place and scope unless `scope`
    /// names another one, in which case it moves to the end of that section. New keys go
    /// to the end of their section (`scope`, default runtime).
    pub fn set(&mut self, key: &str, value: &str, scope: Option<Scope>) -> Change {
        self.put(
            key,
            scope,
            |entry| entry.value.as_str() == value,
            |previous| {
                (
                    render_definition(key, value, previous),
                    Zeroizing::new(value.to_string()),
                )
            },
        )
    }

    /// The one way [`Document::set`] and [`Document::set_definition`] change a key:
    /// `unchanged` tells whether the existing entry already holds what is wanted, `make`
    /// renders the new definition and value from the previous definition's text (empty
    /// for a new or moved key).
    fn put(
        &mut self,
        key: &str,
        scope: Option<Scope>,
        unchanged: impl FnOnce(&Entry) -> bool,
        make: impl FnOnce(&str) -> (Zeroizing<String>, Zeroizing<String>),
    ) -> Change {
        let position = self.position(key);
        if let Some(index) = position {
            let Item::Entry(entry) = &mut self.items[index] else {
                unreachable!("position() finds entries")
            };
            if !scope.is_some_and(|s| s != entry.scope) {
                if unchanged(entry) {
                    return Change::Unchanged;
                }
                let (raw, value) = make(&entry.raw);
                entry.raw = raw;
                entry.value = value;
                return Change::Changed;
            }
            self.items.remove(index);
        }
        let (raw, value) = make("");
        self.insert(Entry {
            key: key.to_string(),
            scope: scope.unwrap_or(Scope::Runtime),
            line: 0,
            optional: false,
            public: false,
            value,
            raw,
        });
        if position.is_some() {
            Change::Changed
        } else {
            Change::Added
        }
    }

    /// Moves `key` to the end of `scope`'s section, its definition kept as written.
    /// `None` if the key is not defined, `Some(false)` if it is already in `scope`.
    pub fn move_to(&mut self, key: &str, scope: Scope) -> Option<bool> {
        let index = self.position(key)?;
        let Item::Entry(entry) = &self.items[index] else {
            unreachable!("position() finds entries")
        };
        if entry.scope == scope {
            return Some(false);
        }
        let Item::Entry(mut entry) = self.items.remove(index) else {
            unreachable!("position() finds entries")
        };
        entry.scope = scope;
        self.insert(entry);
        Some(true)
    }

    /// Sets `key` to a whole definition as written (`text`, which [`parse`] has read as
    /// exactly one definition of `key`), so that references in it are expanded when the
    /// file is used, not now. An existing key keeps its place and scope unless `scope`
    /// names another one; it is unchanged when its text is the same.
    pub fn set_definition(
        &mut self,
        key: &str,
        text: &str,
        value: Zeroizing<String>,
        scope: Option<Scope>,
    ) -> Change {
        let text = definition_text(text);
        let same = text.clone();
        self.put(
            key,
            scope,
            |entry| definition_text(&entry.raw).as_str() == same.as_str(),
            |_| (text, value),
        )
    }

    /// Removes `key`; false if it was not there.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.position(key) {
            Some(index) => {
                self.items.remove(index);
                true
            }
            None => false,
        }
    }

    /// Inserts an entry at the end of its section, creating the section if needed.
    pub fn insert(&mut self, entry: Entry) {
        let scope = entry.scope;
        let mut current = Scope::Runtime;
        let mut after_entry = None;
        let mut after_marker = None;
        let mut first_marker = None;
        for (index, item) in self.items.iter().enumerate() {
            match item {
                Item::Marker { scope: s, .. } => {
                    current = *s;
                    first_marker.get_or_insert(index);
                    if *s == scope {
                        after_marker = Some(index + 1);
                    }
                }
                Item::Entry(_) if current == scope => after_entry = Some(index + 1),
                _ => {}
            }
        }
        let at = after_entry.or(after_marker);
        match (at, scope) {
            (Some(at), _) => self.items.insert(at, Item::Entry(entry)),
            (None, Scope::Runtime) => {
                let at = first_marker.unwrap_or(self.items.len());
                self.items.insert(at, Item::Entry(entry));
            }
            (None, Scope::Deploy) => {
                self.items.push(Item::Marker {
                    scope: Scope::Deploy,
                    raw: "# [deploy]\n".to_string(),
                });
                self.items.push(Item::Entry(entry));
            }
        }
    }

    /// The example file for this document: envshim's own header, then the same markers
    /// and keys, every value empty. `# optional` and `# public` marks come from this document and from
    /// `previous` (the current example); keys only `previous` declares are kept unless
    /// listed in `removed`. No comment of the secrets file is copied: a comment there
    /// often holds an old value or a commented-out key block, and the example is public.
    ///
    /// A key that `previous` does not declare in its section is declared only when
    /// `may_declare` says so (the keys the running command itself wrote): a key that came
    /// in some other way — a secrets file written with the public recipients — must not
    /// be declared by somebody's next unrelated `set`. Such keys are left out (a key
    /// `previous` declares in another section keeps that declaration) and returned.
    pub fn example(
        &self,
        previous: Option<&Document>,
        removed: &[&str],
        may_declare: &dyn Fn(&str) -> bool,
    ) -> (String, Vec<String>) {
        // By key, once: a linear look-up per entry made a write to a 100,000-key file
        // take minutes.
        let declared: std::collections::HashMap<&str, &Entry> = previous
            .iter()
            .flat_map(|p| p.entries())
            .map(|e| (e.key.as_str(), e))
            .collect();
        let marked_before = |key: &str| {
            declared
                .get(key)
                .map_or((false, false), |e| (e.optional, e.public))
        };
        let blank = |key: &str, scope: Scope, (optional, public): (bool, bool)| Entry {
            key: key.to_string(),
            scope,
            line: 0,
            optional,
            public,
            value: Zeroizing::new(String::new()),
            raw: Zeroizing::new(format!(
                "{key}={}{}\n",
                if optional { " # optional" } else { "" },
                if public { " # public" } else { "" }
            )),
        };
        let mut example = Document::default();
        let mut emitted = std::collections::HashSet::new();
        let mut left_out = Vec::new();
        example.items.push(Item::Text(EXAMPLE_HEADER.to_string()));
        for item in &self.items {
            match item {
                // Blank lines keep the layout; a comment's text never leaves the secrets.
                Item::Text(text) => {
                    let previous_blank = matches!(
                        example.items.last(),
                        Some(Item::Text(t)) if t.trim().is_empty() || t == EXAMPLE_HEADER
                    );
                    if text.trim().is_empty() && !previous_blank {
                        example.items.push(Item::Text("\n".to_string()));
                    }
                }
                Item::Marker { scope, raw } => example.items.push(Item::Marker {
                    scope: *scope,
                    raw: raw.clone(),
                }),
                Item::Entry(e) => {
                    let before = declared.get(e.key.as_str()).map(|p| p.scope);
                    let writing = may_declare(&e.key);
                    if before == Some(e.scope) || writing {
                        emitted.insert(e.key.as_str());
                        // A mark in the secrets file counts only for a key this command
                        // writes: otherwise a forged file could make a required key
                        // optional, or a secret public (unsearched), through somebody's
                        // unrelated `set`.
                        let (optional, public) = marked_before(&e.key);
                        example.items.push(Item::Entry(blank(
                            &e.key,
                            e.scope,
                            (
                                optional || (writing && e.optional),
                                public || (writing && e.public),
                            ),
                        )));
                    } else if before.is_none() {
                        left_out.push(e.key.clone());
                    }
                }
            }
        }
        for declared in previous.iter().flat_map(|p| p.entries()) {
            if !emitted.contains(declared.key.as_str()) && !removed.contains(&declared.key.as_str())
            {
                example.insert(blank(
                    &declared.key,
                    declared.scope,
                    (declared.optional, declared.public),
                ));
            }
        }
        (example.render().to_string(), left_out)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.items
            .iter()
            .position(|i| matches!(i, Item::Entry(e) if e.key == key))
    }
}

/// The first lines of every example file envshim writes (its own words, never a comment
/// of the secrets file).
pub const EXAMPLE_HEADER: &str = "\
# The keys of the encrypted secrets file beside this one, by scope; never their values.
# Written by envshim on every change. A key whose line ends in `# optional` may be unset;
# `# public` marks a value that is not a secret (the scanner does not search for it).
";

/// Renders `KEY=value`, quoted so that dotenvy reads back exactly `value`. Keeps an
/// `export ` prefix and a trailing comment from `previous` (the old definition).
fn render_definition(key: &str, value: &str, previous: &str) -> Zeroizing<String> {
    let export = if previous.trim_start().starts_with("export ") {
        "export "
    } else {
        ""
    };
    let comment = trailing_comment(previous)
        .map(|c| format!(" #{c}"))
        .unwrap_or_default();
    let quoted = quote(value);
    let mut out = Zeroizing::new(String::with_capacity(
        export.len() + key.len() + quoted.len() + comment.len() + 2,
    ));
    for part in [export, key, "=", quoted.as_str(), comment.as_str(), "\n"] {
        out.push_str(part);
    }
    out
}

/// A definition's text as stored: its final line ending is `\n`. (dotenvy drops the final
/// line ending, `\r` included, so this never changes a value.)
fn definition_text(text: &str) -> Zeroizing<String> {
    let body = text
        .strip_suffix('\n')
        .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + 1));
    out.push_str(body);
    out.push('\n');
    out
}

/// A definition's value as written: after `=`, before any trailing comment.
fn value_text(definition: &str) -> Option<&str> {
    let (_, start) = split_key(definition).ok()?;
    let mut quote = Quote::None;
    let mut escaped = false;
    let mut offset = start;
    for line in definition[start..].split_inclusive('\n') {
        if let ValueEnd::Line { end, .. } = walk_value_line(line, &mut quote, &mut escaped) {
            return Some(&definition[start..offset + end]);
        }
        offset += line.len();
    }
    Some(&definition[start..])
}

/// The comment after the value on a definition's last line, if any.
fn trailing_comment(definition: &str) -> Option<String> {
    let (_, value_start) = split_key(definition).ok()?;
    let mut quote = Quote::None;
    let mut escaped = false;
    let mut rest = &definition[value_start..];
    loop {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if let ValueEnd::Line { comment, .. } = walk_value_line(line, &mut quote, &mut escaped) {
            return comment.map(|c| c.trim_end().to_string());
        }
        if next.is_empty() {
            return None;
        }
        rest = next;
    }
}

/// Quotes a value for dotenvy: bare when it is plainly safe, single quotes when they
/// suffice (no expansion, no escapes), double quotes with escapes otherwise.
pub fn quote(value: &str) -> Zeroizing<String> {
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+,=~^".contains(c);
    if value.chars().all(bare) {
        return Zeroizing::new(value.to_string());
    }
    if !value.contains(['\'', '\\']) {
        let mut out = Zeroizing::new(String::with_capacity(value.len() + 2));
        for part in ["'", value, "'"] {
            out.push_str(part);
        }
        return out;
    }
    // Room for every character escaped: the buffer never grows (and so never leaves an
    // unwiped copy behind).
    let mut out = Zeroizing::new(String::with_capacity(value.len() * 2 + 2));
    out.push('"');
    escape_double_quoted(value, &mut out);
    out.push('"');
    out
}

/// Appends `text` to `out` escaped for the inside of dotenvy double quotes, where it is
/// read literally. `out` should have room for twice `text`.
pub fn escape_double_quoted(text: &str, out: &mut Zeroizing<String>) {
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A `$NAME` or `${NAME}` reference in a definition, as dotenvy reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The variable name (empty for a `$` that no name follows).
    pub name: String,
    /// Written `${NAME}`.
    pub braced: bool,
    /// Unbraced, and followed by `_`, which shells and Docker Compose read as part of
    /// the name but dotenvy does not.
    pub then_underscore: bool,
}

/// The references dotenvy expands in a definition, in order. Follows dotenvy 0.15's
/// value rules: nothing is expanded inside single quotes or after a backslash; an
/// unbraced name is a run of letters and digits, and the character that ends it is
/// taken literally.
pub fn references(definition: &str) -> Vec<Reference> {
    #[derive(PartialEq)]
    enum Mode {
        None,
        Name,
        Braced,
    }
    let Some(value) = value_text(definition) else {
        return Vec::new();
    };
    let mut refs = Vec::new();
    let (mut strong, mut weak, mut escaped) = (false, false, false);
    let mut mode = Mode::None;
    let mut name = String::new();
    for c in value.trim().chars() {
        if escaped {
            escaped = false;
        } else if strong {
            strong = c != '\'';
        } else if mode != Mode::None {
            if c.is_alphanumeric() {
                name.push(c);
            } else if mode == Mode::Braced {
                if c == '}' {
                    refs.push(Reference {
                        name: std::mem::take(&mut name),
                        braced: true,
                        then_underscore: false,
                    });
                    mode = Mode::None;
                } else {
                    name.push(c);
                }
            } else if c == '{' && name.is_empty() {
                mode = Mode::Braced;
            } else {
                refs.push(Reference {
                    name: std::mem::take(&mut name),
                    braced: false,
                    then_underscore: c == '_',
                });
                if c != '$' {
                    mode = Mode::None;
                }
            }
        } else if c == '$' {
            mode = Mode::Name;
        } else if weak {
            match c {
                '"' => weak = false,
                '\\' => escaped = true,
                _ => {}
            }
        } else {
            match c {
                '\'' => strong = true,
                '"' => weak = true,
                '\\' => escaped = true,
                // Whitespace ends an unquoted value; a comment may follow.
                ' ' | '\t' => break,
                _ => {}
            }
        }
    }
    if mode == Mode::Name {
        refs.push(Reference {
            name,
            braced: false,
            then_underscore: false,
        });
    }
    refs
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
            ParseError::UnknownMarker { line, .. } => write!(
                f,
                "line {line}: unknown section marker; sections are `# [runtime]` and `# [deploy]` \
                 (the word in brackets is not repeated here: it could be a commented-out value)"
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
    parse(utf8(bytes)?)
}

/// The bytes as text, or the line of the first byte that is not UTF-8.
pub fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        ParseError::NotUtf8 { line }
    })
}

/// The structure of one definition, before its value is computed.
struct Span {
    key: String,
    scope: Scope,
    line: usize,
    optional: bool,
    public: bool,
    /// Byte range of the definition's text (all of its lines) in the document.
    range: std::ops::Range<usize>,
}

/// A line or definition found by the structural pass, as byte ranges of the text.
enum Piece {
    Text(std::ops::Range<usize>),
    Marker(Scope, std::ops::Range<usize>),
    Definition(Span),
}

/// Parses dotenv text into a [`Document`].
pub fn parse(text: &str) -> Result<Document, ParseError> {
    let pieces = structure(text)?;
    let spans: Vec<&Span> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Definition(span) => Some(span),
            _ => None,
        })
        .collect();
    check_expansion(text, &spans)?;
    let values = match values_of(text) {
        Ok(values) => values,
        Err(()) => return Err(locate_value_error(text, &spans)),
    };
    let mismatch = spans
        .iter()
        .zip(values.iter())
        .find(|(s, (k, _))| s.key != *k)
        .map(|(s, _)| s.line)
        .or_else(|| (values.len() != spans.len()).then(|| spans.last().map_or(1, |s| s.line)));
    if let Some(line) = mismatch {
        return Err(ParseError::Malformed {
            line,
            reason: "this definition could not be parsed unambiguously; quote its value",
        });
    }
    let mut values = values.into_iter();
    let items = pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(range) => Item::Text(text[range].to_string()),
            Piece::Marker(scope, range) => Item::Marker {
                scope,
                raw: text[range].to_string(),
            },
            Piece::Definition(span) => {
                let (_, value) = values.next().expect("counts were checked above");
                Item::Entry(Entry {
                    raw: Zeroizing::new(text[span.range].to_string()),
                    key: span.key,
                    scope: span.scope,
                    line: span.line,
                    optional: span.optional,
                    public: span.public,
                    value,
                })
            }
        })
        .collect();
    Ok(Document { items })
}

/// Largest value `${VAR}` expansion may produce. dotenvy expands without a limit, so
/// `B=$A$A`, `C=$B$B`, … doubles with every line: 400 bytes would expand to a gigabyte.
pub const MAX_EXPANDED_BYTES: usize = 1 << 20;

/// Largest total of all values after expansion.
pub const MAX_EXPANDED_TOTAL: usize = 16 << 20;

/// Refuses a document whose `$VAR`/`${VAR}` references could expand a value past
/// [`MAX_EXPANDED_BYTES`], or all values together past [`MAX_EXPANDED_TOTAL`], before
/// dotenvy is asked to expand it. The bound does not depend on reading names the way
/// dotenvy does: every `$` (quoted, escaped or not) counts as the largest value that
/// could stand in for it — the largest earlier definition's bound or the largest
/// variable of the environment. So it may refuse a document that would stay small, never
/// admit one that would not. (Real files have a few short references; their bounds stay
/// far below the limits.)
fn check_expansion(text: &str, spans: &[&Span]) -> Result<(), ParseError> {
    if !text.contains('$') {
        return Ok(());
    }
    let largest_env = std::env::vars_os().map(|(_, v)| v.len()).max().unwrap_or(0);
    let mut largest_value = 0usize;
    let mut total = 0usize;
    for span in spans {
        let raw = &text[span.range.clone()];
        let dollars = raw.bytes().filter(|&b| b == b'$').count();
        let size = dollars
            .saturating_mul(largest_value.max(largest_env))
            .saturating_add(raw.len());
        total = total.saturating_add(size);
        if size > MAX_EXPANDED_BYTES || total > MAX_EXPANDED_TOTAL {
            return Err(ParseError::Malformed {
                line: span.line,
                reason: "its ${...} references could expand the values past 1 MiB each or \
                         16 MiB in all (the limits)",
            });
        }
        largest_value = largest_value.max(size);
    }
    Ok(())
}

/// The keys of `doc` (outside `names`) whose value depends on a variable in `names`:
/// computed by expanding the document a second time with every such variable — its
/// definition in the document and its value in the environment — replaced by a
/// different stand-in, and comparing. This follows dotenvy itself, so no reading of
/// reference syntax can be fooled. `exec` uses it to keep deploy values out of runtime
/// variables. It changes this process's environment for the duration of the call, so
/// call it only while the process has a single thread.
pub fn keys_depending_on(doc: &Document, names: &std::collections::HashSet<&str>) -> Vec<String> {
    let stand_in = |i: usize| format!("envshim-stand-in-{i}-{}", std::process::id());
    let mut text = Zeroizing::new(String::new());
    for (i, item) in doc.items.iter().enumerate() {
        let piece = match item {
            Item::Entry(e) if names.contains(e.key.as_str()) => {
                format!("{}={}\n", e.key, stand_in(i))
            }
            Item::Entry(e) => e.raw.to_string(),
            Item::Text(t) | Item::Marker { raw: t, .. } => t.clone(),
        };
        super::wiped::push_str(&mut text, &piece);
        if !text.ends_with('\n') {
            super::wiped::push_str(&mut text, "\n");
        }
    }
    let saved: Vec<(String, Option<std::ffi::OsString>)> = names
        .iter()
        .map(|n| (n.to_string(), std::env::var_os(n)))
        .collect();
    for (i, (name, _)) in saved.iter().enumerate() {
        std::env::set_var(name, stand_in(usize::MAX - i));
    }
    let again = values_of(&text);
    for (name, value) in &saved {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    }
    let entries: Vec<&Entry> = doc.entries().collect();
    match again {
        Ok(values) if values.len() == entries.len() => entries
            .iter()
            .zip(values.iter())
            .filter(|(e, (k, v))| {
                !names.contains(e.key.as_str()) && (e.key != *k || e.value.as_str() != v.as_str())
            })
            .map(|(e, _)| e.key.clone())
            .collect(),
        // The stand-ins changed how the text reads: treat every key as dependent.
        _ => entries
            .iter()
            .filter(|e| !names.contains(e.key.as_str()))
            .map(|e| e.key.clone())
            .collect(),
    }
}

/// Runs `dotenvy` over the text. Its error text quotes the offending line, so it is
/// dropped here; [`locate_value_error`] finds the line number instead.
fn values_of(text: &str) -> Result<Vec<(String, Zeroizing<String>)>, ()> {
    dotenvy::from_read_iter(text.as_bytes())
        .map(|item| item.map(|(k, v)| (k, Zeroizing::new(v))).map_err(|_| ()))
        .collect()
}

/// Finds which definition `dotenvy` rejected by parsing each one alone.
fn locate_value_error(text: &str, spans: &[&Span]) -> ParseError {
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
    /// The definition ends on this line, with the marks its comment holds.
    Line {
        /// The comment holds the `optional` mark.
        optional: bool,
        /// The comment holds the `public` mark.
        public: bool,
        /// The comment's text after `#`, if there is a comment.
        comment: Option<String>,
        /// Byte offset in the line where the value ends: its comment's `#`, or the end.
        end: usize,
    },
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

/// The marks a definition's comment holds: `(optional, public)`. A comment is marks
/// only when every word of it is one (`# optional`, `# public`, `# optional # public`,
/// `# public, optional`); any other comment (`# public key of the CI bot`) marks nothing.
fn marks(comment: &str) -> (bool, bool) {
    let mut found = (false, false);
    for word in comment
        .split(|c: char| c == '#' || c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if word.eq_ignore_ascii_case("optional") {
            found.0 = true;
        } else if word.eq_ignore_ascii_case("public") {
            found.1 = true;
        } else {
            return (false, false);
        }
    }
    found
}

/// Walks one physical line of a value, updating `quote`. `escaped` carries a backslash
/// that ended the previous line. Follows the state machine dotenvy 0.15 uses to find
/// where a definition ends (`eval_end_state` in its `iter.rs`) exactly: `#` starts a
/// comment only right after one unquoted whitespace character (a second whitespace
/// character, or a `#` after any other, is part of the value), so the line boundaries
/// and comments found here are the ones dotenvy evaluates.
fn walk_value_line(line: &str, quote: &mut Quote, escaped: &mut bool) -> ValueEnd {
    // dotenvy's `WhiteSpace` state: the previous character was an unquoted whitespace
    // character that followed a non-whitespace one.
    let mut after_space = false;
    for (i, c) in line.char_indices() {
        if *escaped {
            *escaped = false;
            after_space = false;
            continue;
        }
        let space = c.is_whitespace() && c != '\n' && c != '\r';
        match (*quote, c) {
            (_, '\\') => *escaped = true,
            (Quote::None, '"') => *quote = Quote::Double,
            (Quote::None, '\'') => *quote = Quote::Single,
            (Quote::Double, '"') | (Quote::Single, '\'') => *quote = Quote::None,
            (Quote::None, '#') if after_space => {
                let comment = &line[i + 1..];
                let (optional, public) = marks(comment);
                return ValueEnd::Line {
                    end: i,
                    optional,
                    public,
                    comment: Some(comment.trim_end_matches(['\n', '\r']).to_string()),
                };
            }
            _ => {}
        }
        after_space = *quote == Quote::None && space && !after_space && c != '\\';
    }
    // A backslash that escaped the newline itself continues the value, as in dotenvy.
    if *quote != Quote::None || *escaped {
        ValueEnd::Continues
    } else {
        ValueEnd::Line {
            end: line.len(),
            optional: false,
            public: false,
            comment: None,
        }
    }
}

/// The name inside a `# [name]` marker line, if the line is one. A name is one short
/// word; any other bracketed comment (`# [TODO: rotate in May]`) is just a comment, and
/// so never quoted back in an error.
fn marker_name(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix('[')?;
    let (name, after) = rest.split_once(']')?;
    let name = name.trim();
    let word = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    (word && after.trim().is_empty()).then_some(name)
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
fn structure(text: &str) -> Result<Vec<Piece>, ParseError> {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
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
            pieces.push(Piece::Text(start..offset));
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
                pieces.push(Piece::Marker(scope, start..offset));
            } else {
                pieces.push(Piece::Text(start..offset));
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
        let ValueEnd::Line {
            optional, public, ..
        } = end
        else {
            unreachable!("the loop above runs until the value ends")
        };
        if let Some(first) = seen.insert(key, number) {
            return Err(ParseError::DuplicateKey {
                key: key.to_string(),
                first,
                second: number,
            });
        }
        pieces.push(Piece::Definition(Span {
            key: key.to_string(),
            scope,
            line: number,
            optional,
            public,
            range: start..offset,
        }));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, Scope, String)> {
        parse(text)
            .unwrap()
            .entries()
            .map(|e| (e.key.clone(), e.scope, e.value.to_string()))
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
        // Two single-quoted strings side by side, as in a shell: no escaped quote.
        assert_eq!(v[4].2, "its");
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
        let flags: Vec<bool> = doc.entries().map(|e| e.optional).collect();
        assert_eq!(flags, vec![true, true, false, false]);
    }

    #[test]
    fn bracketed_comments_that_are_not_one_word_are_comments() {
        let v = values("# [TODO: rotate in May]\nA=1\n# [deploy] \nB=2\n#[p4ss w0rd!]\nC=3\n");
        let scopes: Vec<Scope> = v.iter().map(|(_, s, _)| *s).collect();
        assert_eq!(scopes, vec![Scope::Runtime, Scope::Deploy, Scope::Deploy]);
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

    #[test]
    fn render_reproduces_the_text() {
        let text = "# head\n\nexport A='x' # note\n# [deploy]\nB=\"multi\nline\"\n  # tail\n";
        assert_eq!(parse(text).unwrap().render().as_str(), text);
    }

    #[test]
    fn set_keeps_place_scope_comments_and_export() {
        let mut doc = parse("# head\nexport A=1 # why\nB=2\n# [deploy]\nD=3\n").unwrap();
        assert_eq!(doc.set("A", "new value", None), Change::Changed);
        assert_eq!(doc.set("B", "2", None), Change::Unchanged);
        assert_eq!(doc.set("C", "c", None), Change::Added);
        assert_eq!(doc.set("E", "e", Some(Scope::Deploy)), Change::Added);
        assert_eq!(
            doc.render().as_str(),
            "# head\nexport A='new value' # why\nB=2\nC=c\n# [deploy]\nD=3\nE=e\n"
        );
        assert_eq!(doc.set("B", "2", Some(Scope::Deploy)), Change::Changed);
        assert!(doc.remove("D"));
        assert!(!doc.remove("D"));
        assert_eq!(
            doc.render().as_str(),
            "# head\nexport A='new value' # why\nC=c\n# [deploy]\nE=e\nB=2\n"
        );
    }

    #[test]
    fn new_sections_are_created_where_they_belong() {
        let mut doc = parse("").unwrap();
        doc.set("D", "1", Some(Scope::Deploy));
        doc.set("R", "2", None);
        assert_eq!(doc.render().as_str(), "R=2\n# [deploy]\nD=1\n");
        let mut doc = parse("# [runtime]\n# [deploy]\nD=1").unwrap();
        doc.set("R", "2", None);
        assert_eq!(doc.render().as_str(), "# [runtime]\nR=2\n# [deploy]\nD=1\n");
    }

    #[test]
    fn any_value_survives_quoting() {
        let values = [
            "",
            "plain",
            "with space",
            "it's",
            "back\\slash",
            "dollar $HOME ${X} $",
            "quote \"x\"",
            "both ' and \" and \\",
            "multi\nline\nvalue",
            "# not a comment",
            "trailing space ",
            "tab\there",
            "unicode ✓ é",
            "=eq=",
            "'",
            "\"",
            "\\",
            "$",
            "a\\'b",
        ];
        for value in values {
            let mut doc = parse("").unwrap();
            doc.set("K", value, None);
            let text = doc.render();
            let back = parse(&text).unwrap_or_else(|e| panic!("{value:?}: {e}"));
            assert_eq!(back.get("K").unwrap().value.as_str(), value, "{text:?}");
        }
    }

    #[test]
    fn public_and_optional_marks_are_read_alone_or_together() {
        let doc = parse(
            "A= # public\nB=x # optional # public\nC= #Public, Optional\nD= # public key of the bot\nE='# public'\n",
        )
        .unwrap();
        let flags: Vec<(bool, bool)> = doc.entries().map(|e| (e.optional, e.public)).collect();
        assert_eq!(
            flags,
            vec![
                (false, true),
                (true, true),
                (true, true),
                (false, false),
                (false, false)
            ]
        );
    }

    #[test]
    fn example_keeps_public_marks_from_the_example_and_from_what_is_written() {
        let secrets = parse("A=x\nB=y # public\nC=z # optional # public\nD=w # public\n").unwrap();
        let previous = parse("A= # public\nD=\n").unwrap();
        // C is written by this command; D is not (its mark in the secrets file does not
        // count); A keeps the example's mark.
        let (example, _) = secrets.example(Some(&previous), &[], &|k| k == "B" || k == "C");
        assert_eq!(
            example,
            format!("{EXAMPLE_HEADER}A= # public\nB= # public\nC= # optional # public\nD=\n")
        );
        let back = parse(&example).unwrap();
        let flags: Vec<(bool, bool)> = back.entries().map(|e| (e.optional, e.public)).collect();
        assert_eq!(
            flags,
            vec![(false, true), (false, true), (true, true), (false, false)]
        );
    }

    #[test]
    fn example_keeps_structure_and_marks_but_no_values() {
        let secrets = parse(
            "# team keys\n# OLD_KEY=sk-old-value\nA=secret-a\nB=secret-b # optional\n# [deploy]\nD=secret-d\n",
        )
        .unwrap();
        let previous = parse("A= # optional\nGONE=\nDECLARED=\n# [deploy]\nLATER=\n").unwrap();
        let (example, left_out) = secrets.example(Some(&previous), &["GONE"], &|_| true);
        assert!(left_out.is_empty());
        assert_eq!(
            example,
            format!(
                "{EXAMPLE_HEADER}A= # optional\nB= # optional\nDECLARED=\n# [deploy]\nD=\nLATER=\n"
            )
        );
        assert!(!example.contains("secret-") && !example.contains("sk-old"));
        assert!(!example.contains("team keys"));
    }

    #[test]
    fn references_are_found_as_dotenvy_expands_them() {
        let found = |definition: &str| -> Vec<(String, bool, bool)> {
            references(definition)
                .into_iter()
                .map(|r| (r.name, r.braced, r.then_underscore))
                .collect()
        };
        let text = "A=\"pa$$w0rd$HOME_DIR ${X} \\$NO\" # $NO\n";
        assert_eq!(
            found(text),
            vec![
                ("".into(), false, false),
                ("w0rd".into(), false, false),
                ("HOME".into(), false, true),
                ("X".into(), true, false),
            ]
        );
        assert!(found("B='${NO} $NO'\n").is_empty());
        assert_eq!(
            found("export C=${A}x'${NO}'\n"),
            vec![("A".into(), true, false)]
        );
        // The same references dotenvy expands: here, only the earlier definitions.
        let doc = parse("RONE=1\nRTWO=$RONE.${RONE}$R_ONE\n").unwrap();
        assert_eq!(doc.get("RTWO").unwrap().value.as_str(), "1.1_ONE");
    }

    #[test]
    fn dependence_on_deploy_values_is_found_by_expanding_again() {
        let doc = parse(
            "A=1\nB=${DEPLOY_X}\nHOP=${DEPLOY_X}\nC=x\u{a0}\u{a0}#${HOP}\nE='${DEPLOY_X}'\n\
             G=$DEPLOY_X\n\
             F=${ENVSHIM_TEST_ONLY_IN_ENV}\n# [deploy]\nDEPLOY_X=secret\n",
        )
        .unwrap();
        let names: std::collections::HashSet<&str> =
            ["DEPLOY_X", "ENVSHIM_TEST_ONLY_IN_ENV"].into();
        assert_eq!(
            keys_depending_on(&doc, &names),
            vec!["B", "HOP", "C", "F"],
            "single quotes do not expand, and dotenvy reads `$DEPLOY_X` as `$DEPLOY` then \
             `_X`; everything else that reaches DEPLOY_X depends on it"
        );
        assert!(std::env::var_os("ENVSHIM_TEST_ONLY_IN_ENV").is_none());
    }

    #[test]
    fn set_definition_replaces_the_text_in_place() {
        let mut doc = parse("A=1\nB=2 # note\n# [deploy]\nD=3\n").unwrap();
        let value = || Zeroizing::new(String::new());
        assert_eq!(
            doc.set_definition("B", "B=2 # note\r\n", value(), None),
            Change::Unchanged
        );
        assert_eq!(
            doc.set_definition("A", "A=${B}", value(), None),
            Change::Changed
        );
        assert_eq!(
            doc.set_definition("N", "export N=\"x\ny\"\n", value(), None),
            Change::Added
        );
        assert_eq!(
            doc.set_definition("D", "D=3\n", value(), Some(Scope::Runtime)),
            Change::Changed
        );
        assert_eq!(
            doc.render().as_str(),
            "A=${B}\nB=2 # note\nexport N=\"x\ny\"\nD=3\n# [deploy]\n"
        );
    }
}
