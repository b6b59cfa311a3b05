#!/usr/bin/env bash
# What `npm test` runs: provision the real control plane (cached), `npm run check`, then every jest
# project. Arguments go to jest, e.g. `npm test -- --selectProjects unit` or `npm test -- test/integration/smoke`.
# A failed check does not skip jest (both results are worth seeing) but fails the run; jest's summary
# stays the last thing printed. MODELROUTE_SKIP_TEST_ENV=1 skips provisioning.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

if [ -z "${MODELROUTE_SKIP_TEST_ENV:-}" ]; then
  step "provisioning the test control plane (scripts/test-env.sh; progress below, cached after the first run)"
  bash scripts/test-env.sh >/dev/null
fi

step "npm run check (typecheck, lint, format)"
check=0
npm run --silent check || check=$?
[ "$check" = 0 ] || step "npm run check FAILED (exit $check): running jest anyway; this run will fail"

step "jest (all projects)"
jest=0
node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js "$@" || jest=$?
[ "$jest" != 0 ] && exit "$jest"
exit "$check"
