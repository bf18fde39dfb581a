//! Detection rules as data: the built-in set embedded from `rules.toml`, plus rules from
//! `envshim.toml`, compiled into regexes and one keyword prefilter.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anyhow::{anyhow, bail, Context};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

/// The built-in rule files (file name, text): one set, kept in several files by kind.
/// Only the tests read them (for the examples); a scan uses [`COMPACT`].
#[cfg(test)]
pub const BUILTIN: &[(&str, &str)] = &[
    ("rules.toml", include_str!("rules.toml")),
    ("rules/prefix.toml", include_str!("rules/prefix.toml")),
    (
        "rules/structured.toml",
        include_str!("rules/structured.toml"),
    ),
    ("rules/near-a.toml", include_str!("rules/near-a.toml")),
    ("rules/near-b.toml", include_str!("rules/near-b.toml")),
];

/// A built-in rule as `build.rs` writes it: the fields of [`RuleSpec`] but the examples,
/// as static data, so that a scan starts without parsing TOML.
#[derive(Debug)]
pub struct CompactRule {
    id: &'static str,
    description: &'static str,
    family: &'static str,
    kind: RuleKind,
    confidence: Option<Confidence>,
    provider: Option<&'static str>,
    token: Option<&'static str>,
    prefix: Option<&'static str>,
    path: Option<&'static str>,
    path_exclude: Option<&'static str>,
    exclude: Option<&'static str>,
    content: Option<&'static str>,
    content_exclude: Option<&'static str>,
    validate: Option<&'static str>,
    checksum: Option<&'static str>,
    keyword_boundary: bool,
    regex: &'static str,
    keywords: &'static [&'static str],
    allow: &'static [&'static str],
    entropy: Option<f64>,
    distance: Option<usize>,
    length: Option<[usize; 2]>,
}

/// The built-in rules, from every rule file in order (written by `build.rs`).
pub static COMPACT: &[CompactRule] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

impl CompactRule {
    fn spec(&self) -> RuleSpec {
        let owned = |s: Option<&str>| s.map(str::to_string);
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        RuleSpec {
            id: self.id.to_string(),
            description: self.description.to_string(),
            family: self.family.to_string(),
            kind: self.kind,
            provider: owned(self.provider),
            confidence: self.confidence,
            token: owned(self.token),
            prefix: owned(self.prefix),
            length: self.length,
            distance: self.distance,
            keywords: list(self.keywords),
            regex: self.regex.to_string(),
            entropy: self.entropy,
            path: owned(self.path),
            path_exclude: owned(self.path_exclude),
            exclude: owned(self.exclude),
            content: owned(self.content),
            content_exclude: owned(self.content_exclude),
            validate: owned(self.validate),
            checksum: owned(self.checksum),
            keyword_boundary: self.keyword_boundary,
            allow: list(self.allow),
            positive: Vec::new(),
            negative: Vec::new(),
        }
    }
}

/// The built-in rules, without their examples.
pub fn builtin_specs() -> anyhow::Result<Vec<RuleSpec>> {
    Ok(COMPACT.iter().map(CompactRule::spec).collect())
}

/// The built-in rules with their examples, parsed from the rule files (every file, in
/// order): for the tests.
#[cfg(test)]
pub fn builtin_specs_with_examples() -> anyhow::Result<Vec<RuleSpec>> {
    let mut specs = Vec::new();
    for (name, text) in BUILTIN {
        let file: RuleFile = toml::from_str(text)
            .with_context(|| format!("the built-in rules file {name} is invalid"))?;
        specs.extend(file.rule);
    }
    Ok(specs)
}

/// How much text after a keyword a multi-line rule may match (private key blocks).
const MULTILINE_WINDOW: usize = 16 * 1024;

/// What a rule looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// A secret at a position in the text: `keywords` select it, `regex` finds it.
    #[default]
    Text,
    /// The file itself is the mistake: `path` names it, `content` (a regex the content
    /// must match) and `content_exclude` (one it must not match) say when.
    File,
    /// The decrypted values of the secrets file (`known-secret`); its matcher is the
    /// known-values automaton, built from the secrets when an identity is available.
    KnownValues,
    /// A provider's name near a token of a given shape: `keywords` (the provider's
    /// names), `token` (the alphabet), `length`, optional `prefix`, `distance`, `entropy`.
    Near,
}

/// How sure a finding is: high for a distinctive format or a checksum, medium for a
/// keyword next to a token of the right shape, low for a generic assignment.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Deserialize,
    serde::Serialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// A generic assignment (`password = "…"`).
    Low,
    /// A provider keyword next to a token of the provider's shape; a value in a
    /// committed dotenv file; a password in a connection string.
    Medium,
    /// A distinctive format, or a checksum that holds; a known value.
    #[default]
    High,
}

impl Confidence {
    /// The name reports use: `high`, `medium`, `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// The SARIF result level: error, warning, note.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Confidence::Low => "note",
            Confidence::Medium => "warning",
            Confidence::High => "error",
        }
    }

    /// The SARIF rank (0 to 100, how likely the result is a true positive).
    pub fn rank(self) -> f64 {
        match self {
            Confidence::Low => 30.0,
            Confidence::Medium => 60.0,
            Confidence::High => 90.0,
        }
    }

    /// A rule's confidence when it does not set one: low for generic assignments;
    /// medium for near rules, dotenv values and connection-string passwords (a keyword
    /// or a place, and a value of some shape); high for the rest (a distinctive format,
    /// a file that is itself the mistake, a known value).
    pub fn default_for(kind: RuleKind, family: &str) -> Confidence {
        match (kind, family) {
            (_, "generic") => Confidence::Low,
            (RuleKind::Near, _) | (_, "dotenv" | "connection-strings") => Confidence::Medium,
            _ => Confidence::High,
        }
    }
}

/// An example a rule must (`positive`) or must not (`negative`) find.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Example {
    /// A text rule: a line of text.
    Line(String),
    /// A file rule: a path and the file's content.
    File(FileExample),
    /// The known-values rule: a value of the secrets file and text to search.
    Known(KnownExample),
}

/// A file rule's example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileExample {
    /// The file's path.
    pub path: String,
    /// The file's content.
    pub content: String,
}

/// The known-values rule's example.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownExample {
    /// A value of the secrets file.
    pub value: String,
    /// Text in which it is (or is not) found.
    pub content: String,
}

/// A rule as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique id, e.g. `github-pat-classic`.
    pub id: String,
    /// What it finds, for people.
    pub description: String,
    /// Group for reporting (cloud, ai, generic, …).
    #[serde(default = "default_family")]
    pub family: String,
    /// What the rule looks at (default: text).
    #[serde(default)]
    pub kind: RuleKind,
    /// The provider (company or product) whose credential this is; counted for coverage.
    #[serde(default)]
    pub provider: Option<String>,
    /// How sure a finding of this rule is; by default high for text and file rules,
    /// medium for near rules, low for the generic and dotenv families.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// Near rules: the token's alphabet (`hex`, `hex-upper`, `hex-any`, `alnum`,
    /// `alnum-lower`, `alnum-upper`, `base64`, `base64url`, `digits`, `uuid`).
    #[serde(default)]
    pub token: Option<String>,
    /// Near rules: a literal the token starts with (not counted in `length`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Near rules: the token's length after the prefix, `[min, max]`.
    #[serde(default)]
    pub length: Option<[usize; 2]>,
    /// Near rules: the most bytes between the keyword and the token, either side.
    #[serde(default)]
    pub distance: Option<usize>,
    /// Text rules: lowercase literals; one of them occurs in every match (the prefilter).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Text rules: a keyword counts only where it starts a word (no ASCII letter or digit
    /// just before it), so that `sg.` selects `SG.…` but not `msg.`.
    #[serde(default)]
    pub keyword_boundary: bool,
    /// A checksum the secret's format carries (one of [`super::checksum::NAMES`]): where
    /// it holds, the finding is surely a real token. It never hides a finding.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Text rules: the pattern; its `secret` group is the secret.
    #[serde(default)]
    pub regex: String,
    /// Minimum Shannon entropy (bits per character) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// Text rules: a check the secret must pass beyond the regex (`jwt`, `base64`,
    /// `basic-auth`, `password`; see [`super::validate::holds`]).
    #[serde(default)]
    pub validate: Option<String>,
    /// Only files whose path matches this regex (for a file rule: the files it is about).
    #[serde(default)]
    pub path: Option<String>,
    /// Never files whose path matches this regex.
    #[serde(default)]
    pub path_exclude: Option<String>,
    /// Skip matches whose whole text matches this regex (key names that look like
    /// secrets but are not: `NextToken`, `token_type`, …).
    #[serde(default)]
    pub exclude: Option<String>,
    /// File rules: the file is reported only when its content matches this regex.
    #[serde(default)]
    pub content: Option<String>,
    /// File rules: the file is not reported when its content matches this regex. Absence
    /// can only be judged on a whole file, so such a rule skips the added lines of a commit.
    #[serde(default)]
    pub content_exclude: Option<String>,
    /// Secrets that are public by design (documented emulator or sample keys).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Examples the rule must find (checked by the test suite).
    #[serde(default)]
    pub positive: Vec<Example>,
    /// Examples the rule must not find (checked by the test suite).
    #[serde(default)]
    pub negative: Vec<Example>,
}

