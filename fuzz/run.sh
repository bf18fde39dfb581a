#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each; FUZZ_SECONDS overrides),
# starting from the committed seeds and regression inputs. New interesting inputs go to
# a scratch directory, not into the repository. A crash stops the script, prints the
# input's path, and leaves it in fuzz/artifacts/<target>/: copy it into
# fuzz/regressions/<target>/, fix the bug, and tests/fuzz_corpus.rs replays it forever.
#
#   fuzz/run.sh                     # every target, 60 s each
#   FUZZ_SECONDS=600 fuzz/run.sh scanner
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dotenv secrets_file recipients scanner)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target" "artifacts/$target"
  echo "== $target: ${seconds}s"
  if ! cargo +nightly fuzz run -O "$target" "$scratch/$target" "corpus/$target" "regressions/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>"$scratch/$target.log"; then
    tail -n 40 "$scratch/$target.log"
    echo "!! $target crashed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' "$scratch/$target.log" || true
done
