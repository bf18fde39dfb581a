//! Near rules: a provider's name close to a token of the shape the provider documents.
//!
//! Hundreds of services issue keys with no distinctive prefix (32 hex digits, 40
//! letters and digits, a UUID). Such a string is a secret because it sits next to the
//! provider's name: `PINATA_API_KEY=…`, `"algolia": {"adminKey": "…"}`. A near rule is
//! data — keywords, an alphabet, a length range, an optional literal prefix, a maximum
//! distance and an entropy floor — and is matched here without a regex.

use anyhow::{bail, Context};

use super::rules::RuleSpec;

/// The most bytes a rule may allow between its keyword and its token.
pub const MAX_DISTANCE: usize = 256;
/// The distance when a rule does not say.
pub const DEFAULT_DISTANCE: usize = 40;
/// The longest token a near rule may describe.
pub const MAX_LENGTH: usize = 512;

/// The characters a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// `0-9a-f`
    Hex,
    /// `0-9A-F`
    HexUpper,
    /// `0-9a-fA-F`
    HexAny,
    /// `A-Za-z0-9`
    Alnum,
    /// `a-z0-9`
    AlnumLower,
    /// `A-Z0-9`
    AlnumUpper,
    /// `A-Za-z0-9+/` and trailing `=`
    Base64,
    /// `A-Za-z0-9_-`
    Base64Url,
    /// `0-9`
    Digits,
    /// `8-4-4-4-12` hex digits with dashes (any case)
    Uuid,
}

impl Alphabet {
    /// The alphabet a rule names, if it names one.
    pub fn parse(name: &str) -> Option<Alphabet> {
        Some(match name {
            "hex" => Alphabet::Hex,
            "hex-upper" => Alphabet::HexUpper,
            "hex-any" => Alphabet::HexAny,
            "alnum" => Alphabet::Alnum,
            "alnum-lower" => Alphabet::AlnumLower,
            "alnum-upper" => Alphabet::AlnumUpper,
            "base64" => Alphabet::Base64,
            "base64url" => Alphabet::Base64Url,
            "digits" => Alphabet::Digits,
            "uuid" => Alphabet::Uuid,
            _ => return None,
        })
    }

    /// Whether `b` may occur in a token.
    fn contains(self, b: u8) -> bool {
        match self {
            Alphabet::Hex => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Alphabet::HexUpper => b.is_ascii_digit() || (b'A'..=b'F').contains(&b),
            Alphabet::HexAny | Alphabet::Uuid => b.is_ascii_hexdigit(),
            Alphabet::Alnum => b.is_ascii_alphanumeric(),
            Alphabet::AlnumLower => b.is_ascii_digit() || b.is_ascii_lowercase(),
            Alphabet::AlnumUpper => b.is_ascii_digit() || b.is_ascii_uppercase(),
            Alphabet::Base64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/',
            Alphabet::Base64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Alphabet::Digits => b.is_ascii_digit(),
        }
    }

    /// Whether `b` beside a token makes it part of a longer word.
    fn joins(self, b: u8) -> bool {
        // `_` and `-` join too: a run of letters and digits cut out of a longer
        // identifier (`python_2_unicode_compatible`) or a base64url digest (a wheel's
        // RECORD, go.sum) is not a token.
        b.is_ascii_alphanumeric() || self.contains(b) || b == b'-' || b == b'_'
    }

    /// The entropy floor (bits per character) when a rule does not set one: what a
    /// generated token of 20 or more characters of this alphabet comfortably exceeds.
    fn default_entropy(self) -> f64 {
        match self {
            Alphabet::Digits => 2.5,
            Alphabet::Hex | Alphabet::HexUpper | Alphabet::HexAny | Alphabet::Uuid => 3.0,
            _ => 3.5,
        }
    }

