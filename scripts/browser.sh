#!/usr/bin/env bash
# The headless browser of the status page test (test/daemon/status-page.test.ts): Debian's
# chromium, installed when missing (idempotent; playwright-core drives it and downloads no
# browser of its own). Needs root on Debian; elsewhere it says so, and that test skips, saying why.
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "browser: chromium is missing and cannot be installed here (needs root and apt-get); the status page test will skip" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
