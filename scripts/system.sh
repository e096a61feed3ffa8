#!/usr/bin/env bash
# The system parts the demo and the tests use, installed and started when missing (idempotent):
# a Docker Engine >= 26 with BuildKit (scripts/engine.sh) and the local busybox base image the
# engine tests build FROM (scripts/base-image.sh). Needs root on Debian 12 or 13; elsewhere it
# says what is missing, and the tests that need an engine skip, saying why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "system: not root, so Docker is not installed or started here; builder tests will skip unless an engine answers on /var/run/docker.sock" >&2
  exit 0
fi
bash "$here/engine.sh"
bash "$here/base-image.sh"
