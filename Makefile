# jobcheck: see README.md. `make demo` shows it work; `make test` runs every test.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
GOBUILD  := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
BIN      := bin
PLATFORMS := linux/amd64 linux/arm64 linux/arm/v7

IMAGES   ?= dist/images

.PHONY: all build agent webhook test test-unit test-rules test-e2e lint bench fuzz demo demo-down images push dashboard manifests kube-bin clean deps

all: build

## build: the agent for every platform, the webhook for this one
build: agent webhook
	@for p in $(PLATFORMS); do \
	  os=$${p%%/*}; rest=$${p#*/}; arch=$${rest%%/*}; arm=$${rest#*/v}; \
	  [ "$$arch" = arm ] && suffix=armv$$arm || suffix=$$arch; \
	  echo "build $(BIN)/jobcheck-$$os-$$suffix"; \
	  GOOS=$$os GOARCH=$$arch GOARM=$$( [ "$$arch" = arm ] && echo $$arm ) \
	    $(GOBUILD) -o $(BIN)/jobcheck-$$os-$$suffix ./cmd/jobcheck || exit 1; \
	done

agent:
	$(GOBUILD) -o $(BIN)/jobcheck ./cmd/jobcheck

webhook:
	$(GOBUILD) -o $(BIN)/jobcheck-webhook ./cmd/jobcheck-webhook

deps:
	hack/deps.sh all

## test: every test: unit, real-Pushgateway and real-API-server tests, alert rules, then the real cluster
test: deps kube-bin lint test-unit test-rules test-e2e

## kube-bin: the Kubernetes binaries the API-server tests and the real cluster run (test/e2e/bin)
kube-bin:
	hack/e2e.sh build

# JOBCHECK_REQUIRE_APISERVER: the tests that run a real kube-apiserver fail,
# rather than skip, when it is missing (kube-bin builds it first).
test-unit:
	JOBCHECK_REQUIRE_APISERVER=1 $(GO) test -count=1 ./...
	$(GO) -C hack/chart test -count=1 ./...                 # the Helm chart, rendered with Helm's library
	$(GO) test -count=1 -tags bench -run Test ./test/bench   # the benchmark harness's own parsers and maths

test-rules:
	hack/test-rules.sh

test-e2e:
	hack/e2e.sh test $(E2E_ARGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) -C hack/chart vet ./...
	$(GO) vet -tags bench ./test/bench

## bench: every figure of BENCHMARKS.md
bench: deps
	hack/bench.sh

## fuzz: the fuzz targets, a short while each (go test runs only their seed corpus)
fuzz:
	$(GO) test ./webhook -run '^$$' -fuzz FuzzMutate -fuzztime 60s -fuzzminimizetime 2s
	$(GO) test ./inject -run '^$$' -fuzz FuzzPod -fuzztime 30s
	$(GO) test ./cmd/jobcheck-webhook -run '^$$' -fuzz FuzzInjectManifests -fuzztime 30s

## demo: a local single-node cluster, the webhook, one annotated CronJob run
demo: deps
	hack/e2e.sh demo

demo-down:
	hack/e2e.sh down

## images: both images as multi-platform OCI indexes in $(IMAGES), without a Docker engine
## (agent: linux/amd64, arm64, arm/v7; webhook: linux/amd64, arm64)
images:
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(GO) run ./hack/images build -version $(VERSION) -out $(IMAGES)

## push: REGISTRY/jobcheck-agent:VERSION and REGISTRY/jobcheck-webhook:VERSION, with their indexes
push: images
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=ghcr.io/you [VERSION=v0.2.0]"; exit 2; }
	$(GO) run ./hack/images push -layout $(IMAGES) -registry $(REGISTRY)

## dashboard: regenerate the Grafana dashboard, its ConfigMap and the list of its queries
dashboard:
	$(GO) run ./hack/dashboard

## manifests: regenerate manifests/ (install files, ServiceMonitor, examples) and the chart's rules from the chart
manifests:
	$(GO) -C hack/chart run . generate

clean:
	hack/e2e.sh down || true
	rm -rf $(BIN) test/e2e/bin dist
