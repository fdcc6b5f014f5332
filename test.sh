#!/usr/bin/env bash
# portier's test command. On a Debian machine with a Docker engine it installs whatever the
# tests need and is missing (apt, pip), then runs every test: `cargo test` over the whole
# workspace (unit tests of each crate, integration tests over real sockets, the real Docker
# engine, headless Chromium and pebble). The harness builds its own test images; nothing is
# pulled. Extra arguments go to `cargo test` (e.g. `./test.sh --test docker`).
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '== %s\n' "$*"; }
fail() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "installing packages needs root or sudo"
  sudo=(sudo)
fi

command -v cargo >/dev/null || fail "cargo not found: install a Rust toolchain (1.85 or newer), e.g. with rustup"
command -v docker >/dev/null || fail "the docker CLI is missing: the tests need a Docker engine (apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
  || fail "the Docker engine does not answer at /var/run/docker.sock (is dockerd running, and may this user use it?)"

say "what the tests need"
apt_packages=()
# docker compose v2 plugin, or docker-compose v1 from Debian.
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  apt_packages+=(docker-compose)
fi
command -v chromium >/dev/null || apt_packages+=(chromium)          # the dashboard test
command -v chromedriver >/dev/null || apt_packages+=(chromium-driver)
command -v openssl >/dev/null || apt_packages+=(openssl)            # TLS 1.1 is refused
command -v pebble >/dev/null || apt_packages+=(pebble)              # the ACME test CA
if [ ${#apt_packages[@]} -gt 0 ]; then
  say "installing ${apt_packages[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${apt_packages[@]}"
fi
# /metrics is parsed with Prometheus' own Python client: pip, or Debian's package where the
# system Python refuses pip (PEP 668).
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  say "installing prometheus-client"
  python3 -m pip install -q prometheus-client 2>/dev/null \
    || DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq python3-prometheus-client
  python3 -c 'import prometheus_client' || fail "cannot import prometheus_client with $(command -v python3)"
fi
docker version --format 'Docker engine {{.Server.Version}} (API {{.Server.APIVersion}})'

say "tests (cargo test)"
exec cargo test "$@"
