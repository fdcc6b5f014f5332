#!/usr/bin/env bash
# Memory of idle keep-alive clients and after peaks, portier beside nginx (and HAProxy) in one
# run (issue 19): each proxy in front of the same nginx origin, pinned to its own core.
#
# For every target, ROUNDS times: IDLE clients open a connection each, send one request and stay
# idle (bench/idle_clients.py); after SETTLE seconds the RSS gives the cost of one idle client;
# PROBE new requests on fresh connections give the latency beside them (p99); every idle client
# then sends one more request (all must be answered); all close, and the RSS is sampled for
# 10 s to see whether it comes back. Then 64 clients download 1 MiB bodies for 5 s (wrk) and
# the RSS is sampled again for 10 s.
#
#   bench/memory.sh                       # 2,000 idle clients, 3 rounds
#   IDLE=10000 ROUNDS=1 bench/memory.sh   # issue 19 bar 4
#   TARGETS="portier" BIN=/path/to/portier bench/memory.sh
#   TARGETS="nginx haproxy portier" bench/memory.sh   # HAProxy: at most 4,000 connections (the fd limit)
#
# Needs: nginx, haproxy, wrk, python3. Prints one Markdown table (RSS in MiB, per client in KiB).
set -euo pipefail
cd "$(dirname "$0")/.."

IDLE=${IDLE:-2000}
ROUNDS=${ROUNDS:-3}
SETTLE=${SETTLE:-3}
PROBE=${PROBE:-300}
TARGETS=${TARGETS:-"nginx portier"}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
BIN=${BIN:-}
B1=19121 B2=19122 P_NGINX=19221 P_HAPROXY=19222 P_PORTIER=19223

for tool in wrk nginx haproxy taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light haproxy" >&2; exit 1; }
done
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN=target/release/portier
fi

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT

head -c 1048576 /dev/zero > "$work/big"
chmod 644 "$work/big"
cat > "$work/backend.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend.err warn;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$B1; listen 127.0.0.1:$B2;
    location / { return 200 "hello world!\n"; }
    location = /big { alias $work/big; }
  }
}
CONF
taskset -c "$LOAD_CPU" nginx -c "$work/backend.conf" -p "$work" & pids+=($!)

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err crit;
worker_rlimit_nofile 20000;
events { worker_connections 16384; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 180s;
  upstream web { server 127.0.0.1:$B1; server 127.0.0.1:$B2; keepalive 64; }
  server {
    listen 127.0.0.1:$P_NGINX backlog=4096;
    location / {
      proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$host; proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_buffers 8 64k; proxy_busy_buffers_size 128k; proxy_max_temp_file_size 0;
    }
  }
}
CONF

cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 180s
  timeout server 30s
  timeout http-keep-alive 180s
  option http-keep-alive
  option forwardfor
frontend fe
  bind 127.0.0.1:$P_HAPROXY
  default_backend web
backend web
  http-reuse always
  server s1 127.0.0.1:$B1
  server s2 127.0.0.1:$B2
CONF

cat > "$work/portier.toml" <<CONF
logLevel = "ERROR"
defaultEntryPoints = ["http"]
[entryPoints.http]
address = "127.0.0.1:$P_PORTIER"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:$B1"
[backends.web.servers.s2]
url = "http://127.0.0.1:$B2"
[frontends.web]
backend = "web"
[frontends.web.routes.host]
rule = "Host:web.local"
CONF

# VmRSS of a process and its children, in KiB.
rss_kib() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

wait_up() {
  local port=$1 i
  for i in $(seq 1 100); do
    curl -fs -o /dev/null -H 'Host: web.local' "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  echo "target on $port did not come up" >&2
  return 1
}

# Samples the RSS for 10 s; prints "rss_at_10s max_during".
settle_rss() {
  local pid=$1 i now max=0
  for i in $(seq 1 20); do
    now=$(rss_kib "$pid"); [ "$now" -gt "$max" ] && max=$now
    sleep 0.5
  done
  echo "$(rss_kib "$pid") $max"
}

echo "| target | round | RSS before | RSS with $IDLE idle | KiB per idle client | p99 new request ms (of $PROBE) | idle clients answered again | RSS 10 s after they close | RSS during 64 × 1 MiB | RSS 10 s after |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for target in $TARGETS; do
  case $target in
    nginx) port=$P_NGINX; taskset -c "$PROXY_CPU" nginx -c "$work/nginx.conf" -p "$work" & pid=$! ;;
    haproxy) port=$P_HAPROXY; taskset -c "$PROXY_CPU" haproxy -db -f "$work/haproxy.cfg" & pid=$! ;;
    portier) port=$P_PORTIER; taskset -c "$PROXY_CPU" "$BIN" -c "$work/portier.toml" & pid=$! ;;
    *) echo "unknown target $target" >&2; continue ;;
  esac
  pids+=("$pid")
  wait_up "$port"
  for i in $(seq 1 20); do curl -fs -o /dev/null -H 'Host: web.local' "http://127.0.0.1:$port/"; done
  sleep 1
  for round in $(seq 1 "$ROUNDS"); do
    before=$(rss_kib "$pid")
    coproc CLIENTS { taskset -c "$LOAD_CPU" python3 -u bench/idle_clients.py 127.0.0.1 "$port" web.local "$IDLE"; }
    read -r -t 300 ready <&"${CLIENTS[0]}"
    sleep "$SETTLE"
    with=$(rss_kib "$pid")
    echo "probe $PROBE" >&"${CLIENTS[1]}"
    read -r -t 120 probe <&"${CLIENTS[0]}"
    echo "check" >&"${CLIENTS[1]}"
    read -r -t 300 checked <&"${CLIENTS[0]}"
    echo "close" >&"${CLIENTS[1]}"
    read -r -t 60 _closed <&"${CLIENTS[0]}"
    echo "quit" >&"${CLIENTS[1]}"
    wait "$CLIENTS_PID" 2>/dev/null || true
    read -r after _max <<<"$(settle_rss "$pid")"
    per=$(awk -v a="$with" -v b="$before" -v n="$IDLE" 'BEGIN { printf "%.1f", (a - b) / n }')
    p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$probe")
    big_during="-" big_after="-"
    if [ "$round" = "$ROUNDS" ]; then
      taskset -c "$LOAD_CPU" wrk -t1 -c64 -d5s -H 'Host: web.local' "http://127.0.0.1:$port/big" > "$work/wrk-$target.txt" 2>&1 &
      wrk_pid=$!
      big_max=0
      while kill -0 "$wrk_pid" 2>/dev/null; do
        now=$(rss_kib "$pid"); [ "$now" -gt "$big_max" ] && big_max=$now
        sleep 0.2
      done
      read -r big_after _ <<<"$(settle_rss "$pid")"
      big_rate=$(awk '/Requests\/sec/ {printf "%.0f", $2} /Non-2xx/ {printf " (%s non-2xx)", $NF}' "$work/wrk-$target.txt")
      big_during="$(mib "$big_max") ($big_rate MiB/s)"; big_after=$(mib "$big_after")
    fi
    echo "| $target | $round | $(mib "$before") | $(mib "$with") ($ready) | $per | $p99 | ${checked#check } | $(mib "$after") | $big_during | $big_after |"
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
