//! The matcher: one keyword pass over a buffer, then each rule's regex only on the lines
//! where its keywords occur; plus known values, file rules and inline allows.

use aho_corasick::AhoCorasick;
use memchr::{memchr, memrchr};

use super::fingerprint::FingerprintInput;
use super::rules::{entropy, in_uuid, is_hash, is_placeholder, looks_random, Confidence, RuleSet};
use super::{Finding, Stats};

/// How far before a keyword a match may start (a key name before its value).
const BEFORE_KEYWORD: usize = 256;
/// How far after a keyword a single-line match may end (the longest tokens).
const AFTER_KEYWORD: usize = 1024;

/// The marker that suppresses a finding on its line or the line after.
pub const ALLOW_MARK: &[u8] = b"envshim:allow";

/// Decrypted values to look for, with the automaton that finds them.
pub struct KnownValues {
    /// For each pattern, the variable it comes from.
    pub names: Vec<String>,
    /// For each pattern, how it encodes the value.
    pub forms: Vec<super::known::Form>,
    /// Case-sensitive automaton over the values and their encodings.
    pub automaton: AhoCorasick,
}

/// A candidate match before suppression.
pub(crate) struct Hit {
    pub(crate) rule: String,
    description: String,
    /// Byte range of the secret in the buffer.
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Where several rules see the same secret, only the most specific is reported:
    /// the known value of a variable (3, it names the variable and is certain) over a
    /// provider rule (2) over a generic rule (0).
    priority: u8,
    secret: String,
    /// A secret people choose (a password in an assignment or a URL, a known value):
    /// its fingerprint names the place, not the secret (DESIGN §4), since a slow hash
    /// does not stop a dictionary guess.
    guessable: bool,
    /// How sure the finding is (the rule's confidence).
    pub(crate) confidence: Confidence,
}

/// Keeps, among hits whose secrets overlap, only the one of highest priority.
fn most_specific(mut hits: Vec<Hit>) -> Vec<Hit> {
    // Confidence first: a hit below the reporting floor must never shadow one above it
    // (a committed low-confidence custom rule over a GitHub token would otherwise hide
    // the token from CI).
    hits.sort_by_key(|h| {
        (
            std::cmp::Reverse(h.confidence),
            std::cmp::Reverse(h.priority),
            h.start,
        )
    });
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        if !kept.iter().any(|k| hit.start < k.end && k.start < hit.end) {
            kept.push(hit);
        }
    }
    kept.sort_by_key(|h| h.start);
    kept
}

/// Everything that decides what is reported in one buffer.
pub struct Matcher<'a> {
    /// The rules.
    pub rules: &'a RuleSet,
    /// Known secret values, if an identity was available.
    pub known: Option<&'a KnownValues>,
    /// Extra allowlist on secret values (config).
    pub allow_secrets: &'a [regex::Regex],
}

