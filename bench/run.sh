#!/usr/bin/env bash
# Throughput and latency of portier against nginx and HAProxy as reverse proxies, all on
# 127.0.0.1 with the same backends, the same load and the same CPU pinning.
#
#   bench/run.sh            # 10 s per peer, 50 connections
#   DURATION=30s CONNS=100 bench/run.sh
#   BASELINE=/path/to/older/portier bench/run.sh   # also runs another portier build, side by side
#
# Needs: wrk, nginx, haproxy (apt-get install wrk nginx-light haproxy). Prints a Markdown table.
# Pinning on a 2-core box: the proxy under test on CPU 1; wrk and the two backends on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BASELINE=${BASELINE:-}
B1=19101 B2=19102 P_NGINX=19201 P_HAPROXY=19202 P_PORTIER=19203 P_BASELINE=19204

for tool in wrk nginx haproxy taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light haproxy" >&2; exit 1; }
done

cargo build --release --quiet
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

# Two backends: nginx answering a fixed 13-byte body.
cat > "$work/backends.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/backends.pid;
error_log $work/backends.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$B1; location / { return 200 "hello world!\n"; } }
  server { listen 127.0.0.1:$B2; location / { return 200 "hello world!\n"; } }
}
CONF
taskset -c "$LOAD_CPU" nginx -c "$work/backends.conf" -p "$work" & pids+=($!)

cat > "$work/proxy-nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/proxy-nginx.pid;
error_log $work/proxy-nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream web { server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 256; }
  server {
    listen 127.0.0.1:$P_NGINX;
    location / {
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
taskset -c "$PROXY_CPU" nginx -c "$work/proxy-nginx.conf" -p "$work" & pids+=($!)

cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option forwardfor
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend be
backend be
  balance roundrobin
  http-reuse always
  server s1 127.0.0.1:$B1
  server s2 127.0.0.1:$B2
CONF
taskset -c "$PROXY_CPU" haproxy -f "$work/haproxy.cfg" -db & pids+=($!)

cat > "$work/portier.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:$P_PORTIER"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:$B1"
[backends.web.servers.s2]
url = "http://127.0.0.1:$B2"
[frontends.web]
backend = "web"
[frontends.web.routes.all]
rule = "PathPrefix:/"
CONF
taskset -c "$PROXY_CPU" target/release/portier -c "$work/portier.toml" & pids+=($!)
portier_pid=$!
if [ -n "$BASELINE" ]; then
  sed "s/:$P_PORTIER\"/:$P_BASELINE\"/" "$work/portier.toml" > "$work/baseline.toml"
  taskset -c "$PROXY_CPU" "$BASELINE" -c "$work/baseline.toml" & pids+=($!)
  baseline_pid=$!
fi

sleep 1
pid_on_port() { ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }

run() { # name port pid
  local name=$1 port=$2 pid=$3 out
  # Warm-up: fill connection pools.
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$port/" >/dev/null
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$port/")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+|Socket errors: .*' <<<"$out" | tr '\n' ' ' || true)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$(if [ -n "$pid" ]; then rss_kib "$pid"; else echo -; fi)" "${errors:-none}"
}

echo "wrk -t1 -c$CONNS -d$DURATION --latency; proxy on CPU $PROXY_CPU, wrk and backends on CPU $LOAD_CPU; $(nproc) cores; $(date -u +%F)"
echo
echo "| target | requests/s | p50 | p99 | proxy RSS (KiB) | errors |"
echo "|---|---|---|---|---|---|"
run "direct to one backend" "$B1" ""
run "nginx $(nginx -v 2>&1 | grep -o '[0-9.]*$') (1 worker, upstream keepalive)" "$P_NGINX" "$(pid_on_port $P_NGINX)"
run "HAProxy $(haproxy -v | head -1 | awk '{print $3}') (nbthread 1)" "$P_HAPROXY" "$(pid_on_port $P_HAPROXY)"
run "portier $(target/release/portier --version | awk '{print $2}')" "$P_PORTIER" "$portier_pid"
if [ -n "$BASELINE" ]; then
  run "portier baseline ($BASELINE)" "$P_BASELINE" "$baseline_pid"
fi
