//! Checksums that some token formats carry: a token whose checksum holds is almost surely
//! real (a coincidental string of the same shape fails it 2^32 - 1 times in 2^32).
//!
//! A checksum only ever raises confidence; a finding is never dropped because its
//! checksum fails (a test fixture or a hand-edited token is still worth a look).

use base64::Engine as _;

/// The checksum names a rule may give in its `checksum` field.
pub const NAMES: &[&str] = &["github-crc32", "npm-crc32", "pypi-macaroon"];

/// Whether the checksum `name` holds for `secret` (the whole token, prefix included).
/// An unknown name holds for nothing.
pub fn holds(name: &str, secret: &str) -> bool {
    match name {
        // GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens: a
        // four-character prefix, 30 random base62 characters, then the CRC32 of those
        // 30 characters in base62, left-padded with zeros to six characters.
        "github-crc32" | "npm-crc32" => base62_crc32(secret),
        "pypi-macaroon" => pypi_macaroon(secret),
        _ => false,
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32 (IEEE 802.3, the zlib one).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// `value` in base62 (`0-9A-Za-z`), left-padded with `0` to `width` characters.
pub fn base62(mut value: u64, width: usize) -> String {
    let mut digits = Vec::new();
    while value > 0 {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn base62_crc32(secret: &str) -> bool {
    let bytes = secret.as_bytes();
    if bytes.len() != 40 || bytes[3] != b'_' || !bytes[4..].iter().all(|b| BASE62.contains(b)) {
        return false;
    }
    let (body, check) = (&bytes[4..34], &bytes[34..]);
    base62(u64::from(crc32(body)), 6).as_bytes() == check
}

/// A PyPI upload token: `pypi-` and a base64url macaroon (binary format 2) whose location
/// is PyPI (`pypi.org`, or TestPyPI's `test.pypi.org`), followed by its identifier.
fn pypi_macaroon(secret: &str) -> bool {
    let Some(body) = secret.strip_prefix("pypi-") else {
        return false;
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body.trim_end_matches('='))
    else {
        return false;
    };
    // Version 2, then field 1 (location): a varint length and the location.
    let Some((&2, rest)) = bytes.split_first() else {
        return false;
    };
    let Some((&1, rest)) = rest.split_first() else {
        return false;
    };
    let Some((length, rest)) = varint(rest) else {
        return false;
    };
    let Some((location, rest)) = split_at_checked(rest, length) else {
        return false;
    };
    // Field 2 (the identifier) follows.
    matches!(location, b"pypi.org" | b"test.pypi.org") && rest.first() == Some(&2)
}

fn split_at_checked(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (at <= bytes.len()).then(|| bytes.split_at(at))
}

/// An unsigned LEB128 varint (at most four bytes: field lengths are small).
fn varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, &b) in bytes.iter().enumerate().take(4) {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A token of `prefix` (four characters) and `body` (30 base62) with its checksum.
    pub(crate) fn with_crc(prefix: &str, body: &str) -> String {
        format!(
            "{prefix}{body}{}",
            base62(u64::from(crc32(body.as_bytes())), 6)
        )
    }

    /// The token with its character at `at` replaced by another base62 character.
    fn changed(token: &str, at: usize) -> String {
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn crc32_is_the_standard_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(base62(0, 6), "000000");
        assert_eq!(base62(61, 2), "0z");
        assert_eq!(base62(62, 1), "10");
    }

    #[test]
    fn github_and_npm_checksums_hold_and_one_changed_character_breaks_them() {
        for (name, prefix) in [
            ("github-crc32", "ghp_"),
            ("github-crc32", "gho_"),
            ("github-crc32", "ghs_"),
            ("npm-crc32", "npm_"),
        ] {
            let token = with_crc(prefix, "Xk29fLqW0pZ7vRt3Nm8cBa1YhD5sJe");
            assert_eq!(token.len(), 40);
            assert!(holds(name, &token), "{name} {token}");
            for at in [4, 20, 33, 34, 39] {
                assert!(!holds(name, &changed(&token, at)), "{name} at {at}");
            }
            assert!(!holds(name, &token[..39]));
            assert!(!holds(name, &format!("{token}0")));
        }
        assert!(!holds(
            "no-such-checksum",
            &with_crc("ghp_", "Xk29fLqW0pZ7vRt3Nm8cBa1YhD5sJe")
        ));
    }

    fn pypi(location: &[u8]) -> String {
        let mut macaroon = vec![2, 1, location.len() as u8];
        macaroon.extend_from_slice(location);
        macaroon.extend_from_slice(&[2, 16]);
        macaroon.extend_from_slice(b"7f3a9c0e1b2d4f68");
        macaroon.extend_from_slice(&[0, 0, 6, 32]);
        macaroon.extend_from_slice(&[0x5a; 32]);
        format!(
            "pypi-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(macaroon)
        )
    }

    #[test]
    fn pypi_tokens_are_macaroons_located_at_pypi() {
        let token = pypi(b"pypi.org");
        assert!(token.starts_with("pypi-AgEIcHlwaS5vcmc"), "{token}");
        assert!(holds("pypi-macaroon", &token));
        assert!(holds("pypi-macaroon", &pypi(b"test.pypi.org")));
        assert!(!holds("pypi-macaroon", &pypi(b"pypi.com")));
        // A changed character in the location no longer decodes to PyPI's.
        assert!(!holds("pypi-macaroon", &changed(&token, 12)));
        assert!(!holds("pypi-macaroon", "pypi-notbase64!!"));
        assert!(!holds("pypi-macaroon", &token[5..]));
    }
}
