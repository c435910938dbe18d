#!/usr/bin/env bash
# What results/ costs on disk at N items (bench/plan/plan.yaml: N images + N masks imported, N labels:
# 3N result files), and whether it survives moving the cache folder, for the link styles:
#   hard     hard links to the objects (what segflow writes)
#   relative relative symlinks, ../../../../objects/ab/cdef... (segflow's fallback), made here from the
#            same tree by python
#   absolute absolute symlinks (what segflow wrote before; from $BASELINE's own run when given, else made
#            here from the same tree)
#   pernode  one relative symlink per port folder, to a folder of hard links the store would keep per
#            tree (trees/<node>-<port>/), made here from the same tree
# Usage: bench/links/run.sh [N]   (default 10000). Env: SEGFLOW, BASELINE (an older segflow binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
SEGFLOW=${SEGFLOW:-.build/release/segflow}
BASELINE=${BASELINE:-}
n=${1:-10000}
data=/tmp/segflow-bench-plan-$n
[ -d "$data/images" ] || python3 bench/plan/make_dataset.py "$data" "$n"
work=$(mktemp -d /tmp/segflow-bench-links.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "started: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(df -T /tmp | awk 'NR==2 {print $2}') under /tmp, block size $(stat -fc %S /tmp)"

"$SEGFLOW" run bench/plan/plan.yaml --cache "$work/hard" -p data="$data" >/dev/null 2>&1
results=$work/hard/results/bench-plan
# The other styles from the same tree: every file replaced by a symlink to its object.
restyle() {  # restyle STYLE DEST_CACHE
  cp -a "$work/hard" "$2"
  python3 - "$2" "$1" <<'PY'
import os, sys
cache, style = sys.argv[1], sys.argv[2]
objects = os.path.join(cache, "objects")
index = {}
for d, _, files in os.walk(objects):
    for f in files:
        st = os.stat(os.path.join(d, f)); index[(st.st_dev, st.st_ino)] = os.path.join(d, f)
if style == "pernode":
    import shutil
    for d, subdirs, files in list(os.walk(os.path.join(cache, "results"))):
        if not files or any(f == ".segflow-links" for f in files): continue
        tree = os.path.join(cache, "trees", os.path.relpath(d, os.path.join(cache, "results")).replace("/", "-"))
        os.makedirs(os.path.dirname(tree), exist_ok=True)
        os.rename(d, tree)
        os.symlink(os.path.relpath(tree, os.path.dirname(d)), d)
    sys.exit(0)
for d, _, files in os.walk(os.path.join(cache, "results")):
    for f in files:
        p = os.path.join(d, f)
        st = os.lstat(p)
        if (st.st_dev, st.st_ino) not in index: continue
        target = index[(st.st_dev, st.st_ino)]
        os.unlink(p)
        os.symlink(target if style == "absolute" else os.path.relpath(target, d), p)
PY
}
restyle relative "$work/relative"
restyle pernode "$work/pernode"
if [ -n "$BASELINE" ]; then
  "$BASELINE" run bench/plan/plan.yaml --cache "$work/absolute" -p data="$data" >/dev/null 2>&1
else
  restyle absolute "$work/absolute"
fi

printf "%-9s %9s %12s %12s %14s %s\n" style files "results KB" "objects KB" "bytes/file" "after mv of the cache"
for style in hard relative absolute pernode; do
  c=$work/$style
  files=$(find -L "$c/results" -type f ! -name .segflow-links | wc -l)
  # One du over both: an inode is counted once, under the first folder it is met in (the objects); a
  # per-node store's tree folders count as results.
  mkdir -p "$c/trees"
  # (awk ends the line: `read` fails at an end of input without a newline, which set -e made the script's end)
  read -r objects_kb results_kb trees_kb < <(du -sk "$c/objects" "$c/results" "$c/trees" | awk '{printf "%s ", $1} END {print ""}')
  results_kb=$((results_kb + trees_kb))
  before=$(find -L "$c/results" -type f ! -name .segflow-links -exec cat {} + 2>/dev/null | wc -c)
  mv "$c" "$c-moved"
  broken=$(find "$c-moved/results" -xtype l | wc -l)
  unreadable=$(find -L "$c-moved/results" -type f ! -name .segflow-links -exec cat {} + 2>/dev/null | wc -c)
  printf "%-9s %9d %12d %12d %14.0f %s\n" "$style" "$files" "$results_kb" "$objects_kb" \
    "$(echo "$results_kb * 1024 / $files" | bc -l)" "$broken broken links, $unreadable of $before bytes readable"
done
echo "finished: $(date -u '+%H:%M:%S UTC')"
