#!/usr/bin/env bash
# Times `segflow plan` of a fully cached pipeline (imageFolder + maskLabels) over N images.
# Usage: bench/plan/run.sh [SIZES...]   (default: 1000 10000 100000)
set -euo pipefail
cd "$(dirname "$0")/../.."
SEGFLOW=${SEGFLOW:-.build/release/segflow}
[ -x "$SEGFLOW" ] || make release
sizes=${*:-1000 10000 100000}
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
printf "%8s %12s %12s %12s %14s\n" images "plan wall s" "peak MB" "stat 2N s" "first run s"
for n in $sizes; do
  data=/tmp/segflow-bench-plan-$n cache=/tmp/segflow-bench-plan-cache-$n
  [ -d "$data/images" ] || python3 bench/plan/make_dataset.py "$data" "$n"
  rm -rf "$cache"
  t0=$(date +%s.%N)
  "$SEGFLOW" run bench/plan/plan.yaml --cache "$cache" -p data="$data" >/dev/null 2>&1
  first=$(echo "$(date +%s.%N) - $t0" | bc)
  "$SEGFLOW" plan bench/plan/plan.yaml --cache "$cache" -p data="$data" >/dev/null   # warm the page cache
  best_wall=999; best_mem=0
  for i in 1 2 3 4 5; do
    out=$( { /usr/bin/time -f "%e %M" "$SEGFLOW" plan bench/plan/plan.yaml --cache "$cache" -p data="$data" >/dev/null; } 2>&1 | tail -1)
    wall=${out% *}; mem=${out#* }
    if (( $(echo "$wall < $best_wall" | bc) )); then best_wall=$wall; best_mem=$mem; fi
  done
  stat_s=$( { /usr/bin/time -f "%e" find "$data" -type f -printf '%s %T@\n' >/dev/null; } 2>&1 | tail -1)
  printf "%8d %12s %12d %12s %14.1f\n" "$n" "$best_wall" $((best_mem / 1024)) "$stat_s" "$first"
done
