package contract

// The agent's environment. The webhook sets these in every wrapped container;
// a person can set them by hand (each is also a flag of `jobcheck run`).
const (
	EnvPushgateway = "JOBCHECK_PUSHGATEWAY" // Pushgateway base URL; empty: no push
	EnvJob         = "JOBCHECK_JOB"         // the job label: the workload's name
	EnvNamespace   = "JOBCHECK_NAMESPACE"   // the namespace label
	EnvPod         = "JOBCHECK_POD"         // for logs only, never a label
	EnvContainer   = "JOBCHECK_CONTAINER"   // the container label; set only when a pod wraps several containers
	EnvSentinel    = "JOBCHECK_SENTINEL"    // the heartbeat file
	EnvMaxAge      = "JOBCHECK_MAX_AGE"     // heartbeat age at which the attempt counts as hung
	EnvHeartbeat   = "JOBCHECK_HEARTBEAT"   // HeartbeatProgress or HeartbeatFile
	EnvSchedule    = "JOBCHECK_SCHEDULE"    // the CronJob's schedule
	EnvTimezone    = "JOBCHECK_TIMEZONE"    // the CronJob's time zone
	EnvGrace       = "JOBCHECK_GRACE"       // time after the next scheduled run before the CronJob is overdue
	EnvPushBudget  = "JOBCHECK_PUSH_BUDGET" // total time the reporting at exit may take
	EnvReport      = "JOBCHECK_REPORT"      // ReportRun or ReportAttempt
	EnvDebug       = "JOBCHECK_DEBUG"       // non-empty: debug logs

	// EnvInjected is the webhook's version, set in every container it wraps.
	// Where it is set the agent runs inside a job pod that nobody is watching
	// at a terminal: no setting, flag or file problem may stop the job; the
	// agent says so on stderr and runs the command anyway.
	EnvInjected = "JOBCHECK_INJECTED"

	// EnvEntrypoints holds, for a container whose image runs a different
	// entrypoint on each platform, the argv to run per platform as a JSON
	// object ({"linux/amd64": ["/app", "serve"], ...}); the agent picks its
	// own platform's and puts it before the arguments it was given.
	EnvEntrypoints = "JOBCHECK_ENTRYPOINTS"

	// EnvCompletionIndex is set by the Job controller in the containers of an
	// Indexed Job's pods: the pod's completion index.
	EnvCompletionIndex = "JOB_COMPLETION_INDEX"
)

// AnnotationCompletionIndex is the pod annotation of an Indexed Job's pod
// holding its completion index (set by the Job controller).
const AnnotationCompletionIndex = "batch.kubernetes.io/job-completion-index"
