#!/usr/bin/env bash
# videoFrames' decoding path side by side with the decode alone: what the ffmpeg program's pipe costs
# over what a libavcodec binding could at best do (decode only, `-f null`; decode and convert to RGB, which
# a binding needs as well, `-pix_fmt rgb24 -f null`). A 300-frame H.264 video of
# CamVid frames (480x360, 30 fps) is made from ../shared/data/camvid/train (or $CAMVID); 5 runs of each,
# interleaved, CPU seconds (user + sys) and wall seconds, medians.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# /work/main/../shared, or a worktree's /work/wt/NAME/../../shared
CAMVID=${CAMVID:-$(for d in "$root/../shared/data/camvid" "$root/../../shared/data/camvid"; do [ -d "$d/train" ] && echo "$d" && break; done)}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ls "$CAMVID/train" | head -300 | sed "s|^|file $CAMVID/train/|" > "$tmp/list.txt"
ffmpeg -v error -y -f concat -safe 0 -r 30 -i "$tmp/list.txt" -c:v libx264 -pix_fmt yuv420p -r 30 "$tmp/v.mp4"
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "$label %e %U %S" -a -o "$tmp/times" "$@" >/dev/null 2>&1
}
for i in 1 2 3 4 5; do
  measure decode-only ffmpeg -v error -nostdin -i "$tmp/v.mp4" -f null -
  measure decode+rgb ffmpeg -v error -nostdin -i "$tmp/v.mp4" -pix_fmt rgb24 -f null -
  measure ppm-pipe sh -c "ffmpeg -nostdin -hide_banner -loglevel level+info -xerror -i '$tmp/v.mp4' -map 0:v:0 -vf showinfo -fps_mode passthrough -f image2pipe -c:v ppm - 2>/dev/null | cat >/dev/null"
done
python3 - "$tmp/times" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, wall, user, sys_ = line.split()
    rows[label].append((float(wall), float(user) + float(sys_)))
base = None
for label in ("decode-only", "decode+rgb", "ppm-pipe"):
    wall = statistics.median(w for w, _ in rows[label]); cpu = statistics.median(c for _, c in rows[label])
    base = base or (wall, cpu)
    print(f"{label:12s} wall {wall:.2f} s  cpu {cpu:.2f} s  ratio wall {wall / base[0]:.2f}  cpu {cpu / base[1]:.2f}")
PY
