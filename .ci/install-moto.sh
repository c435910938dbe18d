#!/usr/bin/env bash
# Installs moto's S3 server into ~/.cache/segflow/moto (a venv, not the system), unless one is there or on PATH.
# The remote cache tests look for it there (Tests/SegflowRemoteTests/MotoServer.swift); .ci/run calls it..
set -euo pipefail
venv="${SEGFLOW_MOTO_VENV:-$HOME/.cache/segflow/moto}"
if [ -x "$venv/bin/moto_server" ] || command -v moto_server >/dev/null 2>&1; then exit 0; fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q "moto[server]==5.2.1"
"$venv/bin/moto_server" --help >/dev/null
