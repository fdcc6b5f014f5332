#!/usr/bin/env bash
# Route pick-up latency with the real Docker engine, and table rebuild time for 1,000 containers.
#   bench/docker-latency.sh [count]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-20}
TAG="portier-lat-$$"
PORT=19301
IMAGE=portier-test-whoami:latest

cargo build --release --quiet --examples
cargo build --release --quiet
. bench/whoami-image.sh
docker network create "$TAG" >/dev/null
cat > "$ctx/portier.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:$PORT"
[docker]
constraints = ["tag==$TAG"]
CONF
target/release/portier -c "$ctx/portier.toml" & pid=$!
cleanup() { kill $pid 2>/dev/null || true; docker ps -aq --filter "label=traefik.tags=$TAG" | xargs -r docker rm -f >/dev/null; docker network rm "$TAG" >/dev/null 2>&1 || true; rm -rf "$ctx"; }
trap cleanup EXIT
sleep 0.5
target/release/examples/docker_latency "$PORT" "$IMAGE" "$TAG" "$COUNT"
target/release/examples/docker_rebuild 1000 50
