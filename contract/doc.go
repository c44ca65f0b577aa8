// Package contract is what jobcheck's parts agree on: the in-pod agent, the
// pod mutation (inject), the webhook's run watcher, the alert rules and the
// dashboard. The names users type or alert on, the paths inside a pod, the
// defaults, the timing formulas and how a workload is named are defined here
// once and imported by every part, so they cannot drift apart.
//
// It imports only the standard library: the agent links it at no cost.
// docs/model.md explains the reporting model these names belong to.
package contract
