#!/usr/bin/env bash
# Deploys one overlay as git has it, in one command, to an empty namespace or over an earlier
# deploy (docs/deployment.md#deploying):
#   1. renders the overlay; with EXPECTED_IMAGE set (CD sets it), refuses an overlay that runs
#      another image, so what runs is what git says;
#   2. checks that the Secret exists (it holds no value git may hold);
#   3. applies everything but the workloads: ServiceAccount, ConfigMap, NetworkPolicies, Services,
#      autoscaler, disruption budgets, monitoring;
#   4. runs the migration Job and waits for it, stopping as soon as it fails (with its logs). A
#      Job that already finished with this image is left as it is; one with another image, or
#      one that failed, is replaced (a Job's pod template cannot change);
#   5. applies the Deployments and waits for both rollouts.
# Needs OVERLAY and NAMESPACE, and kubectl (with its built-in kustomize) on a kubeconfig.
set -euo pipefail
: "${OVERLAY:?the overlay directory, e.g. k8s/overlays/staging}"
: "${NAMESPACE:?the namespace the overlay deploys to}"
JOB=citizen-affiliation-migrate
SECRET=citizen-affiliation
MIGRATE_TIMEOUT_SECONDS=${MIGRATE_TIMEOUT_SECONDS:-600}
ROLLOUT_TIMEOUT=${ROLLOUT_TIMEOUT:-600s}
POLL_SECONDS=${POLL_SECONDS:-3}
WORKLOADS='app.kubernetes.io/component in (api,worker,migrate)'

say() { printf 'deploy: %s\n' "$*" >&2; }
k() { kubectl -n "$NAMESPACE" "$@"; }

manifests=$(mktemp)
trap 'rm -f "$manifests"' EXIT
kubectl kustomize "$OVERLAY" >"$manifests"

# The images the rendered manifests run, and the migration Job's.
images=$(awk '$1 == "image:" || $1 == "-" && $2 == "image:" { print $NF }' "$manifests" |
  grep citizen-affiliation | sort -u)
job_image=$(awk '/^---/ { job = 0 } /^kind: Job$/ { job = 1 } job && $1 == "image:" { print $2; exit }' "$manifests")
[ -n "$job_image" ] || { say "$OVERLAY renders no migration Job"; exit 1; }
if [ -n "${EXPECTED_IMAGE:-}" ]; then
  for image in $images; do
    if [ "$image" != "$EXPECTED_IMAGE" ]; then
      say "$OVERLAY runs $image, not $EXPECTED_IMAGE: commit the image to the overlay first"
      exit 1
    fi
  done
fi
say "$OVERLAY → namespace $NAMESPACE, image $job_image"

if ! k get secret "$SECRET" >/dev/null 2>&1; then
  say "no Secret $SECRET in namespace $NAMESPACE: create the namespace and the Secret from"
  say "k8s/base/secret.template.yaml first (docs/deployment.md#first-deploy)"
  exit 1
fi

say "step 1/3: namespace, service account, config, network policies, services, budgets"
kubectl apply -f "$manifests" --selector "app.kubernetes.io/component notin (api,worker,migrate)"

say "step 2/3: migrations"
live_image=$(k get job "$JOB" --ignore-not-found -o jsonpath='{.spec.template.spec.containers[0].image}')
conditions() { k get job "$JOB" -o jsonpath='{.status.conditions[?(@.status=="True")].type}'; }
if [ -n "$live_image" ] && [ "$live_image" = "$job_image" ] && [[ " $(conditions) " != *" Failed "* ]]; then
  say "the migration Job for this image is there already: not re-created"
else
  if [ -n "$live_image" ]; then
    say "replacing the migration Job (it ran $live_image)"
    k delete job "$JOB" --wait=true
  fi
  kubectl apply -f "$manifests" --selector app.kubernetes.io/component=migrate
fi
deadline=$((SECONDS + MIGRATE_TIMEOUT_SECONDS))
while :; do
  state=" $(conditions) "
  if [[ $state == *" Complete "* ]]; then
    say "migrations applied"
    break
  fi
  if [[ $state == *" Failed "* ]]; then
    say "the migration Job failed; its logs:"
    k logs "job/$JOB" --all-containers --tail=100 >&2 || true
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    say "the migration Job did not finish in ${MIGRATE_TIMEOUT_SECONDS}s:"
    k describe job "$JOB" >&2 || true
    exit 1
  fi
  sleep "$POLL_SECONDS"
done

say "step 3/3: the API and the worker"
kubectl apply -f "$manifests" --selector "$WORKLOADS"
k rollout status deploy/citizen-affiliation-api --timeout="$ROLLOUT_TIMEOUT"
k rollout status deploy/citizen-affiliation-worker --timeout="$ROLLOUT_TIMEOUT"
say "done"
