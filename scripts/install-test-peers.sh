#!/usr/bin/env bash
# The real protocol peers the tests drive, from Debian, installed once (root, network): the README's
# test command and .ci/run run this before `npm test`, which itself never installs anything.
#   systemd (journald, systemd-cat, journalctl) for the agent's journal input; logger (bsdutils);
#   rsyslog with its TLS driver; fluent-logger-python; openssl for test certificates;
#   chromium drives the web UI and prints reports to PDF, pdftotext (poppler-utils) reads them back;
#   unzip opens the signed report bundles; nats-server (JetStream) for the cluster tests.
set -euo pipefail
missing=()
for package in bsdutils rsyslog rsyslog-gnutls python3-fluent-logger openssl chromium poppler-utils unzip systemd nats-server; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing test peers from Debian: ${missing[*]}"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
