#!/usr/bin/env bash
# The slurm executor against the local one: maskLabels (a native map stage) over N CamVid label masks
# (480x360; the 468 train+val masks under N distinct stems), shards of S items, on the one-node cluster
# that .ci/slurm/cluster.sh starts. Prints both wall times and the coordinator's own cost per shard
# (submit, squeue polls, re-verifying the manifests' objects, committing), from SEGFLOW_TIMING.
# Usage: bench/slurm/run.sh [N] [S]   (default 2000 250; needs `make release` and a running cluster)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}
S=${2:-250}
SEGFLOW=$PWD/.build/release/segflow
DATA=${SEGFLOW_CAMVID:-$PWD/../shared/data/camvid}
W=/tmp/segflow-bench-slurm-$N
export SLURM_CONF=${SLURM_CONF:-/tmp/segflow-slurm/slurm.conf}
if [ ! -d "$W/masks" ]; then
  mkdir -p "$W/masks"
  masks=("$DATA"/trainannot/*.png "$DATA"/valannot/*.png)
  for ((i = 0; i < N; i++)); do ln -s "${masks[i % ${#masks[@]}]}" "$W/masks/m$(printf %06d $i).png"; done
fi
cat > "$W/p.yaml" <<YAML
version: 1
name: bench-slurm
classes: $DATA/classes.yaml
executor: {shardSize: $S, cpus: 1}
stages:
  masks: {type: imageFolder, params: {images: $W/masks, masks: $W/masks}}
  labels: {type: maskLabels, inputs: {masks: masks.masks}}
YAML
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $N masks of 480x360, shards of $S; $(date -u +%FT%TZ)"
run() { # executor
  rm -rf "$W/$1"
  # A first run imports the masks (sources always run on the coordinator) and, on a new cache, submits the
  # shared-cache probe job; the timed run is the map stage alone, forced.
  $SEGFLOW run "$W/p.yaml" --executor "$1" --cache "$W/$1" >/dev/null 2>&1
  local t0=$(date +%s.%N)
  SEGFLOW_TIMING=1 $SEGFLOW run "$W/p.yaml" --executor "$1" --cache "$W/$1" --force labels 2>"$W/$1.err" >/dev/null
  local t1=$(date +%s.%N)
  echo "$1: labels over $N items in $(echo "$t1 - $t0" | bc) s wall"
  grep '^slurm labels' "$W/$1.err" || true
}
run local
run slurm
