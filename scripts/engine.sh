#!/usr/bin/env bash
# Makes a Docker Engine >= 26 with BuildKit answer on /var/run/docker.sock (idempotent), able to
# make StageX's own OCI export (DESIGN section 3): docker-cli and docker-buildx beside it, and
# dockerd keeping images in its containerd store ({"features":{"containerd-snapshotter":true}}
# in /etc/docker/daemon.json; the classic store's exporter refuses type=oci).
# Debian 13: the packages from the machine's own suite. Debian 12: its docker.io (20.10) rejects
# heredocs and RUN --network=none, so docker.io, docker-cli and docker-buildx come from trixie,
# pinned at priority 100 so nothing else is upgraded (those and containerd from trixie, the rest
# from bookworm; libc untouched). No recommends. dockerd runs with no bridge and no iptables:
# builds use network none and nothing leaves the machine.
set -euo pipefail
SOCK=/var/run/docker.sock
LOG=/var/log/stagex-dockerd.log
export DEBIAN_FRONTEND=noninteractive

engine_version() {
  curl -sf --unix-socket "$SOCK" http://localhost/version 2>/dev/null | sed -n 's/.*"Version":"\([0-9][0-9]*\)\..*/\1/p' | head -n 1
}

containerd_store() {
  curl -sf --unix-socket "$SOCK" http://localhost/info 2>/dev/null | grep -q '"io.containerd.snapshotter.v1"'
}
ready() {
  [ -n "$major" ] && [ "$major" -ge 26 ] && containerd_store && docker buildx version >/dev/null 2>&1
}

major=$(engine_version || true)
if ready; then
  echo "engine: Docker $major answers on $SOCK, with buildx and the containerd image store"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "engine: installing and starting dockerd needs root (run: sudo bash $0)" >&2; exit 1; }
installed=$(dockerd --version 2>/dev/null | sed -n 's/Docker version \([0-9]*\)\..*/\1/p' || true)
if [ "${installed:-0}" -lt 26 ] || [ ! -x /usr/libexec/docker/cli-plugins/docker-buildx ] || [ ! -x /usr/bin/docker ]; then
  # shellcheck disable=SC1091
  os=$( . /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_ID:-}" || true)
  case "$os" in
    debian:12|debian:13) debian=${os#debian:} ;;
    *) echo "engine: expected Debian 12 or 13, got '${os:-no /etc/os-release}'; install Docker >= 26 yourself and start it on $SOCK" >&2; exit 1 ;;
  esac

  # docker.io's maintainer scripts would start dockerd with its defaults (a docker0 bridge and
  # iptables rules); a policy-rc.d answering 101 forbids that. One already there is left alone.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from stagex-node scripts/engine.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  started=$(date +%s)
  if [ "$debian" = 12 ]; then
    # Same mirror and keyring as the machine's own bookworm source (the only mirror some
    # sandboxes reach); Debian 12's archive keyring already holds the trixie keys.
    stanza=$(awk 'BEGIN { RS = "" } / bookworm([ \n]|$)/ && /URIs:/ { print; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    uris=$(printf '%s\n' "$stanza" | sed -n 's/^URIs: *//p' | head -n 1)
    uris=${uris:-http://deb.debian.org/debian}
    keyring=$(printf '%s\n' "$stanza" | sed -n 's/^Signed-By: *//p' | head -n 1)
    keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
    cat > /etc/apt/sources.list.d/stagex-trixie.sources <<SRC
Types: deb
URIs: $uris
Suites: trixie
Components: main
Signed-By: $keyring
SRC
    cat > /etc/apt/preferences.d/stagex-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    apt-get update -qq
    # docker.io/trixie, not -t trixie: only docker.io and what it strictly needs (containerd)
    # come from trixie; -t trixie would take trixie's runc, which needs libc6 2.38, and upgrade
    # libc6, systemd, apt and perl with it (measured on a clean bookworm: 17 upgraded, 135 new).
    apt-get install -y -qq --no-install-recommends docker.io/trixie docker-cli/trixie docker-buildx/trixie >/dev/null
  else
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io docker-cli docker-buildx >/dev/null
  fi
  echo "engine: docker.io $(dpkg-query -W -f='${Version}' docker.io) and docker-buildx $(dpkg-query -W -f='${Version}' docker-buildx) installed in $(( $(date +%s) - started )) s"
fi
command -v curl >/dev/null || apt-get install -y -qq --no-install-recommends curl >/dev/null

# The containerd image store, kept beside whatever else daemon.json says; a dockerd started
# without it is restarted (the classic store's images stay on disk, out of sight).
mkdir -p /etc/docker
node - <<'JS'
const fs = require('node:fs');
const path = '/etc/docker/daemon.json';
const config = fs.existsSync(path) && fs.statSync(path).size > 0 ? JSON.parse(fs.readFileSync(path, 'utf8')) : {};
if (config.features?.['containerd-snapshotter'] !== true) {
  config.features = { ...config.features, 'containerd-snapshotter': true };
  fs.writeFileSync(path, JSON.stringify(config, null, 2) + '\n');
}
JS
if pidof dockerd >/dev/null && ! containerd_store; then
  echo "engine: restarting dockerd with the containerd image store"
  pkill -x dockerd || true
  for _ in $(seq 1 30); do pidof dockerd >/dev/null || break; sleep 1; done
fi
if ! pidof dockerd >/dev/null; then
  # setsid: dockerd outlives this script and whatever kills the CI step's process group.
  setsid dockerd --bridge=none --iptables=false --ip6tables=false >"$LOG" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  major=$(engine_version || true)
  if [ -n "$major" ]; then
    [ "$major" -ge 26 ] || { echo "engine: Docker $major answers, but 26 or newer is needed" >&2; exit 1; }
    ready || { echo "engine: Docker $major answers, but without buildx or the containerd image store; see $LOG" >&2; exit 1; }
    echo "engine: Docker $major started with the containerd image store (log: $LOG)"
    exit 0
  fi
  sleep 1
done
echo "engine: dockerd did not answer on $SOCK within 60 s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
