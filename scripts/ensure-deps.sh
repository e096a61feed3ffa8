#!/bin/sh
# Installs the npm dependencies (Node 24 runtime included) when they are missing or
# older than package-lock.json, so `npm test` and `npm run demo` work on a fresh clone.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.stagex-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -x node_modules/.bin/node ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
