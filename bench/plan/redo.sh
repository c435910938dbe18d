#!/usr/bin/env bash
# One mask of a 10k-item dataset replaced, then each tool brings the labels up to date, side by side in
# one run: `segflow run` (plan + redo: reimports that file, relabels that item) vs `dvc repro` (its unit
# is the stage: the whole folder is relabelled) vs `snakemake -c2` (mtime-based: one job reruns).
# The pipeline is bench/plan/plan.yaml (imageFolder -> maskLabels); the peers run peers_labels.py, the
# same labels (checked byte for byte on every round).
# Usage: bench/plan/redo.sh [N]   (default 10000)
# Env: SEGFLOW (default .build/release/segflow), VENV (default /tmp/segflow-peers-venv), RUNS (rounds, default 3).
# Workspaces (kept and reused): /tmp/redo-data-N (a copy of /tmp/segflow-bench-plan-N: the plan
# benchmark's dataset is never touched), /tmp/redo-segflow-cache-N, /tmp/redo-dvc-N, /tmp/redo-smk-N.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SEGFLOW=${SEGFLOW:-$here/../../.build/release/segflow}
VENV=${VENV:-/tmp/segflow-peers-venv}
RUNS=${RUNS:-3}
n=${1:-10000}
die() { echo "redo.sh: error: $*" >&2; exit 1; }
note() { echo "-- $*"; }
[ -x "$SEGFLOW" ] || die "no segflow binary at $SEGFLOW (set SEGFLOW=...)"
[[ $n =~ ^[0-9]+$ ]] || die "size '$n' is not a number"
source "$here/peers-venv.sh"
export DVC_NO_ANALYTICS=1
link() { [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || ln -sfn "$1" "$2"; }
put() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }

src=/tmp/segflow-bench-plan-$n data=/tmp/redo-data-$n cache=/tmp/redo-segflow-cache-$n
dvc_ws=/tmp/redo-dvc-$n smk_ws=/tmp/redo-smk-$n
[ -d "$src/images" ] || { note "making dataset $src"; python3 "$here/make_dataset.py" "$src" "$n"; }
[ -d "$data/images" ] || cp -a "$src" "$data"
stem=img$(printf %06d $((n / 2)))   # the item that changes

echo "started:   $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine:   $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "tools:     segflow $SEGFLOW, dvc $dvc_version, snakemake $smk_version; N=$n, changed item $stem"

# --- Set-up, each a no-op when already done --------------------------------------------------------
note "segflow run (first run when the cache is new)"
"$SEGFLOW" run "$here/plan.yaml" --cache "$cache" -p data="$data" >/dev/null 2>&1 || die "segflow run failed"
note "dvc workspace $dvc_ws"
mkdir -p "$dvc_ws"
link "$data/images" "$dvc_ws/images"; link "$data/masks" "$dvc_ws/masks"
put "$here/peers_labels.py" "$dvc_ws/peers_labels.py"; put "$here/dvc.yaml" "$dvc_ws/dvc.yaml"
(cd "$dvc_ws" && { [ -d .git ] || git init -q; } && { [ -d .dvc ] || "$DVC" init -q; } \
   && "$DVC" config core.analytics false && "$DVC" config core.check_update false \
   && "$DVC" repro >.redo-build.log 2>&1) || die "dvc repro failed (see $dvc_ws/.redo-build.log)"
note "snakemake workspace $smk_ws"
mkdir -p "$smk_ws"
link "$data/images" "$smk_ws/images"; link "$data/masks" "$smk_ws/masks"
put "$here/peers_labels.py" "$smk_ws/peers_labels.py"; put "$here/Snakefile" "$smk_ws/Snakefile"
# The first build computes the labels in one process (10k Snakemake jobs took ~35 min here, see peers.sh),
# then `--touch` records them as Snakemake's own outputs; from then on it decides by mtimes, as always.
if [ "$(ls "$smk_ws/labels" 2>/dev/null | wc -l)" != "$n" ]; then
  (cd "$smk_ws" && /usr/bin/python3 peers_labels.py masks labels && "$SMK" -c1 --touch >.redo-build.log 2>&1) \
    || die "snakemake set-up failed (see $smk_ws/.redo-build.log)"
fi
# (It adds that the touched outputs have no provenance metadata: mtimes are what it decides by here.)
says=$(cd "$smk_ws" && "$SMK" -n 2>&1)
[[ $says == *"Nothing to be done"* ]] || die "snakemake is not up to date before the rounds: $(echo "$says" | tail -2)"

# --- Rounds: replace the mask (alternately all Sky and all Road), then each tool catches up ---------
declare -A times=()
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || die "failed: $*"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
for r in $(seq "$RUNS"); do
  value=$(( r % 2 == 1 ? 3 : 0 )); expect=$([ $value = 3 ] && echo '["Road"]' || echo '["Sky"]')
  python3 - "$data/masks/$stem.png" "$value" <<'PY'
import struct, sys, zlib
path, v = sys.argv[1], int(sys.argv[2])
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
raw = b"".join(b"\x00" + bytes([v] * 8) for _ in range(8))
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
                       + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
  times[segflow]+="$(timed "$SEGFLOW" run "$here/plan.yaml" --cache "$cache" -p data="$data") "
  times[dvc]+="$(cd "$dvc_ws" && timed "$DVC" repro) "
  times[snakemake]+="$(cd "$smk_ws" && timed "$SMK" -c2) "
  for out in "$cache/results/bench-plan/labels/labels/$stem.json" "$dvc_ws/labels/$stem.json" "$smk_ws/labels/$stem.json"; do
    [ "$(tr -d ' \n' <"$out")" = "$expect" ] || die "round $r: $out is $(cat "$out"), expected $expect"
  done
  ran=$("$SEGFLOW" log --cache "$cache" 2>/dev/null | sed -n 2p)
  echo "   round $r: mask -> $expect; segflow log: $ran"
done
best() { tr ' ' '\n' | grep . | sort -g | head -1; }
s=$(echo ${times[segflow]} | best) d=$(echo ${times[dvc]} | best) k=$(echo ${times[snakemake]} | best)
echo
echo "One replaced mask at N=$n, best of $RUNS (all rounds: segflow ${times[segflow]}| dvc ${times[dvc]}| snakemake ${times[snakemake]})"
echo "| N | segflow run | dvc repro | snakemake -c2 | dvc / segflow | snakemake / segflow |"
echo "|---:|---:|---:|---:|---:|---:|"
printf "| %d | %.2f s | %.2f s | %.2f s | %.1fx | %.1fx |\n" "$n" "$s" "$d" "$k" "$(echo "$d / $s" | bc -l)" "$(echo "$k / $s" | bc -l)"
echo "finished:  $(date -u '+%H:%M:%S UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
