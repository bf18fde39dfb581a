#!/usr/bin/env python3
"""Recall and false positives of an envshim binary on the independent evaluation set.

The set is bench/eval/labels.tsv: lines of providers' SDKs, tests and docs (fetched by
bench/eval/fetch.py into a cache, never committed), each labelled by hand positive (a
string in a provider's documented credential format, test keys included) or negative
(something a scanner might flag that is not a credential), with family, provider and a
reason. This script rebuilds every labelled example from the cache, scans them all with
the binary given, and prints recall by family and the false-positive rate, at every
confidence level the binary reports, with the misses and false positives (redacted).

Two ways to rebuild an example:
  snippet (default)  the labelled lines only (line-ctx .. end), each in its own folder
                     under its original relative path (so path-based rules still apply)
  --whole-files      the whole original file; a finding counts for an example when it
                     is reported on one of the example's lines (line .. end)

Confidence: when `scan --help` offers `--confidence`, the scan runs with
`--confidence low` and each finding's `confidence` field (JSON) decides at which floors
it counts. Otherwise every finding counts at every floor, and the level shown is the
rule's nominal confidence from the rules files of this checkout (--rules), for
information only.

Usage: bench/eval/run.py BINARY [--cache DIR] [--whole-files] [--rules DIR]
                         [--labels FILE] [--json OUT] [--quiet]
Needs: python3 (3.11+), the cache filled by bench/eval/fetch.py.
Exit status 0 (it measures; it does not judge).
"""
import argparse
import collections
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = ["high", "medium", "low"]
RANK = {"high": 0, "medium": 1, "low": 2}


def default_cache():
    if os.environ.get("EVAL_CACHE"):
        return os.environ["EVAL_CACHE"]
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "..", "..", "target")
    return os.path.join(target, "eval")


