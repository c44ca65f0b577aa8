#!/usr/bin/env bash
# bench-agent.sh prints the agent's figures: binary size, the wrapper's added
# start-to-exit time (BenchmarkRunTrue minus BenchmarkTrueBare), its memory,
# and the probe's run time. Needs the Pushgateway (hack/deps.sh agent).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh agent
go test -count=1 -run '^$' -bench . -benchtime "${BENCHTIME:-100x}" ./agent | tee /dev/stderr |
  awk '/^BenchmarkTrueBare/ {bare=$3} /^BenchmarkRunTrue-/ {run=$3}
       END { if (bare && run) printf "wrapper added start-to-exit time: %.2f ms\n", (run-bare)/1e6 }'
