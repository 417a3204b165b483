#!/usr/bin/env bash
# Hostwright quick start on one machine (local mode): installs what is missing, starts Docker,
# builds the local test image, and applies examples/local.yaml. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

export HOSTWRIGHT_DATA_DIR="${HOSTWRIGHT_DATA_DIR:-$HOME/.hostwright/quickstart}"
step() { printf '\n== %s\n' "$*"; }

step "checking prerequisites"
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[[ -x /bin/busybox ]] || need+=(busybox-static)
if [[ ${#need[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages: ${need[*]}; run this script as root (or: sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash deploy/start-dockerd.sh

step "installing and building Hostwright"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run build --silent
bash deploy/build-test-image.sh

hw() { node dist/coordinator/cli/main.js "$@"; }

step "plan: what would change (nothing is touched)"
hw plan -f examples/local.yaml --local || true

step "apply"
hw apply -f examples/local.yaml --local

step "status"
for _ in $(seq 1 20); do
  hw status --local --json | grep -q '"health": "starting"' || break
  sleep 1
done
hw status --local

step "the web service answers on 127.0.0.1:18080"
node -e "fetch('http://127.0.0.1:18080/').then(r=>r.text()).then(t=>process.stdout.write(t)).catch(e=>{console.error('not reachable:',e.message);process.exit(1)})"

step "last events"
hw events --local | tail -n 8

cat <<MSG

Hostwright is running the example (data dir: $HOSTWRIGHT_DATA_DIR). Try next:
  export HOSTWRIGHT_DATA_DIR=$HOSTWRIGHT_DATA_DIR
  npx hostwright plan -f examples/local.yaml --local --detailed-exitcode   # 0: converged
  docker stop demo-worker-1 && npx hostwright status --local                # drift: stopped
  npx hostwright apply -f examples/local.yaml --local                       # repairs it, visibly
  npx hostwright agent --local -f examples/local.yaml                       # the loop as a daemon (Ctrl-C stops it)
  npx hostwright events --local --follow                                    # in another terminal
To remove the example: npx hostwright apply -f examples/empty.yaml --local --allow-empty
MSG
