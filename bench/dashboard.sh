#!/usr/bin/env bash
# The dashboard with ROUTES file-provider routes (default 1,000) in headless Chromium:
# time until rendered and interactive (bar: under 500 ms), filter latency, and the page's
# main-thread CPU idle and under traffic with live updates on (bar: near zero idle).
#
#   bench/dashboard.sh                 # 1,000 routes, 30 s idle and 30 s loaded
#   ROUTES=3000 SECS=10 bench/dashboard.sh
#
# Needs: chromium, chromium-driver (apt), selenium (pip install selenium), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUTES=${ROUTES:-1000}
SECS=${SECS:-30}
python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
cargo build --release --quiet
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
python3 -m http.server 19311 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 & pids+=($!)
{
  echo 'defaultEntryPoints = ["http"]'
  echo '[entryPoints.http]'; echo 'address = "127.0.0.1:19312"'
  echo '[web]'; echo 'address = "127.0.0.1:19313"'
  echo '[file]'
  echo '[backends.gen.servers.a]'; echo 'url = "http://127.0.0.1:19311"'
  for i in $(seq 0 $((ROUTES - 1))); do
    n=$(printf 'gen-%04d' "$i")
    printf '[frontends.%s]\nbackend = "gen"\n[frontends.%s.routes.r]\nrule = "Host:%s.local"\n' "$n" "$n" "$n"
  done
} > "$work/traefik.toml"
target/release/portier --configFile="$work/traefik.toml" > "$work/portier.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:19313/ping && break; sleep 0.1; done
python3 bench/dashboard.py 127.0.0.1:19313 127.0.0.1:19312 "$ROUTES" "$SECS"
echo "portier RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/${pids[1]}/status); history: $(curl -s http://127.0.0.1:19313/api/traffic | python3 -c 'import json,sys; print(json.load(sys.stdin)["historyBytes"], "bytes")')"
