#!/usr/bin/env bash
# HTTP API load benchmark: prints requests per second and latency percentiles per endpoint.
# Runs `rackscope demo` (simulator, real Prometheus, server) on a configuration, waits for the
# first snapshot, then drives the hot endpoints with wrk (Debian package `wrk`, installed
# when missing and possible) on loopback, each for a bounded time.
# Targets (issue #5), on hpc-cluster and this 2-core machine: /api/stats/global,
# /api/rooms/{id}/state and /api/racks/{id}/state above 20,000 req/s with p99 under 5 ms;
# /api/alerts/active above 5,000 req/s.
# Usage: bench/api.sh [config dir] [seconds per endpoint] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-../shared/fixtures/upstream-examples/hpc-cluster}
[ -f "$config/app.yaml" ] || config=config/demo-multisite
secs=${2:-10}
conns=${3:-32}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null
  elif sudo -n true 2>/dev/null; then sudo apt-get install -y wrk >/dev/null
  else echo "wrk is needed: sudo apt-get install wrk" >&2; exit 2; fi
fi
cargo build --release --quiet
state=$(mktemp -d)
port=18000
"${CARGO_TARGET_DIR:-target}"/release/rackscope demo --config "$config" --state-dir "$state" --port $port \
  --prometheus-port 19190 --simulator-port 19000 >"$state/demo.log" 2>&1 &
demo=$!
trap 'kill -INT $demo 2>/dev/null; wait $demo 2>/dev/null; rm -rf "$state"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 120); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "$base/readyz" >/dev/null || { cat "$state/demo.log"; exit 1; }
# Wait for a refresh over scraped data, so that the states (and the payloads) are real.
for _ in $(seq 240); do
  curl -fs "$base/api/stats/global" | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["unknown_count"] < s["total_racks"] else 1)' && break
  sleep 0.5
done

read -r room rack < <(curl -fs "$base/api/rooms" | python3 -c '
import json, sys
rooms = json.load(sys.stdin)
racks = [r for room in rooms for a in room["aisles"] for r in a["racks"]]
print(rooms[0]["id"], racks[len(racks) // 2]["id"])')
echo "configuration: $config ($(curl -fs "$base/api/stats/global"))"
echo "wrk: 2 threads, $conns connections, ${secs}s per endpoint; $(nproc) cores shared with the server, Prometheus and the simulator"
printf '%-42s %10s %9s %9s %9s %9s %10s\n' endpoint req/s p50_ms p90_ms p99_ms errors KiB/resp
for path in /api/stats/global "/api/rooms/$room/state" "/api/racks/$rack/state" /api/alerts/active /api/rooms/states "/api/racks/$rack" /healthz; do
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$base$path")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  ms() { awk -v p="$1" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.2f", v}' <<<"$out"; }
  errs=$(awk '/Non-2xx|Socket errors/ {e=e $0 "; "} END {print (e == "" ? 0 : e)}' <<<"$out")
  size=$(curl -fs "$base$path" | wc -c)
  printf '%-42s %10s %9s %9s %9s %9s %10.1f\n' "$path" "$rps" "$(ms 50%)" "$(ms 90%)" "$(ms 99%)" "$errs" "$(echo "$size/1024" | bc -l)"
done
