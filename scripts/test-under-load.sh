#!/usr/bin/env bash
# The test suite (or the given test files) on a busy machine: `stress-ng --cpu N`
# keeps N cores busy while the tests run, as CI does when it shares the machine.
# Repeats ROUNDS times (default 3) and prints pass/fail and the wall time of each round.
#
#   scripts/test-under-load.sh                         # the whole suite, 3 rounds, 2 busy cores
#   ROUNDS=2 scripts/test-under-load.sh dist/test/e2e/query/liveTail.test.js dist/test/e2e/alerting/*.test.js
#   LOAD_CPUS=4 TEST_CONCURRENCY=1 scripts/test-under-load.sh
#
# The tests' Debian peers are installed first (scripts/install-test-peers.sh). Given files are run as
# they are (build first: npx tsc -p tsconfig.json); with none, scripts/test.sh builds, then every test file runs. Exit status 0 only if every round passed.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds="${ROUNDS:-3}"
cpus="${LOAD_CPUS:-2}"
concurrency="${TEST_CONCURRENCY:-2}"
logs="${LOG_DIR:-test-output/under-load}"

scripts/install-test-peers.sh || exit 1
# stress-ng from Debian: the load itself, installed if missing.
if ! command -v stress-ng >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends stress-ng || exit 1
fi

files=("$@")
if ((${#files[@]} == 0)); then
  TEST_BUILD_ONLY=1 bash scripts/test.sh || exit 1
  mapfile -t files < <(find dist/test -name '*.test.js' | sort)
fi
mkdir -p "$logs"

load_pid=
stop_load() {
  if [[ -n "$load_pid" ]]; then
    kill "$load_pid" 2>/dev/null
    wait "$load_pid" 2>/dev/null
    load_pid=
  fi
}
trap 'stop_load; exit 130' INT TERM
trap stop_load EXIT

failed=0
for ((round = 1; round <= rounds; round++)); do
  stress-ng --cpu "$cpus" --quiet &
  load_pid=$!
  log="$logs/round-$round.tap"
  started=$(date +%s)
  node --test --test-concurrency="$concurrency" --test-timeout=1200000 "${files[@]}" >"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - started))
  stop_load
  counts=$(grep -E '^# (tests|pass|fail|cancelled) ' "$log" | tr '\n' ' ')
  if ((status == 0)); then
    echo "round $round/$rounds: PASS in ${seconds}s under stress-ng --cpu $cpus (${counts% }; log $log)"
  else
    failed=$((failed + 1))
    echo "round $round/$rounds: FAIL in ${seconds}s under stress-ng --cpu $cpus (${counts% }; log $log)"
    grep -E '^\s*not ok ' "$log" | sed 's/^/    /'
  fi
done
echo "$((rounds - failed)) of $rounds rounds passed"
((failed == 0))
