// Package runs is the run watcher of docs/model.md: on the one replica of
// jobcheck-webhook that holds a Lease, it reports every monitored workload's
// runs from the Job objects, and the attempts its pods' agents could not
// report (a wrapper killed by SIGKILL, a lost pod, a container that never
// started), to the workload's Pushgateway.
//
// A workload is what the JOBCHECK_JOB of its pods names, in their namespace,
// on the Pushgateway of their JOBCHECK_PUSHGATEWAY; only pods whose wrapped
// containers run in attempt mode (JOBCHECK_REPORT=attempt) are the
// watcher's. Its Jobs are the controllers of those pods.
//
// Exactly once: a new leader first reads the run metrics of its workloads
// back from their Pushgateway (streamed, one line at a time), pushes nothing
// to a Pushgateway until that succeeded, and counts only the runs that ended
// after the latest outcome already there. docs/runs.md is the full
// specification: what is pushed, when, to which group, and the time bounds.
package runs
