#!/usr/bin/env bash
# CI check for the dense CRF (`make test` runs it when present): the real `segflow exec crf` and
# `segflow exec seedCRF` against pydensecrf's MAP labels on 20 CamVid images each; fails when a mean
# agreement is below 99 %.
# Builds only the segflow binary, when it is missing. Skips (exit 0) when the CamVid data is absent.
#
# Environment: CAMVID (default ../shared/data/camvid from the repository root), CRF_CHECK_COUNT (20),
# CRF_CHECK_VENV (/tmp/segflow-pydensecrf-venv), SWIFT (swift).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DATA=${CAMVID:-../shared/data/camvid}
COUNT=${CRF_CHECK_COUNT:-20}
VENV=${CRF_CHECK_VENV:-/tmp/segflow-pydensecrf-venv}
SWIFT=${SWIFT:-swift}
SEGFLOW=.build/release/segflow

if [ ! -d "$DATA/train" ] || [ ! -d "$DATA/trainannot" ]; then
    echo "bench/crf/check.sh: skip: no CamVid data at $DATA (train/ and trainannot/)"
    exit 0
fi

# pydensecrf2 has no wheels: pip compiles it (Cython + C++), so the venv needs a compiler and Python's headers.
missing=()
command -v python3 >/dev/null || { echo "bench/crf/check.sh: python3 not found" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    rm -rf "$VENV"
    missing+=(python3-venv)
fi
if ! python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    missing+=(python3-dev)
fi
# The compilers this Python builds extensions with (Debian's: x86_64-linux-gnu-gcc/-g++, from gcc and g++).
for cc in $(python3 -c 'import sysconfig; print(*[(sysconfig.get_config_var(v) or "x").split()[0] for v in ("CC", "CXX")])'); do
    command -v "$cc" >/dev/null || { missing+=(g++); break; }
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench/crf/check.sh: installing ${missing[*]} (to build pydensecrf2)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        echo "bench/crf/check.sh: missing system packages ${missing[*]} (pip builds pydensecrf2 from source):" \
             "sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

if [ ! -x "$SEGFLOW" ]; then
    echo "bench/crf/check.sh: building $SEGFLOW"
    "$SWIFT" build -c release --product segflow
fi

python3 bench/crf/compare.py --data "$DATA" --count "$COUNT" --venv "$VENV" --segflow "$SEGFLOW" \
    --jobs 2 --min-agreement 99
# seedCRF (scribbles + clicks from segflow's annotators) against pydensecrf's unary_from_labels path.
python3 bench/crf/seeds.py --data "$DATA" --count "$COUNT" --venv "$VENV" --segflow "$SEGFLOW" \
    --jobs 2 --min-agreement 99
