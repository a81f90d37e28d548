#!/usr/bin/env bash
# The whole test suite: build, then every test file in its own process
# (chDB binds one data directory per process).
set -euo pipefail
cd "$(dirname "$0")/.."
# Real protocol peers the tests drive: systemd-journald, systemd-cat and journalctl (systemd) for the agent's journal input, logger (bsdutils), rsyslog with its TLS driver, fluent-logger-python, openssl for test certificates; chromium prints reports to PDF, pdftotext (poppler-utils) reads them back.
missing=()
for package in bsdutils rsyslog rsyslog-gnutls python3-fluent-logger openssl chromium poppler-utils systemd; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
npx tsc -p tsconfig.json
# The web UI the browser tests drive (type-checked, then bundled into dist/web).
npm run build:web
# TEST_BUILD_ONLY=1: peers installed and everything built, no test run (scripts/test-under-load.sh runs them).
[[ -n "${TEST_BUILD_ONLY:-}" ]] && exit 0
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout=300000 "${files[@]}"
