#!/usr/bin/env bash
# Hostwright quick start on one machine: a local NATS with JetStream, three agents (h1, h2, h3)
# sharing the local Docker engine, and the example fleet applied. Safe to re-run.
# NATS runs secured: `hostwright fleet init` (once) writes a coordinator user, an admin user (which
# `fleet setup` uses to create the streams) and one user per host with least-privilege permissions
# (docs/SECURITY.md); agents and the CLI connect with those creds.
#   bash deploy/quickstart.sh          start (or check) everything and apply examples/fleet.yaml
#   bash deploy/quickstart.sh --next   print the commands to try next again (and write $BASE/bin/hostwright)
#   bash deploy/quickstart.sh --stop   stop the agents and NATS (containers are left running)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

BASE="${HOSTWRIGHT_QUICKSTART_DIR:-$HOME/.hostwright/quickstart}"
NATS_PORT="${HOSTWRIGHT_NATS_PORT:-4222}"
export HOSTWRIGHT_NATS="nats://127.0.0.1:$NATS_PORT"
AUTH="$BASE/fleet-auth"
export HOSTWRIGHT_CREDS="$AUTH/coordinator.nk"
export HOSTWRIGHT_SIGNING_KEY="$AUTH/coordinator-signing.nk"
HOSTS=("h1:role=web" "h2:role=web" "h3:role=db")
step() { printf '\n== %s\n' "$*"; }
hw() { node dist/cli/hostwright.js "$@"; }
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [[ "${1:-}" == "--stop" ]]; then
  for entry in "${HOSTS[@]}"; do
    id="${entry%%:*}"; pidfile="$BASE/agents/$id.pid"
    if alive "$pidfile"; then kill -TERM "$(cat "$pidfile")" && echo "stopped agent $id"; fi
  done
  bash deploy/start-nats.sh --stop --store "$BASE/nats" || true
  # NATS is stopped now: Hostwright cannot remove them any more, Docker can (the project's label).
  cat <<MSG
The example's containers keep running (no agent manages them now). Remove them with Docker:
  docker ps -aq --filter label=io.hostwright.project=shop | xargs -r docker rm -f
  docker network ls -q --filter label=io.hostwright.project=shop | xargs -r docker network rm
  docker volume ls -q --filter label=io.hostwright.project=shop | xargs -r docker volume rm   # the cache's data too
MSG
  exit 0
fi

# `hostwright` for the lines the quick start prints: this checkout's CLI on the supported Node chosen
# below, by absolute path, so it works as printed whatever node comes first on the user's PATH.
write_wrapper() {
  mkdir -p "$BASE/bin"
  printf '#!/bin/sh\n# The quick start'"'"'s hostwright: %s on Node %s.\nexec "%s" "%s" "$@"\n' \
    "$REPO/dist/cli/hostwright.js" "$(node --version)" "$(command -v node)" "$REPO/dist/cli/hostwright.js" >"$BASE/bin/hostwright"
  chmod 755 "$BASE/bin/hostwright"
}

next_steps() {
  cat <<MSG
Try next (on this machine's PATH the first line puts a hostwright running on Node $(node --version)):
  export PATH=$BASE/bin:\$PATH
  export HOSTWRIGHT_NATS=$HOSTWRIGHT_NATS
  export HOSTWRIGHT_CREDS=$HOSTWRIGHT_CREDS            # the coordinator's NATS credentials
  export HOSTWRIGHT_SIGNING_KEY=$HOSTWRIGHT_SIGNING_KEY   # apply, rollout and rollback sign with it
  hostwright status --watch                          # live per-host status (Ctrl-C stops)
  hostwright events --follow --type drift_detected   # in another terminal
  docker rm -f h2-shop-api-1                         # drift: h2's agent recreates it, visibly
  hostwright plan -f $REPO/examples/fleet.yaml --out plan.json && hostwright apply plan.json
  hostwright hosts
Remove the example's containers (while NATS runs): hostwright apply -f $REPO/examples/empty.yaml --wait
Stop the agents and NATS: bash $REPO/deploy/quickstart.sh --stop
MSG
}

if [[ "${1:-}" == "--next" ]]; then
  source deploy/node24.sh
  write_wrapper
  next_steps
  exit 0
fi

step "checking prerequisites"
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v nats-server >/dev/null 2>&1 || need+=(nats-server)
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
# Hostwright needs Node.js 22.12 or later (24 LTS): an older one on PATH is passed over for Node 24.
source deploy/node24.sh
echo "Node $(node --version)"

step "installing and building Hostwright"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run build --silent
bash deploy/build-test-image.sh

step "fleet credentials (NATS users per host, coordinator and admin users, coordinator signing key) in $AUTH"
if [[ -f "$AUTH/fleet-auth.json" ]]; then
  # The accounts layout is this version's, also for a fleet set up by an earlier one.
  hw fleet regenerate --dir "$AUTH" >/dev/null
  echo "already initialised (accounts config written again from fleet-auth.json)"
else
  hw fleet init --dir "$AUTH" --listen "127.0.0.1:$NATS_PORT" $(for entry in "${HOSTS[@]}"; do printf -- '--host %s ' "${entry%%:*}"; done)
fi
for entry in "${HOSTS[@]}"; do
  id="${entry%%:*}"
  [[ -f "$AUTH/hosts/$id.nk" ]] || hw fleet add-host "$id" --dir "$AUTH"
done

step "starting NATS with JetStream on 127.0.0.1:$NATS_PORT (accounts from $AUTH/accounts.conf)"
bash deploy/start-nats.sh --port "$NATS_PORT" --monitor-port "${HOSTWRIGHT_NATS_MONITOR_PORT:-8222}" --store "$BASE/nats" --include "$AUTH/accounts.conf"
# The admin user creates the buckets and the event stream (and brings those of an earlier version up to date);
# the coordinator may not change them, agents may only bind to them.
hw fleet setup --creds "$AUTH/admin.nk" >/dev/null

step "starting agents"
mkdir -p "$BASE/agents"
for entry in "${HOSTS[@]}"; do
  id="${entry%%:*}"; label="${entry#*:}"; pidfile="$BASE/agents/$id.pid"
  if alive "$pidfile"; then echo "agent $id already running (pid $(cat "$pidfile"))"; continue; fi
  HOSTWRIGHT_CREDS="$AUTH/hosts/$id.nk" nohup node dist/cli/hostwright.js agent --host-id "$id" --label "$label" --name-prefix "$id-" \
    --coordinator-key "$AUTH/coordinator-signing.pub" --data-dir "$BASE/agents/$id" --resync 10s >"$BASE/agents/$id.log" 2>&1 &
  echo $! >"$pidfile"
  echo "agent $id started (pid $!, log $BASE/agents/$id.log)"
done
for _ in $(seq 1 30); do
  [[ $(hw hosts --json | grep -c '"stale": false') -ge 3 ]] && break
  sleep 1
done
hw hosts

step "plan: what each host would do (nothing is touched)"
hw plan -f examples/fleet.yaml || true

step "apply, waiting for every host to converge"
hw apply -f examples/fleet.yaml --wait --timeout 2m

step "status"
hw status

step "the web service on h1 answers on 127.0.0.1:18080"
for _ in $(seq 1 20); do
  node -e "fetch('http://127.0.0.1:18080/').then(r=>r.text()).then(t=>{process.stdout.write(t);process.exit(0)}).catch(()=>process.exit(1))" && break
  sleep 1
done

step "last events"
hw events --since 10m | tail -n 10

write_wrapper
printf '\nThe quick-start fleet is running (state under %s).\n' "$BASE"
next_steps
