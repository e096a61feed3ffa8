#!/usr/bin/env bash
# Makes the local base image stagex-local/busybox:latest with no pull (idempotent): Debian's static
# busybox with a symlink per applet, as one reproducible tar layer (sorted, mtime 0, owner 0:0)
# imported through the Engine API. Tests and local builds start FROM it on a machine that reaches
# nothing but Debian's mirrors. Needs the engine of scripts/engine.sh and curl.
set -euo pipefail
SOCK=/var/run/docker.sock
IMAGE=stagex-local/busybox
TAG=latest

die() { echo "base-image: $*" >&2; exit 1; }
api() { curl -sf --unix-socket "$SOCK" "$@"; }

api http://localhost/_ping >/dev/null || die "no engine answers on $SOCK (run scripts/engine.sh first)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# apt-get download, not install: the image's busybox comes from the machine's apt sources
# without changing what the machine has installed. _apt needs to write into the directory.
chmod 0755 "$work"
command -v apt-get >/dev/null || die "expected Debian's apt-get to fetch busybox-static, got none"
apt-get download -qq busybox-static 2>/dev/null || {
  apt-get update -qq && apt-get download -qq busybox-static
} || die "apt-get download busybox-static failed; check the apt sources"
deb=$(ls busybox-static_*.deb)
dpkg-deb -x "$deb" pkg
busybox=pkg/bin/busybox
[ -x "$busybox" ] || die "expected bin/busybox in $deb, got none"

umask 022
mkdir -p rootfs/bin rootfs/etc rootfs/root rootfs/tmp
install -m 0755 "$busybox" rootfs/bin/busybox
# One symlink per applet at the path busybox itself reports (bin/sh, usr/bin/env, sbin/...);
# perl-base is Essential in Debian, and one process is much faster than ln per applet.
"$busybox" --list-full | grep -vx bin/busybox > applets
sed -n 's|/[^/]*$||p' applets | sort -u | (cd rootfs && xargs mkdir -p)
(cd rootfs && perl -ne 'chomp; symlink("/bin/busybox", $_) or die "symlink $_: $!\n"') < applets
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > rootfs/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > rootfs/etc/group
chmod 0700 rootfs/root
chmod 1777 rootfs/tmp
# Reproducible layer: the same busybox-static gives the same bytes on every machine.
tar -C rootfs --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=ustar -cf layer.tar .
diff_id="sha256:$(sha256sum layer.tar | cut -d' ' -f1)"
version=$(dpkg-deb -f "$deb" Version)

# Already there with this exact layer: nothing to do.
have=$(api "http://localhost/images/$IMAGE:$TAG/json" 2>/dev/null | sed -n 's/.*"Layers":\["\(sha256:[0-9a-f]*\)".*/\1/p' || true)
if [ "$have" = "$diff_id" ]; then
  echo "base-image: $IMAGE:$TAG is up to date (busybox-static $version, layer $diff_id)"
  exit 0
fi

# The import's progress stream reports failure in an "error" field, with status 200.
out=$(curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/x-tar' --data-binary @layer.tar \
  "http://localhost/images/create?fromSrc=-&repo=$IMAGE&tag=$TAG")
case "$out" in *'"error"'*) die "import of $IMAGE:$TAG failed: $out" ;; esac
have=$(api "http://localhost/images/$IMAGE:$TAG/json" | sed -n 's/.*"Layers":\["\(sha256:[0-9a-f]*\)".*/\1/p')
[ "$have" = "$diff_id" ] || die "imported $IMAGE:$TAG has layer ${have:-none}, expected $diff_id"
echo "base-image: $IMAGE:$TAG imported (busybox-static $version, layer $diff_id)"
