#!/usr/bin/env bash
# Fills a source mirror directory for the demo tree in packages/ (idempotent): the upstream
# tarballs of scripts/upstream/, and the bootstrap seed, Debian 12's static busybox, taken from
# the machine's apt sources (`apt-get download` of the exact pinned version; nothing installed).
# The tree pins every file by sha256, so a different busybox fails the fetch, naming both hashes.
#   bash scripts/demo-mirror.sh DIR
set -euo pipefail
BUSYBOX_VERSION='1:1.35.0-4+deb12u1+b1'
SEED="busybox-static-${BUSYBOX_VERSION#1:}"
dir=${1:?usage: demo-mirror.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "demo-mirror: $*" >&2; exit 1; }

mkdir -p "$dir"
cp "$here"/upstream/*.tar "$dir"/
if [ ! -f "$dir/$SEED" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chmod 0755 "$work"
  command -v apt-get >/dev/null || die "expected Debian's apt-get to fetch busybox-static, got none"
  (cd "$work" && { apt-get download -qq "busybox-static=$BUSYBOX_VERSION" 2>/dev/null \
    || { apt-get update -qq && apt-get download -qq "busybox-static=$BUSYBOX_VERSION"; }; }) \
    || die "apt-get download busybox-static=$BUSYBOX_VERSION failed: the seed is Debian 12 (bookworm)'s; add a bookworm apt source"
  dpkg-deb -x "$work"/busybox-static_*.deb "$work/pkg"
  cp "$work/pkg/bin/busybox" "$dir/$SEED.tmp"
  mv "$dir/$SEED.tmp" "$dir/$SEED"
fi
echo "demo-mirror: $dir holds $(ls "$dir" | tr '\n' ' ')"
