#!/usr/bin/env bash
# bench-agent.sh prints the agent's figures: binary size, the wrapper's added
# start-to-exit time (BenchmarkRunTrue minus BenchmarkTrueBare), its memory,
# and the probe's run time. Needs the Pushgateway (hack/deps.sh agent).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh agent
go test -count=1 -run '^$' -bench . -benchtime "${BENCHTIME:-100x}" ./agent | tee /dev/stderr |
  awk 'function unit(u,  i) { for (i = 2; i < NF; i++) if ($(i+1) == u) return $i; return 0 }
       /^BenchmarkTrueBare/ {bare=$3; bmin=unit("min-ms"); bcpu=unit("cpu-ms")}
       /^BenchmarkRunTrue-/ {run=$3; rmin=unit("min-ms"); rcpu=unit("cpu-ms")}
       END { if (bare && run) printf "wrapper added start-to-exit time: mean %.2f ms, fastest %.2f ms; added CPU %.2f ms\n", (run-bare)/1e6, rmin-bmin, rcpu-bcpu }'