fn default_family() -> String {
    "custom".to_string()
}

/// A rules file: `[[rule]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules.
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

/// A compiled rule.
#[derive(Debug)]
pub struct Rule {
    /// The source.
    pub spec: RuleSpec,
    /// The compiled pattern and the index of its `secret` group, compiled on first use:
    /// a scan that never meets a rule's keyword never pays for its regex (161 of them
    /// would cost ~35 ms at every start, more than a whole pre-commit scan should take).
    pattern: OnceLock<Option<(Regex, usize)>>,
    /// Whether matches may span lines.
    pub multiline: bool,
    /// Path filter.
    pub path: LazyRegex,
    /// Path exclusion.
    pub path_exclude: LazyRegex,
    /// Match-text exclusion.
    pub exclude: LazyRegex,
    /// File rules: what the content must match.
    pub content: LazyRegex,
    /// File rules: what the content must not match.
    pub content_exclude: LazyRegex,
    /// Near rules: the token's shape and reach.
    pub shape: Option<super::near::Shape>,
    /// The rule's `confidence`, or the default for its kind and family.
    pub confidence: Confidence,
}

fn build_pattern(source: &str) -> Result<(Regex, usize), regex::Error> {
    let regex = RegexBuilder::new(source).size_limit(16 << 20).build()?;
    let group = regex
        .capture_names()
        .position(|n| n == Some("secret"))
        .unwrap_or(0);
    Ok((regex, group))
}

impl Rule {
    /// Compiles a rule now; errors name it (for rules from user configuration).
    pub fn compile(spec: RuleSpec) -> anyhow::Result<Rule> {
        let label = format!("rule `{}`", spec.id);
        Self::compile_as(spec, label)
    }

    /// Compiles a rule now; errors name it as `label` (a custom rule's id comes from the
    /// configuration file and is not quoted: "custom rule 2").
    fn compile_as(spec: RuleSpec, label: String) -> anyhow::Result<Rule> {
        let rule = Self::prepare(spec, label.clone())?;
        rule.compile_filters()
            .map_err(|e| anyhow!(e))
            .with_context(|| label.clone())?;
        if rule.spec.kind == RuleKind::Text {
            let pattern = build_pattern(&rule.spec.regex)
                .map_err(|e| anyhow!("invalid regex: {}", one_line(&e)))
                .with_context(|| label.clone())?;
            let _ = rule.pattern.set(Some(pattern));
        }
        Ok(rule)
    }

    /// Prepares a rule whose regex is compiled on first use (the built-in rules, whose
    /// regexes the test suite compiles).
    pub fn deferred(spec: RuleSpec) -> anyhow::Result<Rule> {
        let label = format!("rule `{}`", spec.id);
        Self::prepare(spec, label)
    }

    fn prepare(spec: RuleSpec, label: String) -> anyhow::Result<Rule> {
        let context = || label.clone();
        check_fields(&spec).with_context(context)?;
        // Matches stay within the line of their keyword unless the rule is about blocks
        // that span lines (private keys) or says so with `\n` or `(?s)`.
        let multiline = spec.family == "private-keys"
            || spec.regex.contains("\\n")
            || spec.regex.contains("(?s");
        Ok(Rule {
            path: LazyRegex::new(&spec.path),
            path_exclude: LazyRegex::new(&spec.path_exclude),
            exclude: LazyRegex::new(&spec.exclude),
            content: LazyRegex::new(&spec.content),
            content_exclude: LazyRegex::new(&spec.content_exclude),
            shape: match spec.kind {
                RuleKind::Near => Some(super::near::Shape::from_spec(&spec).with_context(context)?),
                _ => None,
            },
            pattern: OnceLock::new(),
            multiline,
            confidence: spec
                .confidence
                .unwrap_or_else(|| Confidence::default_for(spec.kind, &spec.family)),
            spec,
        })
    }

    /// Compiles the rule's path, exclude and content regexes now: errors name the field.
    fn compile_filters(&self) -> Result<(), String> {
        for (what, lazy) in [
            ("path", &self.path),
            ("path", &self.path_exclude),
            ("exclude", &self.exclude),
            ("content", &self.content),
            ("content", &self.content_exclude),
        ] {
            lazy.compile()
                .map_err(|e| format!("invalid {what} regex: {}", one_line(&e)))?;
        }
        Ok(())
    }

    /// The compiled regex and its `secret` group index; None if the regex is invalid
    /// (reported once).
    pub fn pattern(&self) -> Option<&(Regex, usize)> {
        self.pattern
            .get_or_init(|| match build_pattern(&self.spec.regex) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!(
                        "envshim: warning: rule `{}` is skipped: {}",
                        self.spec.id,
                        one_line(&e)
                    );
                    None
                }
            })
            .as_ref()
    }

    /// Whether the rule applies to a file at `path` ('/'-separated).
    pub fn applies_to(&self, path: &str) -> bool {
        self.path
            .get(&self.spec.id)
            .is_none_or(|r| r.is_match(path.as_bytes()))
            && !self
                .path_exclude
                .get(&self.spec.id)
                .is_some_and(|r| r.is_match(path.as_bytes()))
    }

    /// How far past a keyword hit a match may extend.
    pub fn window(&self) -> usize {
        if self.multiline {
            MULTILINE_WINDOW
        } else {
            0
        }
    }
}

/// A rule's optional regex (path, exclude, content), compiled on first use: a scan pays
/// only for the rules it meets. (A custom rule's are compiled at load, so that errors
/// show then; the built-ins' are checked by the test suite.)
#[derive(Debug)]
pub struct LazyRegex {
    source: Option<String>,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(source: &Option<String>) -> LazyRegex {
        LazyRegex {
            source: source.clone(),
            compiled: OnceLock::new(),
        }
    }

    /// Whether the rule has this regex.
    pub fn is_some(&self) -> bool {
        self.source.is_some()
    }

    /// Compiles it now (if not yet), returning the error.
    fn compile(&self) -> Result<(), regex::Error> {
        let Some(source) = &self.source else {
            return Ok(());
        };
        if self.compiled.get().is_none() {
            let regex = Regex::new(source)?;
            let _ = self.compiled.set(Some(regex));
        }
        Ok(())
    }

    /// The compiled regex, if the rule has one; an invalid one (a built-in rule the
    /// tests would have caught) is reported once, for the rule `id`, and left out.
    pub fn get(&self, id: &str) -> Option<&Regex> {
        let source = self.source.as_ref()?;
        self.compiled
            .get_or_init(|| match Regex::new(source) {
                Ok(regex) => Some(regex),
                Err(e) => {
                    eprintln!(
                        "envshim: warning: a filter of rule `{id}` is skipped: {}",
                        one_line(&e)
                    );
                    None
                }
            })
            .as_ref()
    }
}

