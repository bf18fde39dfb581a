#!/bin/sh
# Runs the demo app through `envshim exec` with the demo identity.
#
# The demo key is passed as ENVSHIM_AGE_KEY (the way CI passes keys) rather than as a
# file: git does not keep file modes, and envshim rightly refuses identity files that
# other users can read. Real identities stay in ~/.config/envshim/identity.txt (0600).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
envshim=${ENVSHIM:-$here/../../target/release/envshim}
ENVSHIM_AGE_KEY=$(cat "$here/DEMO-identity.txt")
export ENVSHIM_AGE_KEY
cd "$here"
echo "envshim: running ./app.sh with the runtime scope of $here/.env.secrets"
exec "$envshim" exec -- ./app.sh
