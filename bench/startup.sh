#!/usr/bin/env bash
# Scanner start-up: the time `envshim scan` takes on one small file (rules loaded, the
# keyword automaton built, one file read), against `envshim --version` (process start
# alone). Budget (issue 12): rule load + scanner start under 10 ms.
#
# Usage: bench/startup.sh
# Needs: cargo, hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/envshim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'name = "demo"\nport = 8080\n' > "$tmp/small.toml"
cd "$tmp"
hyperfine -N --warmup 20 --runs "${RUNS:-200}" \
  -n 'envshim --version' "$bin --version" \
  -n 'envshim scan (one small file)' "$bin scan --no-known small.toml"
