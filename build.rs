//! Turns the built-in rule files (src/scan/rules.toml, src/scan/rules/*.toml) into
//! static Rust tables without their examples, so that a scan starts without parsing
//! TOML: the examples are most of the text and only the test suite reads them (from
//! the TOML files themselves).

use std::fmt::Write as _;
use std::path::Path;

/// The rule files, in order (as `rules.rs` lists them for the tests).
const FILES: &[&str] = &[
    "src/scan/rules.toml",
    "src/scan/rules/prefix.toml",
    "src/scan/rules/structured.toml",
    "src/scan/rules/near-a.toml",
    "src/scan/rules/near-b.toml",
];

/// Fields copied into the table; the examples are left out.
const STRINGS: &[&str] = &[
    "provider",
    "token",
    "prefix",
    "path",
    "path_exclude",
    "exclude",
    "content",
    "content_exclude",
    "validate",
    "checksum",
];
const SKIPPED: &[&str] = &["positive", "negative"];

fn main() {
    let mut out = String::from("&[\n");
    for file in FILES {
        println!("cargo:rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{file}: {e}"));
        let rules = match table.get("rule") {
            Some(toml::Value::Array(rules)) => rules.as_slice(),
            None => &[],
            Some(_) => panic!("{file}: `rule` must be an array of tables"),
        };
        for rule in rules {
            let rule = rule
                .as_table()
                .unwrap_or_else(|| panic!("{file}: a rule is not a table"));
            out.push_str(&compact(file, rule));
        }
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtin_rules.rs");
    std::fs::write(dest, out).unwrap();
}

fn string(file: &str, id: &str, key: &str, value: &toml::Value) -> String {
    match value.as_str() {
        Some(s) => format!("{s:?}"),
        None => panic!("{file}: rule {id}: `{key}` must be a string"),
    }
}

/// One `CompactRule { … }` literal. Keys the runtime format does not know are refused
/// here too (the tests' parse would refuse them anyway).
fn compact(file: &str, rule: &toml::Table) -> String {
    let id = rule
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("{file}: a rule has no id"));
    let mut s = String::from("    CompactRule {\n");
    let mut field = |name: &str, value: String| {
        let _ = writeln!(s, "        {name}: {value},");
    };
    let get = |key: &str| rule.get(key);
    let opt_string = |key: &str| match get(key) {
        Some(v) => format!("Some({})", string(file, id, key, v)),
        None => "None".to_string(),
    };
    field("id", format!("{id:?}"));
    field(
        "description",
        string(
            file,
            id,
            "description",
            get("description").unwrap_or_else(|| panic!("{file}: rule {id}: no description")),
        ),
    );
    field(
        "family",
        match get("family") {
            Some(v) => string(file, id, "family", v),
            None => "\"custom\"".to_string(),
        },
    );
    field(
        "kind",
        match get("kind").map(|v| v.as_str()) {
            None | Some(Some("text")) => "RuleKind::Text",
            Some(Some("file")) => "RuleKind::File",
            Some(Some("known-values")) => "RuleKind::KnownValues",
            Some(Some("near")) => "RuleKind::Near",
            _ => panic!("{file}: rule {id}: unknown kind"),
        }
        .to_string(),
    );
    field(
        "confidence",
        match get("confidence").map(|v| v.as_str()) {
            None => "None",
            Some(Some("high")) => "Some(Confidence::High)",
            Some(Some("medium")) => "Some(Confidence::Medium)",
            Some(Some("low")) => "Some(Confidence::Low)",
            _ => panic!("{file}: rule {id}: unknown confidence"),
        }
        .to_string(),
    );
    for key in STRINGS {
        field(key, opt_string(key));
    }
    field(
        "regex",
        match get("regex") {
            Some(v) => string(file, id, "regex", v),
            None => "\"\"".to_string(),
        },
    );
    let list = |key: &str| -> String {
        let items: Vec<String> = match get(key) {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => {
                items.iter().map(|v| string(file, id, key, v)).collect()
            }
            Some(_) => panic!("{file}: rule {id}: `{key}` must be a list"),
        };
        format!("&[{}]", items.join(", "))
    };
    field("keywords", list("keywords"));
    field("allow", list("allow"));
    let number = |key: &str| -> Option<f64> {
        get(key).map(|v| match v {
            toml::Value::Integer(n) => *n as f64,
            toml::Value::Float(f) => *f,
            _ => panic!("{file}: rule {id}: `{key}` must be a number"),
        })
    };
    field(
        "entropy",
        match number("entropy") {
            Some(f) => format!("Some({f:?})"),
            None => "None".to_string(),
        },
    );
    field(
        "distance",
        match get("distance") {
            Some(toml::Value::Integer(n)) => format!("Some({n})"),
            None => "None".to_string(),
            _ => panic!("{file}: rule {id}: `distance` must be an integer"),
        },
    );
    field(
        "length",
        match get("length") {
            Some(toml::Value::Array(v)) if v.len() == 2 => {
                let n = |i: usize| {
                    v[i].as_integer()
                        .unwrap_or_else(|| panic!("{file}: rule {id}: `length` must be integers"))
                };
                format!("Some([{}, {}])", n(0), n(1))
            }
            None => "None".to_string(),
            _ => panic!("{file}: rule {id}: `length` must be [min, max]"),
        },
    );
    field(
        "keyword_boundary",
        match get("keyword_boundary") {
            Some(toml::Value::Boolean(b)) => b.to_string(),
            None => "false".to_string(),
            _ => panic!("{file}: rule {id}: `keyword_boundary` must be true or false"),
        },
    );
    let known = [
        "keyword_boundary",
        "id",
        "description",
        "family",
        "kind",
        "confidence",
        "regex",
        "keywords",
        "allow",
        "entropy",
        "distance",
        "length",
    ];
    for key in rule.keys() {
        let key = key.as_str();
        if !known.contains(&key) && !STRINGS.contains(&key) && !SKIPPED.contains(&key) {
            panic!("{file}: rule {id}: unknown key `{key}`");
        }
    }
    s.push_str("    },\n");
    s
}
