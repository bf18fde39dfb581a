//! Checks a rule's match must pass beyond its regex (`validate = "…"` in a rule): a
//! structure no linear regex can judge (a JWT's header is JSON with `alg`), or a
//! decoding (a base64 `user:password`) whose result must not be a placeholder.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

/// The checks a rule may name.
pub const NAMES: &[&str] = &["jwt", "base64", "basic-auth", "password", "random"];

/// True when `name` is a check this module knows.
pub fn known(name: &str) -> bool {
    NAMES.contains(&name)
}

/// True when `secret` passes the check `name`; an unknown name never holds (rules are
/// checked when loaded, so it does not occur).
///
/// - `jwt`: a signed JSON Web Token (three parts) or an encrypted one (five): the header
///   base64url-decodes to a JSON object whose `alg` is a string other than `none`, and a
///   signed token has a signature. An unsigned token (`alg: none`) proves nothing: anyone
///   can mint one, so it is no credential.
/// - `base64`: decodes (standard or URL alphabet, padding optional) to a value that is
///   not blank, not a placeholder or a well-known default password, and not a public
///   certificate or key; binary values must be 16 bytes or more.
/// - `basic-auth`: decodes to `user:password` (HTTP Basic, Docker's `auth`) with a
///   password that passes `password` (or an empty password after a key of 20 or more
///   characters that passes it: APIs that take the key as the user name).
/// - `password`: a literal that people choose, which is not a placeholder, a reference to
///   a variable or command (`$PASS`, `$(cat f)`, `%s`), nor a well-known default.
/// - `random`: passes `password` and looks generated (a letter, and a digit or a symbol):
///   for places where code writes the name of a variable as often as a config file writes
///   a value (`password = self.password` beside `password = Xq7…`).
pub fn holds(name: &str, secret: &str) -> bool {
    match name {
        "jwt" => jwt(secret),
        "base64" => decode(secret).is_some_and(|v| value_is_secret(&v)),
        "basic-auth" => decode(secret).is_some_and(|v| basic_auth(&v)),
        "password" => password(secret),
        "random" => password(secret) && super::rules::looks_random(secret),
        _ => false,
    }
}

/// Decodes base64 in either alphabet, padded or not.
fn decode(text: &str) -> Option<Vec<u8>> {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let text = text.trim();
    let alphabet = if text.contains(['-', '_']) {
        &alphabet::URL_SAFE
    } else {
        &alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(text).ok()
}

fn jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    if !matches!(parts.len(), 3 | 5) || parts[0].contains(['+', '/', '=']) {
        return false;
    }
    let Some(header) = decode(parts[0]) else {
        return false;
    };
    let Ok(serde_json::Value::Object(header)) = serde_json::from_slice(&header) else {
        return false;
    };
    let Some(serde_json::Value::String(alg)) = header.get("alg") else {
        return false;
    };
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        return false;
    }
    if parts.len() == 5 {
        // JWE: the header names the content encryption too; the ciphertext and tag exist.
        return header.get("enc").is_some_and(|e| e.is_string())
            && !parts[3].is_empty()
            && !parts[4].is_empty();
    }
    // JWS: the payload decodes and the signature is there.
    !parts[2].is_empty() && decode(parts[1]).is_some() && decode(parts[2]).is_some()
}

fn basic_auth(decoded: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(decoded) else {
        return false;
    };
    let Some((user, pass)) = text.split_once(':') else {
        return false;
    };
    if user.is_empty() || user.contains(char::is_control) {
        return false;
    }
    // Some APIs take the key as the user name and no password (`key:` or `key:X`).
    password(pass) || (pass.len() <= 1 && user.len() >= 20 && password(user))
}

/// Well-known default or placeholder passwords (compared in lower case, with symbols at
/// either end and trailing digits removed: `password123`, `admin1`, `#pass`).
const DEFAULTS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "admin",
    "root",
    "guest",
    "test",
    "user",
    "username",
    "letmein",
    "default",
    "demo",
    "sample",
    "foo",
    "bar",
    "foobar",
    "qwerty",
    "abc",
    "token",
    "apikey",
    "api_key",
    "mypassword",
    "mysecret",
    "toor",
    "postgres",
    "mysql",
    "redis",
    "rabbitmq",
    "hunter",
    "secure",
    "welcome",
    "changeit",
    "tiger",
    "iloveyou",
    "s3cr3t",
];

fn password(secret: &str) -> bool {
    let secret = secret.trim_matches(|c| c == '"' || c == '\'');
    if secret.len() < 4 || super::rules::is_placeholder(secret) {
        return false;
    }
    // A reference, not a value: `$PASS`, `$(cat f)`, `%s`, `%(password)s`, `***`,
    // `#{Token}#` (Azure DevOps token replacement), `%NUGET_PAT%` (Windows), `{password}`
    // (a format string).
    if secret.starts_with('$')
        || secret.contains("$(")
        || secret.contains("%s")
        || secret.contains("%(")
        || secret.contains("***")
        || secret.contains("#{")
        || (secret.len() > 2 && secret.starts_with('%') && secret.ends_with('%'))
        || (secret.starts_with('{') && secret.ends_with('}'))
    {
        return false;
    }
    // `Password1`, `pass#`, `secret!`: a default with a digit or a symbol around it.
    let lower = secret.to_ascii_lowercase();
    let stem = lower
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.is_empty() || DEFAULTS.contains(&stem) {
        return false;
    }
    // A password that spells "password" is a documentation example (`123Abpassword`,
    // `P@ssw0rd!`), or too weak to matter less than the noise it would make.
    if ["password", "passw0rd", "p@ssword", "p@ssw0rd"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return false;
    }
    // One character repeated (`aaaaaaaa`, `........`).
    let mut chars = secret.chars();
    let first = chars.next();
    !chars.all(|c| Some(c) == first)
}

