#!/usr/bin/env bash
# What `npm test` runs: provision the real control plane (cached), `npm run check`, then every jest
# project. Arguments go to jest, e.g. `npm test -- --selectProjects unit` or `npm test -- test/integration/smoke`.
# MODELROUTE_SKIP_TEST_ENV=1 skips provisioning (binaries already built).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

if [ -z "${MODELROUTE_SKIP_TEST_ENV:-}" ]; then
  step "provisioning the test control plane (scripts/test-env.sh)"
  bash scripts/test-env.sh >/dev/null
fi

step "npm run check (typecheck, lint, format)"
npm run --silent check

step "jest"
exec node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js "$@"
