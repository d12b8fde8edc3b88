#!/usr/bin/env bash
# Deploys one overlay at an image digest: migrations first (a Job), then everything else, and
# waits for the rollout. Used by .github/workflows/cd.yml; needs NAMESPACE, OVERLAY, DIGEST and
# IMAGE, kubectl and kustomize. The Secret `citizen-affiliation` must exist (docs/deployment.md).
set -euo pipefail
: "${NAMESPACE:?}" "${OVERLAY:?}" "${DIGEST:?}" "${IMAGE:?}"

(cd "$OVERLAY" && kustomize edit set image "citizen-affiliation=${IMAGE}@${DIGEST}")
kustomize build "$OVERLAY" > /tmp/manifests.yaml

kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NAMESPACE" get secret citizen-affiliation >/dev/null

# A Job's pod template is immutable: replace the migration Job, then wait for it.
kubectl -n "$NAMESPACE" delete job citizen-affiliation-migrate --ignore-not-found --wait=true
kubectl apply -f /tmp/manifests.yaml --selector app.kubernetes.io/component=migrate
kubectl -n "$NAMESPACE" wait --for=condition=complete job/citizen-affiliation-migrate --timeout=600s

kubectl apply -f /tmp/manifests.yaml
kubectl -n "$NAMESPACE" rollout status deploy/citizen-affiliation-api --timeout=600s
kubectl -n "$NAMESPACE" rollout status deploy/citizen-affiliation-worker --timeout=600s
