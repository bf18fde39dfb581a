//! `envshim.toml`: scanner settings. User rules extend the built-in set; they never
//! replace it (a custom config that silently dropped the built-ins would be a trap).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::Deserialize;

use super::rules::{Confidence, RuleSpec};

/// Default size limit: larger files are skipped and counted.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;

/// The whole `envshim.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Scanner settings.
    #[serde(default)]
    pub scan: ScanConfig,
}

/// `[scan]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanConfig {
    /// Skip files larger than this many bytes.
    pub max_file_size: Option<u64>,
    /// The confidence floor: findings below it are counted, not reported (the
    /// `--confidence` flag overrides it).
    pub confidence: Option<Confidence>,
    /// Built-in rule ids to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Extra rules (`[[scan.rule]]`), same fields as the built-ins.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
    /// `[scan.allowlist]`.
    #[serde(default)]
    pub allowlist: AllowlistConfig,
}

/// `[scan.allowlist]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistConfig {
    /// Path globs whose findings are suppressed (`tests/fixtures/**`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a finding whose secret matches one is suppressed.
    #[serde(default)]
    pub secrets: Vec<String>,
}

impl Config {
    /// Reads `explicit` (the user's choice, used as given), or the nearest `envshim.toml`
    /// up to the repository root, or defaults when there is none. A discovered file must
    /// be a regular file: a committed symlink could point anywhere (`/proc/self/environ`).
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
        let (path, bytes) = match explicit {
            // Given explicitly or found: a regular file, never a link followed (a
            // committed `envshim.toml` linked elsewhere is refused either way).
            Some(p) => (p.to_path_buf(), read_regular(p)?),
            None => match find() {
                Some(p) => {
                    let bytes = read_regular(&p)?;
                    (p, bytes)
                }
                None => return Ok((Config::default(), None)),
            },
        };
        let config = Config::parse(&bytes, &shown(&path))?;
        Ok((config, Some(path)))
    }

    /// Parses and validates configuration `bytes` that came from `origin` (a path, or
    /// `commit:path`). Errors name the origin, a line and column and the kind of problem,
    /// and never quote the content.
    pub fn parse(bytes: &[u8], origin: &str) -> anyhow::Result<Config> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            bail!("{origin} is not valid configuration: it is not UTF-8 text");
        };
        let config: Config = toml::from_str(text).map_err(|e| {
            anyhow!(
                "{origin} is not valid configuration: {}",
                describe(&e, text)
            )
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Rejects settings that would switch the scan off or that envshim cannot use, with
    /// messages that name fields and entry numbers, never their values.
    pub fn validate(&self, origin: &str) -> anyhow::Result<()> {
        let scan = &self.scan;
        if let Some(size) = scan.max_file_size {
            if size < MIN_MAX_FILE_SIZE {
                bail!(
                    "{origin}: `max_file_size` must be at least {MIN_MAX_FILE_SIZE} bytes \
                     (a smaller limit skips nearly every file)"
                );
            }
        }
        for (n, id) in scan.disable.iter().enumerate() {
            if !plain_id(id) {
                bail!("{origin}: entry {} of `disable` is not a rule id", n + 1);
            }
        }
        for (n, pattern) in scan.allowlist.secrets.iter().enumerate() {
            let n = n + 1;
            let regex = regex::Regex::new(pattern).map_err(|e| {
                anyhow!(
                    "{origin}: entry {n} of `allowlist.secrets` is not a valid regular expression{}",
                    regex_reason(&e)
                )
            })?;
            let every = |probes: &[&str]| probes.iter().all(|s| regex.is_match(s));
            if regex.is_match("") || every(EVERY_SECRET) || every(LONG_SECRETS) {
                bail!(
                    "{origin}: entry {n} of `allowlist.secrets` matches every secret \
                     (it matches the empty string or any secret-like text); allow specific values"
                );
            }
        }
        for (n, glob) in scan.allowlist.paths.iter().enumerate() {
            let n = n + 1;
            let matcher = globset::Glob::new(glob)
                .map_err(|_| {
                    anyhow!("{origin}: entry {n} of `allowlist.paths` is not a valid glob")
                })?
                .compile_matcher();
            if EVERY_PATH.iter().all(|p| matcher.is_match(p)) {
                bail!(
                    "{origin}: entry {n} of `allowlist.paths` matches every file; \
                     allow specific directories or files"
                );
            }
        }
        for (n, rule) in scan.rule.iter().enumerate() {
            let n = n + 1;
            if !plain_id(&rule.id) {
                bail!(
                    "{origin}: custom rule {n} has an id that is not a plain name \
                     (letters, digits, `-`, `_`, `.`; at most 64 characters)"
                );
            }
            let fields = [
                ("regex", Some(&rule.regex)),
                ("path", rule.path.as_ref()),
                ("path_exclude", rule.path_exclude.as_ref()),
                ("exclude", rule.exclude.as_ref()),
            ];
            for (field, source) in fields {
                let Some(source) = source else { continue };
                regex::bytes::RegexBuilder::new(source)
                    .size_limit(16 << 20)
                    .build()
                    .map_err(|e| {
                        anyhow!(
                            "{origin}: custom rule {n}: `{field}` is not a valid regular \
                             expression{}",
                            regex_reason(&e)
                        )
                    })?;
            }
        }
        Ok(())
    }

    /// The size limit in bytes.
    pub fn max_file_size(&self) -> u64 {
        self.scan.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE)
    }

    /// Compiled secret allowlist.
    pub fn secret_allowlist(&self) -> anyhow::Result<Vec<regex::Regex>> {
        self.scan
            .allowlist
            .secrets
            .iter()
            .enumerate()
            .map(|(n, r)| {
                regex::Regex::new(r).map_err(|e| {
                    anyhow!(
                        "entry {} of `allowlist.secrets` is not a valid regular expression{}",
                        n + 1,
                        regex_reason(&e)
                    )
                })
            })
            .collect()
    }
}

