#!/usr/bin/env bash
# evaluate over N CamVid label masks (480x360): the 468 train+val masks repeated under distinct stems,
# scored against themselves. Reports the evaluate node's time and images per second.
# Usage: bench/evaluate/run.sh [N]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}
SEGFLOW=$PWD/.build/release/segflow
DATA=${SEGFLOW_CAMVID:-$PWD/../shared/data/camvid}
W=/tmp/segflow-bench-evaluate-$N
if [ ! -d "$W/masks" ]; then
  mkdir -p "$W/masks"
  masks=("$DATA"/trainannot/*.png "$DATA"/valannot/*.png)
  for ((i = 0; i < N; i++)); do ln -s "${masks[i % ${#masks[@]}]}" "$W/masks/m$(printf %06d $i).png"; done
fi
rm -rf "$W/cache" "$W/out"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $N masks of 480x360"
$SEGFLOW exec evaluate --input masks="$W/masks" --input truth="$W/masks" --classes "$DATA/classes.yaml" \
  --out "$W/out" --cache "$W/cache" 2>&1 | grep -E "^evaluate: ran" | tail -1 | tee "$W/log.txt"
secs=$(sed -n 's/.*(\([0-9.]*\) s)$/\1/p' "$W/log.txt")
echo "evaluate: $N masks in $secs s = $(echo "scale=0; $N / $secs" | bc) images/s"