    /// Whether runs of this alphabet can spell identifiers (`fallbackRouteParams1`).
    fn has_words(self) -> bool {
        // Lowercase-and-digit tokens are mostly lowercase by chance: not judged.
        matches!(
            self,
            Alphabet::Alnum | Alphabet::Base64 | Alphabet::Base64Url
        )
    }

    /// Whether a generated token of this alphabet has both letters and digits (a run of
    /// only letters is a word or an identifier; of only digits, a number).
    fn mixes_letters_and_digits(self) -> bool {
        !matches!(self, Alphabet::Digits | Alphabet::Uuid)
    }
}

/// A near rule's token shape and reach.
#[derive(Debug, Clone)]
pub struct Shape {
    alphabet: Alphabet,
    prefix: Vec<u8>,
    min: usize,
    max: usize,
    distance: usize,
    entropy: f64,
}

impl Shape {
    /// The shape a near rule describes; errors say which field is wrong.
    pub fn from_spec(spec: &RuleSpec) -> anyhow::Result<Shape> {
        let name = spec
            .token
            .as_deref()
            .context("a near rule needs a `token` alphabet")?;
        let Some(alphabet) = Alphabet::parse(name) else {
            bail!("`token` must be one of hex, hex-upper, hex-any, alnum, alnum-lower, alnum-upper, base64, base64url, digits, uuid");
        };
        let [min, max] = match (alphabet, spec.length) {
            (Alphabet::Uuid, None) => [36, 36],
            (Alphabet::Uuid, Some(_)) => bail!("a uuid token has a fixed length; drop `length`"),
            (_, Some(length)) => length,
            (_, None) => bail!("a near rule needs a `length` = [min, max]"),
        };
        if min < 8 || min > max || max > MAX_LENGTH {
            bail!("`length` must be [min, max] with 8 <= min <= max <= {MAX_LENGTH}");
        }
        let distance = spec.distance.unwrap_or(DEFAULT_DISTANCE);
        if distance > MAX_DISTANCE {
            bail!("`distance` must be at most {MAX_DISTANCE}");
        }
        let prefix = spec.prefix.clone().unwrap_or_default().into_bytes();
        if prefix.len() > 32 || prefix.iter().any(|b| b.is_ascii_whitespace()) {
            bail!("`prefix` must be at most 32 characters without spaces");
        }
        Ok(Shape {
            alphabet,
            prefix,
            min,
            max,
            distance,
            entropy: spec.entropy.unwrap_or(alphabet.default_entropy()),
        })
    }

    /// Whether the rule asks for a UUID (then a UUID is not an identifier to skip).
    pub fn wants_uuid(&self) -> bool {
        self.alphabet == Alphabet::Uuid
    }

    /// How far from a keyword this shape's tokens may lie, token included: the bytes
    /// either side of a keyword hit that [`Shape::tokens`] reads.
    pub fn reach(&self) -> usize {
        self.distance + self.prefix.len() + self.max + 1
    }

    /// The byte ranges of tokens of this shape within the distance of the keyword at
    /// `keyword` in `bytes`, tokens that overlap the keyword excluded.
    pub fn tokens(&self, bytes: &[u8], keyword: (usize, usize)) -> Vec<(usize, usize)> {
        let (kw_start, kw_end) = keyword;
        if !keyword_stands_alone(bytes, kw_start) {
            return Vec::new();
        }
        let lo = kw_start.saturating_sub(self.reach());
        let hi = (kw_end + self.reach()).min(bytes.len());
        let mut found = Vec::new();
        let mut i = lo;
        while i < hi {
            let Some((labelled, body, end)) = self.token_at(bytes, i, lo, hi) else {
                i += 1;
                continue;
            };
            let start = i;
            let near = if start >= kw_end {
                start - kw_end <= self.distance
            } else {
                // Before its keyword too, on its line (`Using key … for artsy`) or an
                // earlier one (an INI section lists a secret before the host that names
                // the provider).
                end <= kw_start && kw_start - end <= self.distance
            };
            if near
                && !after_digest_label(&bytes[lo..labelled])
                && self.plausible(&bytes[body..end])
            {
                found.push((start, end));
            }
            i = end.max(i + 1);
        }
        found
    }

