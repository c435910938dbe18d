#!/usr/bin/env bash
# Push and pull through moto's S3 server, segflow vs `aws s3 sync` of the same files, in one run:
#   1. the quickstart's cache (its latest run's results: objects + result rows),
#   2. 10,000 small objects (bench/remote/small.yaml: a contact sheet per 8x8 image of bench/plan's dataset).
# Usage: bench/remote/run.sh
# Env: SEGFLOW (default .build/release/segflow), QS_CACHE (a cache holding a quickstart run, default ./cache;
#      it is only read: objects are hard-linked into a scratch cache), AWSCLI_VENV (default ~/.cache/segflow/awscli),
#      TRANSFERS (segflow --transfers, default 16), QS_REPEAT (rounds of the quickstart's push and pull, default 3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
SEGFLOW=${SEGFLOW:-$root/.build/release/segflow}
QS_CACHE=${QS_CACHE:-$root/cache}
AWSCLI_VENV=${AWSCLI_VENV:-$HOME/.cache/segflow/awscli}
TRANSFERS=${TRANSFERS:-16}
QS_REPEAT=${QS_REPEAT:-3}
die() { echo "bench/remote: error: $*" >&2; exit 1; }
[ -x "$SEGFLOW" ] || die "no segflow binary at $SEGFLOW (make release)"
bash "$root/.ci/install-moto.sh"
MOTO=$(command -v moto_server || echo "$HOME/.cache/segflow/moto/bin/moto_server")
if ! [ -x "$AWSCLI_VENV/bin/aws" ]; then python3 -m venv "$AWSCLI_VENV"; "$AWSCLI_VENV/bin/pip" install -q awscli; fi
AWS="$AWSCLI_VENV/bin/aws"

work=$(mktemp -d /tmp/segflow-bench-remote.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MOTO" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_MAX_ATTEMPTS=5
for _ in $(seq 100); do curl -s -o /dev/null "$AWS_ENDPOINT_URL" && break; sleep 0.1; done
"$AWS" s3 mb s3://bench >/dev/null

echo "started:  $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:    segflow ($SEGFLOW, --transfers $TRANSFERS), $("$AWS" --version 2>&1 | cut -d' ' -f1-2), moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null || echo "(from $MOTO)")"
now() { date +%s.%N; }
# HTTP requests moto has answered so far (it logs one line per request).
requests() { grep -c 'HTTP/1.1"' "$work/moto.log" || true; }
# row NAME TOOL DIRECTION SECONDS OBJECTS BYTES REQUESTS
row() { python3 -c "import sys; n,t,d,s,o,b,r=sys.argv[1:]; s=float(s); o=int(o); b=int(b); print(f'| {n} | {t} | {d} | {o:,} | {b/1e6:.1f} MB | {s:.1f} s | {o/s:.0f} | {b/1e6/s:.2f} | {int(r):,} |')" "$@"; }
echo
echo "| data | tool | direction | objects | size | time | objects/s | MB/s | requests |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"

# bench NAME PIPELINE CACHE: segflow push + pull, then aws s3 sync of the same objects up and down.
bench() {
  local name=$1 pipeline=$2 cache=$3 t0 t1 r0
  r0=$(requests); t0=$(now)
  "$SEGFLOW" push "$pipeline" --cache "$cache" --remote "s3://bench/$name-segflow" --transfers "$TRANSFERS" >"$work/push.out" 2>/dev/null; t1=$(now)
  local pushed_requests=$(( $(requests) - r0 ))
  "$AWS" s3 ls --recursive "s3://bench/$name-segflow/objects/" | awk '{print $3, $4}' >"$work/$name.list"
  "$AWS" s3 ls --recursive "s3://bench/$name-segflow/packs/" | awk '{print $4}' | sed 's|.*/||' >"$work/$name.packs"
  local objects bytes; objects=$(wc -l <"$work/$name.list"); bytes=$(awk '{s+=$1} END {print s+0}' "$work/$name.list")
  row "$name" segflow push "$(echo "$t1 - $t0" | bc)" "$objects" "$bytes" "$pushed_requests"
  r0=$(requests); t0=$(now)
  "$SEGFLOW" pull "$pipeline" --cache "$work/$name-pulled" --remote "s3://bench/$name-segflow" --transfers "$TRANSFERS" >"$work/pull.out" 2>/dev/null; t1=$(now)
  # A pull fetches what the plan needs (all of it when the keys match): count the objects that arrived
  # (the results packs it keeps in the store too are left out).
  find "$work/$name-pulled/objects" -type f -printf '%P %s\n' | tr -d / | grep -v -F -f "$work/$name.packs" >"$work/$name.pulled" || true
  row "$name" segflow pull "$(echo "$t1 - $t0" | bc)" "$(wc -l <"$work/$name.pulled")" \
      "$(awk '{s+=$2} END {print s+0}' "$work/$name.pulled")" "$(( $(requests) - r0 ))"
  # The same files for the AWS CLI: the pushed objects, hard-linked out of the cache.
  mkdir -p "$work/$name-stage"
  while read -r _ key; do
    rel=${key#*/objects/}; mkdir -p "$work/$name-stage/$(dirname "$rel")"; ln "$cache/objects/$rel" "$work/$name-stage/$rel"
  done <"$work/$name.list"
  r0=$(requests); t0=$(now); "$AWS" s3 sync --only-show-errors "$work/$name-stage" "s3://bench/$name-aws"; t1=$(now)
  row "$name" "aws s3 sync" push "$(echo "$t1 - $t0" | bc)" "$objects" "$bytes" "$(( $(requests) - r0 ))"
  r0=$(requests); t0=$(now); "$AWS" s3 sync --only-show-errors "s3://bench/$name-aws" "$work/$name-aws-pulled"; t1=$(now)
  row "$name" "aws s3 sync" pull "$(echo "$t1 - $t0" | bc)" "$objects" "$bytes" "$(( $(requests) - r0 ))"
  echo "  segflow: $(tail -1 "$work/push.out")" >&2
  echo "  segflow: $(grep -h "pull from\|adopted" "$work/pull.out" | tr '\n' ' ')" >&2
}

# 1. The quickstart's cache, hard-linked (objects are read-only, never modified) so the source stays untouched.
if [ -f "$QS_CACHE/index.sqlite" ]; then
  mkdir -p "$work/qs"; cp -al "$QS_CACHE/objects" "$work/qs/objects"; sqlite3 "$QS_CACHE/index.sqlite" ".backup '$work/qs/index.sqlite'"
  # A few seconds each way: measured QS_REPEAT times (each into a fresh prefix and cache), as one
  # run's order and moto's warm-up move a single figure by more than the difference between the tools.
  for i in $(seq "$QS_REPEAT"); do (cd "$root" && bench "quickstart-$i" pipelines/quickstart.yaml "$work/qs"); done
else
  echo "(no quickstart cache at $QS_CACHE: run make quickstart, or set QS_CACHE)" >&2
fi

# 2. 10,000 small objects.
data=/tmp/segflow-bench-plan-10000
[ -d "$data/images" ] || python3 "$root/bench/plan/make_dataset.py" "$data" 10000
"$SEGFLOW" run "$here/small.yaml" --cache "$work/small" >/dev/null 2>&1
bench small10k "$here/small.yaml" "$work/small"
