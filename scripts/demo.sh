#!/usr/bin/env bash
# The main job, end to end on one machine: three independent reproducers (alice, bob, carol)
# each make a key and a config, trust each other at threshold 2 of 3, attest the digests they
# reproduced, exchange envelopes as files, and ask their stores whether a release manifest is
# trustworthy. carol's build of one image differs: every node reports the conflict.
set -euo pipefail
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
work=.work/demo
rm -rf "$work"
mkdir -p "$work/mail"
sx() { local who=$1; shift; node daemon/bin/stagex-node.ts -c "$work/$who/config.json" "$@"; }
step() { printf '\n== %s\n' "$*"; }

names=(alice bob carol)
step "1. each reproducer makes a signing key (0600) and a config"
for who in "${names[@]}"; do sx "$who" init "$work/$who" --name "$who" --network-id demo >/dev/null; sx "$who" keys --json > "$work/$who.keys.json"; done
pub() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).own.publicKey)' "$work/$1.keys.json"; }
for who in "${names[@]}"; do
  others=(); for other in "${names[@]}"; do [ "$who" = "$other" ] || others+=("$other"); done
  sx "$who" trust add "${others[0]}" "$(pub "${others[0]}")" >/dev/null
  sx "$who" trust add "${others[1]}" "$(pub "${others[1]}")" --threshold 2 >/dev/null
done
sx alice keys

step "2. a release manifest of three images (digests/<stage>.txt, as StageX publishes them)"
d() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
mkdir -p "$work/release"
printf '%s core-busybox\n%s core-make\n' "$(d out-busybox)" "$(d out-make)" > "$work/release/core.txt"
printf '%s user-hello\n' "$(d out-hello)" > "$work/release/user.txt"
cat "$work/release/"*.txt

step "3. each reproducer attests what it built (carol's user-hello differs)"
for who in "${names[@]}"; do
  for image in busybox make hello; do
    stage=core; [ "$image" = hello ] && stage=user
    out=$(d "out-$image"); [ "$who/$image" = carol/hello ] && out=$(d "carol-hello")
    sx "$who" attest --image "$stage-$image" --input-digest "$(d "in-$image")" --digest "$out" --version 1.0 --out "$work/mail/$who-$image.json" >/dev/null
  done
done
ls "$work/mail"

step "4. alice alone: her own votes are 1 of 2"
sx alice verify "$work/release" || echo "(exit $?)"

step "5. everyone imports everyone's envelopes (a bad file is reported, the rest imported)"
echo '{"payloadType":"x"}' > "$work/mail/broken.json"
for who in "${names[@]}"; do sx "$who" import "$work/mail" > "$work/$who.import.txt" || true; done
cat "$work/bob.import.txt"

step "6. bob asks: is the release trustworthy, and who says so?"
sx bob query --image user-hello
set +e
sx bob verify "$work/release" --all; code=$?
set -e
echo "(verify exit code $code: 0 trusted, 1 pending/unknown, 2 conflict)"

step "7. one image reference, threshold reached"
sx carol verify "core-make@sha256:$(d out-make)"

step "8. export the trusted digests as StageX digests files"
sx alice export "$work/export"
cat "$work/export/digests/"*.txt
