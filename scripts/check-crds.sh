#!/usr/bin/env bash
# Fails when the chart's copy of the CRDs differs from crds/ (missing, extra or changed files).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! diff -r "$root/crds" "$root/helm/modelroute/files/crds" >&2; then
  echo "helm/modelroute/files/crds is out of date with crds/: run scripts/sync-crds.sh" >&2
  exit 1
fi
echo "CRDs in sync"
