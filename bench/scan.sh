#!/usr/bin/env bash
# Benchmark: `envshim scan` against ripgrep searching the same tree for the same keyword
# set (case-insensitive literals, hidden files included, same thread count, same 10 MiB
# size limit). Budget: envshim within 2x of that ripgrep run.
#
# Usage: bench/scan.sh [TREE] [THREADS]
#   TREE defaults to the system Python's standard library: a large body of real code
#   that every machine has.
# Needs: cargo, ripgrep, hyperfine, python3, GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')}
threads=${2:-$(nproc)}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/envshim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$tmp/keywords.txt" src/scan/rules.toml src/scan/rules/*.toml <<'PY'
import sys, tomllib
rules = [r for f in sys.argv[2:] for r in tomllib.load(open(f, "rb")).get("rule", [])]
# Path-restricted rules (dotenv files) search their keywords only in those files.
keywords = sorted({k for r in rules if "path" not in r for k in r.get("keywords", [])})
open(sys.argv[1], "w").write("\n".join(keywords) + "\n")
print(f"{len(rules)} rules, {len(keywords)} distinct keywords")
PY

# Warm the page cache, and get the byte count envshim scanned.
"$bin" scan --no-known --threads "$threads" --format json "$tree" > "$tmp/scan.json" 2>/dev/null || true
read -r files bytes findings < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["summary"]["files"], d["summary"]["bytes"], len(d["findings"]))' "$tmp/scan.json")
rg --hidden --threads "$threads" --max-filesize 10M -F -i -f "$tmp/keywords.txt" -c "$tree" > /dev/null || true

hyperfine --warmup 1 --runs "${RUNS:-5}" -i --export-json "$tmp/scan-bench.json" \
  -n ripgrep "rg --hidden --threads $threads --max-filesize 10M -F -i -f $tmp/keywords.txt -c $tree" \
  -n envshim "$bin scan --no-known --threads $threads --format json $tree"

/usr/bin/time -f '%M' -o "$tmp/rss" "$bin" scan --no-known --threads "$threads" --format json "$tree" > /dev/null 2>&1 || true

python3 - "$tmp/scan-bench.json" "$bytes" "$files" "$findings" "$(tail -n 1 "$tmp/rss")" "$threads" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
size, files, findings, rss, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rg, es = results["ripgrep"]["median"], results["envshim"]["median"]
print(f"tree: {files} files, {size / 1e6:.0f} MB; {threads} threads")
print(f"ripgrep (keywords only): {rg:.3f} s  {size / 1e6 / rg:.0f} MB/s")
print(f"envshim scan:            {es:.3f} s  {size / 1e6 / es:.0f} MB/s  ratio {es / rg:.2f}x (budget 2x)")
print(f"envshim peak RSS: {rss / 1024:.0f} MB; findings: {findings}")
PY
