#!/usr/bin/env python3
"""Summarise one tree scan for bench/eval/trees.sh: MB scanned, findings per 100 MB by
rule family and confidence, and a redacted TSV of every finding for review by hand.

Usage: treestats.py NAME SCAN.json TREE_DIR OUT.tsv [--rules DIR]
The finding's `confidence` comes from the JSON when the binary reports it, otherwise
from the rule's nominal confidence in this checkout's rules files (marked with *).
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import redact, rule_info  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("name")
ap.add_argument("scan")
ap.add_argument("tree")
ap.add_argument("out")
ap.add_argument("--rules", required=True)
a = ap.parse_args()
doc = json.load(open(a.scan))
info = rule_info(a.rules)
s = doc["summary"]
mb = s["bytes"] / 1e6
base = os.path.dirname(a.tree.rstrip("/"))
cells = collections.Counter()
rows = []
for f in doc["findings"]:
    fam, nominal = info.get(f["rule"], ("?", "high"))
    conf = f.get("confidence") or nominal + "*"
    cells[(fam, conf)] += 1
    try:
        with open(os.path.join(base, f["path"]), "rb") as fh:
            text = fh.read().decode("utf-8", "replace").split("\n")[f["line"] - 1]
    except (OSError, IndexError):
        text = ""
    rows.append([a.name, f["rule"], fam, conf, f["path"], str(f["line"]), f["redacted"], redact(text, 160)])
with open(a.out, "w") as o:
    o.write("tree\trule\tfamily\tconfidence\tpath\tline\tredacted\tline (long tokens cut)\n")
    for r in sorted(rows, key=lambda r: (r[2], r[1], r[4], int(r[5]))):
        o.write("\t".join(x.replace("\t", " ") for x in r) + "\n")
print(f"## {a.name}: {s['files']} files, {mb:.0f} MB scanned ({s['skipped']} skipped), "
      f"{len(doc['findings'])} findings = {100 * len(doc['findings']) / max(mb, 1e-9):.1f} per 100 MB")
print("| family | confidence | findings | per 100 MB |\n|---|---|---|---|")
for (fam, conf), n in sorted(cells.items()):
    print(f"| {fam} | {conf} | {n} | {100 * n / max(mb, 1e-9):.1f} |")
print(f"(every finding: {a.out})\n")
