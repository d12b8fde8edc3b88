#!/usr/bin/env bash
# Writes the image an overlay runs into git: `pin-image.sh <overlay> <image>` rewrites
# <overlay>/image/kustomization.yaml (a Kustomize Component holding only that image) and, with
# COMMIT=1, commits it and pushes it to main (rebasing over commits that landed meanwhile). CD
# runs it before each deploy, so the overlay in git always names what runs: an image digest
# (`registry/name@sha256:…`) or a tag CD pushes (`registry/name:main`). It prints the image the
# overlay named before (for a rollback) as `previous=<image>` to $GITHUB_OUTPUT when set.
# A push by the workflow's GITHUB_TOKEN starts no other workflow, so this never loops CD.
set -euo pipefail
overlay=${1:?usage: pin-image.sh <overlay> <registry/name@sha256:… | registry/name:tag>}
image=${2:?usage: pin-image.sh <overlay> <registry/name@sha256:… | registry/name:tag>}
file="$overlay/image/kustomization.yaml"

if [[ $image =~ ^([a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$ ]]; then
  reference="    newName: ${BASH_REMATCH[1]}
    digest: ${BASH_REMATCH[3]}"
elif [[ $image =~ ^([a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$ ]]; then
  reference="    newName: ${BASH_REMATCH[1]}
    newTag: '${BASH_REMATCH[3]}'"
else
  echo "pin-image: '$image' is neither registry/name@sha256:<64 hex> nor registry/name:<tag>" >&2
  exit 2
fi

previous=""
if [ -f "$file" ]; then
  name=$(awk '$1 == "newName:" { print $2 }' "$file")
  digest=$(awk '$1 == "digest:" { print $2 }' "$file")
  tag=$(awk '$1 == "newTag:" { gsub("\047", "", $2); print $2 }' "$file")
  previous="$name${digest:+@$digest}${tag:+:$tag}"
fi

mkdir -p "$overlay/image"
cat >"$file" <<YAML
# The image this overlay runs, written by .github/scripts/pin-image.sh (CD runs it before each
# deploy): a digest, or a tag CD pushes. Change it only through that script.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
images:
  - name: citizen-affiliation
$reference
YAML
echo "pin-image: $overlay runs $image${previous:+ (was $previous)}" >&2
[ -n "${GITHUB_OUTPUT:-}" ] && echo "previous=$previous" >>"$GITHUB_OUTPUT"

if [ "${COMMIT:-0}" = 1 ] && ! git diff --quiet -- "$file"; then
  git config user.name 'github-actions[bot]'
  git config user.email '41898282+github-actions[bot]@users.noreply.github.com'
  git add -- "$file"
  git commit --quiet -m "deploy: $(basename "$overlay") runs $image" -- "$file"
  for attempt in 1 2 3 4 5; do
    if git push --quiet origin HEAD:main; then exit 0; fi
    echo "pin-image: main moved; rebasing (attempt $attempt)" >&2
    git pull --quiet --rebase origin main
  done
  echo "pin-image: could not push the pin to main" >&2
  exit 1
fi
