#!/usr/bin/env bash
# Engine overhead on gradcampp: `segflow exec gradcampp` vs bench/gradcam/plain.py (pytorch-grad-cam called
# directly), same model, same images, same settings (classes: all, normalize: minmax), measured in one run.
# Usage: bench/gradcam/run.sh [N]   (default 100 CamVid train images at 480x360)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100}
SEGFLOW=$PWD/.build/release/segflow
DATA=${SEGFLOW_CAMVID:-$PWD/../shared/data/camvid}
W=/tmp/segflow-bench-gradcam-$N
rm -rf "$W"; mkdir -p "$W/images" "$W/masks"
for s in $(head -n "$N" "$DATA/train.txt" | awk '{print $1}' | xargs -n1 basename | sed 's/\.png$//'); do
  cp "$DATA/train/$s.png" "$W/images/"; cp "$DATA/trainannot/$s.png" "$W/masks/"
done
PY="$($SEGFLOW plugins env torch)/bin/python"
$SEGFLOW exec maskLabels --input masks="$W/masks" --classes "$DATA/classes.yaml" --out "$W/labels" --cache "$W/cache" >/dev/null
$SEGFLOW exec classifierTrain --input images="$W/images" --input labels="$W/labels" --classes "$DATA/classes.yaml" \
  --param epochs=1 --param imageSize=224 --out "$W/model" --cache "$W/cache" >/dev/null
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); $N images"
t0=$(date +%s.%N)
"$PY" bench/gradcam/plain.py "$W/model" "$W/images" "$W/plain" --threads 2 > "$W/plain.json"
t1=$(date +%s.%N)
$SEGFLOW exec gradcampp --input images="$W/images" --input model="$W/model" --classes "$DATA/classes.yaml" \
  --param classes=all --param normalize=minmax --out "$W/engine" --cache "$W/cache-fresh" >/dev/null
t2=$(date +%s.%N)
plain=$(echo "$t1 - $t0" | bc); engine=$(echo "$t2 - $t1" | bc)
echo "plain python: $plain s   segflow exec: $engine s   overhead: $(echo "scale=1; ($engine - $plain) * 100 / $plain" | bc)%"
"$PY" - "$W" <<'PY'
import sys, glob, os, numpy as np
w = sys.argv[1]
d = max(float(np.abs(np.load(p) - np.load(os.path.join(w, "engine", os.path.basename(p)))).max())
        for p in glob.glob(os.path.join(w, "plain", "*.npy")))
print(f"max |plain - engine| over all maps: {d:.4g}")
PY
