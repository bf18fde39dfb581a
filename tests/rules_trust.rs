//! Rules the scanned change cannot slip past (issue 11, items 6, 9 and 13): secrets in
//! every form their readers accept, known values that are secrets (and only those), and
//! file rules that are rules like the others. Each test runs `scan --staged` in a real git
//! repository, as the pre-commit hook does.
//!
//! Fake tokens are assembled at run time (prefix + body) so that this source file does
//! not itself look like a leak to a scanner.

use std::process::Command;

use serde::Deserialize;

use crate::util::*;

#[derive(Debug, Deserialize)]
struct Report {
    findings: Vec<Finding>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Finding {
    rule: String,
    path: String,
}

#[derive(Debug, Deserialize)]
struct Summary {
    suppressed: u64,
}

/// Stages everything and runs `scan --staged --format json`: the run and its
/// (rule, path) findings, sorted.
fn staged(p: &Project) -> (Run, Report, Vec<(String, String)>) {
    git(p, &["add", "-A"]).ok();
    let r = p.run(["scan", "--staged", "--format", "json"]);
    let report: Report = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{r:?}"));
    let mut found: Vec<(String, String)> = report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.path.clone()))
        .collect();
    found.sort();
    (r, report, found)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected
        .iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect();
    v.sort();
    v
}

/// The private key line of the default identity.
fn identity_key(p: &Project) -> String {
    std::fs::read_to_string(p.default_identity_path())
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .expect("an age identity")
        .to_string()
}

#[test]
fn an_age_identity_in_lower_or_mixed_case_is_found() {
    let p = Project::initialized();
    p.set("API_TOKEN", "k8Jq2vN5xR7tW1zL4pA9", &[]).ok();
    let key = identity_key(&p);
    let lower = key.to_lowercase();
    // The lower-case key is a working identity: envshim (and rage) decrypt with it alone.
    std::fs::rename(p.default_identity_path(), p.home.join("moved-away.txt")).unwrap();
    let got: Run = p
        .envshim()
        .env("ENVSHIM_AGE_KEY", &lower)
        .args(["get", "API_TOKEN"])
        .output()
        .unwrap()
        .into();
    assert_eq!(got.ok().stdout.trim(), "k8Jq2vN5xR7tW1zL4pA9");
    // So committing it must be blocked, as the upper-case form is.
    p.write("ci/deploy.env", format!("ENVSHIM_AGE_KEY={lower}\n"));
    let mixed = format!("{}{}", &key[..16].to_lowercase(), &key[16..]);
    p.write("ci/mixed.txt", format!("key: {mixed}\n"));
    p.write("ci/upper.txt", format!("key: {key}\n"));
    let (r, _, found) = staged(&p);
    r.code(1).never_shows(&lower).never_shows(&key[16..]);
    assert_eq!(
        found,
        pairs(&[
            ("age-secret-key", "ci/deploy.env"),
            ("age-secret-key", "ci/mixed.txt"),
            ("age-secret-key", "ci/upper.txt"),
        ]),
    );
}

/// Generates an ed25519 OpenSSH key with the real `ssh-keygen`; returns its text.
fn ssh_private_key(p: &Project) -> String {
    let path = p.home.join("deploy_key");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "", "-f"])
        .arg(&path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn private_keys_in_every_form_their_readers_accept_are_found() {
    let p = Project::new();
    let key = ssh_private_key(&p);
    let lines: Vec<&str> = key.lines().collect();
    let (begin, end) = (lines[0], lines[lines.len() - 1]);
    let body: String = lines[1..lines.len() - 1].concat();
    // The body on one line: ssh-keygen still reads it.
    let unwrapped = format!("{begin}\n{body}\n{end}\n");
    let path = p.home.join("unwrapped");
    std::fs::write(&path, &unwrapped).unwrap();
    set_mode(&path, 0o600);
    let out = Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen reads the unwrapped key: {out:?}"
    );
    p.write("keys/unwrapped.txt", &unwrapped);
    // With CRLF line ends, in a JSON string and in a dotenv value (escaped newlines).
    p.write("keys/crlf.txt", key.replace('\n', "\r\n"));
    let json = serde_json::json!({ "type": "deploy", "private_key": key }).to_string();
    p.write("keys/service.json", &json);
    p.write(
        "config/app.env",
        format!("DEPLOY_KEY=\"{}\"\n", key.trim_end().replace('\n', "\\n")),
    );
    // Base64-encoded whole, as a Kubernetes Secret holds it.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&key);
    p.write(
        "k8s/deploy-key.yaml",
        format!("kind: Secret\ndata:\n  id_ed25519: {encoded}\n"),
    );
    let (r, _, found) = staged(&p);
    r.code(1).never_shows(&body).never_shows(&encoded);
    assert_eq!(
        found,
        pairs(&[
            ("private-key-base64", "k8s/deploy-key.yaml"),
            ("private-key-openssh", "config/app.env"),
            ("private-key-openssh", "keys/crlf.txt"),
            ("private-key-openssh", "keys/service.json"),
            ("private-key-openssh", "keys/unwrapped.txt"),
        ]),
    );
}

