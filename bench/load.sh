#!/usr/bin/env bash
# Load: (1) scan about 1 GiB of generated files and report throughput and peak RSS;
# (2) run `envshim exec` 10,000 times and show that nothing grows: the peak RSS of each
# run, the descriptors the command inherits, and the files envshim leaves around.
#
# Usage: bench/load.sh [GIB] [EXEC_RUNS]      (defaults: 1 and 10000)
# Needs: cargo, age (age-keygen), python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-1}
runs=${2:-10000}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/envshim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== scan: generating ${gib} GiB"
python3 - "$tmp/tree" "$gib" <<'PY'
import os, random, sys, sysconfig
root, gib = sys.argv[1], float(sys.argv[2])
rnd = random.Random(6)
# Real source text as the body, so the keyword prefilter sees realistic density.
stdlib = sysconfig.get_paths()["stdlib"]
chunks = []
for dirpath, _, names in os.walk(stdlib):
    for n in names:
        if n.endswith(".py") and len(chunks) < 400:
            try:
                chunks.append(open(os.path.join(dirpath, n), "rb").read()[:64 * 1024])
            except OSError:
                pass
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
def fake_token():
    return ("ghp_" + "".join(rnd.choice(alnum) for _ in range(36))).encode()
target = int(gib * (1 << 30))
written, i, planted = 0, 0, 0
while written < target:
    d = os.path.join(root, f"d{i // 100:03}")
    os.makedirs(d, exist_ok=True)
    if i % 250 == 7:
        # A minified-style file: 8 MiB on one line.
        body = b"var a=" + b";var b=".join(rnd.choice(chunks)[:2048].replace(b"\n", b" ") for _ in range(4096))
        body = body[: 8 << 20]
    else:
        parts, size = [], 0
        while size < (1 << 20):
            c = rnd.choice(chunks)
            parts.append(c)
            size += len(c)
            if rnd.random() < 0.02:
                t = b'\nTOKEN = "' + fake_token() + b'"\n'
                parts.append(t)
                size += len(t)
                planted += 1
        body = b"".join(parts)
    open(os.path.join(d, f"f{i:05}.py"), "wb").write(body)
    written += len(body)
    i += 1
print(f"{i} files, {written / (1 << 20):.0f} MiB, {planted} planted tokens")
PY
sync
cat "$tmp"/tree/*/* > /dev/null   # warm the page cache
/usr/bin/time -f '%e %M' -o "$tmp/scan.time" "$bin" scan --no-known --format json "$tmp/tree" > "$tmp/scan.json" || true
python3 - "$tmp/scan.json" "$tmp/scan.time" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
secs, rss = open(sys.argv[2]).read().split("\n")[-2].split()  # after any "exited with" line
mib = d["summary"]["bytes"] / (1 << 20)
print(f"scanned {d['summary']['files']} files, {mib:.0f} MiB in {float(secs):.2f} s "
      f"({mib / float(secs):.0f} MiB/s), {len(d['findings'])} findings, peak RSS {int(rss) / 1024:.0f} MiB")
PY
rm -rf "$tmp/tree"

echo "== exec: $runs runs"
age-keygen -o "$tmp/key.txt" 2>/dev/null
chmod 600 "$tmp/key.txt"
mkdir "$tmp/proj"
age-keygen -y "$tmp/key.txt" > "$tmp/proj/.env.secrets.recipients"
python3 - "$tmp/plain.env" <<'PY'
import secrets, sys
lines = [f"VAR_{i:02}={secrets.token_urlsafe(24)}" for i in range(50)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
age -a -R "$tmp/proj/.env.secrets.recipients" "$tmp/plain.env" > "$tmp/proj/.env.secrets"
rm "$tmp/plain.env"
shm_before=$(ls -A /dev/shm | wc -l)
files_before=$(ls -A "$tmp/proj" | wc -l)
cd "$tmp/proj"
# Each run: envshim's peak RSS (GNU time), then the descriptors the command was given.
for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -a -o "$tmp/rss.txt" -f '%M' "$bin" -i "$tmp/key.txt" exec -- \
    sh -c 'set -- /proc/$$/fd/*; echo $#' < /dev/null >> "$tmp/fds.txt"
done
# The same count without envshim, under GNU time too (its output file is inherited).
direct=$(/usr/bin/time -a -o "$tmp/direct.txt" -f '%M' sh -c 'set -- /proc/$$/fd/*; echo $#' < /dev/null)
cd - > /dev/null
python3 - "$tmp/rss.txt" "$tmp/fds.txt" "$shm_before" "$(ls -A /dev/shm | wc -l)" \
  "$files_before" "$(ls -A "$tmp/proj" | wc -l)" "$direct" <<'PY'
import statistics, sys
rss = [int(x) for x in open(sys.argv[1]).read().split()]
fds = [int(x) for x in open(sys.argv[2]).read().split()]
n = len(rss)
k = max(1, n // 10)
first, last = statistics.median(rss[:k]), statistics.median(rss[-k:])
print(f"{n} runs; peak RSS median {first / 1024:.2f} MiB in the first {k}, {last / 1024:.2f} MiB "
      f"in the last {k}, max {max(rss) / 1024:.2f} MiB")
print(f"descriptors the command saw: {sorted(set(fds))} in every run "
      f"(without envshim: {sys.argv[7]})")
print(f"/dev/shm entries {sys.argv[3]} -> {sys.argv[4]}; project files {sys.argv[5]} -> {sys.argv[6]}")
PY
