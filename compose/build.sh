#!/usr/bin/env bash
# Builds static portier and whoami binaries into compose/build/ for the compose images.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS='-C target-feature=+crt-static'
cargo build --release -p portier -p whoami --target x86_64-unknown-linux-gnu --target-dir target/static
mkdir -p compose/build
cp target/static/x86_64-unknown-linux-gnu/release/portier target/static/x86_64-unknown-linux-gnu/release/whoami compose/build/
echo "compose/build/: $(ls compose/build | tr '\n' ' ')"