/// Keywords of a group of rules, in one case-insensitive automaton.
#[derive(Debug)]
pub struct Prefilter {
    /// The automaton over the keywords, built on a thread of its own: with a thousand
    /// rules it takes about 10 ms, which the scan's start (reading the configuration,
    /// running git, walking the tree) overlaps.
    automaton: Background<AhoCorasick>,
    /// For each keyword pattern, the rules (indexes into [`RuleSet::rules`]) it selects.
    pub rules: Vec<Vec<usize>>,
}

impl Prefilter {
    /// The automaton (waits for its thread the first time).
    pub fn automaton(&self) -> &AhoCorasick {
        self.automaton.get()
    }

    fn build(rules: &[Rule], members: impl Iterator<Item = usize>) -> anyhow::Result<Self> {
        let mut patterns: Vec<String> = Vec::new();
        let mut selects: Vec<Vec<usize>> = Vec::new();
        // Keyword -> its pattern number (a linear search was quadratic in the rules).
        let mut numbers: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for index in members {
            let rule = &rules[index];
            for keyword in rule
                .spec
                .keywords
                .iter()
                .flat_map(|k| spellings(k, rule.spec.kind == RuleKind::Near))
            {
                let keyword = keyword.to_ascii_lowercase();
                match numbers.get(&keyword) {
                    Some(&at) => selects[at].push(index),
                    None => {
                        numbers.insert(keyword.clone(), patterns.len());
                        patterns.push(keyword);
                        selects.push(vec![index]);
                    }
                }
            }
        }
        // The patterns are checked literals: building cannot fail but for size, which
        // a thousand rules are far from; a failure is reported at first use.
        let automaton = Background::spawn(move || {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                .build(&patterns)
                .expect("the keyword prefilter builds")
        });
        Ok(Prefilter {
            automaton,
            rules: selects,
        })
    }
}

/// The spellings a keyword is searched in. A near rule's compound keyword is a name
/// that code writes in many styles: `spotify_client_secret` is also
/// `spotifyClientSecret`, `SPOTIFY-CLIENT-SECRET` and `spotify.client.secret` (the
/// search ignores case).
fn spellings(keyword: &str, near: bool) -> Vec<String> {
    let mut all = vec![keyword.to_string()];
    if near && keyword.contains('_') {
        for with in ["", "-", "."] {
            all.push(keyword.replace('_', with));
        }
    }
    all
}

/// A value computed on a thread of its own, waited for at first use.
pub struct Background<T> {
    value: OnceLock<T>,
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<T>>>,
}

impl<T: Send + 'static> Background<T> {
    /// Starts computing `f()`; if no thread can be started, computes it now.
    pub fn spawn<F: FnOnce() -> T + Send + 'static>(f: F) -> Self {
        let job = std::sync::Arc::new(std::sync::Mutex::new(Some(f)));
        let theirs = std::sync::Arc::clone(&job);
        let thread = std::thread::Builder::new()
            .name("prefilter".into())
            .spawn(move || {
                let f = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
                f.expect("the job runs once")()
            })
            .ok();
        let value = OnceLock::new();
        if thread.is_none() {
            let f = job.lock().unwrap_or_else(|e| e.into_inner()).take();
            let _ = value.set(f.expect("the thread did not start")());
        }
        Background {
            value,
            thread: std::sync::Mutex::new(thread),
        }
    }

    /// The value, once computed.
    pub fn get(&self) -> &T {
        self.value.get_or_init(|| {
            let thread = self
                .thread
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("computed or being computed");
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl<T> std::fmt::Debug for Background<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background")
    }
}

/// All rules, with the keyword automata that select which to run.
#[derive(Debug)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
    /// Keywords of the text rules that apply to every file.
    pub everywhere: Prefilter,
    /// Keywords of the text rules restricted to some paths (dotenv files): searched only
    /// in files where one of those rules applies, so that their broad keywords cost
    /// nothing elsewhere.
    pub restricted: Prefilter,
    /// The file rules (indexes into `rules`).
    pub files: Vec<usize>,
    /// The known-values rule, unless disabled.
    pub known: Option<usize>,
}

impl RuleSet {
    /// The built-in rules plus `extra`, minus the ids in `disabled`.
    pub fn load(extra: Vec<RuleSpec>, disabled: &[String]) -> anyhow::Result<RuleSet> {
        let builtin = builtin_specs()?;
        let known: HashSet<&str> = builtin
            .iter()
            .chain(extra.iter())
            .map(|r| r.id.as_str())
            .collect();
        // Ids from the configuration file are not quoted (a token pasted as an id would be
        // printed); entries are named by number.
        for (n, id) in disabled.iter().enumerate() {
            if !known.contains(id.as_str()) {
                bail!("entry {} of `disable` names no rule", n + 1);
            }
        }
        if let Some(n) = extra.iter().position(|r| r.kind == RuleKind::KnownValues) {
            bail!(
                "custom rule {}: the known-values rule is built in (`known-secret`); a custom rule is a text or a file rule",
                n + 1
            );
        }
        let builtin_ids: HashSet<String> = builtin.iter().map(|r| r.id.clone()).collect();
        let mut seen = HashSet::new();
        let mut rules = Vec::new();
        let builtin_count = builtin.len();
        for (index, spec) in builtin.into_iter().chain(extra).enumerate() {
            if !seen.insert(spec.id.clone()) {
                if index < builtin_count {
                    bail!("the built-in rule `{}` is defined twice", spec.id);
                }
                let n = index + 1 - builtin_count;
                if builtin_ids.contains(&spec.id) {
                    bail!(
                        "custom rule {n} has the id of the built-in rule `{}`; give it another id",
                        spec.id
                    );
                }
                bail!("custom rule {n} has the same id as another; give it another id");
            }
            if disabled.contains(&spec.id) {
                continue;
            }
            rules.push(if index < builtin_count {
                Rule::deferred(spec)?
            } else {
                let n = index + 1 - builtin_count;
                Rule::compile_as(spec, format!("custom rule {n}"))?
            });
        }
        Self::from_rules(rules)
    }

    /// Builds the prefilters over compiled rules.
    pub fn from_rules(rules: Vec<Rule>) -> anyhow::Result<RuleSet> {
        let of_kind = |kind: RuleKind| -> Vec<usize> {
            (0..rules.len())
                .filter(|&i| rules[i].spec.kind == kind)
                .collect()
        };
        let mut text = of_kind(RuleKind::Text);
        text.extend(of_kind(RuleKind::Near));
        text.sort_unstable();
        let (restricted, everywhere): (Vec<usize>, Vec<usize>) =
            text.into_iter().partition(|&i| rules[i].path.is_some());
        let everywhere = Prefilter::build(&rules, everywhere.into_iter())?;
        let restricted = Prefilter::build(&rules, restricted.into_iter())?;
        let files = of_kind(RuleKind::File);
        let known = match of_kind(RuleKind::KnownValues)[..] {
            [] => None,
            [one] => Some(one),
            _ => bail!("there can be only one known-values rule (`known-secret`)"),
        };
        Ok(RuleSet {
            rules,
            everywhere,
            restricted,
            files,
            known,
        })
    }

    /// True when any path-restricted text rule applies to `path`.
    pub fn any_restricted_applies(&self, path: &str) -> bool {
        self.rules.iter().any(|r| {
            matches!(r.spec.kind, RuleKind::Text | RuleKind::Near)
                && r.path.is_some()
                && r.applies_to(path)
        })
    }

    /// The known-values rule, unless it is disabled.
    pub fn known_rule(&self) -> Option<&Rule> {
        self.known.map(|i| &self.rules[i])
    }
}

