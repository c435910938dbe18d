#!/usr/bin/env bash
# `segflow plan --json` against the plain `segflow plan` of the same fully cached pipeline
# (bench/plan/plan.yaml over N images), interleaved, best of ROUNDS each; the ratio is json / plain.
# With OLD=path/to/an/older/segflow, that binary's `plan --json` is timed in the same rounds.
# Usage: bench/plan/json.sh [N]   (default 10000; the dataset is bench/plan/run.sh's)
set -euo pipefail
cd "$(dirname "$0")/../.."
SEGFLOW=${SEGFLOW:-.build/release/segflow}
[ -x "$SEGFLOW" ] || make release
n=${1:-10000} rounds=${ROUNDS:-7}
data=/tmp/segflow-bench-plan-$n cache=/tmp/segflow-bench-planjson-cache-$n work=/tmp/segflow-bench-planjson-$n
[ -d "$data/images" ] || python3 bench/plan/make_dataset.py "$data" "$n"
# The pipeline in a folder of its own (no plugins/ beside it or in the working folder): both binaries
# plan the same two native stages, whatever plugin manifests this checkout holds.
SEGFLOW=$(realpath "$SEGFLOW"); mkdir -p "$work"
sed "s|^classes: .*|classes: $PWD/pipelines/data/camvid-tiny/classes.yaml|" bench/plan/plan.yaml > "$work/plan.yaml"
cd "$work"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "segflow: $("$SEGFLOW" --version)"
"$SEGFLOW" run plan.yaml --cache "$cache" -p data="$data" >/dev/null 2>&1   # all cached after the first time
plan() { local bin=$1; shift; "$bin" plan plan.yaml --cache "$cache" -p data="$data" "$@"; }
plan "$SEGFLOW" >/dev/null; plan "$SEGFLOW" --json >/dev/null   # warm the page cache
time_of() { local bin=$1; shift; { /usr/bin/time -f "%e" "$bin" plan plan.yaml --cache "$cache" -p data="$data" "$@" >/dev/null; } 2>&1 | tail -1; }
best_plain=999 best_json=999 best_old=999 plains="" jsons="" olds=""
for i in $(seq "$rounds"); do
  p=$(time_of "$SEGFLOW"); j=$(time_of "$SEGFLOW" --json)
  plains="$plains $p"; jsons="$jsons $j"
  (( $(echo "$p < $best_plain" | bc) )) && best_plain=$p
  (( $(echo "$j < $best_json" | bc) )) && best_json=$j
  if [ -n "${OLD:-}" ]; then
    o=$(time_of "$OLD" --json); olds="$olds $o"
    (( $(echo "$o < $best_old" | bc) )) && best_old=$o
  fi
done
bytes=$(plan "$SEGFLOW" --json | wc -c)
escaped=$(plan "$SEGFLOW" --json | grep -c '\\/' || true)
echo "N=$n  plan:$plains  (best $best_plain s)"
echo "N=$n  plan --json:$jsons  (best $best_json s, $bytes bytes, lines with \\/: $escaped)"
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "ratio json/plain: best of $rounds $(echo "scale=2; $best_json / $best_plain" | bc), medians $(median "$jsons") / $(median "$plains") = $(echo "scale=2; $(median "$jsons") / $(median "$plains")" | bc)"
if [ -n "${OLD:-}" ]; then
  echo "N=$n  old plan --json ($OLD):$olds  (best $best_old s)"
  echo "ratio old json/plain: best $(echo "scale=2; $best_old / $best_plain" | bc), medians $(median "$olds") / $(median "$plains") = $(echo "scale=2; $(median "$olds") / $(median "$plains")" | bc)"
fi
