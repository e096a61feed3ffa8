#!/usr/bin/env bash
# Makes Podman >= 5 answer on /run/podman/podman.sock through its Docker-compatible API
# (`podman system service`), for the engine tests against Podman (idempotent).
# Debian 13: podman from the machine's own suite. Debian 12: its podman 4.3 predates Buildah's
# heredoc support (Podman 4.8), so podman comes from trixie, pinned at priority 100 as in
# scripts/engine.sh; podman/trixie needs libc6 >= 2.38, so ON DEBIAN 12 THIS UPGRADES LIBC6
# (2.36 to trixie's 2.41, and base-files with it: the machine then calls itself Debian 13).
# Measured on a clean bookworm (debootstrap minbase with curl): 4 upgraded to trixie's (libc6,
# libc-bin, base-files, libgpg-error0), 39 new (4 from trixie: podman, libgpgme11t64, libassuan9,
# libsubid5; 35 from bookworm: runc, conmon, netavark, iptables, gnupg, ..), 27 s; the service
# answers a second later. After scripts/engine.sh (runc already there): 4 upgraded, 29 new.
# No recommends: buildah, slirp4netns and passt are for the CLI and for networks; builds use
# network mode none. The service runs runc (what scripts/engine.sh's docker.io uses too):
# bookworm's crun 1.8, which podman/trixie would otherwise pull in, rejects the OCI runtime spec
# 1.2 that Podman 5 writes ("unknown version specified").
set -euo pipefail
SOCK=/run/podman/podman.sock
LOG=/var/log/stagex-podman.log
export DEBIAN_FRONTEND=noninteractive
# Podman 5 warns on every command where the machine has cgroups v1 (this sandbox has).
export PODMAN_IGNORE_CGROUPSV1_WARNING=1

# The major version of the Podman answering on $SOCK; nothing when none does (or Docker does).
service_version() {
  local v
  v=$(curl -sf --unix-socket "$SOCK" http://localhost/version 2>/dev/null) || return 0
  case "$v" in *'"Name":"Podman Engine"'*) ;; *) return 0 ;; esac
  printf '%s\n' "$v" | sed -n 's/.*"Version":"\([0-9][0-9]*\)\..*/\1/p' | head -n 1
}

major=$(service_version || true)
if [ -n "$major" ] && [ "$major" -ge 5 ]; then
  echo "podman: Podman $major answers on $SOCK"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "podman: installing and starting podman needs root (run: sudo bash $0)" >&2; exit 1; }
installed=$(podman --version 2>/dev/null | sed -n 's/podman version \([0-9]*\)\..*/\1/p' || true)
if [ "${installed:-0}" -lt 5 ]; then
  # shellcheck disable=SC1091
  os=$( . /etc/os-release 2>/dev/null && echo "${ID:-}:${VERSION_ID:-}" || true)
  case "$os" in
    debian:12|debian:13) ;;
    *) echo "podman: expected Debian 12 or 13, got '${os:-no /etc/os-release}'; install Podman >= 5 yourself and run 'podman system service --time=0 unix://$SOCK'" >&2; exit 1 ;;
  esac
  started=$(date +%s)
  apt-get update -qq
  # By the candidate, not VERSION_ID: trixie's libc6 brings trixie's base-files, so a Debian 12
  # that went through this once calls itself 13 while its sources stay bookworm.
  candidate=$(apt-cache policy podman | sed -n 's/^ *Candidate: \([0-9]*\)\..*/\1/p')
  if [ "${candidate:-0}" -ge 5 ]; then
    apt-get install -y -qq --no-install-recommends podman runc >/dev/null
  else
    # The trixie source and pin of scripts/engine.sh (same mirror and keyring as bookworm's).
    if [ ! -e /etc/apt/sources.list.d/stagex-trixie.sources ]; then
      stanza=$(awk 'BEGIN { RS = "" } / bookworm([ \n]|$)/ && /URIs:/ { print; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      uris=$(printf '%s\n' "$stanza" | sed -n 's/^URIs: *//p' | head -n 1)
      uris=${uris:-http://deb.debian.org/debian}
      keyring=$(printf '%s\n' "$stanza" | sed -n 's/^Signed-By: *//p' | head -n 1)
      keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}
      printf 'Types: deb\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: %s\n' "$uris" "$keyring" > /etc/apt/sources.list.d/stagex-trixie.sources
    fi
    [ -e /etc/apt/preferences.d/stagex-trixie ] || printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/stagex-trixie
    apt-get update -qq
    # Two steps, because apt's resolver finds no solution for podman/trixie on a clean bookworm:
    # libc6 first (with libc-bin and base-files, which libc6 2.41 requires), then podman/trixie
    # with libgpg-error0/trixie (libgpgme11t64 needs >= 1.50); everything else stays bookworm.
    # Where libgpg-error-dev or libgcrypt20-dev is installed, apt removes it (it pins the old one).
    apt-get install -y -qq --no-install-recommends -t trixie libc6 >/dev/null
    apt-get install -y -qq --no-install-recommends podman/trixie libgpg-error0/trixie runc >/dev/null
  fi
  echo "podman: podman $(dpkg-query -W -f='${Version}' podman) installed in $(( $(date +%s) - started )) s"
fi
command -v curl >/dev/null || apt-get install -y -qq --no-install-recommends curl >/dev/null
command -v runc >/dev/null || apt-get install -y -qq --no-install-recommends runc >/dev/null

if curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; then
  echo "podman: something other than Podman >= 5 answers on $SOCK; stop it first" >&2
  exit 1
fi
# A socket left by a service that is gone would make the new one fail to listen.
rm -f "$SOCK"
mkdir -p "$(dirname "$SOCK")"
# setsid: the service outlives this script and whatever kills the CI step's process group.
# --time=0: it never exits for being idle.
setsid podman --runtime runc system service --time=0 "unix://$SOCK" >"$LOG" 2>&1 </dev/null &
for _ in $(seq 1 30); do
  major=$(service_version || true)
  if [ -n "$major" ]; then
    [ "$major" -ge 5 ] || { echo "podman: Podman $major answers, but 5 or newer is needed" >&2; exit 1; }
    echo "podman: Podman $major started on $SOCK (log: $LOG)"
    exit 0
  fi
  sleep 1
done
echo "podman: podman system service did not answer on $SOCK within 30 s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