def read_labels(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader((l for l in f if not l.startswith("#")), delimiter="\t"):
            row["line"] = int(row["line"])
            row["end"] = int(row["end"] or row["line"])
            row["ctx"] = int(row["ctx"] or 0)
            rows.append(row)
    return rows


def rule_info(rules_dir):
    """rule id -> (family, nominal confidence) from the rules files of this checkout."""
    info = {}
    files = [os.path.join(rules_dir, "rules.toml")] + sorted(glob.glob(os.path.join(rules_dir, "rules", "*.toml")))
    for f in files:
        if not os.path.exists(f):
            continue
        for r in tomllib.load(open(f, "rb")).get("rule", []):
            fam = r.get("family", "?")
            conf = r.get("confidence")
            if not conf:
                if fam in ("generic", "dotenv"):
                    conf = "low"
                elif r.get("kind") == "near":
                    conf = "medium"
                else:
                    conf = "high"
            info[r["id"]] = (fam, conf)
    return info


LONG = re.compile(r"[^\s'\"`:@,;()\[\]{}<>]{8,}")


def redact(text, width=110):
    """A line with every run of 8 or more characters (up to a quote, space or separator)
    cut as the scanner's reports are: 4 characters and the length (2 under 16)."""
    def cut(m):
        t = m.group(0)
        return f"{t[:4] if len(t) >= 16 else t[:2]}…({len(t)})"

    text = LONG.sub(cut, text.strip())
    return text if len(text) <= width else text[: width - 1] + "…"


def source_dir(cache, row):
    return os.path.join(cache, "src", row["registry"], f"{row['package'].replace('/', '+')}-{row['version']}")


def read_lines(cache, row):
    p = os.path.join(source_dir(cache, row), row["path"])
    with open(p, "rb") as f:
        return f.read().decode("utf-8", "replace").split("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--cache", default=default_cache())
    ap.add_argument("--labels", default=os.path.join(HERE, "labels.tsv"))
    ap.add_argument("--rules", default=os.path.join(HERE, "..", "..", "src", "scan"))
    ap.add_argument("--whole-files", action="store_true")
    ap.add_argument("--json", help="write every example's outcome here")
    ap.add_argument("--quiet", action="store_true", help="tables only, no lists")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    labels = read_labels(args.labels)
    info = rule_info(args.rules)
    helptext = subprocess.run([binary, "scan", "--help"], capture_output=True, text=True).stdout
    has_conf = "--confidence" in helptext

    work = tempfile.mkdtemp(prefix="envshim-eval-")  # outside any repository
    try:
        root = os.path.join(work, "set")
        # example index -> (relative path in root, first line number of the example there)
        where = {}
        missing = []
        for i, row in enumerate(labels):
            try:
                lines = read_lines(args.cache, row)
            except OSError:
                missing.append(row)
                continue
            if args.whole_files:
                rel = os.path.join(f"{row['registry']}+{row['package'].replace('/', '+')}", row["path"])
                dest = os.path.join(root, rel)
                if not os.path.exists(dest):
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    shutil.copyfile(os.path.join(source_dir(args.cache, row), row["path"]), dest)
                where[i] = (rel, row["line"], row["end"])
            else:
                first = max(1, row["line"] - row["ctx"])
                rel = os.path.join(f"{i:05d}", row["path"])
                dest = os.path.join(root, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, "w", encoding="utf-8", errors="replace") as f:
                    f.write("\n".join(lines[first - 1 : row["end"]]) + "\n")
                # lines of the example, as numbered in the snippet
                where[i] = (rel, row["line"] - first + 1, row["end"] - first + 1)
        if missing:
            print(f"warning: {len(missing)} labelled file(s) not in the cache {args.cache} "
                  f"(run bench/eval/fetch.py); e.g. {missing[0]['package']} {missing[0]['path']}",
                  file=sys.stderr)
        cmd = [binary, "scan", "--no-known", "--no-baseline", "--format", "json"]
        if has_conf:
            cmd += ["--confidence", "low"]
        out = subprocess.run(cmd + ["set"], cwd=work, capture_output=True, text=True)
        if out.returncode not in (0, 1):
            sys.exit(f"scan failed ({out.returncode}): {out.stderr.strip()}")
        doc = json.loads(out.stdout)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    by_path = collections.defaultdict(list)
    for f in doc["findings"]:
        p = f["path"]
        p = p[len("set/"):] if p.startswith("set/") else p
        by_path[p].append(f)

    def level(f):
        if has_conf and f.get("confidence") in RANK:
            return f["confidence"]
        return info.get(f["rule"], ("?", "high"))[1] if not has_conf else "high"

    floors = LEVELS if has_conf else ["all"]

    def counted(f, floor):
        return floor == "all" or RANK[level(f)] <= RANK[floor]

    results = []
    for i, row in enumerate(labels):
        if i not in where:
            continue
        rel, a, b = where[i]
        hits = [f for f in by_path.get(rel, []) if a <= f["line"] <= b]
        results.append((row, hits))

    print(f"binary: {binary}")
    print(f"confidence levels: {'reported by the binary (--confidence low)' if has_conf else 'not supported by the binary: every finding counts'}")
    print(f"mode: {'whole files' if args.whole_files else 'snippets'}; examples: {len(results)} "
          f"({sum(r['label'] == 'positive' for r, _ in results)} positive, "
          f"{sum(r['label'] == 'negative' for r, _ in results)} negative)\n")

    for floor in floors:
        title = "every finding" if floor == "all" else f"confidence >= {floor}"
        fam = collections.defaultdict(lambda: [0, 0])
        kind = collections.defaultdict(lambda: [0, 0])
        for row, hits in results:
            found = any(counted(f, floor) for f in hits)
            if row["label"] == "positive":
                fam[row["family"]][0] += 1
                fam[row["family"]][1] += found
            else:
                kind[row["kind"]][0] += 1
                kind[row["kind"]][1] += found
        print(f"## Recall by family ({title})")
        print(f"| family | positives | found | recall |\n|---|---|---|---|")
        tp = tn = 0
        for k in sorted(fam):
            n, h = fam[k]
            tp += n
            tn += h
            print(f"| {k} | {n} | {h} | {100 * h / n:.0f}% |")
        print(f"| **all** | {tp} | {tn} | **{100 * tn / max(tp, 1):.1f}%** |\n")
        print(f"## False positives by kind of negative ({title})")
        print(f"| negative kind | negatives | flagged | rate |\n|---|---|---|---|")
        nn = nf = 0
        for k in sorted(kind):
            n, h = kind[k]
            nn += n
            nf += h
            print(f"| {k} | {n} | {h} | {100 * h / n:.0f}% |")
        print(f"| **all** | {nn} | {nf} | **{100 * nf / max(nn, 1):.1f}%** |\n")

    if not args.quiet:
        print("## Misses (positives not found at any level)")
        for row, hits in results:
            if row["label"] == "positive" and not hits:
                print(f"- [{row['family']}/{row['provider']}] {row['package']} {row['path']}:{row['line']}  "
                      f"{redact(read_lines(args.cache, row)[row['line'] - 1])}")
        print("\n## False positives (negatives flagged at any level)")
        for row, hits in results:
            if row["label"] == "negative" and hits:
                rules = ",".join(sorted({f"{f['rule']}({level(f)})" for f in hits}))
                print(f"- [{row['kind']}] {rules} {row['package']} {row['path']}:{row['line']}  "
                      f"{redact(read_lines(args.cache, row)[row['line'] - 1])}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"package": r["package"], "path": r["path"], "line": r["line"], "label": r["label"],
                        "family": r["family"], "kind": r["kind"],
                        "findings": [{"rule": h["rule"], "confidence": level(h)} for h in hits]}
                       for r, hits in results], f, indent=1)


if __name__ == "__main__":
    main()