/// The smallest `max_file_size` accepted (64 KiB). The limit is for skipping large
/// generated or data files; the files secrets get pasted into (`.env`, YAML, JSON and
/// TOML configuration, scripts, hand-written source) are nearly always far smaller, so
/// a lower limit would skip ordinary files rather than data — the scan switched off in
/// all but name.
pub const MIN_MAX_FILE_SIZE: u64 = 64 * 1024;

/// Long secret-like texts (64 to 200 characters) in different alphabets, none with a
/// space: a pattern that matches all of them checks only length or "not a space"
/// (`.{64}`, `\S{9}`, `[^ ]+`, `.{9,}`, `(?s).+`), which matches any real secret.
const LONG_SECRETS: &[&str] = &[
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "Zm9vYmFyYmF6cXV4+/Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6==",
    "AKIA7QX2LMZP9WERT5YUaB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4yZ5aB6cD7eF8gH9iJ0kL1mN2oP3qR4sT5uV6w",
    "ключдоступаключдоступаключдоступаключдоступаключдоступаключдоступа",
    "!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;<=>?@[]^_{|}~!#$%&()*+,-./:;",
    "9081726354908172635490817263549081726354908172635490817263549081726354",
];

/// Secrets of different shapes, lengths (8 to 64) and alphabets: an allowlist pattern
/// that matches all of them (`.`, `..`, `\S`, `[^!]`, `.{8}`) matches any secret, which
/// is the scanner switched off. A heuristic for mistakes; a range that adds a broad
/// pattern on purpose is reported as a widening whatever it is.
const EVERY_SECRET: &[&str] = &[
    "hunter22",
    "Tr0ub4dor&3",
    "correct horse battery staple",
    "ZXhhbXBsZQ==",
    "0123456789abcdef0123456789abcdef",
    "-----BEGIN X-----",
    "ключ_доступа",
    "p@$$w0rd!~+/_-",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
];

