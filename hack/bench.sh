#!/usr/bin/env bash
# bench.sh measures every figure of BENCHMARKS.md in one run and writes it (make bench).
# Each figure is taken side by side with its floor or peer, in repeated runs; the report
# quotes medians and ratios. See BENCHMARKS.md's Method section for what each one does.
#
#   hack/bench.sh            the full run (about 10 minutes once the binaries are built)
#   BENCH_QUICK=1 hack/bench.sh   small counts, to check the harness itself (a minute or two)
#
# Needs hack/deps.sh all (hyperfine, the Pushgateway, etcd, curl) and the Kubernetes
# binaries of the e2e harness (built here by hack/e2e.sh build when missing).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { echo "bench.sh: $*" >&2; }

if [ -n "${BENCH_QUICK:-}" ]; then
  rounds=1 requests=200 runs=20 count=1 pods=20 jobs=1200 cronjobs=100 direct=50 emit_for=1s
else
  rounds=3 requests=2000 runs=100 count=5 pods=200 jobs=10000 cronjobs=1000 direct=300 emit_for=3s
fi

start_date="$(date -u '+%Y-%m-%d %H:%M UTC')"
start_load="$(cut -d' ' -f1-3 /proc/loadavg)"
work="$(mktemp -d /tmp/jobcheck-bench-XXXXXX)"
# The raw results stay in .run/bench (ignored by git): the report can be rendered again
# from them with `go run -tags bench ./test/bench report .run/bench/*.json`.
out="$root/.run/bench"
rm -rf "$out"
mkdir -p "$out"
# The API-server figures keep etcd on tmpfs when there is one: disk flushes are noise.
run_base=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && run_base=/dev/shm
run_dir="$(mktemp -d "$run_base/jc-bench-XXXXXX")"
# alive PID START: the process recorded with that start time still runs (a reused pid does not count).
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20)" = "$2" ] &&
  [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
cleanup() {
  # The API-server benchmark stops its etcd, kube-apiserver and webhook itself; this
  # catches a test binary that was interrupted or died hard. Only the processes recorded
  # in the run's state.json are signalled, and only while their start time still matches.
  if [ -f "$run_dir/state.json" ] && command -v jq >/dev/null; then
    local procs
    procs="$(jq -r '.procs[]? | "\(.pid) \(.start)"' "$run_dir/state.json")"
    for sig in TERM KILL; do
      local left=0
      while read -r pid st; do
        [ -n "$pid" ] && alive "$pid" "$st" && { log "stopping leftover pid $pid (SIG$sig)"; kill -s "$sig" "$pid" 2>/dev/null; left=1; }
      done <<<"$procs"
      [ "$left" = 0 ] && break
      for _ in $(seq 1 40); do # up to 20s for a graceful exit
        local running=0
        while read -r pid st; do [ -n "$pid" ] && alive "$pid" "$st" && running=1; done <<<"$procs"
        [ "$running" = 0 ] && break
        sleep 0.5
      done
    done
  fi
  rm -rf "$run_dir" "$work"
}
trap cleanup EXIT

failed=()
step_pid=""
step() { # step NAME COMMAND...: run one figure in a process group of its own; a failure is reported, the run goes on.
  local name=$1 t=$SECONDS
  shift
  log "$name"
  setsid "$@" &
  step_pid=$!
  if wait "$step_pid"; then
    log "$name: done in $((SECONDS - t))s"
  else
    log "$name: FAILED (its figures are reported as not measured)"
    failed+=("$name")
  fi
  step_pid=""
}
# Interrupted: stop the running step's whole process group (the API-server benchmark then
# stops its etcd, kube-apiserver and webhook), then clean up.
interrupted() {
  log "interrupted"
  [ -n "$step_pid" ] && kill -TERM -- "-$step_pid" 2>/dev/null && wait "$step_pid" 2>/dev/null
  exit 130
}
trap interrupted INT TERM

log "building (agent, webhook, Kubernetes binaries, harness)"
hack/deps.sh all
make --no-print-directory agent webhook >&2
hack/e2e.sh build
go build -tags bench -o "$work/bench" ./test/bench
mkdir -p "$work/hello"
printf 'package main\n\nfunc main() {}\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.26\n' >"$work/hello/go.mod"
(cd "$work/hello" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags '-s -w' -o "$work/hello-bin" .)
# The same agent with its symbols, to attribute the binary's size to what it links.
CGO_ENABLED=0 go build -trimpath -o "$work/jobcheck-syms" ./cmd/jobcheck
bench="$work/bench"

step "webhook load (figures 1, 9a)" \
  "$bench" webhook -n "$requests" -rounds "$rounds" -out "$out/webhook.json"

gobench() { # the benchmarks, then a CPU profile of one real handler call (the report says where its time goes)
  {
    go test -run '^$' -bench . -benchmem -count "$count" ./inject ./webhook &&
      go test -tags bench -run '^$' -bench BenchmarkAdmission -benchmem -count "$count" ./test/bench
  } | "$bench" gobench -out "$out/gobench.json" || return 1
  go test -tags bench -run '^$' -bench 'BenchmarkAdmission/real-1-container' -benchtime 3s \
    -cpuprofile "$work/cpu.out" -o "$work/bench.test" ./test/bench >/dev/null || return 1
  go tool pprof -top -cum "$work/bench.test" "$work/cpu.out" >"$work/profile.txt" 2>/dev/null
}
export -f gobench
export out work bench count
step "go test -bench (figure 4)" bash -c gobench

step "agent start-to-exit, probe, memory (figures 5, 6, 7, 9c)" \
  "$bench" agent -bin bin/jobcheck -hello "$work/hello-bin" -wrapper test/bench/push-wrapper.sh \
  -runs "$runs" -rounds "$rounds" -emit-for "$emit_for" -out "$out/agent.json"

step "agent binary size (figure 8)" \
  "$bench" size -bin bin/jobcheck -hello "$work/hello-bin" -syms "$work/jobcheck-syms" -out "$out/size.json"

e2e_bench() {
  (cd test/e2e && BENCH_OUT="$out" BENCH_RUN_DIR="$run_dir" BENCH_AGENT_BIN="$root/bin/jobcheck" \
    BENCH_PODS="$pods" BENCH_ROUNDS="$rounds" BENCH_JOBS="$jobs" BENCH_CRONJOBS="$cronjobs" BENCH_DIRECT="$direct" \
    go test -tags bench -count=1 -run 'TestBench' -v -timeout 30m . >&2)
}
export -f e2e_bench
export root run_dir rounds pods jobs cronjobs direct
step "API server, webhook memory, agent image (figures 2, 3, 8, 9b)" bash -c e2e_bench

dirty=false
[ -n "$(git status --porcelain 2>/dev/null)" ] && dirty=true
profile=()
[ -s "$work/profile.txt" ] && profile=(-profile "$work/profile.txt")
"$bench" report -out BENCHMARKS.md \
  -commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" -dirty="$dirty" \
  -go "$(go version)" -date "$start_date" -load "$start_load" -took "$((SECONDS / 60))m$((SECONDS % 60))s" \
  "${profile[@]}" "$out"/*.json
log "wrote BENCHMARKS.md in $((SECONDS / 60))m$((SECONDS % 60))s"
if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
