#!/usr/bin/env bash
# Normal requests while slow-header clients hold connections open (slowloris), for portier,
# nginx and HAProxy side by side: each proxy in front of the same nginx backend, each with a
# 10 s request-head timeout, each measured first alone and then beside SLOW held connections.
#
#   bench/slow-clients.sh                  # 1,000 slow connections, 10 s of wrk per run
#   SLOW=300 DURATION=20s bench/slow-clients.sh
#
# Needs: wrk, nginx, haproxy, python3 (apt-get install wrk nginx-light haproxy). Pinning on a
# 2-core box: the proxy on CPU 1; wrk, the slow clients and the backend on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/.."

SLOW=${SLOW:-1000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-10}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
B1=19111 P_NGINX=19211 P_HAPROXY=19212 P_PORTIER=19213

for tool in wrk nginx haproxy taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light haproxy" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || true

cargo build --release --quiet
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/backend.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$B1; location / { return 200 "hello world!\n"; } }
}
CONF
taskset -c "$LOAD_CPU" nginx -c "$work/backend.conf" -p "$work" & pids+=($!)

cat > "$work/proxy-nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/proxy-nginx.pid;
error_log $work/proxy-nginx.err crit;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_header_timeout 10s;
  upstream web { server 127.0.0.1:$B1; keepalive 64; }
  server {
    listen 127.0.0.1:$P_NGINX;
    location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CONF
taskset -c "$PROXY_CPU" nginx -c "$work/proxy-nginx.conf" -p "$work" & pids+=($!)

cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$B1
CONF
taskset -c "$PROXY_CPU" haproxy -f "$work/haproxy.cfg" -db & pids+=($!)

cat > "$work/portier.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:$P_PORTIER"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:$B1"
[frontends.web]
backend = "web"
[frontends.web.routes.all]
rule = "PathPrefix:/"
CONF
taskset -c "$PROXY_CPU" target/release/portier -c "$work/portier.toml" & pids+=($!)

sleep 1
p99() { # port → "requests/s p50 p99"
  local out
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$1/")
  printf '%s %s %s' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}
secs=${DURATION%s}

run() { # name port
  local name=$1 port=$2 alone beside slow
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$port/" >/dev/null
  alone=$(p99 "$port")
  taskset -c "$LOAD_CPU" python3 bench/slowloris.py 127.0.0.1 "$port" "$SLOW" $((secs + 6)) > "$work/slow.out" &
  local slow_pid=$!
  sleep 4 # all slow connections open
  beside=$(p99 "$port")
  wait "$slow_pid"
  slow=$(cat "$work/slow.out")
  read -r a_rps a_p50 a_p99 <<<"$alone"
  read -r b_rps b_p50 b_p99 <<<"$beside"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$a_rps" "$a_p50" "$a_p99" "$b_rps" "$b_p50" "$b_p99" "$slow"
}

echo "wrk -t1 -c$CONNS -d$DURATION --latency, alone and beside $SLOW slow-header connections (bench/slowloris.py: one header line a second, reopened when closed); proxy on CPU $PROXY_CPU, wrk, slow clients and backend on CPU $LOAD_CPU; $(nproc) cores; $(date -u +%F)"
echo
echo "| proxy | alone: req/s | p50 | p99 | beside slow clients: req/s | p50 | p99 | slow clients |"
echo "|---|---|---|---|---|---|---|---|"
run "nginx $(nginx -v 2>&1 | grep -o '[0-9.]*$') (client_header_timeout 10s)" "$P_NGINX"
run "HAProxy $(haproxy -v | head -1 | awk '{print $3}') (timeout http-request 10s)" "$P_HAPROXY"
run "portier $(target/release/portier --version | awk '{print $2}') (readHeaderTimeout 10s)" "$P_PORTIER"
