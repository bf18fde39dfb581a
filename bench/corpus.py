#!/usr/bin/env python3
"""Labeled corpus: recall and false positives of `envshim scan`, per family.

Generates fake secrets from documented token formats (defined here independently of the
rules' own examples), embeds them in varied code and config contexts, adds files of
ordinary look-alikes that are NOT secrets (hashes, UUIDs, base64, placeholders, variable
references), scans the lot with the release binary, and prints a table.

Every value is random (seeded, so runs are repeatable). None is a real key.

Usage: bench/corpus.py [--keep DIR] [--per-format N] [--binary PATH]
"""
import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile

R = random.Random(20261124)
UP, LO, DIG = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UP + LO + DIG
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def rnd(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def pem(kind):
    body = "\n".join(rnd(B64, 64) for _ in range(12)) + "\n" + rnd(B64, 20) + "=="
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


# family -> list of (format name, generator). Formats follow the providers' documented
# shapes (prefix, length, alphabet).
FORMATS = {
    "cloud": [
        ("aws-access-key-id", lambda: "AKIA" + rnd(UP + "234567", 16)),
        ("gcp-api-key", lambda: "AIza" + rnd(ALNUM + "-_", 35)),
        ("digitalocean-pat", lambda: "dop_v1_" + rnd(HEX, 64)),
        ("azure-storage-key", lambda: "DefaultEndpointsProtocol=https;AccountName=acct"
         + rnd(LO, 6) + ";AccountKey=" + rnd(B64, 86) + "==;EndpointSuffix=core.windows.net"),
    ],
    "vcs-ci": [
        ("github-classic", lambda: "ghp_" + rnd(ALNUM, 36)),
        ("github-oauth", lambda: "gho_" + rnd(ALNUM, 36)),
        ("github-fine-grained", lambda: "github_pat_" + rnd(ALNUM, 22) + "_" + rnd(ALNUM, 59)),
        ("gitlab-pat", lambda: "glpat-" + rnd(ALNUM + "-_", 20)),
    ],
    "payments": [
        ("stripe-live", lambda: "sk_live_" + rnd(ALNUM, 99)),
        ("stripe-restricted", lambda: "rk_live_" + rnd(ALNUM, 99)),
        ("square-secret", lambda: "sq0csp-" + rnd(ALNUM + "-_", 43)),
        ("shopify-access", lambda: "shpat_" + rnd(HEX, 32)),
    ],
    "chat-mail": [
        ("slack-bot", lambda: f"xoxb-{rnd(DIG, 11)}-{rnd(DIG, 13)}-{rnd(ALNUM, 24)}"),
        ("slack-webhook", lambda: f"https://hooks.slack.com/services/T{rnd(UP + DIG, 10)}/B{rnd(UP + DIG, 10)}/{rnd(ALNUM, 24)}"),
        ("sendgrid", lambda: "SG." + rnd(ALNUM + "-_", 22) + "." + rnd(ALNUM + "-_", 43)),
        ("twilio-api-key", lambda: "SK" + rnd(HEX, 32)),
    ],
    "ai": [
        ("anthropic", lambda: "sk-ant-api03-" + rnd(ALNUM + "-_", 93) + "AA"),
        ("openai-project", lambda: "sk-proj-" + rnd(ALNUM + "-_", 74) + "T3BlbkFJ" + rnd(ALNUM + "-_", 74)),
        ("huggingface", lambda: "hf_" + rnd(ALNUM, 34)),
        ("groq", lambda: "gsk_" + rnd(ALNUM, 52)),
    ],
    "registries": [
        ("npm", lambda: "npm_" + rnd(ALNUM, 36)),
        ("pypi", lambda: "pypi-AgEIcHlwaS5vcmc" + rnd(B64URL, 70)),
        ("docker-hub", lambda: "dckr_pat_" + rnd(ALNUM + "-_", 27)),
        ("rubygems", lambda: "rubygems_" + rnd(HEX, 48)),
    ],
    "saas-db": [
        ("newrelic-user", lambda: "NRAK-" + rnd(UP + DIG, 27)),
        ("linear", lambda: "lin_api_" + rnd(ALNUM, 40)),
        ("postman", lambda: "PMAK-" + rnd(HEX, 24) + "-" + rnd(HEX, 34)),
        ("databricks", lambda: "dapi" + rnd(HEX, 32)),
    ],
    "private-keys": [
        ("pem-rsa", lambda: pem("RSA PRIVATE KEY")),
        ("pem-pkcs8", lambda: pem("PRIVATE KEY")),
        ("openssh", lambda: pem("OPENSSH PRIVATE KEY")),
        ("age", lambda: "AGE-SECRET-KEY-1" + rnd(BECH32, 58)),
    ],
    "connection-strings": [
        ("postgres", lambda: f"postgres://app:{rnd(ALNUM, 18)}@db.internal:5432/app"),
        ("mongodb-srv", lambda: f"mongodb+srv://svc:{rnd(ALNUM, 20)}@cluster0.{rnd(LO, 5)}.mongodb.net/prod"),
        ("redis", lambda: f"redis://default:{rnd(ALNUM, 24)}@cache.internal:6379/0"),
        ("mysql", lambda: f"mysql://root:{rnd(ALNUM, 16)}@10.0.0.5:3306/shop"),
    ],
    "generic": [
        ("password-assignment", lambda: ("password", rnd(ALNUM + "!#%&*", 18))),
        ("api-key-assignment", lambda: ("api_key", rnd(ALNUM, 32))),
        ("client-secret", lambda: ("client_secret", rnd(ALNUM + "-_", 40))),
        ("auth-token", lambda: ("auth_token", rnd(ALNUM, 40))),
    ],
}

# Contexts a value is embedded in. {k} is a variable name, {v} the value.
CONTEXTS = [
    ('{k} = "{v}"', "py"),
    ("const {k} = '{v}';", "js"),
    ('  {k}: "{v}"', "yaml"),
    ('    "{k}": "{v}",', "json"),
    ("export {K}={v}", "sh"),
    ('{k} := "{v}"', "go"),
]


def embed(family, value):
    """A line (or block) holding the value; generic values carry their own key name."""
    if family == "generic":
        key, secret = value
        template, ext = R.choice(CONTEXTS)
        return template.format(k=key, K=key.upper(), v=secret), ext
    if family == "private-keys" and "\n" in value:
        return value, "pem"
    key = R.choice(["token", "credential", "conf_value", "setting", "upstream"])
    template, ext = R.choice(CONTEXTS)
    return template.format(k=key, K=key.upper(), v=value), ext


NEGATIVES = [
    lambda: f'commit = "{rnd(HEX, 40)}"',
    lambda: f'sha256 = "{rnd(HEX, 64)}"',
    lambda: f'request_id = "{rnd(HEX, 8)}-{rnd(HEX, 4)}-{rnd(HEX, 4)}-{rnd(HEX, 4)}-{rnd(HEX, 12)}"',
    lambda: f'icon = "data:image/png;base64,{rnd(B64, 120)}"',
    lambda: f'integrity="sha512-{rnd(B64, 86)}=="',
    lambda: 'password = os.environ["DB_PASSWORD"]',
    lambda: "api_key = get_api_key(settings)",
    lambda: 'token = "${GITHUB_TOKEN}"',
    lambda: 'API_KEY="your-api-key-here"',
    lambda: 'password: "changeme"',
    lambda: "secret = None",
    lambda: 'client_secret = ""',
    lambda: f"def check_token_{rnd(LO, 8)}(token: str) -> bool:",
    lambda: f'url = "https://api.{rnd(LO, 7)}.com/v1/{rnd(LO, 6)}?page=2"',
    lambda: 'DATABASE_URL="postgres://user:password@localhost:5432/dev"',
    lambda: f'cache_key = "{rnd(LO, 6)}:{rnd(DIG, 6)}:{rnd(HEX, 16)}"',
    lambda: "# Set AWS_SECRET_ACCESS_KEY in your environment, never in code.",
    lambda: f'csrf_token_name = "csrf_{rnd(LO, 10)}_field"',
    lambda: 'private_key_path = "/etc/ssl/private/server.key"',
    lambda: f'session_cookie = "sid_{rnd(LO, 5)}"',
    lambda: f'let tokenizer = Tokenizer::new("{rnd(LO, 12)}");',
    lambda: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE',
    lambda: f'git_tree = "{rnd(HEX, 40)}"',
    lambda: f'fixture_bytes = b"{rnd(ALNUM, 48)}"',
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="write the corpus here and keep it")
    ap.add_argument("--per-format", type=int, default=25)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "envshim"))
    args = ap.parse_args()
    root = args.keep or tempfile.mkdtemp(prefix="envshim-corpus-")
    os.makedirs(root, exist_ok=True)
    expected = {}  # (path, line) -> family
    totals = {}
    for family, formats in FORMATS.items():
        for name, gen in formats:
            for i in range(args.per_format):
                text, ext = embed(family, gen())
                rel = f"pos/{family}/{name}-{i:03}.{ext}"
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                header = f"# generated fixture {i}\n\n"
                with open(path, "w") as f:
                    f.write(header + text + "\n")
                expected[(rel, 3)] = family
                totals[family] = totals.get(family, 0) + 1
    neg_lines = 0
    for i in range(400):
        rel = f"neg/file-{i:03}.txt"
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lines = [R.choice(NEGATIVES)() for _ in range(25)]
        neg_lines += len(lines)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    out = subprocess.run([args.binary, "scan", "--no-known", "--format", "json", "."],
                         cwd=root, capture_output=True, text=True)
    if out.returncode not in (0, 1):
        sys.exit(f"envshim failed: {out.stderr}")
    findings = json.loads(out.stdout)["findings"]
    found = {}
    false_pos = {}
    for f in findings:
        key = (f["path"], f["line"])
        if key in expected:
            found.setdefault(expected[key], set()).add(key)
        else:
            fam = "negatives" if f["path"].startswith("neg/") else f["path"].split("/")[1]
            false_pos.setdefault(fam, []).append(f"{f['path']}:{f['line']} {f['rule']}")
    print(f"{'family':20} {'samples':>7} {'found':>6} {'recall':>7} {'false pos':>9}")
    all_found = all_total = 0
    for family in FORMATS:
        n, k = totals[family], len(found.get(family, ()))
        all_found += k
        all_total += n
        fp = len(false_pos.get(family, []))
        print(f"{family:20} {n:7} {k:6} {k / n:7.0%} {fp:9}")
    fp_neg = len(false_pos.get("negatives", []))
    print(f"{'negatives':20} {neg_lines:7} {'':6} {'':7} {fp_neg:9}   (lines of look-alikes)")
    print(f"{'all':20} {all_total:7} {all_found:6} {all_found / all_total:7.0%} "
          f"{sum(len(v) for v in false_pos.values()):9}")
    missed = [(k, v) for k, v in expected.items() if k not in found.get(v, set())]
    if os.environ.get("VERBOSE"):
        for (path, line), fam in missed:
            print("missed:", path)
        for fam, items in false_pos.items():
            for item in items:
                print("false positive:", item)
    if not args.keep:
        import shutil
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
