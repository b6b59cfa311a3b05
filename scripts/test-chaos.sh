#!/usr/bin/env bash
# `npm run test:chaos`: the reliability tests (test/integration/reliability) in their long forms, one file at a
# time: a 5-minute soak, ten times the fuzz cases, ten times the requests through Redis SIGKILL/restart, and
# thousands of mid-stream hang-ups. CI runs the same files in their short forms (`npm run test:integration`).
# Each knob can be set from outside, e.g. `SOAK_SECONDS=900 npm run test:chaos`; arguments go to jest, e.g.
# `npm run test:chaos -- test/integration/reliability/soak.test.ts`. Every test prints its figures (requests
# sent, failures, RSS and descriptors at start and end) with console.log.
set -euo pipefail
cd "$(dirname "$0")/.."

export SOAK_SECONDS="${SOAK_SECONDS:-300}"
export FUZZ_CASES="${FUZZ_CASES:-30000}"
export FUZZ_BUDGET_MS="${FUZZ_BUDGET_MS:-180000}"
export FUZZ_HEADER_CASES="${FUZZ_HEADER_CASES:-4000}"
export FUZZ_MANIFEST_CASES="${FUZZ_MANIFEST_CASES:-15000}"
export FUZZ_TABLE_CASES="${FUZZ_TABLE_CASES:-15000}"
export FAULT_REQUESTS="${FAULT_REQUESTS:-10000}"
export DISCONNECT_CLIENTS="${DISCONNECT_CLIENTS:-5000}"

printf '==> long form: SOAK_SECONDS=%s FUZZ_CASES=%s FUZZ_HEADER_CASES=%s FUZZ_MANIFEST_CASES=%s FUZZ_TABLE_CASES=%s FAULT_REQUESTS=%s DISCONNECT_CLIENTS=%s\n' \
  "$SOAK_SECONDS" "$FUZZ_CASES" "$FUZZ_HEADER_CASES" "$FUZZ_MANIFEST_CASES" "$FUZZ_TABLE_CASES" "$FAULT_REQUESTS" "$DISCONNECT_CLIENTS" >&2
# Only fuzz-manifests uses a shared server (the kube-apiserver); the other files start their own.
export MODELROUTE_SHARED_SERVERS="${MODELROUTE_SHARED_SERVERS:-kube}"
bash scripts/test-env.sh >/dev/null
if [ "$#" -eq 0 ]; then set -- test/integration/reliability; fi
# --runInBand: the long forms measure the sidecar's memory and descriptors; other files must not compete.
exec node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js \
  --runInBand --verbose "$@"
