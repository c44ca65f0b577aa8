package contract

// Heartbeat modes: what counts as a sign of life of the wrapped command.
const (
	// HeartbeatProgress counts output, CPU time advancing and the app touching the sentinel.
	HeartbeatProgress = "progress"
	// HeartbeatFile counts only the app touching the sentinel itself.
	HeartbeatFile = "file"
)

// Report modes: which part reports a workload's runs (docs/model.md).
const (
	// ReportRun: the agent is alone (a cron wrapper, or a manifest injected
	// offline): each attempt it wraps is a run, and it pushes the run metrics
	// as well as the attempt metrics. The default.
	ReportRun = "run"
	// ReportAttempt: the webhook's run watcher reports runs from the Job
	// objects; the agent pushes only what it alone knows of its attempt.
	ReportAttempt = "attempt"
)
