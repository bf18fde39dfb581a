#!/usr/bin/env bash
# Benchmark: `envshim exec -- true` with a 50-variable secrets file, against `true` alone.
# The budget is relative to the floor for any exec wrapper (a static program that only
# execvp's): bench/compare.sh times both, and the peers.
#
# Needs: cargo, age (age-keygen), hyperfine, python3.   Usage: bench/exec.sh [RUNS]
set -euo pipefail
runs=${1:-3000}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/envshim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

age-keygen -o "$tmp/key.txt" 2>/dev/null
chmod 600 "$tmp/key.txt"
age-keygen -y "$tmp/key.txt" > "$tmp/secrets.env.secrets.recipients"
python3 - "$tmp/plain.env" <<'PY'
import secrets, sys
lines = ["# [runtime]"]
lines += [f"RUNTIME_VAR_{i:02}={secrets.token_urlsafe(24)}" for i in range(40)]
lines.append('MULTI="line one\nline two"')
lines.append("# [deploy]")
lines += [f"DEPLOY_VAR_{i:02}={secrets.token_urlsafe(24)}" for i in range(9)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
age -a -R "$tmp/secrets.env.secrets.recipients" "$tmp/plain.env" > "$tmp/secrets.env.secrets"
rm "$tmp/plain.env"
true_bin=$(command -v true)

"$bin" -f "$tmp/secrets.env.secrets" -i "$tmp/key.txt" exec -- sh -c \
  'test "$RUNTIME_VAR_00" && test -z "${DEPLOY_VAR_00-}"' || { echo "sanity check failed" >&2; exit 1; }

hyperfine -N --warmup 100 --runs "$runs" --export-json "$tmp/exec.json" \
  -n true "$true_bin" \
  -n "envshim exec -- true" "$bin -f $tmp/secrets.env.secrets -i $tmp/key.txt exec -- $true_bin"

python3 - "$tmp/exec.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base, shim = r["true"], r["envshim exec -- true"]
ms = lambda s: s * 1000
print(f"true:                 median {ms(base['median']):.3f} ms")
print(f"envshim exec -- true: median {ms(shim['median']):.3f} ms")
print(f"overhead:             median {ms(shim['median'] - base['median']):.3f} ms")
PY