fn value_is_secret(decoded: &[u8]) -> bool {
    let text = String::from_utf8_lossy(decoded);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return false;
    }
    if trimmed.starts_with("-----BEGIN CERTIFICATE")
        || trimmed.starts_with("-----BEGIN PUBLIC KEY")
        || trimmed.starts_with("-----BEGIN RSA PUBLIC KEY")
        || trimmed.starts_with("ssh-")
    {
        return false;
    }
    // Binary values (a keystore, random key bytes) are secrets as they are, if they are
    // long enough to be keys (a short word read as base64 decodes to a few odd bytes);
    // text must not be a placeholder or a default.
    if std::str::from_utf8(decoded).is_err() {
        return decoded.len() >= 16;
    }
    password(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    fn b64url(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    fn token(header: &str, signature: &str) -> String {
        format!(
            "{}.{}.{}",
            b64url(header),
            b64url(r#"{"sub":"1234567890","iat":1716239022}"#),
            signature
        )
    }

    #[test]
    fn jwt_needs_a_json_header_with_alg_and_a_signature() {
        let sig = "Hq7Lp2Wm9Tz4Rb7Nc1Xs5Gf8Ja2Kd6Qh0Ye3Uo9Im4T";
        assert!(holds("jwt", &token(r#"{"alg":"HS256","typ":"JWT"}"#, sig)));
        assert!(holds(
            "jwt",
            &token(r#"{ "typ": "JWT", "alg": "RS256" }"#, sig)
        ));
        // Not JSON, JSON without alg, alg not a string, alg none, no signature.
        assert!(!holds("jwt", &token(r#"{"alg":"HS256""#, sig)));
        assert!(!holds("jwt", &token("eyeball", sig)));
        assert!(!holds("jwt", &token(r#"{"typ":"JWT"}"#, sig)));
        assert!(!holds("jwt", &token(r#"{"alg":256}"#, sig)));
        assert!(!holds("jwt", &token(r#"["alg"]"#, sig)));
        assert!(!holds("jwt", &token(r#"{"alg":"none"}"#, "")));
        assert!(!holds("jwt", &token(r#"{"alg":"NONE"}"#, sig)));
        assert!(!holds("jwt", &token(r#"{"alg":"HS256"}"#, "")));
        assert!(!holds("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0"));
        // JWE: five parts, `enc` in the header.
        let jwe = format!(
            "{}..{}.{}.{}",
            b64url(r#"{"alg":"dir","enc":"A256GCM"}"#),
            "48V1_ALb6US04U3b",
            "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji",
            "XFBoMYUZodetZdvTiFvSkQ"
        );
        assert!(holds("jwt", &jwe));
    }

    #[test]
    fn base64_and_basic_auth_values_must_not_be_placeholders() {
        let enc = |s: &str| STANDARD.encode(s);
        assert!(holds("base64", &enc("Zr8v!Qm2#Lx5Tn9w")));
        let key: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(97) ^ 0x8a).collect();
        assert!(holds("base64", &STANDARD.encode(&key)));
        assert!(!holds("base64", &STANDARD.encode(&key[..8])));
        for weak in [
            "changeme",
            "password123",
            "  ",
            "admin",
            "${DB_PASSWORD}",
            "aaaaaaaa",
        ] {
            assert!(!holds("base64", &enc(weak)), "{weak}");
        }
        assert!(!holds("base64", &enc("-----BEGIN CERTIFICATE-----\nMIIB")));
        assert!(!holds("base64", "not base64!"));
        assert!(holds("basic-auth", &enc("deploy:Gh5Tz8Qm2Xr7Kv4N")));
        assert!(holds(
            "basic-auth",
            &enc("deploy:Gh5Tz8Qm2Xr7Kv4N").replace('=', "")
        ));
        assert!(holds("basic-auth", &enc("Gh5Tz8Qm2Xr7Kv4NpL3wQz:")));
        assert!(!holds("basic-auth", &enc("deploy:")));
        assert!(!holds("base64", "hunter2x"));
        for weak in [
            "user:password",
            "deploy",
            ":Gh5Tz8Qm2Xr7Kv4N",
            "ci:$CI_TOKEN",
            "a:***",
        ] {
            assert!(!holds("basic-auth", &enc(weak)), "{weak}");
        }
    }

    #[test]
    fn passwords_are_not_references_or_defaults() {
        assert!(holds("password", "Gh5Tz8Qm2Xr7Kv4N"));
        assert!(holds("password", "hunter2hunter2x"));
        for weak in [
            "$PASSWORD",
            "$(cat pw)",
            "%s",
            "***",
            "<password>",
            "your_password",
            "xxxxxxxx",
            "changeme",
            "password",
            "Password1",
            "'secret'",
            "abc",
            "........",
            "%NUGET_PAT%",
            "#{FeedPassword}#",
            "123Abpassword",
            "P@ssw0rd!",
            "Hunter2",
            "secure1",
            "changeit",
            "{password}",
            "pass#",
            "#pass",
            "Secret!",
        ] {
            assert!(!holds("password", weak), "{weak}");
        }
        assert!(holds("random", "Gh5Tz8Qm2Xr7Kv4N"));
        for word in ["self.db_pass", "sekrit", "None", "correct-horse"] {
            assert!(holds("password", word) && !holds("random", word), "{word}");
        }
        assert!(!holds("no-such-check", "Gh5Tz8Qm2Xr7Kv4N"));
        assert!(NAMES.iter().all(|n| known(n)) && !known("JWT"));
    }
}
