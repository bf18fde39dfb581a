//! Repository text on a terminal or in a CI log: every character that could act instead
//! of being read is shown as a visible escape.
//!
//! What is escaped, and why:
//! - control characters (C0, DEL, C1): `\e`, `\n`, `\x07`, `\u{9b}`… — escape sequences
//!   retitle windows, move the cursor, hide lines or clear the screen;
//! - bidirectional-text controls and invisible format characters (`\u{202e}`…): they
//!   reorder or hide what a line shows (Trojan Source, CVE-2021-42574), so a path or a
//!   description could read as something else; a report has no use for them;
//! - CI log commands: GitHub Actions runs `::command::` at the start of a line (leading
//!   spaces ignored) and, like Azure Pipelines and TeamCity, `##[command]`, `##vso[…]`,
//!   `##teamcity[…]` anywhere in a line. A leading `::` becomes `\x3a:` and the second
//!   `#` of such a `##` becomes `\x23`, so no output line is a command.
//!
//! A backslash is left as it is: the escapes are for reading, not for decoding, and
//! Windows-style text stays legible.

use std::fmt::Write;

/// True for characters that change how the rest of a line is displayed while being
/// invisible themselves.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}'                      // soft hyphen
        | '\u{061c}'                    // Arabic letter mark
        | '\u{180e}'                    // Mongolian vowel separator
        | '\u{200b}'..='\u{200f}'       // zero-width space/joiners, LRM, RLM
        | '\u{2028}'..='\u{202e}'       // line/paragraph separators, bidi embeddings
        | '\u{2060}'..='\u{2069}'       // word joiner, invisible operators, bidi isolates
        | '\u{feff}'                    // zero-width no-break space
        | '\u{fff9}'..='\u{fffb}') // interlinear annotation controls
}

/// `text` with control, bidi and invisible characters escaped and CI log commands
/// defused; text that needs none of it is returned unchanged.
pub fn sanitize(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            ':' if i == lead && chars.get(i + 1) == Some(&':') => out.push_str("\\x3a"),
            '#' if i > 0 && chars[i - 1] == '#' && log_command_follows(&chars[i + 1..]) => {
                out.push_str("\\x23")
            }
            c => out.push(c),
        }
    }
    out
}

/// True when `rest` (what follows a `##`) opens a CI log command: `[`, or a word then `[`.
fn log_command_follows(rest: &[char]) -> bool {
    let word = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '-' || **c == '_')
        .count();
    rest.get(word) == Some(&'[')
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn plain_text_is_unchanged() {
        for text in [
            "src/main.rs",
            "C:\\x\\y",
            "a::b",
            "## heading",
            "ünïcødé 東京",
        ] {
            assert_eq!(sanitize(text), text);
        }
    }

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(sanitize("\u{1b}]0;pwned\u{7}"), "\\e]0;pwned\\x07");
        assert_eq!(sanitize("a\r\nb\tc\u{7f}"), "a\\r\\nb\\tc\\x7f");
        assert_eq!(sanitize("\u{9b}2J"), "\\x9b2J");
        assert_eq!(sanitize("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(sanitize("a\u{200b}b\u{2066}"), "a\\u{200b}b\\u{2066}");
        assert_eq!(sanitize("x\u{2028}y"), "x\\u{2028}y");
    }

    #[test]
    fn ci_log_commands_are_defused() {
        assert_eq!(sanitize("::set-env name=A::b"), "\\x3a:set-env name=A::b");
        assert_eq!(sanitize("  ::error::x"), "  \\x3a:error::x");
        assert_eq!(sanitize("x ##[add-mask]y"), "x #\\x23[add-mask]y");
        assert_eq!(
            sanitize("##vso[task.setvariable]"),
            "#\\x23vso[task.setvariable]"
        );
        assert_eq!(sanitize("###[x]"), "##\\x23[x]");
        assert!(!sanitize("a\n::error::b").contains('\n'));
    }
}