impl Matcher<'_> {
    /// Scans one buffer that belongs to `path` ('/'-separated, as reported). Findings are
    /// appended to `out`; suppressions are counted in `stats`.
    pub fn scan(&self, path: &str, bytes: &[u8], stats: &Stats, out: &mut Vec<Finding>) {
        for hit in self.candidates(path, bytes) {
            if self.allow_secrets.iter().any(|r| r.is_match(&hit.secret)) {
                stats
                    .suppressed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let position = Position::of(bytes, hit.start);
            if position.allowed_inline(bytes) {
                stats
                    .suppressed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let mut finding = Finding::new(
                &hit.rule,
                &hit.description,
                path,
                position.line,
                position.column,
                &hit.secret,
            );
            finding.confidence = hit.confidence;
            if hit.guessable {
                let place = &bytes[position.line_start..hit.start];
                finding.input = FingerprintInput::for_place(
                    &hit.rule,
                    path,
                    &String::from_utf8_lossy(place),
                    &hit.secret,
                );
            }
            let inner = &bytes[hit.start..hit.end.saturating_sub(1).max(hit.start)];
            finding.end_line = position.line + memchr::memchr_iter(b'\n', inner).count();
            out.push(finding);
        }
    }

    /// The secrets found in `bytes`, most specific first where they overlap, before the
    /// config and inline allows.
    pub(crate) fn candidates(&self, path: &str, bytes: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.rule_hits(path, bytes, &mut hits);
        self.known_hits(bytes, &mut hits);
        most_specific(hits)
    }

    fn rule_hits(&self, path: &str, bytes: &[u8], hits: &mut Vec<Hit>) {
        let set = self.rules;
        // (rule, window start, window end) for every keyword hit of an applicable rule.
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut applies: Vec<Option<bool>> = vec![None; set.rules.len()];
        let mut near_seen: std::collections::HashSet<(usize, usize)> =
            std::collections::HashSet::new();
        let prefilters = if set.any_restricted_applies(path) {
            vec![&set.everywhere, &set.restricted]
        } else {
            vec![&set.everywhere]
        };
        for prefilter in prefilters {
            for m in prefilter.automaton().find_overlapping_iter(bytes) {
                for &rule_index in &prefilter.rules[m.pattern().as_usize()] {
                    let rule = &set.rules[rule_index];
                    let ok = *applies[rule_index].get_or_insert_with(|| rule.applies_to(path));
                    if !ok {
                        continue;
                    }
                    if rule.spec.keyword_boundary
                        && m.start() > 0
                        && bytes[m.start() - 1].is_ascii_alphanumeric()
                    {
                        continue;
                    }
                    if let Some(shape) = &rule.shape {
                        for (start, end) in shape.tokens(bytes, (m.start(), m.end())) {
                            // A token near several mentions of the name is one hit.
                            if near_seen.insert((rule_index, start)) {
                                self.push_hit(rule, bytes, start, end, 1, hits);
                            }
                        }
                        continue;
                    }
                    // The rule's regex runs on the keyword's line, but no further than a
                    // bounded distance either side: minified files have lines of megabytes.
                    let back = m.start().saturating_sub(BEFORE_KEYWORD);
                    let start =
                        memrchr(b'\n', &bytes[back..m.start()]).map_or(back, |i| back + i + 1);
                    let reach = (m.end() + AFTER_KEYWORD + rule.window()).min(bytes.len());
                    let end = if rule.window() > 0 {
                        reach
                    } else {
                        memchr(b'\n', &bytes[m.end()..reach]).map_or(reach, |i| m.end() + i)
                    };
                    windows.push((rule_index, start, end));
                }
            }
        }
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(windows.len());
        for (rule, start, end) in windows {
            match merged.last_mut() {
                Some(last) if last.0 == rule && start <= last.2 => last.2 = last.2.max(end),
                _ => merged.push((rule, start, end)),
            }
        }
        for (rule_index, start, end) in merged {
            let rule = &set.rules[rule_index];
            let Some((regex, group)) = rule.pattern() else {
                continue;
            };
            for caps in regex.captures_iter(&bytes[start..end]) {
                let Some(secret) = caps.get(*group) else {
                    continue;
                };
                let text = String::from_utf8_lossy(secret.as_bytes());
                if rule
                    .spec
                    .entropy
                    .is_some_and(|floor| entropy(&text) < floor)
                {
                    continue;
                }
                if is_placeholder(&text) || rule.spec.allow.iter().any(|a| *a == text) {
                    continue;
                }
                if let Some(check) = &rule.spec.validate {
                    if !super::validate::holds(check, &text) {
                        continue;
                    }
                }
                let (at, to) = (start + secret.start(), start + secret.end());
                if is_hash(bytes, at, to) {
                    continue;
                }
                let generic = matches!(rule.spec.family.as_str(), "generic" | "dotenv");
                if generic && !looks_random(&text) {
                    continue;
                }
                // A provider rule's regex says when it wants a UUID; a generic one never.
                if rule.spec.family == "generic" && in_uuid(bytes, at, to) {
                    continue;
                }
                if rule
                    .exclude
                    .get(&rule.spec.id)
                    .is_some_and(|x| x.is_match(&caps[0]))
                {
                    continue;
                }
                // A token prefix in the middle of a longer random string (a hash, a
                // base64 blob) is not a token.
                let before = (start + secret.start()).checked_sub(1).map(|i| bytes[i]);
                if before.is_some_and(|b| b.is_ascii_alphanumeric() || b"+/_-".contains(&b)) {
                    continue;
                }
                // A checksum that holds makes a token almost surely real; one that does
                // not leaves the rule's own confidence (it never hides a finding).
                let confidence = match &rule.spec.checksum {
                    Some(name) if super::checksum::holds(name, &text) => Confidence::High,
                    _ => rule.confidence,
                };
                hits.push(Hit {
                    rule: rule.spec.id.clone(),
                    description: rule.spec.description.clone(),
                    start: start + secret.start(),
                    end: start + secret.end(),
                    priority: if generic { 0 } else { 2 },
                    secret: text.into_owned(),
                    guessable: generic || rule.spec.family == "connection-strings",
                    confidence,
                });
            }
        }
    }

    /// A near rule's token, unless it is a placeholder, allowed, or excluded.
    fn push_hit(
        &self,
        rule: &super::rules::Rule,
        bytes: &[u8],
        start: usize,
        end: usize,
        priority: u8,
        hits: &mut Vec<Hit>,
    ) {
        let text = String::from_utf8_lossy(&bytes[start..end]);
        let wants_uuid = rule.shape.as_ref().is_some_and(|s| s.wants_uuid());
        if is_placeholder(&text)
            || is_hash(bytes, start, end)
            || (!wants_uuid && in_uuid(bytes, start, end))
            || rule.spec.allow.iter().any(|a| *a == text)
            || rule
                .exclude
                .get(&rule.spec.id)
                .is_some_and(|x| x.is_match(&bytes[start..end]))
        {
            return;
        }
        hits.push(Hit {
            rule: rule.spec.id.clone(),
            description: rule.spec.description.clone(),
            start,
            end,
            priority,
            secret: text.into_owned(),
            guessable: false,
            confidence: rule.confidence,
        });
    }

    fn known_hits(&self, bytes: &[u8], hits: &mut Vec<Hit>) {
        let (Some(known), Some(rule)) = (self.known, self.rules.known_rule()) else {
            return;
        };
        for m in known.automaton.find_iter(bytes) {
            let name = &known.names[m.pattern().as_usize()];
            let form = known.forms[m.pattern().as_usize()];
            let matched = &bytes[m.start()..m.end()];
            // The secret is the decoded value: redaction limits count its characters. (The
            // match is the exact encoding of a value, so decoding does not fail.)
            let secret = form
                .decode(matched)
                .unwrap_or_else(|| String::from_utf8_lossy(matched).into_owned());
            hits.push(Hit {
                rule: rule.spec.id.clone(),
                description: format!(
                    "{}{}",
                    rule.spec.description.replace("{name}", name),
                    form.label()
                ),
                start: m.start(),
                end: m.end(),
                priority: 3,
                secret,
                guessable: true,
                confidence: rule.confidence,
            });
        }
    }
}

impl Matcher<'_> {
    /// Findings about the file itself (file rules): reported at its first line, the
    /// whole content standing for the secret. `whole` is false for the added lines of a
    /// commit, where a rule that needs a mark to be absent cannot judge. An
    /// `envshim:allow` anywhere in the file suppresses them (and is counted).
    pub fn file_findings(
        &self,
        path: &str,
        bytes: &[u8],
        whole: bool,
        stats: &Stats,
        out: &mut Vec<Finding>,
    ) {
        for &index in &self.rules.files {
            let rule = &self.rules.rules[index];
            if !rule.applies_to(path)
                || (!whole && rule.content_exclude.is_some())
                || rule
                    .content
                    .get(&rule.spec.id)
                    .is_some_and(|c| !c.is_match(bytes))
                || rule
                    .content_exclude
                    .get(&rule.spec.id)
                    .is_some_and(|x| x.is_match(bytes))
            {
                continue;
            }
            if memchr::memmem::find(bytes, ALLOW_MARK).is_some() {
                stats
                    .suppressed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            let content = String::from_utf8_lossy(bytes);
            let mut finding =
                Finding::new(&rule.spec.id, &rule.spec.description, path, 1, 1, &content);
            finding.redacted = format!("(whole file, {} bytes)", bytes.len());
            finding.confidence = rule.confidence;
            out.push(finding);
        }
    }
}

/// A 1-based line and column (in characters) of a byte offset.
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in Unicode scalar values.
    pub column: usize,
    line_start: usize,
}

impl Position {
    /// The position of `offset` in `bytes`.
    pub fn of(bytes: &[u8], offset: usize) -> Position {
        let before = &bytes[..offset];
        let line = 1 + memchr::memchr_iter(b'\n', before).count();
        let line_start = memrchr(b'\n', before).map_or(0, |i| i + 1);
        let column = 1 + String::from_utf8_lossy(&bytes[line_start..offset])
            .chars()
            .count();
        Position {
            line,
            column,
            line_start,
        }
    }

    /// True when this line or the one before carries `envshim:allow`.
    fn allowed_inline(&self, bytes: &[u8]) -> bool {
        let line_end =
            memchr(b'\n', &bytes[self.line_start..]).map_or(bytes.len(), |i| self.line_start + i);
        let previous_start = if self.line_start == 0 {
            0
        } else {
            memrchr(b'\n', &bytes[..self.line_start - 1]).map_or(0, |i| i + 1)
        };
        memchr::memmem::find(&bytes[previous_start..line_end], ALLOW_MARK).is_some()
    }
}
