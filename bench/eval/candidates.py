#!/usr/bin/env python3
"""List candidate lines for labelling: credential-ish patterns and names in the cache.

A helper for whoever extends bench/eval/labels.tsv; it decides nothing. Each candidate
is printed as TSV (registry, package, version, path, line, pattern, text) for a person
to read and label by hand. The patterns are written from providers' documented formats
and from words people use for secrets; they are deliberately broad.

Usage: bench/eval/candidates.py [--cache DIR] [--pattern NAME ...] [--max-per-file N]
Needs: python3, ripgrep (rg), the cache filled by bench/eval/fetch.py.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import default_cache  # noqa: E402

PATTERNS = {
    "aws": r'''\b(AKIA|ASIA)[A-Z0-9]{16}\b|aws_secret_access_key|SecretAccessKey''',
    "gcp": r'''AIza[0-9A-Za-z_-]{35}|ya29\.|"private_key_id"|service_account''',
    "azure": r'''AccountKey=|SharedAccessSignature|[?&]sig=|client_secret''',
    "github": r'''\bgh[pousr]_[A-Za-z0-9]{20,}|github_pat_''',
    "gitlab": r'''\bgl(pat|dt|rt|ptt|cbt|soat)-''',
    "slack": r'''\bxox[abposr]-|hooks\.slack\.com/''',
    "stripe": r'''\b(sk|pk|rk)_(live|test)_|whsec_''',
    "sendgrid": r'''\bSG\.[A-Za-z0-9_-]{10,}''',
    "twilio": r'''\b(AC|SK)[0-9a-f]{32}\b''',
    "openai-ish": r'''\bsk-(proj-|ant-)?[A-Za-z0-9_-]{16,}''',
    "hf": r'''\bhf_[A-Za-z0-9]{20,}|\br8_[A-Za-z0-9]{20,}''',
    "registry": r'''_authToken|\bnpm_[A-Za-z0-9]{30,}|pypi-AgE|_auth\s*=|\[pypi\]|machine\s+\S+\s+login''',
    "vault": r'''\bhv[sbr]\.[A-Za-z0-9_-]{20,}|\bs\.[A-Za-z0-9]{24}\b''',
    "square-shopify": r'''\bEAAA[A-Za-z0-9_-]{20,}|\bsq0[a-z]{3}-|\bshp(at|ss|ca|pa)_''',
    "mailchimp": r'''\b[0-9a-f]{32}-us[0-9]{1,2}\b''',
    "private-key": r'''-----BEGIN [A-Z ]*PRIVATE KEY|PuTTY-User-Key-File|AGE-SECRET-KEY-1|BEGIN PGP PRIVATE''',
    "jwt": r'''\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{5,}''',
    "jwk-private": r'''"d"\s*:\s*"[A-Za-z0-9_-]{20,}''',
    "conn-string": r'''\b[a-z][a-z0-9+]{1,20}://[^\s:/@'"]+:[^\s@'"]+@''',
    "authz-header": r'''(?i)authorization['"]?\s*[:=,]\s*['"]?(bearer|basic|token)\s+\S{8,}|curl .* -u \S+:\S+''',
    "k8s-docker": r'''^\s*kind:\s*Secret\b|"auths"\s*:|"auth"\s*:\s*"''',
    "generic": r'''(?i)(api[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|password|passwd|client[_-]?secret)['"]?\s*[:=]\s*['"][^'"\s]{8,}['"]''',
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=default_cache())
    ap.add_argument("--pattern", nargs="*", default=list(PATTERNS))
    ap.add_argument("--max-per-file", type=int, default=5)
    args = ap.parse_args()
    src = os.path.join(args.cache, "src")
    for name in args.pattern:
        out = subprocess.run(["rg", "--no-heading", "-n", "-uuu", "--max-filesize", "10M",
                              "-M", "400", "-m", str(args.max_per_file), "-e", PATTERNS[name], src],
                             capture_output=True, text=True, errors="replace")
        if out.returncode == 2:
            sys.exit(f"rg failed on {name}: {out.stderr.strip()}")
        out = out.stdout
        for hit in out.splitlines():
            parts = hit.split(":", 2)
            if len(parts) < 3 or not parts[1].isdigit():
                continue  # "binary file matches" notes
            path, line, text = parts
            rel = os.path.relpath(path, src).split(os.sep)
            reg, pkgver, inner = rel[0], rel[1], "/".join(rel[2:])
            pkg, ver = pkgver.rsplit("-", 1)
            print("\t".join([reg, pkg.replace("+", "/"), ver, inner, line, name, text.strip()[:300]]))


if __name__ == "__main__":
    main()
