#!/usr/bin/env bash
# portier's release build beside nginx, HAProxy, Caddy and Sozu (each one that is installed) in
# one run on loopback, through the peer harness in bench/compare/ (its README explains the modes,
# pinning, knobs and columns). Prints, per mode, requests/s, CPU µs per request of the proxy's
# process tree, p50/p99/p99.9 and RSS, each the median of the rounds.
#
#   bench/compare/install.sh          # once: nginx, haproxy, caddy, wrk (apt), oha and sozu (cargo)
#   bench/run.sh                      # modes keepalive, close, big (1 MiB), rate (10 k req/s); 3 rounds
#   MODES=keepalive ROUNDS=1 bench/run.sh
#
# The proxy under test runs on CPU 1, wrk and the nginx origin on CPU 0 (PROXY_CPU, GEN_CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
export PORTIER_BIN="$PWD/target/release/portier"
export BENCH_RUN=${BENCH_RUN:-$(mktemp -d)}
chmod 755 "$BENCH_RUN"   # the nginx origin (an unprivileged worker) serves files from it
targets=direct
for peer in nginx haproxy caddy sozu; do
  if command -v "$peer" >/dev/null; then targets="$targets $peer"; else echo "not installed, skipped: $peer" >&2; fi
done
export TARGETS=${TARGETS:-$targets}
EXTRA_NAME=portier EXTRA_PORT=8090 EXTRA_CMD='exec peers/portier.sh' exec bench/compare/run.sh "$@"
