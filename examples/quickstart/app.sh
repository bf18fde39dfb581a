#!/bin/sh
# The demo application: reports what envshim gave it, without printing secret values.
echo "app: pid $$"
echo "app: GREETING=$GREETING"
echo "app: DATABASE_URL is ${DATABASE_URL:+set (${#DATABASE_URL} characters)}"
echo "app: MULTI_LINE has $(printf '%s\n' "$MULTI_LINE" | wc -l) lines"
if [ -n "${DEPLOY_TOKEN+x}" ]; then
  echo "app: DEPLOY_TOKEN leaked into the runtime scope" >&2
  exit 1
fi
echo "app: DEPLOY_TOKEN is not visible here (deploy scope), as intended"
