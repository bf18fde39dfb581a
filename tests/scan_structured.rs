//! `envshim scan` on structured secrets: JWTs (validated), Kubernetes Secret manifests,
//! private keys inside JSON strings and PuTTY key files, through the real binary.
//!
//! Fake secrets are assembled at run time (armor + body, base64 of JSON) so that this
//! source file does not itself look like a leak to a scanner.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;

use crate::util::*;

/// The fields these tests read (the report carries more).
#[derive(Debug, Deserialize)]
struct Report {
    findings: Vec<Found>,
}

#[derive(Debug, Deserialize)]
struct Found {
    rule: String,
    path: String,
    line: usize,
}

/// (rule, path, line) of every finding of a JSON scan of the project.
fn findings(p: &Project) -> Vec<(String, String, usize)> {
    let r = p.run(["scan", "--format", "json", "--no-known"]);
    let report: Report = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r:?}"));
    report
        .findings
        .into_iter()
        .map(|f| (f.rule, f.path, f.line))
        .collect()
}

fn has(found: &[(String, String, usize)], rule: &str, path: &str, line: usize) -> bool {
    found
        .iter()
        .any(|(r, p, l)| r == rule && p == path && *l == line)
}

fn b64url(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// A token: the header as given, a claims payload, a 32-byte signature.
fn jwt(header: &str) -> String {
    let signature: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(73) ^ 0x5c).collect();
    format!(
        "{}.{}.{}",
        b64url(header),
        b64url(r#"{"sub":"build-bot","iat":1731974400,"scope":"deploy"}"#),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn scan_reports_a_jwt_whose_header_is_json_with_alg_and_not_one_whose_header_is_not() {
    let p = Project::new();
    let good = jwt(r#"{"alg":"HS256","typ":"JWT"}"#);
    // Not JSON (the closing brace is missing), and JSON without `alg`: same shape, same
    // length, not tokens.
    let not_json = jwt(r#"{"alg":"HS256","typ":"JWT""#);
    let no_alg = jwt(r#"{"typ":"JWT","kid":"k1"}"#);
    // Unsigned: `alg: none` and no signature.
    let unsigned = format!(
        "{}.{}.",
        b64url(r#"{"alg":"none"}"#),
        b64url(r#"{"sub":"admin"}"#)
    );
    p.write(
        "config/session.json",
        format!(
            "{{\n  \"token\": \"{good}\",\n  \"broken\": \"{not_json}\",\n  \"other\": \"{no_alg}\",\n  \"unsigned\": \"{unsigned}\"\n}}\n"
        ),
    );
    let found = findings(&p);
    assert!(has(&found, "jwt", "config/session.json", 2), "{found:?}");
    let jwt_lines: Vec<usize> = found
        .iter()
        .filter(|(r, _, _)| r == "jwt")
        .map(|(_, _, l)| *l)
        .collect();
    assert_eq!(jwt_lines, vec![2], "{found:?}");
}

#[test]
fn scan_reports_a_value_in_the_data_of_a_kubernetes_secret_manifest() {
    let p = Project::new();
    let password = STANDARD.encode(format!("{}{}", "Dtp2zXAbb5", "9nrsCjXOq7"));
    let settings = STANDARD.encode(r#"{"logLevel":"debug","retries":3}"#);
    p.write(
        "deploy/db.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\ndata:\n  \
             DB_USER: YXBw\n  DB_PASSWORD: {password}\n---\napiVersion: v1\nkind: ConfigMap\n\
             metadata:\n  name: settings\ndata:\n  settings.json: {settings}\n"
        ),
    );
    let found = findings(&p);
    assert!(
        has(&found, "kubernetes-secret-data", "deploy/db.yaml", 8),
        "{found:?}"
    );
    // The ConfigMap in the same file is not a Secret.
    assert!(
        !found.iter().any(|(_, _, l)| *l == 15),
        "the ConfigMap was reported: {found:?}"
    );
}

#[test]
fn scan_reports_a_private_key_with_escaped_newlines_inside_a_json_string() {
    let p = Project::new();
    let kind = "PRIVATE KEY";
    let body = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDd8Hq3Lk2Wm9Tz",
        "Pv4Rb7Nc1Xs5Gf8Ja2Kd6Qh0Ye3Uo9Im4Tl7Wn2Ep5Ry8Bv1Cz6Ax3Sg0Fk9Dj4Mh",
        "Kq2Wc5Rt8Yn4Mb6Xp0Jf3Gd1Ha5Ue7Si9Ok2Tl4Nr6Pm8Qv0Ww3Ez5Cy7AxFq2Gp",
    ]
    .join("\\n");
    // A cloud service-account key file: the key is one JSON string, newlines as `\n`.
    p.write(
        "ops/service-account.json",
        format!(
            "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"acme-prod\",\n  \
             \"private_key\": \"-----BEGIN {kind}-----\\n{body}\\n-----END {kind}-----\\n\",\n  \
             \"client_email\": \"deploy@acme-prod.iam.gserviceaccount.test\"\n}}\n"
        ),
    );
    let found = findings(&p);
    assert!(
        has(&found, "private-key-pem", "ops/service-account.json", 4),
        "{found:?}"
    );
}

#[test]
fn scan_reports_a_putty_private_key_file() {
    let p = Project::new();
    let armor = format!("{}-User-Key-File-3", "PuTTY");
    p.write(
        "keys/deploy.ppk",
        format!(
            "{armor}: ssh-ed25519\nEncryption: none\nComment: deploy@build\nPublic-Lines: 2\n\
             AAAAC3NzaC1lZDI1NTE5AAAAIJq9Kz3LpWm9Tz4Rb7Nc1Xs5Gf8Ja2Kd6Qh0Ye3Uo9\n\
             Im4Tl7Wn2Ep5Ry8B\nPrivate-Lines: 1\nAAAAIBv1Cz6Ax3Sg0Fk9Dj4Mh7Kq2Wc5Rt8Yn4Mb6Xp0Jf3Gd1\n\
             Private-MAC: 8a1f3c5e7b9d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a\n"
        ),
    );
    let found = findings(&p);
    assert!(
        has(&found, "putty-private-key", "keys/deploy.ppk", 1),
        "{found:?}"
    );
}

#[test]
fn scan_refuses_a_custom_rule_whose_validate_names_no_check() {
    let p = Project::new();
    p.write("a.txt", "nothing here\n");
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme\"\ndescription = \"ACME\"\nkeywords = [\"acme_\"]\n\
         regex = '''(?P<secret>acme_[a-z0-9]{20})'''\nvalidate = \"luhn\"\n",
    );
    p.run(["scan"])
        .code(2)
        .clean_error()
        .stderr_has(&["custom rule 1", "validate"]);
    p.write(
        "envshim.toml",
        "[[scan.rule]]\nid = \"acme\"\ndescription = \"ACME\"\nkeywords = [\"acme_\"]\n\
         regex = '''(?P<secret>acme_[a-z0-9]{20})'''\nvalidate = \"password\"\n",
    );
    p.run(["scan"]).ok();
}

#[test]
fn scan_reports_a_binary_pkcs12_keystore_by_its_name_and_still_skips_its_text() {
    let p = Project::new();
    // The start of a DER PFX (SEQUENCE, version 3, …): binary, with NUL bytes.
    let mut der = vec![
        0x30, 0x82, 0x03, 0xfc, 0x02, 0x01, 0x03, 0x30, 0x82, 0x03, 0xb2,
    ];
    der.extend_from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ]);
    der.extend_from_slice(&[0xa0, 0x82, 0x03, 0xa3, 0x04, 0x82, 0x03, 0x9f, 0x00, 0x00]);
    p.write("certs/client.p12", &der);
    // A binary file no file rule is about, holding a token: not searched as text.
    let mut blob = b"\x00\x01binary ".to_vec();
    blob.extend_from_slice(github_token().as_bytes());
    p.write("assets/blob.bin", blob);
    let found = findings(&p);
    assert_eq!(
        found,
        vec![("pkcs12-file".to_string(), "certs/client.p12".to_string(), 1)],
    );
    p.run(["scan"]).code(1).stderr_has(&["2 skipped"]);
}
