#!/usr/bin/env bash
# Copies the CRDs from crds/ (the source of truth) into the Helm chart, which cannot read files outside
# its own folder. Run after changing a CRD; scripts/check-crds.sh fails CI when the copies drift.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/helm/modelroute/files/crds
mkdir -p "$dest"
rm -f "$dest"/*.yaml
cp "$root"/crds/*.yaml "$dest"/
echo "synced $(ls "$root"/crds/*.yaml | wc -l) CRD file(s) into ${dest#"$root"/}"
