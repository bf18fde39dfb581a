#!/usr/bin/env bash
# Precision on large real trees: findings per 100 MB of code nobody on this team wrote.
#
# Prepares three trees (once; they are kept in the cache) and scans each with the binary:
#   python   the system Python's library tree (sysconfig stdlib path)
#   rust     `cargo vendor` of the Cargo.lock that the `nu` crate (Nushell) publishes:
#            a large real Rust dependency graph (several hundred crates)
#   node     `npm install --ignore-scripts` of a large set of well-known packages
# Then prints, per tree, MB scanned and findings per 100 MB by rule family and confidence,
# and writes every finding (redacted: rule, path, line, first characters and length) to
# OUT/findings-<tree>.tsv for review by hand (see bench/eval/review-before.md).
#
# Usage: bench/eval/trees.sh BINARY [TREE...]      (TREE: python rust node; default all)
#   EVAL_CACHE  where trees are kept (default ${CARGO_TARGET_DIR:-target}/eval); it must
#               not be inside a git work tree that ignores it (envshim skips ignored files)
#   OUT         where reports go (default $EVAL_CACHE/out)
# Needs: python3, cargo (network: index.crates.io, static.crates.io), npm (registry).
set -euo pipefail
shopt -s inherit_errexit
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:?usage: bench/eval/trees.sh BINARY [TREE...]}")
shift
if [ $# -gt 0 ]; then trees=("$@"); else trees=(python rust node); fi
cache=${EVAL_CACHE:-${CARGO_TARGET_DIR:-$here/../../target}/eval}
mkdir -p "$cache/trees"
cache=$(realpath "$cache")
out=${OUT:-$cache/out}
mkdir -p "$out"

NU_VERSION=0.116.1
NODE_PACKAGES="next@16.4.6 react@19.3.1 react-dom@19.3.1 webpack@5.113.0 typescript@7.0.2 eslint@10.15.0 jest@30.5.2 @babel/core@8.1.3 aws-sdk@2.1693.0 googleapis@188.0.0 firebase@13.2.0 @angular/core@22.2.6 rxjs@7.8.2 lodash@4.18.1 prettier@3.10.1 express@5.3.0 axios@1.21.1 @aws-sdk/client-s3@3.1175.0 stripe@23.1.0 openai@7.59.0"

prepare() {
  case $1 in
    python) python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])' ;;
    rust)
      local d=$cache/trees/rust
      if [ ! -d "$d/vendor" ]; then
        mkdir -p "$d"
        rm -rf "$d" && mkdir -p "$d"
        curl -sSfL "https://static.crates.io/crates/nu/nu-$NU_VERSION.crate" | tar -xz -C "$d"
        (cd "$d/nu-$NU_VERSION" && RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-stable} cargo vendor --locked --versioned-dirs "$d/vendor" > /dev/null)
      fi
      echo "$d/vendor" ;;
    node)
      local d=$cache/trees/node
      if [ ! -d "$d/node_modules" ]; then
        mkdir -p "$d"
        # shellcheck disable=SC2086
        (cd "$d" && echo '{"name":"eval-tree","private":true}' > package.json &&
          npm install --ignore-scripts --no-audit --no-fund --loglevel=error $NODE_PACKAGES > /dev/null)
      fi
      echo "$d/node_modules" ;;
    *) echo "unknown tree: $1" >&2; exit 2 ;;
  esac
}

for t in "${trees[@]}"; do
  dir=$(prepare "$t")
  # Scanned from a folder outside any repository, with no configuration or baseline.
  (cd "$(dirname "$dir")" && "$bin" scan --no-known --no-baseline --format json \
      $("$bin" scan --help | grep -q -- '--confidence' && echo --confidence low) \
      "$(basename "$dir")" > "$out/scan-$t.json") || [ $? -eq 1 ]
  python3 "$here/treestats.py" "$t" "$out/scan-$t.json" "$dir" "$out/findings-$t.tsv" \
    --rules "$here/../../src/scan"
done
