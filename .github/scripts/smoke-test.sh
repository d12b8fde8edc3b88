#!/usr/bin/env bash
# After a deploy: /health/ready of the API (every dependency usable), asked from inside a pod,
# for up to SMOKE_SECONDS (150 by default). Needs NAMESPACE and kubectl on a kubeconfig.
set -euo pipefail
: "${NAMESPACE:?}"
deadline=$((SECONDS + ${SMOKE_SECONDS:-150}))
until kubectl -n "$NAMESPACE" exec deploy/citizen-affiliation-api -- node -e \
  "fetch('http://127.0.0.1:8000/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; do
  if ((SECONDS >= deadline)); then
    echo "smoke test: $NAMESPACE never became ready" >&2
    exit 1
  fi
  sleep 5
done
echo "smoke test: $NAMESPACE is ready" >&2