#[test]
fn webhook_urls_with_another_case_of_host_or_another_host_are_found() {
    let p = Project::new();
    let slack = format!(
        "{}{}",
        "HTTPS://Hooks.Slack.com/services/", "IsTZCOGNc9yXdgWgfBnwxvz4tWZNKWfu6q7ZKhwJb6Le"
    );
    let discord = format!(
        "{}{}",
        "https://discordapp.com/api/v10/webhooks/",
        "8Qm3aSyAlCw4pdrIQGKkFlnUOLImDvWy-1PP7m/4xN3dwZp9wyjOF5hZT4xjuTV2TiePC1KE4m4INNzm-CwuQ8LCDT"
    );
    p.write(
        "notify.py",
        format!("SLACK = '{slack}'\nDISCORD = '{discord}'\n"),
    );
    let (r, _, found) = staged(&p);
    r.code(1);
    assert_eq!(
        found,
        pairs(&[
            ("discord-webhook-url", "notify.py"),
            ("slack-webhook-url", "notify.py"),
        ]),
    );
}

/// A typical `.env`: modes, a port, a flag, a level, a region, a database URL with a
/// password, a Stripe key, and a value that looks random but is public.
fn typical_env(password: &str, stripe: &str, vapid: &str) -> String {
    format!(
        "NODE_ENV=production\nPORT=3000\nDEBUG=false\nLOG_LEVEL=info\nAWS_REGION=us-east-1\n\
         DATA_DIR=/var/lib/app/data\nAPI_BASE=https://api.example.com/v1\n\
         DATABASE_URL=postgres://app:{}@db:5432/app\nSTRIPE_SECRET_KEY={stripe}\n\
         PUBLIC_VAPID_KEY={vapid}\n",
        password.replace('#', "%23").replace('!', "%21")
    )
}

#[test]
fn known_values_are_searched_only_when_they_look_like_secrets_and_are_not_public() {
    let p = Project::initialized();
    // envshim:allow: a made-up password
    let password = "Zr8v!Qm2#Lx5Tn9w";
    let stripe = format!("{}{}", "sk_live_", "51Hq7TzW2mK9pLx4Nv8Rc3Bd6Fj1Sg5Yt0Ua");
    let vapid = "BEl62iUYgUivxIkv69yViEuiBIa40Hs3Kq";
    p.write(".env", typical_env(password, &stripe, vapid));
    p.run(["-q", "import", ".env"]).ok();
    std::fs::remove_file(p.path(".env")).unwrap();
    git(&p, &["add", "-A"]).ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "secrets"]).ok();

    // The repro: code that mentions the mode, the port, the region, a path and the API
    // URL is not blocked.
    p.write(
        "app.js",
        "if (process.env.NODE_ENV === 'production') { listen(3000); }\n\
         const region = 'us-east-1', dir = '/var/lib/app/data';\n\
         fetch('https://api.example.com/v1');\nconst debug = false; log('info');\n",
    );
    let (r, _, found) = staged(&p);
    assert_eq!(found, vec![], "{r:?}");
    r.ok();
    git(&p, &["commit", "-q", "--no-verify", "-m", "app"]).ok();

    // The password (alone, and in the URL) and the key are still found.
    p.write(
        "compose.yml",
        format!("environment:\n  POSTGRES_PASSWORD: {password}\n"),
    );
    p.write("billing.py", format!("stripe.api_key = '{stripe}'\n"));
    p.write("vapid.js", format!("const key = '{vapid}';\n"));
    let (r, _, found) = staged(&p);
    r.code(1).never_shows(password).never_shows(&stripe);
    assert_eq!(
        found,
        pairs(&[
            ("known-secret", "billing.py"),
            ("known-secret", "compose.yml"),
            ("known-secret", "vapid.js"),
        ]),
    );

    // `# public` in the example: that value is no longer searched.
    let example = p.read(".env.secrets.example");
    let marked = example.replace("PUBLIC_VAPID_KEY=\n", "PUBLIC_VAPID_KEY= # public\n");
    assert_ne!(marked, example);
    p.write(".env.secrets.example", &marked);
    let (r, _, found) = staged(&p);
    r.code(1);
    assert_eq!(
        found,
        pairs(&[
            ("known-secret", "billing.py"),
            ("known-secret", "compose.yml")
        ]),
    );

    // `set` and `import` keep the mark, also beside `# optional`.
    p.set("NEW_TOKEN", "u3H9sQ1vB6nM4kT7yR2e", &[]).ok();
    p.write(
        ".env.more",
        "SENTRY_RELEASE=2f8c1e9a7b3d # optional # public\n",
    );
    p.run(["-q", "import", ".env.more"]).ok();
    std::fs::remove_file(p.path(".env.more")).unwrap();
    let example = p.read(".env.secrets.example");
    assert!(
        example.contains("PUBLIC_VAPID_KEY= # public\n"),
        "{example}"
    );
    assert!(
        example.contains("SENTRY_RELEASE= # optional # public\n"),
        "{example}"
    );
    p.write("release.txt", "release 2f8c1e9a7b3d\n");
    let (r, _, found) = staged(&p);
    r.code(1);
    assert!(
        !found.iter().any(|(_, path)| path == "release.txt"),
        "{found:?}"
    );

    // `disable = ["known-secret"]` is a rule id like any other.
    p.write("envshim.toml", "[scan]\ndisable = [\"known-secret\"]\n");
    let (r, _, found) = staged(&p);
    assert_eq!(
        found,
        pairs(&[("stripe-live-secret-key", "billing.py")]),
        "{r:?}"
    );
}

