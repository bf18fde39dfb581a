#!/usr/bin/env bash
# Benchmarks for the git modes:
#  1. `scan --staged` for a 10-file commit in a generated 50,000-file repository
#     (budget: under 50 ms);
#  2. `scan --history` throughput in MB of diff per second, on a repository whose history
#     replays real source code (the vendored crates in ~/.cargo/registry/src, committed
#     a few files at a time: thousands of commits). No repository with a long real history
#     is reachable offline here, so the history is built; the code in it is real.
# Needs: cargo, git, hyperfine, python3.   Usage: bench/git.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/envshim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

echo "== staged: 10 changed files in a 50,000-file repository"
big=$tmp/big
mkdir -p "$big" && git -C "$big" init -q
python3 - "$big" <<'PY'
import os, random, sys
root = sys.argv[1]
r = random.Random(1)
for d in range(500):
    path = os.path.join(root, f"pkg{d:03}")
    os.makedirs(path)
    for f in range(100):
        with open(os.path.join(path, f"mod{f:03}.py"), "w") as out:
            for i in range(20):
                out.write(f"def f{i}(x):\n    return x * {r.randint(1, 999)}  # {r.random()}\n")
PY
git -C "$big" add -A && git -C "$big" commit -q -m base
for i in $(seq 0 9); do echo "extra_$i = $i" >> "$big/pkg$(printf %03d $((i * 37)))/mod001.py"; done
git -C "$big" add -A
(cd "$big" && "$bin" scan --staged --no-known) 2>&1 | tail -1
(cd "$big" && hyperfine -N --warmup 5 --runs 50 "$bin scan --staged --no-known")

echo "== history: real code, thousands of commits"
hist=$tmp/hist
mkdir -p "$hist" && git -C "$hist" init -q
python3 - "$hist" "${HISTORY_SOURCE:-$HOME/.cargo/registry/src}" <<'PY'
import os, shutil, subprocess, sys
dest, src = sys.argv[1], sys.argv[2]
files = []
for d, _, fs in os.walk(src):
    for f in sorted(fs):
        p = os.path.join(d, f)
        if f.endswith((".rs", ".toml", ".md")) and os.path.getsize(p) < 512 * 1024:
            files.append(p)
files.sort()
commits = 0
for i in range(0, len(files), 4):
    for p in files[i:i + 4]:
        rel = os.path.relpath(p, src)
        os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
        shutil.copyfile(p, os.path.join(dest, rel))
    subprocess.run(["git", "-C", dest, "add", "-A"], check=True)
    subprocess.run(["git", "-C", dest, "commit", "-q", "--no-verify", "-m", f"import {i}"], check=True)
    commits += 1
print(f"{commits} commits, {len(files)} files")
PY
diff_bytes=$(git -C "$hist" log -p -U0 --all --format=%H | wc -c)
echo "diff text: $((diff_bytes / 1000000)) MB"
(cd "$hist" && hyperfine -N --warmup 1 --runs 3 --export-json "$tmp/hist.json" "$bin scan --history --no-known --format json" -i)
python3 - "$tmp/hist.json" "$diff_bytes" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
mb = int(sys.argv[2]) / 1e6
print(f"--history: {r['median']:.2f} s median for {mb:.0f} MB of diff = {mb / r['median']:.0f} MB/s")
PY
