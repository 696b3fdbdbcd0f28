#!/usr/bin/env bash
# Configuration load benchmark: prints load time and peak memory (VmHWM) of
# `rackscope check` on the example topologies and on generated ones, release build.
# Targets (issue #2): hpc-cluster under 50 ms, 100,000 instances under 1 s.
# Usage: bench/load.sh [runs]   (default 5 runs per topology; the best and median are shown)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/rackscope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

targets=()
[ -f ../shared/fixtures/upstream-examples/hpc-cluster/app.yaml ] && targets+=("hpc-cluster=../shared/fixtures/upstream-examples/hpc-cluster/app.yaml")
targets+=("demo-multisite=config/demo-multisite/app.yaml")
for n in 14000 100000; do
  "$bin" generate --out "$work/gen$n" --instances "$n" >/dev/null
  targets+=("generated-$n=$work/gen$n/app.yaml")
done

printf '%-20s %10s %10s %12s\n' topology best_ms median_ms peak_MiB
for t in "${targets[@]}"; do
  name=${t%%=*}; app=${t#*=}
  times=(); mem=""
  for _ in $(seq "$runs"); do
    line=$("$bin" check "$app" --quiet --timings 2>&1 >/dev/null | grep '^timings:')
    times+=("$(sed -E 's/.*loaded in ([0-9.]+) ms.*/\1/' <<<"$line")")
    mem=$(sed -E 's/.*peak memory ([0-9.]+) MiB.*/\1/' <<<"$line")
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  best=$(head -1 <<<"$sorted"); median=$(sed -n "$(( (runs + 1) / 2 ))p" <<<"$sorted")
  printf '%-20s %10s %10s %12s\n' "$name" "$best" "$median" "$mem"
done
