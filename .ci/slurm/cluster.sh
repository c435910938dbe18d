#!/usr/bin/env bash
# A one-node Slurm cluster on localhost (munged, slurmctld, slurmd) for segflow's Slurm tests.
#   bash .ci/slurm/cluster.sh start   # prints the SLURM_CONF to export; waits until the node is idle
#   bash .ci/slurm/cluster.sh stop
# Needs root (slurmd runs jobs as their user) and the Debian packages slurm-wlm and munge.
# State lives under $SEGFLOW_SLURM_DIR (default /tmp/segflow-slurm); ports $SEGFLOW_SLURM_PORT and +1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${SEGFLOW_SLURM_DIR:-/tmp/segflow-slurm}"
port="${SEGFLOW_SLURM_PORT:-6817}"
conf="$dir/slurm.conf"

stop() {
  for f in slurmd slurmctld; do
    if [ -f "$dir/$f.pid" ]; then kill "$(cat "$dir/$f.pid")" 2>/dev/null || true; rm -f "$dir/$f.pid"; fi
  done
}

start() {
  for c in slurmctld slurmd munged sbatch; do
    command -v "$c" >/dev/null || { echo "cluster.sh: $c not found: apt-get install slurm-wlm munge" >&2; exit 1; }
  done
  stop
  mkdir -p "$dir/state" "$dir/spool"
  sed -e "s|@DIR@|$dir|g" -e "s|@CTLD_PORT@|$port|g" -e "s|@SLURMD_PORT@|$((port + 1))|g" \
      -e "s|@CPUS@|${SEGFLOW_SLURM_CPUS:-$(nproc)}|g" "$here/slurm.conf.in" > "$conf"
  # munged: one per machine, as user munge; reuse a running one.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; }
    mkdir -p /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    runuser -u munge -- /usr/sbin/munged
  fi
  export SLURM_CONF="$conf"
  # -c: a clean start (no jobs from an earlier cluster in this folder).
  slurmctld -c -f "$conf"
  slurmd -f "$conf" -N localhost
  for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then echo "export SLURM_CONF=$conf"; return 0; fi
    sleep 0.5
  done
  echo "cluster.sh: the node did not come up; logs in $dir/slurmctld.log and $dir/slurmd.log" >&2
  tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
