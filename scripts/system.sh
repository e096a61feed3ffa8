#!/usr/bin/env bash
# The system parts the demo and the tests use, installed and started when missing (idempotent):
# a Docker Engine >= 26 with BuildKit (scripts/engine.sh) and the local busybox base image the
# engine tests build FROM (scripts/base-image.sh), and gnupg + skopeo for the StageX OpenPGP
# signature tests (gpg makes the keys and signatures; skopeo standalone-verify is the interop
# check), and Debian's chromium for the status page test (scripts/browser.sh). Needs root on
# Debian 12 or 13; elsewhere it says what is missing, and the tests that need an engine, gpg,
# skopeo or chromium skip, saying why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "system: not root, so Docker is not installed or started here; builder tests will skip unless an engine answers on /var/run/docker.sock" >&2
  exit 0
fi
if ! command -v gpg >/dev/null || ! command -v skopeo >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg skopeo
fi
bash "$here/browser.sh" || echo "system: chromium could not be installed; the status page test will skip, saying so" >&2
bash "$here/engine.sh"
bash "$here/base-image.sh"
