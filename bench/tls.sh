#!/usr/bin/env bash
# TLS figures for portier and nginx with the same certificate and the same load generator:
# new TLS connections per second (one request per connection), HTTPS keep-alive requests/s,
# and HTTP/2 requests/s with h2load.
#
#   bench/tls.sh            # 10 s per measure, 50 connections
#
# Needs: wrk, nginx, h2load, openssl (apt-get install wrk nginx-light nghttp2-client openssl).
# Pinning as in bench/run.sh: the proxy on CPU 1, load and backend on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
B=19111 P_NGINX=19443 P_PORTIER=19444
for tool in wrk nginx h2load openssl taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
cargo build --release --quiet
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=bench.local -addext subjectAltName=DNS:bench.local \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

cat > "$work/backend.conf" <<CONF
worker_processes 1; daemon off; pid $work/b.pid; error_log $work/b.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$B; location / { return 200 "hello world!\n"; } } }
CONF
taskset -c 0 nginx -c "$work/backend.conf" -p "$work" & pids+=($!)

cat > "$work/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $work/n.pid; error_log $work/n.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream web { server 127.0.0.1:$B; keepalive 256; }
  server {
    listen 127.0.0.1:$P_NGINX ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { proxy_pass http://web; proxy_http_version 1.1; proxy_set_header Connection ""; }
  } }
CONF
taskset -c 1 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)

cat > "$work/portier.toml" <<CONF
logLevel = "ERROR"
defaultEntryPoints = ["https"]
[entryPoints.https]
address = "127.0.0.1:$P_PORTIER"
  [entryPoints.https.tls]
    [[entryPoints.https.tls.certificates]]
    certFile = "$work/cert.pem"
    keyFile = "$work/key.pem"
[file]
[backends.web.servers.s1]
url = "http://127.0.0.1:$B"
[frontends.web]
backend = "web"
[frontends.web.routes.all]
rule = "PathPrefix:/"
CONF
taskset -c 1 target/release/portier -c "$work/portier.toml" & pids+=($!)
sleep 1

rps() { awk '/Requests\/sec/ {print $2}'; }
measure() { # name port
  local name=$1 port=$2 url="https://127.0.0.1:$2/"
  taskset -c 0 wrk -t1 -c"$CONNS" -d2s "$url" >/dev/null
  local keepalive handshakes h2
  keepalive=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"$DURATION" "$url" | rps)
  handshakes=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"$DURATION" -H "Connection: close" "$url" | rps)
  h2=$(taskset -c 0 h2load -c"$CONNS" -m10 -D"${DURATION%s}" "$url" 2>/dev/null | awk '/^finished in/ {print $4}')
  printf '| %s | %s | %s | %s |\n' "$name" "$handshakes" "$keepalive" "${h2:-?}"
}
echo "wrk -t1 -c$CONNS -d$DURATION (keep-alive, and with Connection: close for new TLS connections); h2load -c$CONNS -m10; ECDSA P-256 certificate; $(date -u +%F)"
echo
echo "| proxy | new TLS connections/s | HTTPS keep-alive requests/s | HTTP/2 requests/s (h2load) |"
echo "|---|---|---|---|"
measure "nginx $(nginx -v 2>&1 | grep -o '[0-9.]*$')" "$P_NGINX"
measure "portier $(target/release/portier --version | awk '{print $2}')" "$P_PORTIER"
