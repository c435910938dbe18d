#!/usr/bin/env bash
# Bounded libFuzzer runs of the engine's parsers and decoders (built with -sanitize=fuzzer,address).
#   bash fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     # default 60 s each, every target
#   FUZZ_MERGE=1 bash fuzz/run.sh 600 FuzzImage             # then fold what was found into the kept corpus
# Seeds: the kept corpus Tests/Fixtures/fuzz/<target>/ plus the project's own files of that kind.
# A crash, a sanitizer report, an input slower than 10 s or above 2 GB of memory fails the run
# and leaves the input under .build-fuzz/artifacts/ with the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(FuzzPipeline FuzzImage FuzzNPY)
scratch=${FUZZ_SCRATCH:-.build-fuzz}
# lld: gold drops most of the coverage counters' section (libFuzzer then sees a tenth of the code).
# The coverage flags spelled out: an incremental rebuild under `-sanitize=fuzzer` alone recompiled
# files without them (seen with Swift 6.3.1), and a fuzzer blind to coverage finds little.
for t in "${targets[@]}"; do
  SEGFLOW_FUZZ=1 swift build --scratch-path "$scratch" --sanitize fuzzer --sanitize address -Xswiftc -use-ld=lld \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
    --product "$t" 2>&1 | grep -E "error:|Build of" || true
  [ -x "$scratch/debug/$t" ] || { echo "fuzz/run.sh: $t did not build" >&2; exit 1; }
done
bin=$scratch/debug
artifacts=$scratch/artifacts; mkdir -p "$artifacts"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  name=${t#Fuzz}; kept=Tests/Fixtures/fuzz/${name,,}
  seeds=()
  case $t in
    FuzzPipeline) seeds=(pipelines Tests/Fixtures/spec); maxlen=65536; dict=(-dict=fuzz/pipeline.dict) ;;
    FuzzImage) seeds=(Tests/Fixtures/imaging); maxlen=16384; dict=() ;;
    FuzzNPY) seeds=(); maxlen=4096; dict=() ;;
  esac
  mkdir -p "$work/$t"
  # Only files of the target's kind from the seed folders (pipelines/ also holds the sample dataset).
  for s in "${seeds[@]}"; do
    find "$s" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.png' -o -name '*.jpg' \) -size -64k -exec cp {} "$work/$t/" \;
  done
  log=$work/$t.log
  set +e
  # No leak check: LeakSanitizer reports the Swift runtime's lazily made globals (and Foundation's
  # buffer for an empty file) as leaks. A real leak per input still fails the run through -rss_limit_mb.
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$bin/$t" "$work/$t" "$kept" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" \
      "${dict[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/$t-" >"$log" 2>&1
  rc=$?
  set -e
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  runs=$(stat number_of_executed_units); rate=$(stat average_exec_per_sec); rss=$(stat peak_rss_mb); cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  corpus=$(find "$work/$t" "$kept" -type f | wc -l)
  printf '%-13s %4ss  %9s inputs  %6s/s  %s  corpus %s files  peak %s MB  ' "$t" "$seconds" "${runs:-?}" "${rate:-?}" "${cov:-cov: none}" "$corpus" "${rss:-?}"
  if [ $rc -eq 0 ] && [ -z "$cov" ]; then
    echo "FAILED: no coverage seen, the build is not instrumented (rm -rf $scratch and run again)"; status=1
  elif [ $rc -eq 0 ]; then echo ok; else
    echo "FAILED (exit $rc)"; status=1
    grep -E "ERROR|SUMMARY|runtime failure|Test unit written" "$log" | head -8
    for a in "$artifacts/$t-"*; do [ -e "$a" ] && echo "  replay: SEGFLOW_FUZZ=1 $bin/$t $a"; done
  fi
  if [ "${FUZZ_MERGE:-}" = 1 ]; then
    mkdir -p "$kept"; "$bin/$t" -merge=1 "$kept" "$work/$t" -max_len="$maxlen" >/dev/null 2>&1 && echo "  kept corpus: $(ls "$kept" | wc -l) files"
  fi
done
exit $status