#[test]
fn file_rules_are_rules_disabled_allowed_counted_and_need_a_key() {
    let p = Project::new();
    let marker = format!("-----BEGIN {}-----", "OPENSSH PRIVATE KEY");
    // Nothing to report: empty, blank, a public key, a note.
    p.write("id_rsa", "");
    p.write("keys/id_ed25519", "  \n");
    p.write(
        "keys/id_ecdsa",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAI deploy@ci\n",
    );
    p.write("old/id_dsa", "moved to the vault\n");
    // To report: a private key, a dotenvx key file, an unencrypted secrets file.
    p.write("deploy/id_rsa", format!("{marker}\nb3BlbnNzaC1rZXk\n"));
    p.write(
        ".env.keys",
        "DOTENV_PRIVATE_KEY=81dac4d2c42e67a2c6542d3b943a4674\n",
    );
    p.write("prod.env.secrets", "NODE_ENV=production\n");
    // An `envshim:allow` line suppresses a file's file-rule findings, and is counted.
    p.write(
        "fixtures/staging.env.secrets",
        "# envshim:allow: a fixture for the import tests\nNODE_ENV=staging\n",
    );
    let (r, report, found) = staged(&p);
    r.code(1);
    assert_eq!(
        found,
        pairs(&[
            ("dotenv-keys-file", ".env.keys"),
            ("ssh-private-key-file", "deploy/id_rsa"),
            ("unencrypted-secrets-file", "prod.env.secrets"),
        ]),
    );
    assert_eq!(report.summary.suppressed, 1);

    // `disable` takes their ids.
    p.write(
        "envshim.toml",
        "[scan]\ndisable = [\"ssh-private-key-file\", \"dotenv-keys-file\"]\n",
    );
    let (r, _, found) = staged(&p);
    r.code(1);
    assert_eq!(
        found,
        pairs(&[("unencrypted-secrets-file", "prod.env.secrets")])
    );
}

#[test]
fn file_names_match_in_any_case() {
    // On a case-insensitive file system (macOS, Windows), `.ENV` is the `.env` dotenv
    // loads, `ID_RSA` the key ssh offers, `PROD.ENV.SECRETS` the file envshim reads.
    let p = Project::new();
    let marker = format!("-----BEGIN {}-----", "OPENSSH PRIVATE KEY");
    // envshim:allow: a made-up webhook secret
    p.write(".ENV", "STRIPE_WEBHOOK_SECRET=k8Jq2vN5xR7tW1zL4pA9\n");
    p.write("keys/ID_RSA", format!("{marker}\nb3BlbnNzaC1rZXk\n"));
    p.write("deploy/PROD.ENV.SECRETS", "NODE_ENV=production\n");
    let (r, _, found) = staged(&p);
    r.code(1);
    assert_eq!(
        found,
        pairs(&[
            ("dotenv-plaintext-value", ".ENV"),
            ("ssh-private-key-file", "keys/ID_RSA"),
            ("unencrypted-secrets-file", "deploy/PROD.ENV.SECRETS"),
        ]),
    );
}

/// Review finding: in `--range`, known values come from the base commit's secrets file
/// too, so a change that drops a key from the secrets file and writes its value in
/// plaintext is still caught.
#[test]
fn a_range_searches_the_values_the_base_commit_held() {
    let p = Project::initialized();
    // envshim:allow: a made-up password
    let password = "Zr8v!Qm2#Lx5Tn9w";
    p.set("DB_PASSWORD", password, &[]).ok();
    let base = commit_all(&p, "secrets");
    p.run(["rm", "DB_PASSWORD"]).ok();
    p.write("settings.py", format!("PASSWORD = {password:?}\n"));
    commit_all(&p, "inline the password");
    let r = p
        .run([
            "scan",
            "--range",
            &format!("{base}..HEAD"),
            "--format",
            "json",
        ])
        .code(1)
        .never_shows(password);
    let report = r.json();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "settings.py")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["known-secret"], "{r:?}");
}
