#!/usr/bin/env bash
# CPU time per request of one portier through routes with and without middlewares, in one run:
# a plain route, basic auth with a bcrypt (cost 10) user, basic auth with an apr1 user, and an
# allowlist plus a rate limit (set high enough never to refuse). Every request carries valid
# credentials, so the figure for bcrypt shows the verified-credential cache at work.
#
#   bench/middlewares.sh [PORTIER_BINARY]      # default target/release/portier
#   ROUNDS=4 bench/middlewares.sh
#
# Needs: wrk, nginx, perf, htpasswd (apt-get install wrk nginx-light linux-perf apache2-utils). portier is pinned to
# CPU 1, wrk and the nginx backend to CPU 0; each route warms up 2 s, then 6 s of `wrk -c50`
# under `perf stat -e task-clock`: CPU µs per request = task-clock / requests. Routes are
# measured in turn, ROUNDS times; the medians are printed.
set -euo pipefail
BIN=${1:-target/release/portier}
ROUNDS=${ROUNDS:-3}
for tool in wrk nginx perf taskset htpasswd; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk nginx-light linux-perf apache2-utils" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

cat > "$work/backend.conf" <<CONF
worker_processes 1; daemon off; pid $work/backend.pid; error_log $work/backend.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:19401; location / { return 200 "hello world!\n"; } } }
CONF
taskset -c 0 nginx -c "$work/backend.conf" -p "$work" & pids+=($!)

# bcrypt cost 10 for user "bench", password "bench".
BCRYPT=$(htpasswd -nbB -C 10 bench bench | cut -d: -f2)
APR1='$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/'   # user test, password test
cat > "$work/portier.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:19411"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:19401"
[frontends.plain]
backend = "web"
[frontends.plain.routes.r]
rule = "Host:plain"
[frontends.bcrypt]
backend = "web"
[frontends.bcrypt.routes.r]
rule = "Host:bcrypt"
[frontends.bcrypt.auth.basic]
users = ["bench:$BCRYPT"]
[frontends.apr1]
backend = "web"
[frontends.apr1.routes.r]
rule = "Host:apr1"
[frontends.apr1.auth.basic]
users = ["test:$APR1"]
[frontends.limited]
backend = "web"
[frontends.limited.routes.r]
rule = "Host:limited"
[frontends.limited.whiteList]
sourceRange = ["127.0.0.1/32"]
[frontends.limited.ratelimit]
extractorfunc = "client.ip"
[frontends.limited.ratelimit.rateset.high]
period = "1s"
average = 100000000
burst = 1000000
CONF
taskset -c 1 "$BIN" -c "$work/portier.toml" & pids+=($!); pid=$!
sleep 1

measure() { # host [authorization]
  local args=(-t1 -c50 -H "Host: $1")
  [ -n "${2:-}" ] && args+=(-H "Authorization: $2")
  taskset -c 0 wrk "${args[@]}" -d2s "http://127.0.0.1:19411/" >/dev/null
  local out reqs ms non2xx
  out=$(perf stat -x, -e task-clock -p "$pid" -- taskset -c 0 wrk "${args[@]}" -d6s "http://127.0.0.1:19411/" 2>&1)
  non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<<"$out" | awk '{print $NF}')
  [ -z "$non2xx" ] || { echo "route $1 refused $non2xx requests" >&2; exit 1; }
  reqs=$(grep -o '[0-9]* requests in' <<<"$out" | awk '{print $1}')
  ms=$(grep task-clock <<<"$out" | cut -d, -f1)
  awk -v r="$reqs" -v m="$ms" 'BEGIN {printf "%.2f", m * 1000 / r}'
}

declare -A results
routes=(plain bcrypt apr1 limited)
declare -A auth=([plain]="" [bcrypt]="Basic $(printf bench:bench | base64)" [apr1]="Basic $(printf test:test | base64)" [limited]="")
for r in $(seq "$ROUNDS"); do
  for route in "${routes[@]}"; do
    v=$(measure "$route" "${auth[$route]}")
    results[$route]="${results[$route]:-} $v"
    echo "round $r $route: $v µs/request" >&2
  done
done
echo "| route | CPU µs per request (median of $ROUNDS) | all rounds |"
echo "|---|---|---|"
for route in "${routes[@]}"; do
  median=$(tr ' ' '\n' <<<"${results[$route]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "| $route | $median | ${results[$route]# } |"
done
