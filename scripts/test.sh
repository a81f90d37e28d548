#!/usr/bin/env bash
# The whole test suite: build, then every test file in its own process
# (chDB binds one data directory per process).
set -euo pipefail
cd "$(dirname "$0")/.."
# The Debian peers the tests drive are installed by scripts/install-test-peers.sh (the README's test
# command runs it first); a missing one fails its tests, never skips them.
# Import boundaries first (.dependency-cruiser.cjs): a layer importing upwards, or a cycle, stops here.
npm run --silent check:imports
# Every installed package runs on the oldest Node `engines` admits (scripts/check-engines.mjs).
npm run --silent check:engines
# One formatting (prettier, .prettierrc.json): `npm run format` rewrites, this only checks.
npm run --silent check:format
npx tsc -p tsconfig.json
# The web UI the browser tests drive (type-checked, then bundled into dist/web).
npm run build:web
# TEST_BUILD_ONLY=1: everything built, no test run (scripts/test-under-load.sh runs them).
[[ -n "${TEST_BUILD_ONLY:-}" ]] && exit 0
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
# --test-timeout bounds each test file as a whole too: it only catches a hang. backupRestore takes about
# 2.5 min idle and ran past 5 min on a busy machine, so the bound is 20 min (CI's limit is 90 for everything).
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=1200000 "${files[@]}"