    /// A token that starts at `i` (where its label starts, or `i` without one; the
    /// start of its body; its end), if one does: the prefix, then a maximal run of the
    /// alphabet of an allowed length, with no letter, digit or alphabet character on
    /// either side.
    fn token_at(
        &self,
        bytes: &[u8],
        i: usize,
        lo: usize,
        hi: usize,
    ) -> Option<(usize, usize, usize)> {
        let before = i.checked_sub(1).filter(|&b| b >= lo).map(|b| bytes[b]);
        let label = label_start(bytes, i, lo);
        if before.is_some_and(|b| self.alphabet.joins(b)) && label.is_none() {
            return None;
        }
        if !bytes[i..hi].starts_with(&self.prefix) {
            return None;
        }
        let body = i + self.prefix.len();
        let end = if self.alphabet == Alphabet::Uuid {
            let candidate = bytes.get(body..body + 36)?;
            is_uuid(candidate).then_some(body + 36)?
        } else {
            let run = bytes[body..hi]
                .iter()
                .take_while(|&&b| self.alphabet.contains(b))
                .count();
            let mut end = body + run;
            if self.alphabet == Alphabet::Base64 {
                end += bytes[end..hi]
                    .iter()
                    .take(2)
                    .take_while(|&&b| b == b'=')
                    .count();
            }
            end
        };
        let after = bytes.get(end).copied();
        if end > hi || after.is_some_and(|b| self.alphabet.joins(b)) {
            return None;
        }
        let length = end - body;
        (self.min..=self.max)
            .contains(&length)
            .then_some((label.unwrap_or(i), body, end))
    }

    /// Whether a token's body looks generated: enough entropy, letters and digits mixed
    /// where the alphabet has both.
    fn plausible(&self, body: &[u8]) -> bool {
        let text = String::from_utf8_lossy(body);
        let core: String = text.chars().filter(|&c| c != '-' && c != '=').collect();
        if super::rules::entropy(&core) < self.entropy {
            return false;
        }
        if self.alphabet.has_words() && wordy(&text) {
            return false;
        }
        if self.alphabet.mixes_letters_and_digits() {
            let letter = core.bytes().any(|b| b.is_ascii_alphabetic());
            let digit = core.bytes().any(|b| b.is_ascii_digit());
            if !(letter && digit) {
                return false;
            }
        }
        true
    }
}

/// What precedes a digest rather than a key: a hash algorithm's label (`sha256:`,
/// `sha512-`, `--hash=`, `md5=`), an archive's fragment (`.tgz#`), an image digest
/// (`@sha256:`). Lock files and requirements files put digests next to package names,
/// which are often a provider's name.
const DIGEST_LABELS: &[&[u8]] = &[
    b"sha1:",
    b"sha224:",
    b"sha256:",
    b"sha384:",
    b"sha512:",
    b"md5:",
    b"sha1-",
    b"sha256-",
    b"sha384-",
    b"sha512-",
    b"sha1=",
    b"sha256=",
    b"sha512=",
    b"md5=",
    b"--hash=",
    b".tgz#",
    b".tar.gz#",
    b".zip#",
    b".whl#",
    b"commit/",
    b"commits/",
    b"/tree/",
    b"/blob/",
];

/// Where a short label before a token starts (`web_`, `waka_`, `1-`: one to five letters
/// or digits and a `_` or `-`, after a character that joins nothing), if the token at
/// `start` has one. A run cut out of a longer identifier or digest has none.
fn label_start(bytes: &[u8], start: usize, lo: usize) -> Option<usize> {
    let separator = start.checked_sub(1).filter(|&s| s >= lo)?;
    if !matches!(bytes[separator], b'_' | b'-') {
        return None;
    }
    let mut k = separator;
    while k > lo && separator - k < 6 && bytes[k - 1].is_ascii_alphanumeric() {
        k -= 1;
    }
    let length = separator - k;
    let before = k.checked_sub(1).filter(|&b| b >= lo).map(|b| bytes[b]);
    let free = before.is_none_or(|b| !b.is_ascii_alphanumeric() && !b"_-+/".contains(&b));
    ((1..=5).contains(&length) && free).then_some(k)
}

