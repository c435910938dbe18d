#!/usr/bin/env bash
# Where a first import's time goes, binary by binary: `SEGFLOW_TIMING=1 segflow run` of the small set
# (10,000 + 10,000 small PNGs from bench/plan/make_dataset.py) into a fresh cache, the binaries
# interleaved round by round; prints the median of each phase (ms since the mark before) and of the total.
# Usage: bench/import/phases.sh ROUNDS SEGFLOW_BINARY...   Env: WORKDIR (default /tmp: where the caches go).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=$1; shift
small=/tmp/segflow-bench-plan-10000
[ -d "$small/images" ] || python3 bench/plan/make_dataset.py "$small" 10000
work=$(mktemp -d "${WORKDIR:-/tmp}/segflow-bench-phases.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/small.yaml" <<YAML
version: 1
name: bench-import-small
classes: [Sky, Building, Pole, Road, Pavement, Tree, SignSymbol, Fence, Car, Pedestrian, Bicyclist]
stages:
  images: {type: imageFolder, params: {images: "$small/images", masks: "$small/masks"}}
YAML
find "$small" -name '*.png' | xargs cat >/dev/null   # page cache warm
sync; sleep 3
echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $rounds rounds"
for r in $(seq "$rounds"); do
  for k in $(seq $#); do
    bin=${!k}
    (cd "$work" && SEGFLOW_TIMING=1 "$bin" run small.yaml --cache "$work/cache-$k-$r" 2>&1 >/dev/null) | grep '^timeline' >>"$work/marks-$k"
  done
done
for k in $(seq $#); do
  echo "== ${!k}"
  python3 - "$work/marks-$k" <<'PY'
import statistics, sys
runs, cur = [], []
for line in open(sys.argv[1]):
    parts = line.split(None, 3)            # timeline, ms, "ms", label
    t, label = float(parts[1]), parts[3].strip()
    if label == "command starts" and cur: runs.append(cur); cur = []
    cur.append((label, t))
runs.append(cur)
phases = {}
for run in runs:
    prev = 0.0
    for label, t in run:
        phases.setdefault(label, []).append(t - prev); prev = t
print("  " + ", ".join("%s %.1f" % (label, statistics.median(v)) for label, v in phases.items()))
print("  total %.1f ms (median of %d)" % (statistics.median(r[-1][1] for r in runs), len(runs)))
PY
done
