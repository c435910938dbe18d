#!/usr/bin/env bash
# "Is anything out of date?" for a fully cached pipeline over N images, side by side:
# `segflow plan` (bench/plan/plan.yaml: imageFolder -> maskLabels) vs `dvc status` (DVC 3.67) vs
# `snakemake -n` (Snakemake 9.27), over the same dataset files, in one run so the ratios mean something.
# Usage: bench/plan/peers.sh [SIZES...]   (default: 1000 10000)
# Env: SEGFLOW (default .build/release/segflow), VENV (default /tmp/segflow-peers-venv), RUNS (timed runs per
#      tool, default 5), SMK_BUILD_TIMEOUT (seconds for Snakemake's real build per size, default 2400),
#      SMK_BATCH (targets per snakemake call while building, default 1000).
# Workspaces (kept and reused): /tmp/peers-segflow-cache-N, /tmp/peers-dvc-N, /tmp/peers-smk-N.
# Datasets: /tmp/segflow-bench-plan-N (made by make_dataset.py when absent; only read otherwise).
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
SEGFLOW=${SEGFLOW:-$here/../../.build/release/segflow}
VENV=${VENV:-/tmp/segflow-peers-venv}
RUNS=${RUNS:-5}
SMK_BUILD_TIMEOUT=${SMK_BUILD_TIMEOUT:-2400}
SMK_BATCH=${SMK_BATCH:-1000}
sizes=${*:-1000 10000}
export DVC_NO_ANALYTICS=1
die() { echo "peers.sh: error: $*" >&2; exit 1; }
note() { echo "-- $*"; }
now() { date +%s.%N; }
since() { printf "%.1f" "$(echo "$(now) - $1" | bc)"; }
[ -x "$SEGFLOW" ] || die "no segflow binary at $SEGFLOW (set SEGFLOW=...)"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is required"
command -v bc >/dev/null || die "bc is required"
command -v git >/dev/null || die "git is required (DVC workspace)"
for n in $sizes; do [[ $n =~ ^[0-9]+$ ]] || die "size '$n' is not a number"; done

# --- 1. Throwaway venv with the peers (shared with redo.sh) ----------------------------------------
source "$here/peers-venv.sh"

echo "started:   $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:   $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (start)"
echo "tools:     segflow $SEGFLOW, dvc $dvc_version, snakemake $smk_version, $("$VENV/bin/python" --version)"

