// Package manifests holds jobcheck's deployment manifests (kustomize: base,
// overlays, examples) and its Prometheus alert rules. It has no code: its
// tests build every kustomization and check what users rely on, namely a
// fail-open webhook scoped to opted-in namespaces and Job pods, a hardened
// two-replica Deployment, least-privilege RBAC, and alert rules that are the
// same in both shipped forms, each tested and documented.
package manifests