/// Whether `before` (the text up to a token) ends with a digest label.
fn after_digest_label(before: &[u8]) -> bool {
    let tail = &before[before.len().saturating_sub(16)..];
    let lower = tail.to_ascii_lowercase();
    DIGEST_LABELS.iter().any(|label| lower.ends_with(label))
}

/// Whether a run reads as words (an identifier such as `fallbackRouteParams1` or
/// `user_profile_image2`): lowercase stretches of four or more letters cover at least
/// half of it. That happens to 1% of random base62 tokens of 20 characters, 0.04% of 40.
fn wordy(token: &str) -> bool {
    let mut covered = 0;
    let mut run = 0;
    for b in token.bytes().chain(std::iter::once(b' ')) {
        if b.is_ascii_lowercase() {
            run += 1;
        } else {
            if run >= 4 {
                covered += run;
            }
            run = 0;
        }
    }
    covered * 2 >= token.len()
}

/// A keyword counts where it starts a word: after a non-letter, or as the capitalised
/// part of a camelCase name (`myPinataKey`).
fn keyword_stands_alone(bytes: &[u8], start: usize) -> bool {
    let Some(before) = start.checked_sub(1).map(|b| bytes[b]) else {
        return true;
    };
    !before.is_ascii_alphabetic()
        || (before.is_ascii_lowercase() && bytes[start].is_ascii_uppercase())
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(candidate: &[u8]) -> bool {
    candidate.len() == 36
        && candidate.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(token: &str, length: Option<[usize; 2]>, prefix: Option<&str>) -> Shape {
        Shape::from_spec(&RuleSpec {
            token: Some(token.into()),
            length,
            prefix: prefix.map(Into::into),
            ..RuleSpec::default()
        })
        .unwrap()
    }

    fn find(shape: &Shape, text: &str, keyword: &str) -> Vec<String> {
        let start = text.to_ascii_lowercase().find(keyword).unwrap();
        shape
            .tokens(text.as_bytes(), (start, start + keyword.len()))
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect()
    }

    #[test]
    fn tokens_are_found_either_side_of_the_keyword_within_the_distance() {
        let hex = shape("hex", Some([32, 32]), None);
        let token = "3f9a0c4e7b21d865f0a9c3e4b7d21f86";
        assert_eq!(
            find(&hex, &format!("PINATA_KEY={token}"), "pinata"),
            [token]
        );
        assert_eq!(
            find(&hex, &format!("Using Key={token} for artsy"), "artsy"),
            [token]
        );
        for nested in [
            format!("pinata:\n  key: {token}"),
            format!("key = {token}\nhost = api.pinata.cloud"),
        ] {
            assert_eq!(find(&hex, &nested, "pinata"), [token], "{nested}");
        }
        let far = format!("pinata {} {token}", " ".repeat(DEFAULT_DISTANCE));
        assert!(find(&hex, &far, "pinata").is_empty());
        // Longer or shorter runs, and runs inside a longer word, are not the token.
        assert!(find(&hex, &format!("pinata={token}0"), "pinata").is_empty());
        assert!(find(&hex, &format!("pinata=x{token}"), "pinata").is_empty());
        assert!(find(&hex, &format!("pinata=ab1_2_{token}"), "pinata").is_empty());
        assert!(find(&hex, &format!("pinata=sha256_{token}"), "pinata").is_empty());
        assert_eq!(
            find(&hex, &format!("pinata=web_{token}"), "pinata"),
            [token]
        );
        assert!(find(&hex, &format!("pinata={token}-b"), "pinata").is_empty());
        assert!(find(&hex, &format!("pinata={}", &token[1..]), "pinata").is_empty());
        // The keyword must start a word (or a camelCase part).
        assert!(find(&hex, &format!("unpinata={token}"), "pinata").is_empty());
        assert_eq!(
            find(&hex, &format!("myPinataKey: '{token}'"), "pinata"),
            [token]
        );
    }

    #[test]
    fn digests_after_their_labels_are_not_tokens() {
        let hex = shape("hex", Some([40, 64]), None);
        let digest = "9f2c4e1a7b3d5f8e0c6a2b4d9e1f3a5c7b8d0e2f";
        for line in [
            format!("pinata==1.2.0 --hash=sha256:{digest}"),
            format!("\"pinata\": \"https://r.example/pinata-1.0.tgz#{digest}\""),
            format!("image: pinata/api@sha256:{digest}"),
            format!("see github.com/pinata/sdk/commit/{digest}"),
        ] {
            assert!(find(&hex, &line, "pinata").is_empty(), "{line}");
        }
        assert_eq!(
            find(&hex, &format!("PINATA_SECRET={digest}"), "pinata"),
            [digest]
        );
    }

    #[test]
    fn words_numbers_and_low_entropy_runs_are_not_tokens() {
        let alnum = shape("alnum", Some([20, 40]), None);
        assert!(find(
            &alnum,
            "streak_key: ThisIsAVeryLongIdentifierName",
            "streak"
        )
        .is_empty());
        assert!(find(&alnum, "streak_key: 12345678901234567890", "streak").is_empty());
        assert!(find(&alnum, "streak_key: ab12ab12ab12ab12ab12ab12", "streak").is_empty());
        assert!(find(&alnum, "_streakInfo_fallbackRouteParams1", "streak").is_empty());
        assert_eq!(
            find(&alnum, "streak_key: Qm7vK2xR9pL4tW8nZ3bY6c", "streak"),
            ["Qm7vK2xR9pL4tW8nZ3bY6c"]
        );
    }

    #[test]
    fn prefixes_uuids_and_base64_padding() {
        let sk = shape("hex", Some([32, 32]), Some("sk-"));
        let token_owned = format!("{}{}", "sk-", "9c1e4a7f20b83d56e9a1c4f7b20d83e5");
        let token = token_owned.as_str();
        assert_eq!(
            find(&sk, &format!("DEEPSEEK_API_KEY={token}"), "deepseek"),
            [token]
        );
        assert!(find(
            &sk,
            &format!("DEEPSEEK_API_KEY={}", &token[3..]),
            "deepseek"
        )
        .is_empty());
        let uuid = shape("uuid", None, None);
        let id = "4b0f8c2e-9a1d-4e7b-b3c6-5d2e8f1a9c07";
        assert_eq!(find(&uuid, &format!("HEROKU_API_KEY={id}"), "heroku"), [id]);
        assert!(find(&uuid, &format!("HEROKU_API_KEY={id}-1"), "heroku").is_empty());
        let b64 = shape("base64", Some([40, 44]), None);
        let key = "q3Jt9Xk2Lm8Vb4Nc7Rz1Wp5Ys0Hd6Fg2Te9Ua3Ko8=";
        assert_eq!(
            find(&b64, &format!("acme_secret = \"{key}\""), "acme"),
            [key]
        );
    }

    #[test]
    fn bad_shapes_are_refused() {
        for (token, length) in [
            ("hex", None),
            ("hexadecimal", Some([32, 32])),
            ("hex", Some([4, 8])),
            ("hex", Some([40, 32])),
            ("uuid", Some([36, 36])),
        ] {
            let spec = RuleSpec {
                token: Some(token.into()),
                length,
                ..RuleSpec::default()
            };
            assert!(Shape::from_spec(&spec).is_err(), "{token} {length:?}");
        }
    }
}
