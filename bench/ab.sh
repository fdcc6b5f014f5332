#!/usr/bin/env bash
# A/B: CPU time per request of two portier builds under the same load, alternated, so a change
# can be checked for a data-plane slowdown (throughput alone is too noisy on a 2-core box).
#
#   bench/ab.sh NEW_BINARY OLD_BINARY          # e.g. target/release/portier /tmp/old/portier
#   ROUNDS=6 bench/ab.sh …
#
# Needs: wrk, nginx, perf (apt-get install wrk nginx-light linux-perf). Both proxies run pinned
# to CPU 1, wrk and two nginx backends to CPU 0; each round warms up 2 s, then measures 6 s of
# `wrk -c50` with `perf stat -e task-clock` on the proxy: CPU µs per request = task-clock /
# requests. One proxy is under load at a time.
set -euo pipefail
A=${1:?new portier binary}
B=${2:?old portier binary}
ROUNDS=${ROUNDS:-4}
for tool in wrk nginx perf taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light linux-perf" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/backends.conf" <<CONF
worker_processes 1; daemon off; pid $work/backends.pid; error_log $work/backends.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:19301; location / { return 200 "hello world!\n"; } }
  server { listen 127.0.0.1:19302; location / { return 200 "hello world!\n"; } } }
CONF
taskset -c 0 nginx -c "$work/backends.conf" -p "$work" & pids+=($!)
config() { # name port
  cat > "$work/$1.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:$2"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:19301"
[backends.web.servers.s2]
url = "http://127.0.0.1:19302"
[frontends.web]
backend = "web"
[frontends.web.routes.all]
rule = "PathPrefix:/"
CONF
}
config a 19311
config b 19312
taskset -c 1 "$A" -c "$work/a.toml" & pids+=($!); pid_a=$!
taskset -c 1 "$B" -c "$work/b.toml" & pids+=($!); pid_b=$!
sleep 1

measure() { # pid port
  taskset -c 0 wrk -t1 -c50 -d2s "http://127.0.0.1:$2/" >/dev/null
  local out reqs ms
  out=$(perf stat -x, -e task-clock -p "$1" -- taskset -c 0 wrk -t1 -c50 -d6s "http://127.0.0.1:$2/" 2>&1)
  reqs=$(grep -o '[0-9]* requests in' <<<"$out" | awk '{print $1}')
  ms=$(grep task-clock <<<"$out" | cut -d, -f1)
  awk -v r="$reqs" -v m="$ms" 'BEGIN {printf "%.2f", m * 1000 / r}'
}
echo "CPU µs per request, wrk -t1 -c50 -d6s per round; proxies on CPU 1; $(date -u +%F)"
echo
echo "| round | $A | $B |"
echo "|---|---|---|"
a_all=() b_all=()
for i in $(seq "$ROUNDS"); do
  a=$(measure "$pid_a" 19311); b=$(measure "$pid_b" 19312)
  a_all+=("$a"); b_all+=("$b")
  echo "| $i | $a | $b |"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
echo "| median | $(median "${a_all[@]}") | $(median "${b_all[@]}") |"