# put SRC DEST: copy only when the content differs (keeps mtimes, so reruns stay up to date)
put() { cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
# link TARGET NAME: symlink only when missing or pointing elsewhere
link() { [ "$(readlink "$2" 2>/dev/null)" = "$1" ] || ln -sfn "$1" "$2"; }

tmp=$(mktemp -d /tmp/peers-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT


# smk DIR LIMIT ARGS...: snakemake in DIR under `timeout LIMIT`, log appended to DIR/.peers-build.log.
# timeout runs in a process group of its own: that group is killed if this script is interrupted meanwhile.
smk() {
  local dir=$1 limit=$2 rc=0; shift 2
  (cd "$dir" && exec timeout "$limit" "$SMK" "$@" >>"$dir/.peers-build.log" 2>&1) &
  smk_pid=$!
  trap 'kill -- -$smk_pid 2>/dev/null; exit 130' INT TERM
  wait $smk_pid || rc=$?
  trap - INT TERM
  return $rc
}

# --- 2. Build each workflow once (a no-op when already built) and check that all three are up to date ---
declare -A prep smk_ok
for n in $sizes; do
  data=/tmp/segflow-bench-plan-$n
  if ! [ -d "$data/images" ]; then
    note "making dataset $data ($n images)"
    python3 "$here/make_dataset.py" "$data" "$n"
  fi
  [ "$(ls "$data/images" | wc -l)" = "$n" ] && [ "$(ls "$data/masks" | wc -l)" = "$n" ] \
    || die "$data does not hold $n images and $n masks"

  note "N=$n: segflow run (cache /tmp/peers-segflow-cache-$n)"
  t0=$(now)
  "$SEGFLOW" run "$here/plan.yaml" --cache "/tmp/peers-segflow-cache-$n" -p data="$data" \
    >"$tmp/segflow-run-$n.log" 2>&1 || { tail -20 "$tmp/segflow-run-$n.log"; die "segflow run failed (N=$n)"; }
  prep[segflow-$n]=$(since "$t0")

  ws=/tmp/peers-smk-$n
  note "N=$n: snakemake -c2 in $ws (one job per item; missing outputs built in batches of $SMK_BATCH targets)"
  mkdir -p "$ws"
  link "$data/images" "$ws/images"; link "$data/masks" "$ws/masks"
  put "$here/peers_labels.py" "$ws/peers_labels.py"; put "$here/Snakefile" "$ws/Snakefile"
  # One `snakemake -c2` over all 10k jobs managed only ~70 jobs a minute here (the scheduler's work per
  # finished job grows with the jobs pending), so the missing outputs are asked for SMK_BATCH at a time: the
  # same rule, jobs and metadata. A last plain `snakemake -c2` (rule all) must then find nothing or little.
  t0=$(now) start=$SECONDS rc=0
  : >"$ws/.peers-build.log"
  comm -23 <(ls "$data/masks" | sed -n 's/\.png$/.json/p' | sort) <(ls "$ws/labels" 2>/dev/null | sort) \
    | sed 's|^|labels/|' >"$tmp/todo"
  split -l "$SMK_BATCH" "$tmp/todo" "$tmp/todo-$n."
  for batch in "$tmp/todo-$n."* ""; do
    left=$((SMK_BUILD_TIMEOUT - (SECONDS - start)))
    if [ $left -le 0 ]; then rc=124; break; fi
    if [ -n "$batch" ]; then
      mapfile -t targets <"$batch"
      echo "   $(date -u +%H:%M:%S) snakemake: $(wc -l <"$batch") targets from $(basename "${targets[0]}")"
    else
      targets=()
    fi
    smk "$ws" "$left" -c2 --scheduler greedy --rerun-incomplete "${targets[@]}" || { rc=$?; break; }
  done
  rm -f "$tmp/todo-$n."*
  if [ $rc = 0 ]; then
    smk_ok[$n]=1
  else
    smk_ok[$n]=0
    [ $rc = 124 ] && note "snakemake build for N=$n took over ${SMK_BUILD_TIMEOUT} s: stopped with" \
        "$(ls "$ws/labels" | wc -l) of $n outputs; left out of the table (rerun to go on)" \
      || { tail -20 "$ws/.peers-build.log"; die "snakemake build failed (N=$n, rc=$rc)"; }
  fi
  prep[smk-$n]=$(since "$t0")

  ws=/tmp/peers-dvc-$n
  note "N=$n: dvc repro in $ws"
  mkdir -p "$ws"
  link "$data/images" "$ws/images"; link "$data/masks" "$ws/masks"
  put "$here/peers_labels.py" "$ws/peers_labels.py"; put "$here/dvc.yaml" "$ws/dvc.yaml"
  t0=$(now)
  (cd "$ws"
   [ -d .git ] || git init -q
   [ -d .dvc ] || "$DVC" init -q
   [ "$("$DVC" config core.analytics 2>/dev/null || true)" = false ] || "$DVC" config core.analytics false
   [ "$("$DVC" config core.check_update 2>/dev/null || true)" = false ] || "$DVC" config core.check_update false
   "$DVC" repro >"$ws/.peers-build.log" 2>&1) || { tail -20 "$ws/.peers-build.log"; die "dvc repro failed (N=$n)"; }
  prep[dvc-$n]=$(since "$t0")

  # all three must say "nothing to do", and compute the same labels
  first=$("$SEGFLOW" plan "$here/plan.yaml" --cache "/tmp/peers-segflow-cache-$n" -p data="$data" | head -1)
  [[ $first == *": 0 to run,"* ]] || die "segflow plan is not fully cached (N=$n): $first"
  dvc_says=$(cd /tmp/peers-dvc-$n && "$DVC" status 2>&1)
  [ "$dvc_says" = "Data and pipelines are up to date." ] || die "dvc status is not up to date (N=$n): $dvc_says"
  if [ "${smk_ok[$n]}" = 1 ]; then
    smk_says=$(cd /tmp/peers-smk-$n && "$SMK" -n 2>&1 | tail -1)
    [ "$smk_says" = "Nothing to be done (all requested files are present and up to date)." ] \
      || die "snakemake -n is not up to date (N=$n): $smk_says"
    diff -rq /tmp/peers-smk-$n/labels /tmp/peers-dvc-$n/labels >/dev/null || die "snakemake and dvc labels differ (N=$n)"
  else
    smk_says="(not built)"
  fi
  diff -rq "/tmp/peers-segflow-cache-$n/results/bench-plan/labels/labels" /tmp/peers-dvc-$n/labels >/dev/null \
    || die "segflow and dvc labels differ (N=$n)"
  echo "   N=$n up to date: segflow plan: '$first' | dvc status: '$dvc_says' | snakemake -n: '$smk_says'"
  echo "   N=$n labels/*.json identical across the tools; prepare (build, or no-op when reused):" \
       "segflow run ${prep[segflow-$n]} s, snakemake ${prep[smk-$n]} s, dvc repro ${prep[dvc-$n]} s"
done

# --- 3. Time the up-to-date checks: one untimed warm-up each, then RUNS rounds, tools interleaved ---
# measure DIR NAME CMD...: runs CMD in DIR under /usr/bin/time, appends "wall rss_kb" to $tmp/NAME
measure() {
  local dir=$1 name=$2; shift 2
  (cd "$dir" && /usr/bin/time -o "$tmp/one" -f "%e %M" "$@" >/dev/null 2>"$tmp/err") \
    || { cat "$tmp/err" >&2; die "$name failed in $dir"; }
  tail -1 "$tmp/one" >>"$tmp/$name"
}
best() { sort -n "$tmp/$1" | head -1 | cut -d' ' -f1; }                    # best wall, s
peak() { echo $(( $(cut -d' ' -f2 "$tmp/$1" | sort -n | tail -1) / 1024 )); } # max RSS over runs, MB
ratio() { [ "$1" = "n/a" ] && echo "n/a" || echo "scale=1; $1 / $2" | bc | sed 's/^\./0./'; }

rows=()
for n in $sizes; do
  data=/tmp/segflow-bench-plan-$n
  for round in $(seq 0 "$RUNS"); do
    if [ "$round" = 0 ]; then sfx=warm; else sfx=$n; fi
    measure "$here" "seg-$sfx" "$SEGFLOW" plan "$here/plan.yaml" --cache "/tmp/peers-segflow-cache-$n" -p data="$data"
    measure /tmp/peers-dvc-$n "dvc-$sfx" "$DVC" status
    if [ "${smk_ok[$n]}" = 1 ]; then measure /tmp/peers-smk-$n "smk-$sfx" "$SMK" -n; fi
  done
  s=$(best seg-$n) d=$(best dvc-$n)
  if [ "${smk_ok[$n]}" = 1 ]; then k=$(best smk-$n) km=$(peak smk-$n); else k=n/a km=n/a; fi
  # segflow plan can finish within /usr/bin/time's 10 ms resolution: floor it at 0.01 s for the ratios
  sr=$(echo "if ($s < 0.01) 0.01 else $s" | bc)
  rows+=("| $n | $s | $d | $k | $(ratio "$d" "$sr")x | $(ratio "$k" "$sr")x | $(peak seg-$n) | $(peak dvc-$n) | $km |")
  echo "   N=$n all timed runs (wall s, RSS KB): segflow [$(tr '\n' ';' <"$tmp/seg-$n")]" \
       "dvc [$(tr '\n' ';' <"$tmp/dvc-$n")] snakemake [$( [ -f "$tmp/smk-$n" ] && tr '\n' ';' <"$tmp/smk-$n")]"
done

echo
echo "Up-to-date check of a fully cached pipeline, best of $RUNS wall (page cache warm, tools interleaved):"
echo "| N | segflow plan s | dvc status s | snakemake -n s | dvc / segflow | snakemake / segflow | segflow MB | dvc MB | snakemake MB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "load avg:  $(cut -d' ' -f1-3 /proc/loadavg) (end)"
echo "finished:  $(date -u '+%Y-%m-%d %H:%M UTC')"
