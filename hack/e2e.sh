#!/usr/bin/env bash
# e2e.sh runs jobcheck on a real local single-node Kubernetes (see docs/e2e.md).
#
#   hack/e2e.sh test            the end-to-end scenarios (make test-e2e; part of make test)
#   hack/e2e.sh test -run NAME  only the scenarios matching NAME (go test -run)
#   hack/e2e.sh demo            bring up a local cluster (kept running), run a job that succeeds and one that
#                               fails, show the alerts Prometheus fires (and Alertmanager receives) (make demo)
#   hack/e2e.sh down            stop the demo cluster and remove its state (make demo-down)
#   hack/e2e.sh build           only build the Kubernetes binaries (and helm) into test/e2e/bin
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
e2e="$root/test/e2e"
bin="$e2e/bin"
demo_dir="$root/.run/demo"
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

log() { echo "e2e.sh: $*" >&2; }

# build_k8s builds the Kubernetes binaries pinned by test/e2e/go.mod (k8s.io/kubernetes)
# when one is missing or older than go.mod/go.sum. The first build takes several minutes
# on 2 cores; later ones come from Go's build cache.
build_k8s() {
  local stale=0
  for c in "${k8s_cmds[@]}"; do
    if [ ! -x "$bin/$c" ] || [ "$e2e/go.mod" -nt "$bin/$c" ] || [ "$e2e/go.sum" -nt "$bin/$c" ]; then stale=1; fi
  done
  [ "$stale" = 0 ] && return 0
  local v
  v="$(awk '/^require k8s.io\/kubernetes /{print $3; exit} /^\tk8s.io\/kubernetes /{print $2; exit}' "$e2e/go.mod")"
  log "building ${k8s_cmds[*]} (k8s.io/kubernetes $v) into test/e2e/bin"
  local start=$SECONDS
  mkdir -p "$bin"
  # The version the binaries report (kubectl version, the node's kubelet version), as
  # Kubernetes' own build sets it.
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  (cd "$e2e" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/" \
    $(printf 'k8s.io/kubernetes/cmd/%s ' "${k8s_cmds[@]}"))
  touch "${k8s_cmds[@]/#/$bin/}"
  log "built in $((SECONDS - start))s"
}

# build_helm builds the helm CLI at the version hack/chart pins (the chart's own tests
# render with that Helm) into test/e2e/bin/helm, for the scenario that installs the
# chart with `helm install`: about 2 minutes the first time, nothing while it is current.
build_helm() {
  local v
  v="$(awk '$1=="helm.sh/helm/v4"{print $2; exit}' "$root/hack/chart/go.mod")"
  if [ -x "$bin/helm" ] && [ "$bin/helm" -nt "$root/hack/chart/go.mod" ]; then return 0; fi
  log "building helm $v into test/e2e/bin"
  mkdir -p "$bin"
  (cd "$e2e" && GOBIN="$bin" CGO_ENABLED=0 GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$v" "helm.sh/helm/v4/cmd/helm@$v")
  touch "$bin/helm"
}

# prepare builds what the cluster runs: the Kubernetes binaries, the webhook that runs as
# a host process (bin/jobcheck-webhook) and the images of `make images` (dist/images),
# which the cluster pulls.
prepare() {
  "$root/hack/deps.sh" all
  build_k8s
  make -C "$root" --no-print-directory agent webhook images
}

localcluster() {
  (cd "$e2e" && go build -o "$bin/localcluster" ./cmd/localcluster)
  "$bin/localcluster" "$@"
}

cmd="${1:-test}"
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    build_k8s
    build_helm
    ;;
  test)
    prepare
    build_helm
    # The run directory is named here so that a test binary that dies hard (killed,
    # crashed) still has its cluster stopped and the directory removed.
    run_dir="$(mktemp -d /tmp/jc-e2e-XXXXXX)"
    cleanup() {
      if [ -e "$run_dir/state.json" ]; then
        log "cleaning up after the test run in $run_dir"
        localcluster down --dir "$run_dir" >&2 || true
      fi
      rm -rf "$run_dir"
    }
    trap cleanup EXIT
    start=$SECONDS
    (cd "$e2e" && E2E_RUN_DIR="$run_dir" go test -tags e2e -count=1 -timeout 60m -v "$@" ./...)
    log "end-to-end run took $((SECONDS - start))s"
    ;;
  demo)
    prepare
    mkdir -p "$root/.run"
    localcluster demo --dir "$demo_dir" --root "$root"
    ;;
  down)
    localcluster down --dir "$demo_dir"
    rmdir "$root/.run" 2>/dev/null || true
    ;;
  *)
    echo "usage: hack/e2e.sh test [go test flags]|demo|down|build" >&2
    exit 2
    ;;
esac
