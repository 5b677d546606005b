#!/usr/bin/env bash
# Proves that the default test suite does not depend on the machine's speed: it runs the suite RUNS times
# in a row (default 3) while a CPU hog saturates every core, and fails if any run fails.
#   packaging/stress-test.sh [RUNS]     (after ./build.sh build; BUILD_DIR defaults to build)
# The hogs are plain busy loops at normal priority, one per core (nproc), plus one more so that the tests
# never get a core of their own. They are killed when the script exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
runs=${1:-3}
[[ -f $BUILD_DIR/CTestTestfile.cmake ]] || { echo "stress-test: no build in $BUILD_DIR (run ./build.sh build first)" >&2; exit 2; }

hogs=()
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_hogs EXIT
cores=$(nproc)
for _ in $(seq 0 "$cores"); do
  bash -c 'while :; do :; done' &
  hogs+=($!)
done
echo "stress-test: $((cores + 1)) busy loops on $cores cores; running the default suite $runs times"

failed=0
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  if bash packaging/with-test-env.sh ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$cores" -LE 'slow|bench' \
      > "$BUILD_DIR/stress-run-$run.log" 2>&1; then
    verdict=passed
  else
    verdict=FAILED
    failed=$((failed + 1))
  fi
  summary=$(grep -E 'tests passed|tests failed' "$BUILD_DIR/stress-run-$run.log" | tail -1)
  echo "stress-test: run $run of $runs $verdict in $(( $(date +%s) - start )) s: $summary (log: $BUILD_DIR/stress-run-$run.log)"
done
[[ $failed -eq 0 ]] && echo "stress-test: all $runs runs passed under load" || echo "stress-test: $failed of $runs runs failed"
exit $(( failed > 0 ))
