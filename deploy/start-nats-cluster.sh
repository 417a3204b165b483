#!/usr/bin/env bash
# Starts a 3-node nats-server JetStream cluster on 127.0.0.1 in the background and waits until a
# JetStream meta leader is elected. Configs are generated from deploy/nats/cluster-node.conf.
#
#   bash deploy/start-nats-cluster.sh [--base-port 4222] [--store DIR]
#   bash deploy/start-nats-cluster.sh --stop [--store DIR]
#
# Node i (1..3) listens on base+i-1 (clients), base+2000+i-1 (routes), base+4000+i-1 (monitor),
# keeps node-i.conf, node-i.log, node-i.pid and jetstream-i/ under the store dir
# (default ${HOSTWRIGHT_NATS_STORE:-$HOME/.hostwright/nats-cluster}).
set -euo pipefail

base=4222
store="${HOSTWRIGHT_NATS_STORE:-$HOME/.hostwright/nats-cluster}"
action=start
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) base="${2:?--base-port needs a value}"; shift 2 ;;
    --store) store="${2:?--store needs a value}"; shift 2 ;;
    --stop) action=stop; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "start-nats-cluster.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ! [[ "$base" =~ ^[0-9]+$ ]] || [ "$base" -lt 1 ] || [ "$base" -gt 61000 ]; then
  echo "start-nats-cluster.sh: invalid --base-port '$base'" >&2
  exit 2
fi
template="$(dirname "$0")/nats/cluster-node.conf"

alive() { [ -f "$store/node-$1.pid" ] && kill -0 "$(cat "$store/node-$1.pid")" 2>/dev/null; }

if [ "$action" = stop ]; then
  for i in 1 2 3; do
    if alive "$i"; then kill -TERM "$(cat "$store/node-$i.pid")"; echo "stopped node $i"; fi
    rm -f "$store/node-$i.pid"
  done
  exit 0
fi

command -v nats-server >/dev/null 2>&1 || { echo "nats-server is not installed: run 'apt-get install -y nats-server'" >&2; exit 1; }
mkdir -p "$store"
urls=()
for i in 1 2 3; do
  client=$((base + i - 1)); route=$((base + 2000 + i - 1)); monitor=$((base + 4000 + i - 1))
  urls+=("nats://127.0.0.1:$client")
  if alive "$i"; then echo "node $i already running (pid $(cat "$store/node-$i.pid"))"; continue; fi
  sed -e "s/^server_name: .*/server_name: hostwright-nats-$i/" \
      -e "s/^listen: .*/listen: 127.0.0.1:$client/" \
      -e "s/^http: .*/http: 127.0.0.1:$monitor/" \
      -e "s/^  listen: 127.0.0.1:6222/  listen: 127.0.0.1:$route/" \
      -e "s#nats-route://127.0.0.1:6222#nats-route://127.0.0.1:$((base + 2000))#" \
      -e "s#nats-route://127.0.0.1:6223#nats-route://127.0.0.1:$((base + 2001))#" \
      -e "s#nats-route://127.0.0.1:6224#nats-route://127.0.0.1:$((base + 2002))#" \
      -e "s#store_dir: .*#store_dir: \"$store/jetstream-$i\"#" \
      "$template" >"$store/node-$i.conf"
  nohup nats-server -c "$store/node-$i.conf" >>"$store/node-$i.log" 2>&1 </dev/null &
  echo $! >"$store/node-$i.pid"
  echo "started node $i (pid $!) on 127.0.0.1:$client"
done

for _ in $(seq 1 150); do
  if node -e 'fetch(process.argv[1]).then((r) => r.json()).then((j) => process.exit(j.meta_cluster && j.meta_cluster.leader ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$((base + 4000))/jsz" 2>/dev/null; then
    echo "cluster is up"
    echo "NATS_URL=$(IFS=,; echo "${urls[*]}")"
    exit 0
  fi
  sleep 0.2
done
echo "no JetStream meta leader within 30 s; see $store/node-*.log" >&2
exit 1
