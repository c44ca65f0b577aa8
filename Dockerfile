# syntax=docker/dockerfile:1
# jobcheck's two images, each a single static binary on an empty (scratch)
# base: no shell, no package manager, a numeric non-root user.
#
#   docker buildx build --platform linux/amd64,linux/arm64 --target agent   --build-arg VERSION=v0.1.0 -t jobcheck/agent:v0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 --target webhook --build-arg VERSION=v0.1.0 -t jobcheck/webhook:v0.1.0 .
#
# agent:   /jobcheck, copied by the webhook's init container into every job pod.
# webhook: /jobcheck-webhook. It needs no CA bundle: in a cluster it calls only
#          the API server, whose CA client-go reads from the ServiceAccount
#          mount, and it makes no other outgoing TLS connection.

ARG GO_VERSION=1.26

# Compiles on the build machine's own platform and cross-compiles for the
# target's (buildx sets TARGETOS, TARGETARCH, TARGETVARIANT): no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ENV CGO_ENABLED=0

FROM build AS build-agent
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/jobcheck ./cmd/jobcheck

FROM build AS build-webhook
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH GOARM=${TARGETVARIANT#v} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/jobcheck-webhook ./cmd/jobcheck-webhook

FROM scratch AS agent
COPY --from=build-agent /out/jobcheck /jobcheck
USER 65532:65532
ENTRYPOINT ["/jobcheck"]

FROM scratch AS webhook
COPY --from=build-webhook /out/jobcheck-webhook /jobcheck-webhook
USER 65532:65532
ENTRYPOINT ["/jobcheck-webhook"]
CMD ["serve"]
