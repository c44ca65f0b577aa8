// Package manifests holds jobcheck's static manifests and its Prometheus
// alert rules. It has no code. install.yaml and install-cert-manager.yaml are
// rendered from the Helm chart (charts/jobcheck) by `go -C hack/chart run .
// generate`, whose tests fail when they differ from the chart; the tests here
// read them as `kubectl apply -f` would and check what users rely on: a
// fail-open webhook scoped to opted-in namespaces and Job pods, a hardened
// two-replica Deployment wired to its certificate, least-privilege RBAC, the
// examples, and alert rules that are the same in both shipped forms, each
// tested and documented.
package manifests
