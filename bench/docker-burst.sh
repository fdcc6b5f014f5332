#!/usr/bin/env bash
# A burst of COUNT labelled containers started at once on the real Docker engine, then removed at
# once (issue 19 bar 3): how many table rebuilds portier made of each burst, how long the engine
# took to start them all, and how long after the engine's last event every route was live (or
# gone), reported apart. Also portier's RSS before, at the top of the burst and after.
#
#   bench/docker-burst.sh          # 100 containers
#   COUNT=50 bench/docker-burst.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-100}
TAG="portier-burst-$$"
PORT=19331 WEB=19332
IMAGE=portier-test-whoami:latest

cargo build --release --quiet
. bench/whoami-image.sh
docker network create "$TAG" >/dev/null
cat > "$ctx/portier.toml" <<CONF
logLevel = "ERROR"
[entryPoints.http]
address = "127.0.0.1:$PORT"
[web]
address = "127.0.0.1:$WEB"
[docker]
constraints = ["tag==$TAG"]
network = "$TAG"
CONF
target/release/portier -c "$ctx/portier.toml" & pid=$!
cleanup() {
  kill $pid 2>/dev/null || true
  docker ps -aq --filter "label=traefik.tags=$TAG" | xargs -r docker rm -f >/dev/null
  docker network rm "$TAG" >/dev/null 2>&1 || true
  rm -rf "$ctx"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$WEB/ping" && break; sleep 0.1; done

reloads() { curl -fs "http://127.0.0.1:$WEB/metrics" | awk '/^portier_config_reloads_total/ {print $2}'; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }

# Polls every host through portier until each answers WANT (200 live, 404 gone); prints the
# wall-clock time (s) when the last one did.
watch_hosts() {
  python3 - "$PORT" "$1" "$COUNT" "$TAG" <<'PY'
import http.client, sys, time
port, want, count, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
left = {f"c{i}.{tag}.burst" for i in range(count)}
deadline = time.time() + 120
last = None
while left and time.time() < deadline:
    for host in sorted(left):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/", headers={"Host": host})
            status = c.getresponse().status
            c.close()
        except OSError:
            status = 0
        if status == want:
            left.discard(host)
            last = time.time()
    time.sleep(0.001)
print(f"{last if not left else -1:.6f}")
PY
}

before_reloads=$(reloads); before_rss=$(rss)
t0=$(date +%s.%N)
seq 0 $((COUNT - 1)) | xargs -P 16 -I{} docker run -d --rm --network "$TAG" \
  -l "traefik.tags=$TAG" -l "traefik.frontend.rule=Host:c{}.$TAG.burst" -l traefik.port=80 \
  "$IMAGE" >/dev/null &
runs=$!
live_at=$(watch_hosts 200)
wait $runs
last_start=$(docker events --since "$t0" --until "$(date +%s.%N)" --filter "label=traefik.tags=$TAG" \
  --filter event=start --format '{{.TimeNano}}' | sort -n | tail -1)
up_reloads=$(reloads); up_rss=$(rss)

t1=$(date +%s.%N)
docker ps -q --filter "label=traefik.tags=$TAG" | xargs -r -P 16 -n 10 docker rm -f >/dev/null &
rms=$!
gone_at=$(watch_hosts 404)
wait $rms
last_die=$(docker events --since "$t1" --until "$(date +%s.%N)" --filter "label=traefik.tags=$TAG" \
  --filter event=die --format '{{.TimeNano}}' | sort -n | tail -1)
down_reloads=$(reloads)
sleep 10
after_rss=$(rss)

awk -v t0="$t0" -v t1="$t1" -v ls="$last_start" -v ld="$last_die" -v live="$live_at" -v gone="$gone_at" \
    -v r0="$before_reloads" -v r1="$up_reloads" -v r2="$down_reloads" -v n="$COUNT" \
    -v m0="$before_rss" -v m1="$up_rss" -v m2="$after_rss" 'BEGIN {
  ls /= 1e9; ld /= 1e9
  printf "| burst of %d | engine: first docker run to last event | portier: last event to the last route | table rebuilds |\n", n
  printf "|---|---|---|---|\n"
  printf "| start | %.0f ms | %.1f ms | %d |\n", (ls - t0) * 1000, (live - ls) * 1000, r1 - r0
  printf "| remove | %.0f ms | %.1f ms | %d |\n", (ld - t1) * 1000, (gone - ld) * 1000, r2 - r1
  printf "\nportier RSS: %.1f MiB before, %.1f MiB with %d containers routed, %.1f MiB 10 s after they are gone\n", m0 / 1024, m1 / 1024, n, m2 / 1024
}'