/// Paths of different shapes: a path glob that matches all of them (`*`, `**`, `**/*`)
/// allows every file.
const EVERY_PATH: &[&str] = &[
    "a",
    "README.md",
    ".env",
    ".env.production",
    "src/main.rs",
    "deep/er/dir/config.py",
    ".github/workflows/ci.yml",
];

/// Keys of the configuration schema: an error may name one of these (they are ours, not
/// the file's content).
const SCHEMA_KEYS: &[&str] = &[
    "scan",
    "max_file_size",
    "confidence",
    "disable",
    "rule",
    "allowlist",
    "paths",
    "secrets",
    "id",
    "description",
    "family",
    "keywords",
    "regex",
    "entropy",
    "validate",
    "path",
    "path_exclude",
    "exclude",
    "allow",
    "positive",
    "negative",
];

/// A rule id that may be quoted in messages: a short plain name.
pub fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A path for messages, with control characters replaced.
fn shown(path: &Path) -> String {
    super::sanitize(&path.display().to_string())
}

/// An I/O error as the OS states it, or its kind (never file content).
pub fn io_reason(err: &std::io::Error) -> String {
    if err.raw_os_error().is_some() {
        err.to_string()
    } else {
        err.kind().to_string()
    }
}

/// The kind of a regex error (the last line of its report, "error: unclosed group") and
/// where in the pattern it is, without the pattern itself.
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let kind = lines
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::trim);
    let caret = lines
        .iter()
        .find(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'))
        .zip(lines.iter().position(|l| l.trim_start().starts_with('^')))
        .and_then(|(line, at)| {
            let pattern_line = lines.get(at.checked_sub(1)?)?;
            let indent = pattern_line.len() - pattern_line.trim_start().len();
            let start = line.len() - line.trim_start().len();
            let prefix = pattern_line.get(indent..start.max(indent))?;
            Some(prefix.chars().count() + 1)
        });
    match (kind, caret) {
        (Some(kind), Some(at)) => format!(" ({kind}, at character {at})"),
        (Some(kind), None) => format!(" ({kind})"),
        (None, _) if matches!(err, regex::Error::CompiledTooBig(_)) => {
            " (it compiles to more than the size limit)".to_string()
        }
        _ => String::new(),
    }
}

/// A TOML error as line, column, kind and (for keys of our schema) the key — never the
/// offending text, which the `toml` crate's own message quotes.
fn describe(err: &toml::de::Error, text: &str) -> String {
    let message = err.message();
    let kind = if message.starts_with("invalid type") {
        "a value has the wrong type"
    } else if message.starts_with("invalid value") {
        "a value is out of range"
    } else if message.starts_with("invalid length") {
        "a list has the wrong number of entries"
    } else if message.starts_with("unknown field") {
        "unknown key"
    } else if message.starts_with("missing field") {
        "a required key is missing"
    } else if message.starts_with("duplicate key") {
        "a key is defined twice"
    } else if message.starts_with("unknown variant") {
        "a value is not one of the allowed ones"
    } else {
        "invalid TOML syntax"
    };
    // `missing field `keywords`` names a field of our schema (serde's own text).
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .filter(|key| SCHEMA_KEYS.contains(key));
    let Some(span) = err.span() else {
        return match missing {
            Some(key) => format!("{kind} (`{key}`)"),
            None => kind.to_string(),
        };
    };
    let start = span.start.min(text.len());
    let before = &text.as_bytes()[..start];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    let key = missing.or_else(|| {
        let source_line = text[line_start..].lines().next().unwrap_or("");
        let key = source_line.split('=').next().unwrap_or("").trim();
        SCHEMA_KEYS.contains(&key).then_some(key)
    });
    match key {
        Some(key) => format!("line {line}, column {column}: {kind} (`{key}`)"),
        None => format!("line {line}, column {column}: {kind}"),
    }
}

