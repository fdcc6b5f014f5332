#!/usr/bin/env bash
# TCP and UDP through portier against HAProxy in TCP mode and a direct connection, side by
# side in one run (issue 14's benchmark): bulk MB/s over a 1 GiB transfer, new connections/s
# (connect, one byte there and back, close), UDP datagrams/s (there and back; HAProxy has no
# UDP), and the proxy's CPU per unit of work.
#
#   bench/tcp.sh                      # 1 GiB, 10 s rate runs, 32 concurrent clients
#   MIB=4096 RATE_SECONDS=20 CONC=64 bench/tcp.sh
#
# Needs haproxy and taskset (apt-get install haproxy). Pinning on a 2-core box: the proxy on
# CPU 1; the load generator and the servers on CPU 0. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

MIB=${MIB:-1024}
SECONDS_RUN=${RATE_SECONDS:-10}
CONC=${CONC:-32}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
SINK=19301 PONG=19302 UDPE=19303
H_BULK=19311 H_PONG=19312
P_BULK=19321 P_PONG=19322 P_UDP=19323

for tool in haproxy taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install haproxy" >&2; exit 1; }
done

cargo build --release --quiet --bin portier --example tcp_load
load=target/release/examples/tcp_load
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

taskset -c "$LOAD_CPU" "$load" serve $SINK $PONG $UDPE & pids+=($!)

cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
listen bulk
  bind 127.0.0.1:$H_BULK
  server s 127.0.0.1:$SINK
listen pong
  bind 127.0.0.1:$H_PONG
  server s 127.0.0.1:$PONG
CONF
taskset -c "$PROXY_CPU" haproxy -f "$work/haproxy.cfg" -db & pids+=($!)
haproxy_pid=$!

cat > "$work/traefik.yml" <<CONF
entryPoints:
  bulk:
    address: 127.0.0.1:$P_BULK
  pong:
    address: 127.0.0.1:$P_PONG
  dns:
    address: 127.0.0.1:$P_UDP/udp
providers:
  file:
    filename: $work/dynamic.yml
log:
  level: ERROR
CONF
cat > "$work/dynamic.yml" <<CONF
tcp:
  routers:
    bulk:
      entryPoints: [bulk]
      rule: HostSNI(\`*\`)
      service: sink
    pong:
      entryPoints: [pong]
      rule: HostSNI(\`*\`)
      service: pong
  services:
    sink:
      loadBalancer:
        servers:
          - address: 127.0.0.1:$SINK
    pong:
      loadBalancer:
        servers:
          - address: 127.0.0.1:$PONG
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: echo
  services:
    echo:
      loadBalancer:
        servers:
          - address: 127.0.0.1:$UDPE
CONF
taskset -c "$PROXY_CPU" target/release/portier -c "$work/traefik.yml" & pids+=($!)
portier_pid=$!
sleep 1

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# run PID CMD...: the command's output, then the proxy's CPU seconds during it.
run() {
  local pid=$1; shift
  local before after out
  before=$(if [ "$pid" = - ]; then echo 0; else ticks "$pid"; fi)
  out=$(taskset -c "$LOAD_CPU" "$@")
  after=$(if [ "$pid" = - ]; then echo 0; else ticks "$pid"; fi)
  echo "$out $(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN {printf "%.2f", (a - b) / hz}')"
}

echo "bulk: $MIB MiB on one connection; rates: ${SECONDS_RUN} s, $CONC clients; proxy on CPU $PROXY_CPU, load and servers on CPU $LOAD_CPU; $(nproc) cores; $(date -u +%F)"
echo
echo "| path | bulk MB/s | proxy CPU s per GiB | connections/s | proxy CPU µs per connection | UDP datagrams/s | proxy CPU µs per datagram |"
echo "|---|---|---|---|---|---|---|"
row() {
  local name=$1 pid=$2 bulk=$3 pong=$4 udp=$5
  read -r mbs bulk_cpu <<<"$(run "$pid" "$load" bulk "127.0.0.1:$bulk" "$MIB")"
  read -r cps conn_cpu <<<"$(run "$pid" "$load" conns "127.0.0.1:$pong" "$SECONDS_RUN" "$CONC")"
  local per_gib per_conn dps udp_cpu per_dgram
  per_gib=$(awk -v c="$bulk_cpu" -v m="$MIB" 'BEGIN {printf "%.2f", c / (m / 1024)}')
  per_conn=$(awk -v c="$conn_cpu" -v r="$cps" -v s="$SECONDS_RUN" 'BEGIN {if (r > 0) printf "%.1f", c * 1e6 / (r * s); else print "-"}')
  if [ "$udp" = - ]; then
    dps="no UDP"; per_dgram="-"
  else
    read -r dps udp_cpu <<<"$(run "$pid" "$load" udp "127.0.0.1:$udp" "$SECONDS_RUN" "$CONC")"
    per_dgram=$(awk -v c="$udp_cpu" -v r="$dps" -v s="$SECONDS_RUN" 'BEGIN {if (r > 0) printf "%.1f", c * 1e6 / (r * s); else print "-"}')
  fi
  if [ "$pid" = - ]; then per_gib="-"; per_conn="-"; per_dgram="-"; fi
  echo "| $name | $mbs | $per_gib | $cps | $per_conn | $dps | $per_dgram |"
}
row "direct (no proxy)" - $SINK $PONG $UDPE
row "HAProxy $(haproxy -v | awk 'NR==1 {print $3}') (mode tcp)" "$haproxy_pid" $H_BULK $H_PONG -
row "portier" "$portier_pid" $P_BULK $P_PONG $P_UDP