/// Each kind of rule has its own fields; a field of another kind is a mistake (a file
/// rule with keywords would silently never use them).
fn check_fields(spec: &RuleSpec) -> anyhow::Result<()> {
    let text_only = [
        ("keywords", !spec.keywords.is_empty()),
        ("regex", !spec.regex.is_empty()),
        ("entropy", spec.entropy.is_some()),
        ("exclude", spec.exclude.is_some()),
        ("allow", !spec.allow.is_empty()),
        ("validate", spec.validate.is_some()),
        ("keyword_boundary", spec.keyword_boundary),
        ("checksum", spec.checksum.is_some()),
    ];
    let file_only = [
        ("content", spec.content.is_some()),
        ("content_exclude", spec.content_exclude.is_some()),
    ];
    let path = [
        ("path", spec.path.is_some()),
        ("path_exclude", spec.path_exclude.is_some()),
    ];
    let near_only = [
        ("token", spec.token.is_some()),
        ("prefix", spec.prefix.is_some()),
        ("length", spec.length.is_some()),
        ("distance", spec.distance.is_some()),
    ];
    let refuse = |fields: &[(&str, bool)], kind: &str| -> anyhow::Result<()> {
        match fields.iter().find(|(_, set)| *set) {
            Some((field, _)) => bail!("`{field}` does not apply to a {kind} rule"),
            None => Ok(()),
        }
    };
    if spec
        .validate
        .as_deref()
        .is_some_and(|v| !super::validate::known(v))
    {
        bail!(
            "`validate` names no known check (one of: {})",
            super::validate::NAMES.join(", ")
        );
    }
    if let Some(name) = &spec.checksum {
        if !super::checksum::NAMES.contains(&name.as_str()) {
            bail!(
                "`checksum` must be one of {}",
                super::checksum::NAMES.join(", ")
            );
        }
    }
    match spec.kind {
        RuleKind::Text => {
            if spec.keywords.is_empty() || spec.keywords.iter().any(|k| k.is_empty()) {
                bail!("needs at least one non-empty keyword");
            }
            if spec.regex.is_empty() {
                bail!("needs a regex");
            }
            refuse(&near_only, "text")?;
            refuse(&file_only, "text")
        }
        RuleKind::Near => {
            if spec.keywords.is_empty() || spec.keywords.iter().any(|k| k.len() < 3) {
                bail!("needs at least one keyword, each of three or more characters");
            }
            refuse(
                &[
                    ("regex", !spec.regex.is_empty()),
                    ("validate", spec.validate.is_some()),
                    ("keyword_boundary", spec.keyword_boundary),
                ],
                "near",
            )?;
            refuse(&file_only, "near")
        }
        RuleKind::File => {
            if spec.path.is_none() {
                bail!("a file rule needs a `path` regex naming its files");
            }
            refuse(&near_only, "file")?;
            refuse(&text_only, "file")
        }
        RuleKind::KnownValues => {
            refuse(&text_only, "known-values")?;
            refuse(&near_only, "known-values")?;
            refuse(&file_only, "known-values")?;
            refuse(&path, "known-values")
        }
    }
}

/// A regex error (which spans several lines, with a caret diagram) on one line.
pub fn one_line(err: &regex::Error) -> String {
    err.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Shannon entropy in bits per character.
pub fn entropy(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0usize;
    for c in text.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// Substrings that mark a value as a placeholder rather than a secret (compared in
/// lowercase). Each is unlikely in a generated token: four or more characters of a
/// word, or a character that token alphabets do not use.
const PLACEHOLDERS: &[&str] = &[
    "xxxx",
    "example",
    "changeme",
    "change_me",
    "replaceme",
    "replace_me",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "placeholder",
    "dummy",
    "redacted",
    "insert_",
    "enter_your",
    "_here",
    "-here",
    "not_a_real",
    "notreal",
    "abc123",
    "123abc",
    "abcd1234",
    "<",
    ">",
    "${",
    "$(",
    "{{",
    "}}",
    "%s",
    "%(",
    "****",
    "0000000000",
];

/// Key values that providers publish in their documentation as examples: public, and
/// found in every copy of the docs and the SDKs' READMEs. (Values with `EXAMPLE` in them,
/// such as AWS's, are placeholders already; they are listed for the record.)
pub const DOCUMENTED_EXAMPLES: &[(&str, &str)] = &[
    // AWS IAM User Guide, "Manage access keys for IAM users" (access key id and secret).
    (concat!("AKIA", "IOSFODNN7EXAMPLE"), "AWS IAM User Guide"),
    (
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS IAM User Guide",
    ),
    (concat!("AKIA", "I44QH8DHBEXAMPLE"), "AWS IAM User Guide"),
    (
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "AWS IAM User Guide",
    ),
    // Stripe API reference, "Authentication": the sample test key in every example
    // (the current one, and the one the reference showed for years).
    (
        concat!("sk_", "test_BQokikJOvBiI2HlWgH4olfQ2"),
        "Stripe API reference",
    ),
    (
        concat!("sk_", "test_4eC39HqLyjWDarjtT1zdp7dc"),
        "Stripe API reference (earlier)",
    ),
    // Azure Storage emulator (Azurite): the well-known development account key.
    (
        concat!(
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq",
            "/K1SZFPTOtr/KBHBeksoGMGw=="
        ),
        "Microsoft Learn, Azurite emulator",
    ),
    // jwt.io: the debugger's default token (HS256, "John Doe").
    (
        concat!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
            ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        ),
        "jwt.io debugger",
    ),
];

/// HTTP header names that carry credentials: the name, not a value.
const HEADER_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "x-api-key",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-xsrf-token",
    "x-amz-security-token",
];

/// For generic rules: true when a value looks like a generated secret rather than a
/// word, a constant name or an identifier — it has a digit or a symbol besides `_-.`,
/// and a letter.
pub fn looks_random(secret: &str) -> bool {
    let letter = secret.chars().any(|c| c.is_alphabetic());
    let digit_or_symbol = secret
        .chars()
        .any(|c| c.is_ascii_digit() || (c.is_ascii_punctuation() && !"_-.".contains(c)));
    letter && digit_or_symbol
}

/// True when a value is a placeholder or an example, not a secret: a placeholder word
/// (`changeme`, `your_api_key`, `xxxx`, `abc123`), a template or format slot (`<token>`,
/// `${VAR}`, `$(cmd)`, `%s`, `%(name)s`, `{0}`, `{{ .Values.x }}`), a bare variable
/// reference (`$API_KEY`, `%API_KEY%`), a run of one character or of consecutive ones
/// (`aaaaaaa`, `abcdef`, `123456`, `0123456789abcdef`), a short pattern repeated
/// (`ab12ab12ab12`), a key a provider documents as its example, or an HTTP header name.
pub fn is_placeholder(secret: &str) -> bool {
    let lower = secret.to_ascii_lowercase();
    PLACEHOLDERS.iter().any(|p| lower.contains(p))
        || DOCUMENTED_EXAMPLES.iter().any(|(v, _)| *v == secret)
        || HEADER_NAMES.contains(&lower.as_str())
        || format_slot(secret)
        || variable_reference(secret)
        || runs(secret)
        || repeated_pattern(secret)
}

/// `{0}`, `{1}`, `{}`, `{name}` in the value: a format string's slot.
fn format_slot(secret: &str) -> bool {
    let bytes = secret.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'{'
            && bytes[i + 1..]
                .iter()
                .position(|&c| c == b'}')
                .is_some_and(|len| {
                    bytes[i + 1..i + 1 + len]
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                })
    })
}

/// The whole value is `$NAME`, `%NAME%` or `NAME` in shell, batch or make syntax: a
/// reference to a variable.
fn variable_reference(secret: &str) -> bool {
    let name = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    secret.strip_prefix('$').is_some_and(name)
        || secret
            .strip_prefix('%')
            .and_then(|s| s.strip_suffix('%'))
            .is_some_and(name)
}

/// The longest value checked for runs and repeats: what someone types as a placeholder.
const MAX_TYPED: usize = 128;

