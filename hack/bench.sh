#!/usr/bin/env bash
# bench.sh measures every figure of BENCHMARKS.md in one run and writes it (make bench).
# Each figure is taken side by side with its floor or peer, in repeated runs; the report
# quotes medians and ratios. See BENCHMARKS.md's Method section for what each one does.
#
#   hack/bench.sh                 the full run (about 12 minutes once the Go build cache is warm)
#   BENCH_QUICK=1 hack/bench.sh   small counts, to check the harness itself (about 5 minutes);
#                                 its report goes to .run/bench/BENCHMARKS.md, not BENCHMARKS.md
#
# Every binary is built from the working tree into a temporary directory: bin/ is left alone.
# Needs hack/deps.sh all (hyperfine, the Pushgateway, etcd, curl) and the Kubernetes
# binaries of the e2e harness (built here by hack/e2e.sh build when missing).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log() { echo "bench.sh: $*" >&2; }

if [ -n "${BENCH_QUICK:-}" ]; then
  rounds=1 requests=200 runs=20 count=1 pods=20 jobs=1200 cronjobs=100 direct=50 emit_for=1s groups=2000 images=10 settle=5 steady=150
  report="$root/.run/bench/BENCHMARKS.md"
else
  rounds=3 requests=2000 runs=100 count=5 pods=200 jobs=10000 cronjobs=1000 direct=300 emit_for=3s groups=10000 images=50 settle=20 steady=180
  report="$root/BENCHMARKS.md"
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

log "building (agent and webhook per platform, floors, images, Kubernetes binaries, harness)"
hack/deps.sh all
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
bin="$work/bin"
mkdir -p "$bin"
gobuild() { # gobuild GOARCH GOARM OUT PACKAGE [go build flags...]: as the Makefile and hack/images build
  local arch=$1 arm=$2 out=$3 pkg=$4
  shift 4
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" GOARM="$arm" go build -trimpath -ldflags "-s -w -X main.version=$version" "$@" -o "$out" "$pkg"
}
gobuild amd64 "" "$bin/jobcheck-linux-amd64" ./cmd/jobcheck
gobuild arm64 "" "$bin/jobcheck-linux-arm64" ./cmd/jobcheck
gobuild arm 7 "$bin/jobcheck-linux-armv7" ./cmd/jobcheck
gobuild amd64 "" "$bin/jobcheck-webhook-linux-amd64" ./cmd/jobcheck-webhook
gobuild arm64 "" "$bin/jobcheck-webhook-linux-arm64" ./cmd/jobcheck-webhook
host="$(go env GOARCH)"
agent="$bin/jobcheck-linux-$host" webhook="$bin/jobcheck-webhook-linux-$host"
[ -x "$agent" ] && [ -x "$webhook" ] || { log "no agent or webhook built for this machine's GOARCH $host"; exit 1; }
for f in empty tls forkexec; do
  gobuild "$host" "" "$work/floor-$f" ./test/bench/floors/$f -tags bench
done
# The same agent with its symbols, to attribute the binary's size to what it links.
CGO_ENABLED=0 go build -trimpath -o "$work/jobcheck-syms" ./cmd/jobcheck
SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)" \
  go run ./hack/images build -bin "$bin" -out "$work/images" -version "$version" >&2
hack/e2e.sh build
go build -tags bench -o "$work/bench" ./test/bench
bench="$work/bench"

step "webhook load (figures 6, 11a)" \
  "$bench" webhook -n "$requests" -rounds "$rounds" -out "$out/webhook.json"

gobench() { # the benchmarks, then a CPU profile of one real handler call (the report says where its time goes)
  {
    go test -run '^$' -bench . -benchmem -count "$count" ./inject ./webhook ./imageconfig &&
      go test -tags bench -run '^$' -bench BenchmarkAdmission -benchmem -count "$count" ./test/bench
  } | "$bench" gobench -out "$out/gobench.json" || return 1
  go test -tags bench -run '^$' -bench 'BenchmarkAdmission/real-1-container' -benchtime 3s \
    -cpuprofile "$work/cpu.out" -o "$work/bench.test" ./test/bench >/dev/null || return 1
  go tool pprof -top -cum "$work/bench.test" "$work/cpu.out" >"$work/profile.txt" 2>/dev/null
}
export -f gobench
export out work bench count
step "go test -bench (figure 10)" bash -c gobench

step "agent: probe, start-to-exit, memory, read-back (figures 1 to 4)" \
  "$bench" agent -bin "$agent" -empty "$work/floor-empty" -tls "$work/floor-tls" -forkexec "$work/floor-forkexec" \
  -runs "$runs" -rounds "$rounds" -emit-for "$emit_for" -groups "$groups" -out "$out/agent.json"

step "agent binaries and images (figure 5)" \
  "$bench" size -bin-dir "$bin" -empty "$work/floor-empty" -syms "$work/jobcheck-syms" -layout "$work/images" -out "$out/size.json"

e2e_bench() {
  (cd test/e2e && BENCH_OUT="$out" BENCH_RUN_DIR="$run_dir" BENCH_WEBHOOK_BIN="$webhook" \
    BENCH_PODS="$pods" BENCH_ROUNDS="$rounds" BENCH_JOBS="$jobs" BENCH_CRONJOBS="$cronjobs" BENCH_DIRECT="$direct" \
    BENCH_IMAGES="$images" BENCH_SETTLE_SECONDS="$settle" BENCH_STEADY_SECONDS="$steady" \
    go test -tags bench -count=1 -run 'TestBench' -v -timeout 30m . >&2)
}
export -f e2e_bench
export root run_dir webhook rounds pods jobs cronjobs direct images settle steady
step "API server: pod creation, image lookup, webhook memory (figures 7, 8, 9, 11b)" bash -c e2e_bench

dirty=false
[ -n "$(git status --porcelain 2>/dev/null)" ] && dirty=true
profile=()
[ -s "$work/profile.txt" ] && profile=(-profile "$work/profile.txt")
"$bench" report -out "$report" \
  -commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" -dirty="$dirty" \
  -go "$(go version)" -etcd "$(etcd --version 2>/dev/null | head -1)" \
  -date "$start_date" -load "$start_load" -took "$((SECONDS / 60))m$((SECONDS % 60))s" \
  "${profile[@]}" "$out"/*.json
log "wrote $report in $((SECONDS / 60))m$((SECONDS % 60))s"
if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
