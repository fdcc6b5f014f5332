#!/usr/bin/env bash
# Memory of one rate limiter (client.ip, 10 per second, burst 20) fed a million distinct client
# IPs as fast as one core can, then left idle: keys remembered and resident memory every
# 100,000 clients, and after the idle sweep.
#
#   bench/ratelimit-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release -p portier-middleware --example ratelimit_memory
