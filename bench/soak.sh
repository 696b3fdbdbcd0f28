#!/usr/bin/env bash
# Soak benchmark (not a test): runs `rackscope demo` (simulator, real Prometheus, server) on
# a configuration, then drives it for MINUTES minutes with mixed reads at a fixed rate and
# 200 live-update (SSE) clients, and stops Prometheus (SIGSTOP: a hung server, not a closed
# port) for the middle fifth of the run. Prints, every minute, requests, errors by kind,
# latency percentiles, open streams and the server's RSS; at the end, RSS against where it
# was after the warm-up minute (issue #15: within 10 %).
# Usage: bench/soak.sh [config dir] [minutes] [reads per second] [sse clients]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-config/demo-multisite}
minutes=${2:-10}
rate=${3:-200}
sse=${4:-200}

cargo build --release --quiet
state=$(mktemp -d)
port=18100
"${CARGO_TARGET_DIR:-target}"/release/rackscope demo --config "$config" --state-dir "$state" --port $port \
  --prometheus-port 19290 --simulator-port 19100 >"$state/demo.log" 2>&1 &
demo=$!
trap 'kill -CONT $(pgrep -P $demo prometheus) 2>/dev/null || true; kill -INT $demo 2>/dev/null; wait $demo 2>/dev/null; rm -rf "$state"' EXIT
base=http://127.0.0.1:$port
for _ in $(seq 240); do
  curl -fs "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "$base/readyz" >/dev/null || { cat "$state/demo.log"; exit 1; }
prom=$(pgrep -P $demo prometheus || true)
[ -n "$prom" ] || { echo "no Prometheus child of the demo" >&2; exit 1; }
python3 bench/soak.py --base "$base" --pid $demo --prometheus-pid "$prom" \
  --minutes "$minutes" --rate "$rate" --sse "$sse"
