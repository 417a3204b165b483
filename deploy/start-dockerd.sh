#!/usr/bin/env bash
# Starts a local Docker engine when none answers (needs root), and waits until it does.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "dockerd is not installed: run 'apt-get install -y docker.io'" >&2
  exit 1
fi
log="${HOSTWRIGHT_DOCKERD_LOG:-/tmp/hostwright-dockerd.log}"
echo "starting dockerd (log: $log)"
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "dockerd is up"
    exit 0
  fi
  sleep 1
done
echo "dockerd did not come up within 60 s; see $log" >&2
tail -n 30 "$log" >&2 || true
exit 1
