#!/usr/bin/env bash
# Starts a single-node nats-server with JetStream on 127.0.0.1 in the background, for a local
# Hostwright fleet, and waits until it is healthy. Idempotent: does nothing if it already runs.
#
#   bash deploy/start-nats.sh [--port 4222] [--monitor-port 8222] [--store DIR] [--include accounts.conf]
#   bash deploy/start-nats.sh --stop [--store DIR]
#
# --include adds the accounts block `hostwright fleet init` writes (users and permissions); when
# the server already runs with it, the script asks it to reload, so hosts added since take effect.
#
# Files under the store dir (default ${HOSTWRIGHT_NATS_STORE:-$HOME/.hostwright/nats}):
#   nats.conf  generated server config (see deploy/nats/single.conf for the documented version)
#   nats.log   server output
#   nats.pid   pid of the background server
#   jetstream/ JetStream data
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

port=4222
monitor_port=8222
store="${HOSTWRIGHT_NATS_STORE:-$HOME/.hostwright/nats}"
action=start
include=""

while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --monitor-port) monitor_port="${2:?--monitor-port needs a value}"; shift 2 ;;
    --monitor-port=*) monitor_port="${1#*=}"; shift ;;
    --store) store="${2:?--store needs a value}"; shift 2 ;;
    --store=*) store="${1#*=}"; shift ;;
    --include) include="${2:?--include needs a file}"; shift 2 ;;
    --include=*) include="${1#*=}"; shift ;;
    --stop) action=stop; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "start-nats.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

for value in "$port" "$monitor_port"; do
  if ! [[ "$value" =~ ^[0-9]+$ ]] || [ "$value" -lt 1 ] || [ "$value" -gt 65535 ]; then
    echo "start-nats.sh: invalid port '$value'" >&2
    exit 2
  fi
done
if [ "$port" = "$monitor_port" ]; then
  echo "start-nats.sh: --port and --monitor-port must differ (both $port)" >&2
  exit 2
fi
case "$store" in
  *'"'*|*'\'*) echo "start-nats.sh: store dir must not contain quotes or backslashes: $store" >&2; exit 2 ;;
esac

if [ -n "$include" ] && [ ! -f "$include" ]; then
  echo "start-nats.sh: --include file not found: $include" >&2
  exit 2
fi

pid_file="$store/nats.pid"
log_file="$store/nats.log"
conf_file="$store/nats.conf"

# Prints the pid from the pid file if that process is alive and is a nats-server.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$pid_file")"
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" != "nats-server" ]; then
    return 1
  fi
  echo "$pid"
}

# healthy PORT: 0 if http://127.0.0.1:PORT/healthz answers 200.
healthy() {
  local url="http://127.0.0.1:$1/healthz"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 -o /dev/null "$url" 2>/dev/null
  elif command -v node >/dev/null 2>&1; then
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url"
  else
    echo "start-nats.sh: need curl or node to check health" >&2
    return 1
  fi
}

# conf_port KEY: the port of 'KEY: 127.0.0.1:<port>' in the generated config.
conf_port() {
  [ -f "$conf_file" ] || return 1
  sed -n "s/^$1: *127\.0\.0\.1:\([0-9]*\).*/\1/p" "$conf_file" | head -n 1
}

stop_server() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    echo "nats-server not running (store $store)"
    return 0
  fi
  echo "stopping nats-server (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "nats-server did not exit within 10 s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$pid_file"
  echo "nats-server stopped"
}

if [ "$action" = stop ]; then
  stop_server
  exit 0
fi

if ! command -v nats-server >/dev/null 2>&1; then
  echo "nats-server is not installed: run 'apt-get install -y nats-server'" >&2
  exit 1
fi

# Idempotency: a live, healthy server from this store dir is left alone.
if pid="$(running_pid)"; then
  running_port="$(conf_port listen || true)"
  running_monitor="$(conf_port http || true)"
  running_port="${running_port:-$port}"
  running_monitor="${running_monitor:-$monitor_port}"
  # It may still be starting (e.g. two invocations in quick succession): give it a few seconds.
  for _ in $(seq 1 25); do
    if healthy "$running_monitor"; then
      if [ -n "$include" ]; then
        if ! grep -q '^include ' "$conf_file"; then
          echo "nats-server (pid $pid) runs without the accounts config; restart it: bash deploy/start-nats.sh --stop --store '$store'" >&2
          exit 1
        fi
        # Picks up users added or removed since it started (nats-server --signal reload does the same).
        kill -HUP "$pid"
      fi
      echo "nats-server already running (pid $pid)"
      echo "NATS_URL=nats://127.0.0.1:$running_port"
      exit 0
    fi
    sleep 0.2
  done
  echo "nats-server (pid $pid) is running but http://127.0.0.1:$running_monitor/healthz does not answer;" >&2
  echo "stop it with: bash deploy/start-nats.sh --stop --store '$store'" >&2
  exit 1
fi
rm -f "$pid_file"

mkdir -p "$store"
include_line=""
# nats-server resolves an include relative to the including file, even an absolute path.
[ -z "$include" ] || include_line="include \"$(realpath --relative-to="$store" "$include")\""
cat >"$conf_file" <<EOF
# Generated by deploy/start-nats.sh; see deploy/nats/single.conf for the documented config.
server_name: hostwright-nats
listen: 127.0.0.1:$port
http: 127.0.0.1:$monitor_port
max_payload: 1MB
jetstream {
  store_dir: "$store"
}
$include_line
EOF

echo "starting nats-server on 127.0.0.1:$port (monitor 127.0.0.1:$monitor_port, store $store, log $log_file)"
nohup nats-server -c "$conf_file" >>"$log_file" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pid_file"

for _ in $(seq 1 150); do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pid_file"
    echo "nats-server exited during startup; last lines of $log_file:" >&2
    tail -n 30 "$log_file" >&2 || true
    exit 1
  fi
  if healthy "$monitor_port"; then
    echo "nats-server is up (pid $pid)"
    echo "NATS_URL=nats://127.0.0.1:$port"
    exit 0
  fi
  sleep 0.2
done

echo "nats-server (pid $pid) did not become healthy within 30 s; last lines of $log_file:" >&2
tail -n 30 "$log_file" >&2 || true
exit 1