/// Six or more consecutive letters or digits in order (`abcdef`, `123456`, `fedcba`), or
/// seven of the same making a third of the value: a generated token of any alphabet holds such a run about once in
/// a million (hex: 32 characters × 16⁻⁵), a typed-in placeholder nearly always.
fn runs(secret: &str) -> bool {
    // Long values (key blocks, JWTs) are not typed in; an OpenSSH key's base64 has runs
    // of `A` from its zero bytes.
    if secret.len() > MAX_TYPED || secret.contains(char::is_whitespace) {
        return false;
    }
    let bytes: Vec<u8> = secret.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let (mut up, mut down, mut same) = (1, 1, 1);
    for pair in bytes.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let alnum = a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric();
        let class = |c: u8| c.is_ascii_digit();
        up = if alnum && class(a) == class(b) && b == a + 1 {
            up + 1
        } else {
            1
        };
        down = if alnum && class(a) == class(b) && a == b + 1 {
            down + 1
        } else {
            1
        };
        same = if alnum && a == b { same + 1 } else { 1 };
        // A repeated character is a placeholder when it is a third of the value: real
        // formats have long runs of `A` from zero bytes (X bearer tokens, Azure DevOps
        // PATs) inside much longer values.
        if up >= 6 || down >= 6 || (same >= 7 && same * 3 >= bytes.len()) {
            return true;
        }
    }
    // `0123456789abcdef`: the digits then the letters.
    bytes.windows(16).any(|w| w == b"0123456789abcdef")
}

/// The whole value is one unit of at most 8 characters repeated three or more times
/// (`ab12ab12ab12`, `1a2b1a2b1a2b1a2b`).
fn repeated_pattern(secret: &str) -> bool {
    if secret.len() > MAX_TYPED {
        return false;
    }
    let bytes = secret.as_bytes();
    (1..=8).any(|unit| {
        bytes.len() >= unit * 3
            && bytes.len().is_multiple_of(unit)
            && bytes.chunks(unit).all(|c| c == &bytes[..unit])
    })
}

/// Words before a value that say it is a hash or an object id (a commit, a checksum, an
/// SRI `integrity`), not a secret.
const HASH_WORDS: &[&str] = &[
    "sha",
    "sha1",
    "sha256",
    "sha384",
    "sha512",
    "md5",
    "hash",
    "digest",
    "checksum",
    "integrity",
    "commit",
    "rev",
    "revision",
    "oid",
    "etag",
    "parent",
    "tree",
    "object",
];

/// True when the value at `start..end` of `bytes` is a hash rather than a secret: it
/// follows an algorithm prefix (`sha256-…`, `sha512=…`, `sha256:…`, `md5=…`; the value
/// itself may start with one, as an SRI `integrity` does), or it is hexadecimal of a
/// digest's length (32, 40 or 64) and a hash word (`commit`, `sha`, `rev`, `integrity`,
/// `checksum`, …) comes just before it on its line.
pub fn is_hash(bytes: &[u8], start: usize, end: usize) -> bool {
    let value = &bytes[start..end];
    let lower_value = value.to_ascii_lowercase();
    let algorithms: &[&[u8]] = &[b"sha1", b"sha224", b"sha256", b"sha384", b"sha512", b"md5"];
    if algorithms.iter().any(|a| {
        lower_value.starts_with(a) && matches!(lower_value.get(a.len()), Some(b'-' | b'=' | b':'))
    }) {
        return true;
    }
    // At most 48 bytes back on the same line (a search back to the line's start made
    // minified files quadratic).
    let from = start.saturating_sub(48);
    let before = match memchr::memrchr(b'\n', &bytes[from..start]) {
        Some(i) => &bytes[from + i + 1..start],
        None => &bytes[from..start],
    };
    let lower_before = before.to_ascii_lowercase();
    if let Some(sep @ (b'-' | b'=' | b':')) = lower_before.last().copied() {
        let head = &lower_before[..lower_before.len() - 1];
        if algorithms.iter().any(|a| {
            head.ends_with(a)
                && !head[..head.len() - a.len()]
                    .last()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        }) && (sep != b':' || value.iter().all(u8::is_ascii_hexdigit))
        {
            return true;
        }
    }
    let hex = value.iter().all(u8::is_ascii_hexdigit);
    if !(hex && matches!(value.len(), 32 | 40 | 64)) {
        return false;
    }
    // The words of the value's own key (`"commit": "…"`, `--rev=…`, `sha …`), not of
    // the whole line (`"commit": "main", "datadog_api_key": "…"` is a key): split at
    // non-letters and at camelCase humps.
    let quote = |b: &u8| b.is_ascii_whitespace() || b"\"'`([{".contains(b);
    let mut end_of_key = before.len();
    while end_of_key > 0 && quote(&before[end_of_key - 1]) {
        end_of_key -= 1;
    }
    if end_of_key > 0 && b":=".contains(&before[end_of_key - 1]) {
        end_of_key -= 1;
        while end_of_key > 0 && quote(&before[end_of_key - 1]) {
            end_of_key -= 1;
        }
    }
    let key_start = before[..end_of_key]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || b"_-".contains(b)))
        .map_or(0, |i| i + 1);
    let key = &before[key_start..end_of_key];
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &b) in key.iter().enumerate() {
        let hump = b.is_ascii_uppercase() && i > 0 && key[i - 1].is_ascii_lowercase();
        if (!b.is_ascii_alphanumeric() || hump) && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if b.is_ascii_alphanumeric() {
            word.push(b.to_ascii_lowercase() as char);
        }
    }
    words.push(word);
    words.iter().any(|w| HASH_WORDS.contains(&w.as_str()))
}

