//! The git modes' view of a change: everything a commit or the index adds is scanned,
//! whatever the file's size or content, and a secret that spans added and old lines (a
//! key pasted into an existing BEGIN/END skeleton) is looked for in the whole new blob.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use super::{Finding, Scan, Stats};

/// The git modes read no blob above this size: such a file is reported on stderr and
/// counted as skipped (`max_file_size` applies to the working-tree walk only).
pub const BLOB_HARD_CAP: u64 = 256 * 1024 * 1024;

/// A commit's added lines are scanned in pieces of about this size, cut at line ends,
/// so that memory stays bounded however large the file.
pub const PIECE: usize = 4 * 1024 * 1024;

/// True when the finding's span (first to last line) touches one of `added`.
pub fn touches(finding: &Finding, added: &BTreeSet<usize>) -> bool {
    added
        .range(finding.line..=finding.end_line.max(finding.line))
        .next()
        .is_some()
}

/// True when added lines may be the inside of a multi-line secret whose start is not
/// among them: a line of 40 or more base64 characters (upper and lower case and digits,
/// no spaces), or an `-----END …-----` line without a `-----BEGIN` in the added text.
/// Ordinary code has neither, so it is not read twice.
pub fn may_continue_block(text: &[u8]) -> bool {
    let has_begin = memchr::memmem::find(text, b"-----BEGIN ").is_some();
    text.split(|&b| b == b'\n').any(|line| {
        let line = line.trim_ascii();
        let base64 = line.len() >= 40
            && line
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b))
            && line.iter().any(u8::is_ascii_uppercase)
            && line.iter().any(u8::is_ascii_lowercase)
            && line.iter().any(u8::is_ascii_digit);
        base64 || (!has_begin && line.starts_with(b"-----END ") && line.ends_with(b"-----"))
    })
}

impl Scan<'_> {
    /// Scans the lines a commit adds to `path`: `text` (each line ending in `\n`) and,
    /// for each of its lines, the line number in the new file. `blob` reads the new file
    /// whole (None when it cannot). The whole file is scanned instead when the added
    /// lines may be part of a multi-line secret (findings are kept where their span
    /// touches an added line, at their real lines), and when a file rule is about
    /// `path` (is this secrets file encrypted?), which must judge the whole content.
    pub fn scan_added(
        &self,
        path: &str,
        text: &[u8],
        lines: &[usize],
        blob: &mut dyn FnMut() -> Option<Vec<u8>>,
        stats: &Stats,
        out: &mut Vec<Finding>,
    ) {
        let rules = self.matcher.rules;
        let file_rule = rules.files.iter().any(|&i| rules.rules[i].applies_to(path));
        let whole = if file_rule || may_continue_block(text) {
            blob()
        } else {
            None
        };
        let mut found = Vec::new();
        match &whole {
            Some(content) => {
                let added: BTreeSet<usize> = lines.iter().copied().collect();
                self.matcher.scan(path, content, stats, &mut found);
                found.retain(|f| touches(f, &added));
                self.matcher
                    .file_findings(path, content, true, stats, &mut found);
            }
            None => {
                self.matcher.scan(path, text, stats, &mut found);
                let at = |n: usize| lines.get(n - 1).copied().unwrap_or(n);
                for f in &mut found {
                    f.line = at(f.line);
                    f.end_line = at(f.end_line);
                }
                self.matcher
                    .file_findings(path, text, false, stats, &mut found);
            }
        }
        if self.allow.matches(path) {
            stats
                .suppressed
                .fetch_add(found.len() as u64, Ordering::Relaxed);
        } else {
            out.extend(found);
        }
        stats.files.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        if let Some(progress) = &self.progress {
            progress.file(text.len() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::may_continue_block;

    #[test]
    fn key_bodies_but_not_code_continue_a_block() {
        let body = b"MIIEpAIBAAKCAQEAu9Qm3kP0vYb2Lw8Hc4Zt7nR1sXeF5aJ6gK2mQ0pN3yT8oB1d\n";
        assert!(may_continue_block(body));
        assert!(may_continue_block(b"-----END RSA PRIVATE KEY-----\n"));
        assert!(!may_continue_block(
            b"fn main() {\n    println!(\"hello\");\n}\n"
        ));
        // A commit id is hex: no upper case.
        assert!(!may_continue_block(
            b"5f3c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e\n"
        ));
    }
}
