#!/usr/bin/env bash
# The Swift test suite once under AddressSanitizer and once under ThreadSanitizer: the engine shares
# state across threads behind its own locks, and decodes untrusted files through C.
#   bash .ci/sanitize.sh                  # both; SANITIZERS="thread" for one
# Each builds in its own scratch folder (.build-address, .build-thread). A report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# LeakSanitizer reports the Swift runtime's lazily made globals as leaks: leaks are not checked.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/.ci/tsan.supp"
for s in ${SANITIZERS:-address thread}; do
  start=$(date +%s)
  swift build --build-tests --sanitize="$s" --scratch-path ".build-$s" 2>&1 | grep -E "error:|warning: .*sanitiz|Build complete" || true
  [ -d ".build-$s/debug" ] || { echo "sanitize: the $s build failed" >&2; exit 1; }
  built=$(date +%s)
  swift test --skip-build --sanitize="$s" --scratch-path ".build-$s" ${SANITIZE_SKIP:+--skip "$SANITIZE_SKIP"} 2>&1 | tee ".build-$s/test.log" \
    | grep -E "^Test Suite 'All tests'|Executed [0-9]+ tests|error:|WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY:" || true
  status=${PIPESTATUS[0]}
  echo "sanitize $s: build $((built - start)) s, tests $(( $(date +%s) - built )) s, exit $status"
  [ "$status" = 0 ] || { grep -B2 -A30 -m3 "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer" ".build-$s/test.log" | head -120; exit 1; }
done