/// Reads a discovered configuration file, refusing anything but a regular file (checked
/// on the opened file too, so a swap between the check and the read is caught).
pub fn read_regular(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let name = shown(path);
    let refuse = || {
        anyhow!(
            "{name} is not a regular file (a symbolic link, directory or device); envshim \
             reads configuration only from regular files inside the repository"
        )
    };
    let before = std::fs::symlink_metadata(path)
        .map_err(|e| anyhow!("cannot read {name}: {}", io_reason(&e)))?;
    if !before.file_type().is_file() {
        return Err(refuse());
    }
    let mut file =
        std::fs::File::open(path).map_err(|e| anyhow!("cannot read {name}: {}", io_reason(&e)))?;
    let after = file
        .metadata()
        .map_err(|e| anyhow!("cannot read {name}: {}", io_reason(&e)))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (after.dev(), after.ino()) != (before.dev(), before.ino()) {
            return Err(refuse());
        }
    }
    if !after.file_type().is_file() {
        return Err(refuse());
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| anyhow!("cannot read {name}: {}", io_reason(&e)))?;
    Ok(bytes)
}

/// The nearest `envshim.toml` from the current directory up to the repository root. Any
/// directory entry of that name counts (a symlink too), so that `load` can refuse it
/// rather than skip to a file further up.
fn find() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    let mut dir = cwd.as_path();
    loop {
        let candidate = dir.join("envshim.toml");
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            return None;
        }
        dir = dir.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        format!(
            "{:#}",
            Config::parse(text.as_bytes(), "envshim.toml").unwrap_err()
        )
    }

    #[test]
    fn errors_give_line_and_column_never_content() {
        let e = error("[scan]\nmax_file_size = \"MARKER\"\n");
        assert_eq!(
            e,
            "envshim.toml is not valid configuration: line 2, column 17: a value has the wrong type (`max_file_size`)"
        );
        let e = error("[scan]\nMARKER = 1\n");
        assert!(e.contains("line 2, column 1: unknown key"), "{e}");
        assert!(!e.contains("MARKER"), "{e}");
        let e = error("PATH=/usr/bin:MARKER\n");
        assert!(e.contains("line 1") && !e.contains("MARKER"), "{e}");
        let e = error("[[scan.rule]]\nid = \"x\"\ndescription = \"d\"\nregex = \"(MARKER\"\nkeywords = [\"k\"]\n");
        assert!(e.contains("custom rule 1: `regex` is not a valid"), "{e}");
        assert!(e.contains("unclosed group, at character 1"), "{e}");
        assert!(!e.contains("MARKER"), "{e}");
    }

    #[test]
    fn limits_that_switch_the_scan_off_are_refused() {
        assert!(error("[scan]\nmax_file_size = 0\n").contains("at least 65536"));
        for pattern in [
            "", ".*", "^", "a?", ".", "..", ".{8}", "\\\\S", "[^!]", "(?s).",
        ] {
            let e = error(&format!("[scan.allowlist]\nsecrets = [\"{pattern}\"]\n"));
            assert!(e.contains("matches every secret"), "{pattern}: {e}");
        }
        for glob in ["**", "*", "**/*", "{*,x}"] {
            let e = error(&format!("[scan.allowlist]\npaths = [\"{glob}\"]\n"));
            assert!(e.contains("matches every file"), "{glob}: {e}");
        }
        let fine = "[scan]\nmax_file_size = 1048576\n[scan.allowlist]\nsecrets = [\"^EXAMPLE\", \"[0-9]\", \"(?i)dummy|changeme\", \"^sk_test_\"]\npaths = [\"tests/fixtures/**\", \"*.md\"]\n";
        Config::parse(fine.as_bytes(), "envshim.toml").unwrap();
        let e = error("[scan]\ndisable = [\"MARKER \\u001b]0;x\"]\n");
        assert!(
            e.contains("entry 1 of `disable` is not a rule id") && !e.contains("MARKER"),
            "{e}"
        );
    }
}