/// True when `start..end` of `bytes` is a UUID or a part of one (`8-4-4-4-12` hex
/// digits): an identifier, unless the rule calls for a UUID.
pub fn in_uuid(bytes: &[u8], start: usize, end: usize) -> bool {
    let lo = start.saturating_sub(36);
    let hi = (end + 36).min(bytes.len());
    (lo..=start).any(|s| {
        s + 36 <= hi
            && s + 36 >= end
            && !bytes[..s]
                .last()
                .is_some_and(|b| b.is_ascii_hexdigit() || *b == b'-')
            && !bytes
                .get(s + 36)
                .is_some_and(|b| b.is_ascii_hexdigit() || *b == b'-')
            && bytes[s..s + 36].iter().enumerate().all(|(i, &b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::engine::Matcher;
    use crate::scan::{Finding, Stats};

    /// Where to pretend an example line comes from, so path-restricted rules apply.
    fn example_path(rule: &Rule) -> &'static str {
        if rule.path.is_some() {
            "config/.env"
        } else {
            "src/example.txt"
        }
    }

    fn scan(set: &RuleSet, path: &str, text: &str) -> Vec<Finding> {
        let matcher = Matcher {
            rules: set,
            known: None,
            allow_secrets: &[],
        };
        let mut out = Vec::new();
        matcher.scan(path, text.as_bytes(), &Stats::default(), &mut out);
        out
    }

    /// The rule ids that `set` reports for one example.
    fn found(set: &RuleSet, rule: &Rule, example: &Example) -> Result<Vec<String>, String> {
        let stats = Stats::default();
        let mut out = Vec::new();
        match (rule.spec.kind, example) {
            (RuleKind::Text | RuleKind::Near, Example::Line(line)) => {
                out = scan(set, example_path(rule), line)
            }
            (RuleKind::File, Example::File(file)) => {
                let matcher = Matcher {
                    rules: set,
                    known: None,
                    allow_secrets: &[],
                };
                matcher.file_findings(&file.path, file.content.as_bytes(), true, &stats, &mut out);
            }
            (RuleKind::KnownValues, Example::Known(known)) => {
                let quoted = format!("K='{}'\n", known.value);
                let doc = crate::secrets::dotenv::parse(&quoted).map_err(|e| e.to_string())?;
                let values = crate::scan::known::from_document(&doc).map_err(|e| e.to_string())?;
                let matcher = Matcher {
                    rules: set,
                    known: values.as_ref(),
                    allow_secrets: &[],
                };
                matcher.scan(
                    "src/example.txt",
                    known.content.as_bytes(),
                    &stats,
                    &mut out,
                );
            }
            _ => return Err("an example of another kind of rule".to_string()),
        }
        Ok(out.into_iter().map(|f| f.rule).collect())
    }

    #[test]
    fn every_builtin_rule_finds_its_positives_and_not_its_negatives() {
        let mut failures = Vec::new();
        for spec in builtin_specs_with_examples().unwrap() {
            let id = spec.id.clone();
            if spec.positive.len() < 2 || spec.negative.len() < 2 {
                failures.push(format!(
                    "{id}: needs at least two positive and two negative examples"
                ));
            }
            // Each rule alone: where rules overlap, the report keeps only the most
            // specific, which is tested separately.
            let rule = Rule::compile(spec.clone()).expect("built-in rule compiles");
            let set = RuleSet::from_rules(vec![Rule::compile(spec.clone()).unwrap()]).unwrap();
            for (expected, examples) in [(true, &spec.positive), (false, &spec.negative)] {
                for example in examples {
                    match found(&set, &rule, example) {
                        Ok(ids) if ids.contains(&id) == expected => {}
                        Ok(_) if expected => {
                            failures.push(format!("{id}: positive not found: {example:?}"))
                        }
                        Ok(_) => failures.push(format!("{id}: negative found: {example:?}")),
                        Err(e) => failures.push(format!("{id}: {e}: {example:?}")),
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} problems:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn a_near_rule_s_compound_keyword_is_found_in_every_code_style() {
        let spec = RuleSpec {
            id: "spotify-client-secret".into(),
            description: "d".into(),
            kind: RuleKind::Near,
            keywords: vec!["spotify_client_secret".into()],
            token: Some("hex".into()),
            length: Some([32, 32]),
            ..RuleSpec::default()
        };
        let set = RuleSet::from_rules(vec![Rule::compile(spec).unwrap()]).unwrap();
        let token = "7c1f3a9e5b2d4f6a8c0e1b3d5f7a9c2e";
        for line in [
            format!("SPOTIFY_CLIENT_SECRET={token}"),
            format!("spotifyClientSecret: '{token}'"),
            format!("--spotify-client-secret {token}"),
            format!("spotify.client.secret = {token}"),
        ] {
            assert_eq!(scan(&set, "a.txt", &line).len(), 1, "{line}");
        }
        assert!(scan(&set, "a.txt", &format!("spotify = {token}")).is_empty());
    }

    #[test]
    fn a_checksum_that_holds_raises_confidence_and_one_that_fails_hides_nothing() {
        let spec = RuleSpec {
            id: "acme-token".into(),
            description: "d".into(),
            keywords: vec!["ghp_".into()],
            regex: "(?P<secret>ghp_[A-Za-z0-9]{36})".into(),
            confidence: Some(Confidence::Medium),
            checksum: Some("github-crc32".into()),
            ..RuleSpec::default()
        };
        let set = RuleSet::from_rules(vec![Rule::compile(spec).unwrap()]).unwrap();
        let valid =
            crate::scan::checksum::tests::with_crc("ghp_", "Xk29fLqW0pZ7vRt3Nm8cBa1YhD5sJe");
        let mut broken = valid.clone().into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        let broken = String::from_utf8(broken).unwrap();
        let confidence = |token: &str| -> Vec<Confidence> {
            scan(&set, "a.txt", &format!("t = {token}"))
                .iter()
                .map(|f| f.confidence)
                .collect()
        };
        assert_eq!(confidence(&valid), vec![Confidence::High]);
        assert_eq!(confidence(&broken), vec![Confidence::Medium]);
    }

    /// Coverage is counted by distinct provider: a provider with a rule for its token's
    /// literal prefix (a text rule, or a near rule with a `prefix`), and a provider whose
    /// keys are found only as a token of their shape next to its name.
    #[test]
    fn coverage_is_counted_by_provider() {
        let specs = builtin_specs().unwrap();
        let not_provider_families = [
            "generic",
            "dotenv",
            "connection-strings",
            "structured",
            "private-keys",
        ];
        let mut prefix = HashSet::new();
        let mut near = HashSet::new();
        for spec in &specs {
            let Some(provider) = spec.provider.as_deref() else {
                continue;
            };
            match spec.kind {
                RuleKind::Text if !not_provider_families.contains(&spec.family.as_str()) => {
                    prefix.insert(provider);
                }
                RuleKind::Near if spec.prefix.is_some() => {
                    prefix.insert(provider);
                }
                RuleKind::Near => {
                    near.insert(provider);
                }
                _ => {}
            }
        }
        let all: HashSet<&str> = specs.iter().filter_map(|s| s.provider.as_deref()).collect();
        assert!(prefix.len() >= 250, "{} prefix providers", prefix.len());
        assert!(near.len() >= 600, "{} near providers", near.len());
        assert!(all.len() >= 850, "{} providers", all.len());
    }

    #[test]
    fn a_low_confidence_rule_never_shadows_a_higher_one() {
        // A committed custom rule over the same span, below the reporting floor, must
        // not take the place of the built-in finding.
        let custom = RuleSpec {
            id: "audit-line".into(),
            description: "audit".into(),
            keywords: vec!["ghp_".into()],
            regex: r"(?P<secret>\S*ghp_\S*)".into(),
            confidence: Some(Confidence::Low),
            ..RuleSpec::default()
        };
        let set = RuleSet::load(vec![custom], &[]).unwrap();
        let token =
            crate::scan::checksum::tests::with_crc("ghp_", "Xk29fLqW0pZ7vRt3Nm8cBa1YhD5sJe");
        let found = scan(&set, "deploy.env", &format!("token:{token}\n"));
        let high: Vec<&str> = found
            .iter()
            .filter(|f| f.confidence == Confidence::High)
            .map(|f| f.rule.as_str())
            .collect();
        assert_eq!(high, vec!["github-pat-classic"], "{found:?}");
    }

    #[test]
    fn dotenv_files_are_recognised_in_any_case() {
        let set = RuleSet::load(Vec::new(), &[]).unwrap();
        for path in ["config/.env", ".ENV", "app/.Env.Production"] {
            assert!(set.any_restricted_applies(path), "{path}");
        }
        for path in ["config/.env.example", ".ENV.EXAMPLE", "env.txt"] {
            assert!(!set.any_restricted_applies(path), "{path}");
        }
    }

    #[test]
    fn the_most_specific_rule_wins_where_rules_overlap() {
        let set = RuleSet::load(Vec::new(), &[]).unwrap();
        let token = format!("{}{}", "ghp_", "Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru");
        let found = scan(&set, "config/.env", &format!("GITHUB_TOKEN=\"{token}\"\n"));
        let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, vec!["github-pat-classic"]);
    }

    #[test]
    fn builtin_rules_are_well_formed() {
        let mut ids = HashSet::new();
        for rule in &builtin_specs_with_examples().unwrap() {
            assert!(ids.insert(rule.id.clone()), "duplicate id {}", rule.id);
            if rule.kind != RuleKind::Text {
                Rule::compile(rule.clone()).unwrap();
                if rule.kind != RuleKind::Near {
                    continue;
                }
            }
            assert!(
                rule.keywords
                    .iter()
                    .all(|k| !k.is_empty() && *k == k.to_ascii_lowercase()),
                "{}: keywords must be lowercase",
                rule.id
            );
            let compiled = Rule::compile(rule.clone()).unwrap();
            if rule.kind == RuleKind::Near {
                continue;
            }
            assert!(
                compiled
                    .pattern()
                    .is_some_and(|(r, _)| r.capture_names().any(|n| n == Some("secret"))),
                "{}: no `secret` group",
                rule.id
            );
        }
    }

    /// Words of ordinary code and prose: a keyword that is one of them (punctuation
    /// trimmed) selects rules on ordinary lines.
    const COMMON_WORDS: &[&str] = &[
        "task", "disk", "ask", "desk", "key", "keys", "token", "tokens", "secret", "secrets",
        "pass", "password", "passwd", "pwd", "auth", "api", "sdk", "app", "apps", "bearer",
        "private", "public", "access", "client", "user", "live", "test", "prod", "data", "code",
        "http", "https", "www", "com", "org", "net", "msg", "env", "var", "let", "const", "def",
        "func", "import", "return", "string", "value", "name", "type", "admin", "config", "id",
        "pk", "sk", "mob", "ops", "dev", "bot", "cli", "server", "service", "session", "account",
        "project", "login", "user_", "version",
    ];

    /// Whether a keyword is rare in ordinary code: four or more characters and not a
    /// common word; or three with a `_`, `-` or `~` that words do not have (`hf_`, `8q~`); a
    /// short keyword with a `.` only where it must start a word (`sg.` is in `msg.`).
    fn distinctive(keyword: &str, boundary: bool) -> bool {
        let trimmed = keyword.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if COMMON_WORDS.contains(&trimmed) {
            return false;
        }
        if keyword.len() >= 4 {
            return true;
        }
        keyword.len() == 3
            && (keyword.contains(['_', '-', '~']) || (boundary && keyword.contains('.')))
    }

    #[test]
    fn builtin_keywords_are_distinctive() {
        // The generic, dotenv and connection-string families select on `=`, `://` and
        // key names by design; they are reviewed separately.
        let exempt = ["generic", "dotenv", "connection-strings"];
        let mut failures = Vec::new();
        for rule in builtin_specs().unwrap() {
            if exempt.contains(&rule.family.as_str()) {
                continue;
            }
            for keyword in &rule.keywords {
                if !distinctive(keyword, rule.keyword_boundary) {
                    failures.push(format!("{}: `{keyword}`", rule.id));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "keywords that ordinary code contains:\n{}",
            failures.join("\n")
        );
        // The test itself tells the two apart.
        for bad in [
            "sk", "sg.", "scw", "cio", "oy2", "key-", "task", "pwd", "Token",
        ] {
            assert!(!distinctive(&bad.to_ascii_lowercase(), false), "{bad}");
        }
        for good in ["ghp_", "hf_", "r8_", "xoxb-", "sk_live_", "dp.pt."] {
            assert!(distinctive(good, false), "{good}");
        }
        assert!(distinctive("sg.", true));
    }

    #[test]
    fn rules_with_a_checksum_have_positives_whose_checksum_holds() {
        let mut with_checksum = 0;
        for spec in builtin_specs_with_examples().unwrap() {
            let Some(name) = spec.checksum.clone() else {
                continue;
            };
            with_checksum += 1;
            let rule = Rule::compile(spec.clone()).unwrap();
            let set = RuleSet::from_rules(vec![Rule::compile(spec.clone()).unwrap()]).unwrap();
            let mut holding = 0;
            for example in &spec.positive {
                let Example::Line(line) = example else {
                    continue;
                };
                let (regex, group) = rule.pattern().unwrap();
                for caps in regex.captures_iter(line.as_bytes()) {
                    let secret = std::str::from_utf8(&caps[*group]).unwrap();
                    if crate::scan::checksum::holds(&name, secret) {
                        holding += 1;
                    }
                }
                // A checksum never hides a finding: every positive is found either way.
                assert!(
                    !scan(&set, "src/example.txt", line).is_empty(),
                    "{}",
                    spec.id
                );
            }
            assert!(
                holding >= 2,
                "{}: {holding} positives with a valid checksum",
                spec.id
            );
        }
        assert!(with_checksum >= 7, "{with_checksum}");
    }

    #[test]
    fn a_boundary_keyword_counts_only_where_it_starts_a_word() {
        let spec = RuleSpec {
            id: "acme-dot-token".into(),
            description: "d".into(),
            keywords: vec!["ac.".into()],
            keyword_boundary: true,
            regex: "(?P<secret>x?AC\\.[0-9a-z]{12})".into(),
            ..RuleSpec::default()
        };
        let token = format!("{}{}", "AC.", "k3j5h6g7f8d9");
        let set = RuleSet::from_rules(vec![Rule::compile(spec.clone()).unwrap()]).unwrap();
        assert_eq!(scan(&set, "a.txt", &format!("t = {token}")).len(), 1);
        assert_eq!(scan(&set, "a.txt", &format!("t=\"{token}\"")).len(), 1);
        // After a letter the keyword does not select the rule: its regex does not run on
        // that line (here a regex that would take the letter into the secret).
        assert!(scan(&set, "a.txt", &format!("t = x{token}")).is_empty());
        let mut plain = spec;
        plain.keyword_boundary = false;
        let set = RuleSet::from_rules(vec![Rule::compile(plain).unwrap()]).unwrap();
        assert_eq!(scan(&set, "a.txt", &format!("t = x{token}")).len(), 1);
    }

    #[test]
    fn unknown_checksums_and_misplaced_fields_are_refused() {
        let rule = |toml: &str| -> anyhow::Result<RuleSet> {
            let file: RuleFile = toml::from_str(toml)?;
            RuleSet::load(file.rule, &[])
        };
        let base = "[[rule]]\nid = \"mine\"\ndescription = \"d\"\nkeywords = ['acme_']\nregex = '(?P<secret>acme_[0-9a-z]{20})'\n";
        assert!(rule(&format!("{base}checksum = \"github-crc32\"\n")).is_ok());
        let err = rule(&format!("{base}checksum = \"crc64\"\n")).unwrap_err();
        assert!(
            format!("{err:#}").contains("`checksum` must be one of"),
            "{err:#}"
        );
        let err = rule(
            "[[rule]]\nid = \"f\"\ndescription = \"d\"\nkind = \"file\"\npath = 'x'\nchecksum = \"npm-crc32\"\n",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("`checksum` does not apply"),
            "{err:#}"
        );
    }

    #[test]
    fn user_file_rules_work_and_fields_of_another_kind_are_refused() {
        let stats = Stats::default();
        let rule = |toml: &str| -> anyhow::Result<RuleSet> {
            let file: RuleFile = toml::from_str(toml)?;
            RuleSet::load(file.rule, &[])
        };
        let set = rule(
            "[[rule]]\nid = \"kube-config\"\ndescription = \"A kubeconfig\"\nkind = \"file\"\n\
             path = '(^|/)kubeconfig$'\ncontent = 'client-key-data:'\n",
        )
        .unwrap();
        let matcher = Matcher {
            rules: &set,
            known: None,
            allow_secrets: &[],
        };
        let mut out = Vec::new();
        matcher.file_findings(
            "ops/kubeconfig",
            b"users:\n client-key-data: x\n",
            true,
            &stats,
            &mut out,
        );
        matcher.file_findings("ops/kubeconfig", b"clusters: []\n", true, &stats, &mut out);
        matcher.file_findings(
            "ops/kubeconfig.md",
            b"client-key-data:",
            true,
            &stats,
            &mut out,
        );
        let ids: Vec<&str> = out.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, vec!["kube-config"]);
        assert_eq!(out[0].line, 1);
        for (toml, problem) in [
            (
                "kind = \"file\"\npath = 'x'\nkeywords = ['x']",
                "`keywords` does not apply",
            ),
            ("kind = \"file\"\ncontent = 'x'", "needs a `path`"),
            (
                "keywords = ['x']\nregex = 'x'\ncontent = 'x'",
                "`content` does not apply",
            ),
            ("kind = \"known-values\"", "built in"),
        ] {
            let err = rule(&format!(
                "[[rule]]\nid = \"mine\"\ndescription = \"d\"\n{toml}\n"
            ))
            .unwrap_err();
            let text = format!("{err:#}");
            // Named by number: the id comes from the configuration file.
            assert!(
                text.contains(problem) && text.contains("custom rule 1") && !text.contains("mine"),
                "{text}"
            );
        }
    }

    #[test]
    fn user_rules_extend_and_may_disable_but_not_shadow() {
        let custom = RuleSpec {
            id: "acme-token".into(),
            description: "ACME internal token".into(),
            family: "custom".into(),
            keywords: vec!["acme_".into()],
            regex: "(?P<secret>acme_[a-z0-9]{20})".into(),
            ..RuleSpec::default()
        };
        let builtins = RuleSet::load(Vec::new(), &[]).unwrap().rules.len();
        let set = RuleSet::load(vec![custom.clone()], &[]).unwrap();
        assert_eq!(set.rules.len(), builtins + 1);
        assert_eq!(
            scan(&set, "a.txt", "t = acme_k3j5h6g7f8d9s0a1q2w3").len(),
            1
        );
        let set = RuleSet::load(vec![custom.clone()], &["dotenv-plaintext-value".into()]).unwrap();
        assert_eq!(set.rules.len(), builtins);
        let mut shadow = custom.clone();
        shadow.id = "dotenv-plaintext-value".into();
        assert!(RuleSet::load(vec![shadow], &[]).is_err());
        assert!(RuleSet::load(vec![], &["no-such-rule".into()]).is_err());
        let mut bad = custom;
        bad.regex = "(?P<secret>[a-".into();
        let err = RuleSet::load(vec![bad], &[]).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("custom rule 1") && !text.contains("acme-token"),
            "{text}"
        );
    }

    /// Deterministic pseudo-random tokens (xorshift): the same on every run.
    fn random_tokens(alphabet: &[u8], length: usize, count: usize, seed: u64) -> Vec<String> {
        let mut state = seed;
        (0..count)
            .map(|_| {
                (0..length)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize] as char
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn placeholders_of_every_class_are_recognised() {
        let classes: &[(&str, &[&str])] = &[
            (
                "placeholder words",
                &[
                    "your_api_key",
                    "YOUR-TOKEN-HERE",
                    "changeme",
                    "replace_me_with_a_key",
                    "api_key_here",
                    "not_a_real_secret_9",
                    "dummy-token-1",
                ],
            ),
            (
                "abc123",
                &["abc123", "abc123def456", "tok_ABC123xyz9", "abcd1234"],
            ),
            (
                "xxxx",
                &["xxxxxxxxxxxxxxxx", "sk-XXXXXXXXXXXXXXXXXXXX", "AC_xxxx_1"],
            ),
            (
                "angle brackets",
                &["<token>", "<YOUR_API_KEY>", "Bearer <jwt>"],
            ),
            (
                "shell",
                &[
                    "${API_KEY}",
                    "${{ secrets.TOKEN }}",
                    "$(vault read -field=x k)",
                ],
            ),
            (
                "format slots",
                &["%s", "key-%s-9", "%(password)s", "{0}", "pw{}1", "{token}"],
            ),
            ("templates", &["{{ .Values.apiKey }}", "{{token}}"]),
            ("variables", &["$API_KEY", "$token_2", "%API_KEY%"]),
            (
                "runs",
                &[
                    "abcdefgh",
                    "ABCDEF12",
                    "pass123456",
                    "x9876543",
                    "0123456789abcdef",
                    "aaaaaaa1",
                    "k1-0000000",
                    "zyxwvu42",
                ],
            ),
            (
                "repeats",
                &["ab12ab12ab12", "1a2b1a2b1a2b1a2b", "Qx9Qx9Qx9Qx9"],
            ),
            (
                "documented examples",
                &[
                    concat!("AKIA", "IOSFODNN7EXAMPLE"),
                    concat!("wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYEXAMPLEKEY"),
                ],
            ),
            (
                "header names",
                &["X-Api-Key", "Authorization", "x-auth-token"],
            ),
        ];
        for (class, values) in classes {
            for value in *values {
                assert!(is_placeholder(value), "{class}: {value}");
            }
        }
        // Every documented example, with its source.
        for (value, source) in DOCUMENTED_EXAMPLES {
            assert!(is_placeholder(value) && !source.is_empty(), "{source}");
        }
    }

    #[test]
    fn realistic_random_tokens_are_not_placeholders() {
        // Tokens with `abc`, `123`, a short run, a doubled character, a `{` or `%`.
        for token in [
            "Qm7abcK2x123R9pL4tW8nZ3bY6c",
            "9f3a0c4e7b21d865f0a9c3e4b7d21f86",
            "wK8#p2!Lz9qXm4%Rt6",
            "aab3Fz9kQ2mPx7Lw",
            "p@ss{w0rd!9",
            "Tr0ub4dor&3",
        ] {
            assert!(!is_placeholder(token), "{token}");
        }
        let github = format!("{}{}", "ghp_", "Zq8rT1mWc4Lp0Vx7Hn2Kd9Bf6Sj3Ya5Ge8Ru");
        assert!(!is_placeholder(&github));
        let alphabets: [&[u8]; 4] = [
            b"0123456789abcdef",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        ];
        let mut flagged = Vec::new();
        for (n, alphabet) in alphabets.iter().enumerate() {
            for length in [20, 32, 40, 64] {
                for token in random_tokens(alphabet, length, 2000, 0x9e37_79b9 + n as u64) {
                    if is_placeholder(&token) {
                        flagged.push(token);
                    }
                }
            }
        }
        assert!(flagged.is_empty(), "{flagged:?}");
    }

    #[test]
    fn hashes_are_recognised_by_their_prefix_or_their_key() {
        let sri = "sha512-".to_string() + &"q3Jt9Xk2Lm8Vb4Nc7Rz1Wp5Ys0Hd6Fg2Te9Ua3Ko8".repeat(2);
        let hex40 = "3f9a0c4e7b21d865f0a9c3e4b7d21f8612ab34cd";
        let hex64 = format!("{hex40}0a9c3e4b7d21f8612ab34cd9");
        let cases = [
            (format!("\"integrity\": \"{sri}\""), sri.clone(), true),
            (
                "x.pyi,sha256=glc_FZMyib4OhW7RQ42vav9er5-jeLUo8K4wfDaFsu8,1208".to_string(),
                format!("{}{}", "glc_", "FZMyib4OhW7RQ42vav9er5-jeLUo8K4wfDaFsu8"),
                true,
            ),
            (format!("image@sha256:{hex64}"), hex64.clone(), true),
            (format!("commit = \"{hex40}\""), hex40.to_string(), true),
            (format!("  rev: {hex40}"), hex40.to_string(), true),
            (format!("lastCommitSha: {hex40}"), hex40.to_string(), true),
            (format!("checksum {hex64}"), hex64.clone(), true),
            // A key named for a provider, not a hash: a secret.
            (format!("pinata_secret = \"{hex64}\""), hex64.clone(), false),
            (format!("revolut_key: {hex40}"), hex40.to_string(), false),
            // A hash word elsewhere on the line is not this value's key.
            (
                format!("{{\"commit\": \"main\", \"datadog_api_key\": \"{hex40}\"}}"),
                hex40.to_string(),
                false,
            ),
            (
                format!("Object.assign(cfg, {{ datadogApiKey: \"{hex40}\" }});"),
                hex40.to_string(),
                false,
            ),
            (
                format!("parent.datadog_api_key = \"{hex40}\""),
                hex40.to_string(),
                false,
            ),
            // A hash word but not a digest's shape.
            (
                "commit_token = Qm7vK2xR9pL4tW8nZ3bY6c".to_string(),
                "Qm7vK2xR9pL4tW8nZ3bY6c".to_string(),
                false,
            ),
        ];
        for (line, value, hash) in cases {
            let start = line.find(&value).unwrap();
            assert_eq!(
                is_hash(line.as_bytes(), start, start + value.len()),
                hash,
                "{line}"
            );
        }
    }

    #[test]
    fn uuids_and_their_parts_are_recognised() {
        let line = "app_id = \"4b0f8c2e-9a1d-4e7b-b3c6-5d2e8f1a9c07\"";
        let start = line.find("4b0f").unwrap();
        assert!(in_uuid(line.as_bytes(), start, start + 36));
        let part = line.find("5d2e").unwrap();
        assert!(in_uuid(line.as_bytes(), part, part + 12));
        let not = "secret = \"4b0f8c2e9a1d4e7bb3c65d2e8f1a9c07\"";
        let start = not.find("4b0f").unwrap();
        assert!(!in_uuid(not.as_bytes(), start, start + 32));
    }

    /// `build.rs` writes every field of every rule file but the examples.
    #[test]
    fn the_compact_builtin_rules_are_the_rule_files_without_examples() {
        let compact = builtin_specs().unwrap();
        let parsed = builtin_specs_with_examples().unwrap();
        assert_eq!(compact.len(), parsed.len());
        for (c, mut p) in compact.into_iter().zip(parsed) {
            p.positive.clear();
            p.negative.clear();
            assert_eq!(format!("{c:?}"), format!("{p:?}"));
        }
    }
}
