#!/usr/bin/env bash
# A first import (fresh cache: every file hashed, copied into the store (files of at most 4 KB inline in
# the index), made durable, indexed) against `sha256sum` over the same files, side by side in one run.
#   camvid: every PNG of CamVid's train/val images and masks (../shared/data/camvid, or $CAMVID)
#   small:  10,000 small images + 10,000 masks made by bench/plan/make_dataset.py
# Usage: bench/import/run.sh [ROUNDS]   (default 3; rounds interleave the tools, best and all reported)
# A journaled ext4 to measure on, as BENCHMARKS.md's runs (this machine's own / has no journal):
#   truncate -s 8G /work/ext4j.img && mkfs.ext4 -q -F /work/ext4j.img && mkdir -p /mnt/ext4j
#   mount "$(losetup --direct-io=on --show -f /work/ext4j.img)" /mnt/ext4j
# Env: SETS (default "camvid small": which sets to run), SEGFLOW (default .build/release/segflow), BASELINE (another segflow binary timed alongside, optional),
#      CAMVID (default ../shared/data/camvid from the repository root),
#      WORKDIR (default /tmp: where the caches go, e.g. a mount of the filesystem to measure).
# Files are read once before timing and again by every round: all sides read from the page cache; only
# segflow writes (the copies, made durable before the index names them). Every segflow round imports into
# a cache folder of its own (never one deleted just before); all are removed when the script ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
SEGFLOW=${SEGFLOW:-.build/release/segflow}
BASELINE=${BASELINE:-}
CAMVID=$(cd "${CAMVID:-../shared/data/camvid}" && pwd)
rounds=${1:-3}
[ -x "$SEGFLOW" ] || { echo "no segflow binary at $SEGFLOW: make release" >&2; exit 1; }
SEGFLOW=$(realpath "$SEGFLOW"); [ -z "$BASELINE" ] || BASELINE=$(realpath "$BASELINE")
small=/tmp/segflow-bench-plan-10000
[ -d "$small/images" ] || python3 bench/plan/make_dataset.py "$small" 10000
work=$(mktemp -d "${WORKDIR:-/tmp}/segflow-bench-import.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The pipelines: one imageFolder per image folder (with its masks), nothing else. Written outside the
# checkout so no plugins/ folder is in reach (a baseline binary need not parse today's plugin manifests).
classes='[Sky, Building, Pole, Road, Pavement, Tree, SignSymbol, Fence, Car, Pedestrian, Bicyclist]'
cat >"$work/camvid.yaml" <<YAML
version: 1
name: bench-import-camvid
classes: $classes
stages:
  train: {type: imageFolder, params: {images: "$CAMVID/train", masks: "$CAMVID/trainannot"}}
  val:   {type: imageFolder, params: {images: "$CAMVID/val", masks: "$CAMVID/valannot"}}
YAML
cat >"$work/small.yaml" <<YAML
version: 1
name: bench-import-small
classes: $classes
stages:
  images: {type: imageFolder, params: {images: "$small/images", masks: "$small/masks"}}
YAML

cd "$work"   # segflow runs from here: no plugins/ folder in reach
# Files deleted shortly before (an earlier run of this script, a build) slow every new inode on ext4
# without a journal until their inode-table blocks are written back and 5 s have passed: flush, wait.
sync; sleep 6
echo "started:  $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
dev=$(findmnt -n -o SOURCE -T "$work"); journal=$(ls /proc/fs/jbd2 2>/dev/null | grep -q "^$(basename "$dev")-" && echo "with" || echo "without")
# A loop device without direct I/O caches every block twice (its own page cache and the image file's) and
# writes through a kernel thread: a durable write of 125 MB costs several times what it costs on the disk.
dio=""; case $dev in /dev/loop*) dio=", direct I/O $( [ "$(losetup -n -O DIO "$dev" 2>/dev/null | tr -d ' ')" = 1 ] && echo on || echo off)" ;; esac
echo "machine:  $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(df -T "$work" | awk 'NR==2 {print $2}') under ${WORKDIR:-/tmp} ($dev, $journal a journal$dio)"
echo "segflow:  $SEGFLOW${BASELINE:+, baseline $BASELINE}"
# seconds COMMAND...: wall seconds of one run (GNU time), stdout and stderr dropped.
seconds() { /usr/bin/time -o "$work/time" -f "%e %U %S" "$@" >/dev/null 2>&1 || return 1; tail -1 "$work/time"; }
best() { tr ' ' '\n' | grep . | sort -g | head -1; }

for set in ${SETS:-camvid small}; do
  case $set in
    camvid) files=$(find "$CAMVID"/train "$CAMVID"/trainannot "$CAMVID"/val "$CAMVID"/valannot -name '*.png' | sort)
            pipeline=$work/camvid.yaml ;;
    small)  files=$(find "$small/images" "$small/masks" -name '*.png' | sort)
            pipeline=$work/small.yaml ;;
  esac
  count=$(echo "$files" | wc -l)
  mb=$(echo "$files" | xargs du -cb | tail -1 | awk '{printf "%.0f", $1 / 1e6}')
  echo "$files" | xargs cat >/dev/null   # page cache warm
  declare -A wall=() detail=()
  tools=(sha256sum segflow); [ -n "$BASELINE" ] && tools+=(baseline)
  for r in $(seq "$rounds"); do
    for tool in "${tools[@]}"; do
      case $tool in
        sha256sum) t=$(echo "$files" | seconds xargs sha256sum) || { echo "sha256sum failed" >&2; exit 1; } ;;
        segflow|baseline)
          bin=$SEGFLOW; [ $tool = baseline ] && bin=$BASELINE
          # A new folder per round, all removed at the end: deleting a 20k-file cache right before the next
          # round made that round pay for it (ext4 without a journal, as here, skips inodes freed in the last
          # seconds when it allocates new ones: a scan that grows with the files just deleted).
          cache=$work/cache-$set-$tool-$r
          t=$(seconds "$bin" run "$pipeline" --cache "$cache") \
            || { "$bin" run "$pipeline" --cache "$cache" 2>&1 | tail -5 >&2; echo "$tool: run failed" >&2; exit 1; }
          "$bin" plan "$pipeline" --cache "$cache" | head -1 | grep -q ': 0 to run,' \
            || { echo "$tool: the import left work undone" >&2; exit 1; } ;;
      esac
      wall[$tool]+="${t%% *} "; detail[$tool]+="$t; "
    done
  done
  echo
  echo "$set: $count files, $mb MB, $rounds rounds (wall user sys per round)"
  for tool in "${tools[@]}"; do printf "  %-10s best %6.2f s   %s\n" "$tool" "$(echo ${wall[$tool]} | best)" "${detail[$tool]}"; done
  s=$(echo ${wall[sha256sum]} | best); g=$(echo ${wall[segflow]} | best)
  printf "  sha256sum / segflow = %.2f (>= 1: the import is at least as fast as hashing alone)\n" "$(echo "$s / $g" | bc -l)"
  if [ -n "$BASELINE" ]; then
    b=$(echo ${wall[baseline]} | best)
    printf "  sha256sum / baseline = %.2f\n" "$(echo "$s / $b" | bc -l)"
  fi
  unset wall detail
done
echo
echo "finished: $(date -u '+%H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
