#!/bin/sh
# Installs the npm dependencies (Node 24 runtime included) when they are missing or
# older than package-lock.json, so `npm test` and `npm run demo` work on a fresh clone. Links the
# project's own `stagex-node` into node_modules/.bin (npm links only dependencies' commands), so
# `PATH="$PWD/node_modules/.bin:$PATH"` gives both Node 24 and the CLI.
set -e
cd "$(dirname "$0")/.."
link() { ln -sfn ../../daemon/bin/stagex-node.ts node_modules/.bin/stagex-node; }
stamp=node_modules/.stagex-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -x node_modules/.bin/node ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  link
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
link
