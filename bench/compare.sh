#!/usr/bin/env bash
# Benchmark: what it costs to start `true` with 50 secrets, through envshim, through the
# tools it is compared with, and through the cheapest possible exec wrapper.
#
#   true                          the command alone: the baseline
#   execvp-floor true             bench/execvp.c built with `cc -static -O2`: a program
#                                 that only execvp(3)s its argument, the floor for any
#                                 wrapper that replaces itself with the command
#   envshim exec -- true          a 50-variable age-encrypted file, as bench/exec.sh
#                                 makes it (40 runtime, 1 multi-line, 9 deploy)
#   sops exec-env FILE true       the same 50 names and values in a sops dotenv file
#                                 encrypted to an age key; sops runs the command
#                                 through `sh -c` in a child process (its default),
#                                 and with --same-process it replaces itself
#   dotenvx run -f FILE -- true   the same 50 names and values in a dotenvx-encrypted
#                                 .env (its own keys, in .env.keys beside it)
#
# Prints each median (and minimum) and its overhead over `true`, and each overhead as a
# multiple of the floor's. envshim's budget: its overhead at most 3x the floor's (goal:
# 1.5x).
# A peer that is not on PATH is skipped, and the script says so on stderr.
#
# Needs: cargo, cc and a static C library (Debian: libc6-dev), age (age-keygen),
# hyperfine, python3. Optional: sops; dotenvx (npm package @dotenvx/dotenvx).
# Usage: bench/compare.sh [RUNS [PEER_RUNS]]   (defaults: 2000 and 50 measured runs)
#   ENVSHIM=path/to/envshim uses that binary instead of building a release one.
set -euo pipefail
runs=${1:-2000}
peer_runs=${2:-50}
cd "$(dirname "$0")/.."
if [ -z "${ENVSHIM:-}" ]; then
  cargo build --release --locked --quiet
  target=${CARGO_TARGET_DIR:-target}
  case $target in /*) ;; *) target=$PWD/$target ;; esac
  ENVSHIM=$target/release/envshim
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -static -O2 -o "$tmp/execvp-floor" bench/execvp.c
true_bin=$(command -v true)

# One set of 50 names and values, written in each tool's own file format.
age-keygen -o "$tmp/key.txt" 2>/dev/null
chmod 600 "$tmp/key.txt"
age-keygen -y "$tmp/key.txt" > "$tmp/secrets.env.secrets.recipients"
mkdir "$tmp/dotenvx"
python3 - "$tmp" <<'PY'
import secrets, sys
tmp = sys.argv[1]
runtime = [(f"RUNTIME_VAR_{i:02}", secrets.token_urlsafe(24)) for i in range(40)]
deploy = [(f"DEPLOY_VAR_{i:02}", secrets.token_urlsafe(24)) for i in range(9)]
multi = ("line one", "line two")
def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
# envshim: dotenvy syntax with scope markers.
write(f"{tmp}/plain.env",
      ["# [runtime]"] + [f"{k}={v}" for k, v in runtime]
      + ['MULTI="' + "\n".join(multi) + '"', "# [deploy]"]
      + [f"{k}={v}" for k, v in deploy])
# sops' dotenv format has no quoting; a newline in a value is written \n.
write(f"{tmp}/sops.plain.env",
      [f"{k}={v}" for k, v in runtime] + ["MULTI=" + "\\n".join(multi)]
      + [f"{k}={v}" for k, v in deploy])
# dotenvx: dotenv syntax (double quotes for the multi-line value).
write(f"{tmp}/dotenvx/.env",
      [f"{k}={v}" for k, v in runtime] + ['MULTI="' + "\n".join(multi) + '"']
      + [f"{k}={v}" for k, v in deploy])
with open(f"{tmp}/expected", "w") as f:
    f.write(runtime[0][1])
PY
age -a -R "$tmp/secrets.env.secrets.recipients" "$tmp/plain.env" > "$tmp/secrets.env.secrets"
rm "$tmp/plain.env"
# Each tool must give the command the values (the check reads EXPECTED from the
# environment the tool passes on).
EXPECTED=$(cat "$tmp/expected")
export EXPECTED
check='test "$RUNTIME_VAR_00" = "$EXPECTED" && test "$MULTI" = "line one
line two"'

"$ENVSHIM" -f "$tmp/secrets.env.secrets" -i "$tmp/key.txt" exec -- sh -c \
  "$check"' && test -z "${DEPLOY_VAR_00-}"' \
  || { echo "envshim: sanity check failed" >&2; exit 1; }
# hyperfine -N splits command lines on spaces: the paths here have none.
names=(true "execvp-floor true" "envshim exec -- true")
commands=("$true_bin" "$tmp/execvp-floor $true_bin"
  "$ENVSHIM -f $tmp/secrets.env.secrets -i $tmp/key.txt exec -- $true_bin")
peer_names=()
peer_commands=()

if command -v sops >/dev/null; then
  sops=$(command -v sops)
  if [ "$(head -c 2 "$sops")" = "#!" ]; then
    echo "note: $sops is a script; its interpreter's start-up is in the sops figures" >&2
  fi
  export SOPS_AGE_KEY_FILE=$tmp/key.txt
  "$sops" --encrypt --age "$(cat "$tmp/secrets.env.secrets.recipients")" \
    --input-type dotenv --output-type dotenv "$tmp/sops.plain.env" > "$tmp/sops.env"
  rm "$tmp/sops.plain.env"
  # sops runs its command with `sh -c`: the check goes in as one string.
  "$sops" exec-env "$tmp/sops.env" "$check" || { echo "sops: sanity check failed" >&2; exit 1; }
  peer_names+=("sops exec-env FILE true" "sops exec-env --same-process FILE true")
  peer_commands+=("$sops exec-env $tmp/sops.env $true_bin"
    "$sops exec-env --same-process $tmp/sops.env $true_bin")
else
  echo "skipped: sops is not installed (not on PATH)" >&2
fi

if command -v dotenvx >/dev/null; then
  dotenvx=$(command -v dotenvx)
  (cd "$tmp/dotenvx" && "$dotenvx" encrypt -f .env >/dev/null)
  grep -q '^RUNTIME_VAR_00=encrypted:' "$tmp/dotenvx/.env" \
    || { echo "dotenvx: the file was not encrypted" >&2; exit 1; }
  "$dotenvx" run -f "$tmp/dotenvx/.env" -- sh -c "$check" >/dev/null \
    || { echo "dotenvx: sanity check failed" >&2; exit 1; }
  peer_names+=("dotenvx run -f FILE -- true")
  peer_commands+=("$dotenvx run -f $tmp/dotenvx/.env -- $true_bin")
else
  echo "skipped: dotenvx is not installed (not on PATH; npm package @dotenvx/dotenvx)" >&2
fi

# hyperfine -N: no shell between hyperfine and the command.
args=()
for i in "${!names[@]}"; do args+=(-n "${names[$i]}" "${commands[$i]}"); done
hyperfine -N --style basic --warmup 100 --runs "$runs" --export-json "$tmp/fast.json" "${args[@]}"
echo '{"results": []}' > "$tmp/peers.json"
if [ ${#peer_names[@]} -gt 0 ]; then
  args=()
  for i in "${!peer_names[@]}"; do args+=(-n "${peer_names[$i]}" "${peer_commands[$i]}"); done
  hyperfine -N --style basic --warmup 3 --runs "$peer_runs" --export-json "$tmp/peers.json" "${args[@]}"
fi

python3 - "$tmp/fast.json" "$tmp/peers.json" <<'PY'
import json, sys
results = []
for path in sys.argv[1:]:
    results += json.load(open(path))["results"]
ms = lambda s: s * 1000
by_name = {r["command"]: r for r in results}
base = by_name["true"]
floor = ms(by_name["execvp-floor true"]["median"] - base["median"])
floor_min = ms(by_name["execvp-floor true"]["min"] - base["min"])
# Overheads are differences of medians; the minimums are printed too, as the figure
# least moved by other work on a busy machine.
print()
print(f"{'command':<40} {'runs':>5} {'median':>10} {'min':>10} "
      f"{'overhead':>10} {'x floor':>8} {'(by min)':>9}")
for name, r in by_name.items():
    over = ms(r["median"] - base["median"])
    over_min = ms(r["min"] - base["min"])
    ratio = "" if name == "true" else f"{over / floor:.1f}x"
    ratio_min = "" if name == "true" else f"{over_min / floor_min:.1f}x"
    print(f"{name:<40} {len(r['times']):>5} {ms(r['median']):>7.2f} ms {ms(r['min']):>7.2f} ms "
          f"{over:>7.2f} ms {ratio:>8} {ratio_min:>9}")
shim = ms(by_name["envshim exec -- true"]["median"] - base["median"]) / floor
print(f"\nenvshim's overhead is {shim:.1f}x the floor's (budget: 3x, goal: 1.5x)")
PY
