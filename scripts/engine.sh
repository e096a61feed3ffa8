#!/usr/bin/env bash
# Makes a Docker Engine >= 26 with BuildKit answer on /var/run/docker.sock (idempotent).
# Debian 13: docker.io from the machine's own suite. Debian 12: its docker.io (20.10) rejects
# heredocs and RUN --network=none, so docker.io comes from trixie, pinned at priority 100 so
# nothing else is upgraded (3 packages; libc untouched). dockerd runs with no bridge and no
# iptables: builds use network mode none and nothing leaves the machine.
set -euo pipefail
SOCK=/var/run/docker.sock
LOG=/var/log/stagex-dockerd.log
export DEBIAN_FRONTEND=noninteractive

engine_version() {
  curl -sf --unix-socket "$SOCK" http://localhost/version 2>/dev/null | sed -n 's/.*"Version":"\([0-9][0-9]*\)\..*/\1/p' | head -n 1
}

major=$(engine_version || true)
if [ -n "$major" ] && [ "$major" -ge 26 ]; then
  echo "engine: Docker $major answers on $SOCK"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "engine: installing and starting dockerd needs root (run: sudo bash $0)" >&2; exit 1; }
[ -r /etc/debian_version ] || { echo "engine: expected Debian 12 or 13 (no /etc/debian_version); install Docker >= 26 yourself" >&2; exit 1; }

if ! command -v dockerd >/dev/null || [ "$(dockerd --version | sed -n 's/Docker version \([0-9]*\)\..*/\1/p')" -lt 26 ]; then
  debian=$(cut -d. -f1 /etc/debian_version)
  if [ "$debian" = 12 ]; then
    uris=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
    uris=${uris:-http://deb.debian.org/debian}
    cat > /etc/apt/sources.list.d/stagex-trixie.sources <<SRC
Types: deb
URIs: $uris
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat > /etc/apt/preferences.d/stagex-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    apt-get update -qq
    apt-get install -y -qq -t trixie docker.io >/dev/null
  else
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
  fi
fi
command -v curl >/dev/null || apt-get install -y -qq curl >/dev/null

if ! pgrep -x dockerd >/dev/null; then
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$LOG" 2>&1 &
fi
for _ in $(seq 1 60); do
  major=$(engine_version || true)
  if [ -n "$major" ]; then
    [ "$major" -ge 26 ] || { echo "engine: Docker $major answers, but 26 or newer is needed" >&2; exit 1; }
    echo "engine: Docker $major started (log: $LOG)"
    exit 0
  fi
  sleep 1
done
echo "engine: dockerd did not answer on $SOCK within 60 s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
