// Package pushgateway talks to a Prometheus Pushgateway with the standard
// library only: it pushes gauges in the text exposition format with POST
// semantics (the metrics of a push replace the same-named metrics of the
// group, every other metric of the group stays), deletes groups, and reads
// samples back from /metrics one line at a time.
//
// The in-pod agent and the webhook's run watcher both push with it. It is
// written by hand, not taken from client_golang's push package, and speaks
// HTTP/1.1 through package http1 rather than net/http, because the agent is
// copied into every job pod: client_golang, protobuf and net/http would add
// megabytes and milliseconds of package initialisation to every job's start
// and every liveness probe. The tests use the Prometheus text parser,
// net/http test servers and a real Pushgateway as the oracles.
package pushgateway
