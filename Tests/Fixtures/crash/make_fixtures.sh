#!/usr/bin/env bash
# Six CamVid train images at 120x90 for the crash-safety harness (Tests/SegflowEngineTests/CrashSafetyTests.swift):
# small enough that a debug segflow runs a pipeline over them in about a second. Images bilinear,
# label masks nearest-neighbour (class ids kept), from the SegNet tutorial's CamVid copy.
set -euo pipefail
src=${1:-/work/shared/data/camvid}
cd "$(dirname "$0")"
for stem in 0001TP_006690 0001TP_008460 0006R0_f02640 0016E5_00870 0016E5_04590 0016E5_06390; do
  ffmpeg -loglevel error -y -i "$src/train/$stem.png" -vf scale=120:90:flags=bilinear "images/$stem.png"
  ffmpeg -loglevel error -y -i "$src/trainannot/$stem.png" -vf scale=120:90:flags=neighbor -pix_fmt gray "masks/$stem.png"
done
