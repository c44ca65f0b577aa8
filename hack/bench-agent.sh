#!/usr/bin/env bash
# bench-agent.sh prints the agent's figures from its Go benchmarks (go test -bench ./agent),
# quicker than make bench and without hyperfine: binary size, the wrapper's added
# start-to-exit time (BenchmarkRunTrue minus BenchmarkTrueBare), the probe's run time, the
# wrapper's memory, and its peak against a Pushgateway of 10,000 groups. Needs the
# Pushgateway (hack/deps.sh agent). BENCHTIME sets the runs of the timed benchmarks (100x).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh agent
{
  go test -count=1 -run '^$' -bench '^(BenchmarkTrueBare|BenchmarkRunTrue|BenchmarkRunTruePushgateway|BenchmarkProbe|BenchmarkBinarySize)$' \
    -benchtime "${BENCHTIME:-100x}" ./agent
  # Each run of these is seconds long (a child that runs a while; 10,000 groups pushed).
  go test -count=1 -run '^$' -bench '^(BenchmarkRunMemory|BenchmarkReadBackMemory)$' -benchtime 1x ./agent
} | tee /dev/stderr |
  awk 'function unit(u,  i) { for (i = 2; i < NF; i++) if ($(i+1) == u) return $i; return "" }
       /^BenchmarkTrueBare/ {bare=$3; bmin=unit("min-ms")}
       /^BenchmarkRunTrue-/ {run=$3; rmin=unit("min-ms")}
       /^BenchmarkReadBackMemory/ {added=unit("false-added-KiB")}
       END {
         if (bare && run) printf "wrapper added start-to-exit time: mean %.2f ms, fastest %.2f ms\n", (run-bare)/1e6, rmin-bmin
         if (added != "") printf "read-back against 10,000 groups: peak %+d KiB over an empty Pushgateway\n", added
       }'
