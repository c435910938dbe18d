#!/usr/bin/env bash
# The Swift test suite once under AddressSanitizer and once under ThreadSanitizer: the engine shares
# state across threads behind its own locks, and decodes untrusted files through C.
#   bash .ci/sanitize.sh                  # both; SANITIZERS="thread" for one
#   SANITIZE_FILTER='SegflowStoreTests\.' bash .ci/sanitize.sh    # only the tests matching (CI: .ci/run)
# Each builds in its own scratch folder (.build-address, .build-thread). A report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# LeakSanitizer reports the Swift runtime's lazily made globals as leaks: leaks are not checked.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/.ci/tsan.supp"
# Skipped under the sanitizers, and why (SANITIZE_SKIP replaces this list):
# - CrashSafety, ConcurrentRun, DiskFull, SecretLeak, HostileCLI: they run the *release* segflow
#   (not instrumented) and only inspect from this process; HostileCLI also asserts time and memory
#   targets that an instrumented binary cannot meet. `make test` runs them all.
# - SlurmExecutor: needs the Slurm cluster .ci/run starts, and runs the release segflow on it.
# - TorchPlugin, Lineage, ClipLabelEngine: minutes of PyTorch per test; the engine side of a plugin
#   call (spawn, read, kill, ingest) runs here through PluginWorkerTests' fake worker.
# - HostileYAMLFileTests/testDuplicateKeysAreAllReportedQuickly: asserts 2 s for 20,000 duplicate keys
#   in the plain debug build; ASan made it 2.4 s (RELIABILITY.md). Its inputs are fuzzed under ASan.
DEFAULT_SKIP='CrashSafetyTests|ConcurrentRunTests|DiskFullTests|SecretLeakTests|HostileCLITests|SlurmExecutorTests|TorchPluginTests|LineageTests|ClipLabelEngineTests|HostileYAMLFileTests/testDuplicateKeysAreAllReportedQuickly'
SANITIZE_SKIP=${SANITIZE_SKIP-$DEFAULT_SKIP}
for s in ${SANITIZERS:-address thread}; do
  start=$(date +%s)
  mkdir -p ".build-$s"
  swift build --build-tests --sanitize="$s" --scratch-path ".build-$s" > ".build-$s/build.log" 2>&1 \
    || { grep -E "error:" ".build-$s/build.log" | head -20; echo "sanitize: the $s build failed" >&2; exit 1; }
  built=$(date +%s)
  # The status of `swift test` itself (with pipefail, `|| true` after the pipeline would reset PIPESTATUS).
  status=0
  swift test --skip-build --sanitize="$s" --scratch-path ".build-$s" ${SANITIZE_FILTER:+--filter "$SANITIZE_FILTER"} ${SANITIZE_SKIP:+--skip "$SANITIZE_SKIP"} \
    > ".build-$s/test.log" 2>&1 || status=$?
  grep -E "^Test Suite 'All tests'|Executed [0-9]+ tests|error:|WARNING: ThreadSanitizer|ERROR: AddressSanitizer|SUMMARY:" ".build-$s/test.log" | tail -40 || true
  # A report that did not fail the process (TSan's halt_on_error=0) still fails the run.
  if grep -q "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer" ".build-$s/test.log"; then [ "$status" != 0 ] || status=66; fi
  echo "sanitize $s: build $((built - start)) s, tests $(( $(date +%s) - built )) s, exit $status"
  [ "$status" = 0 ] || { grep -B2 -A30 -m3 "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer" ".build-$s/test.log" | head -120; exit 1; }
done
