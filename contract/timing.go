package contract

import "time"

// Defaults, used when neither an annotation, a webhook flag, an agent flag nor
// an environment variable says otherwise.
const (
	// DefaultMaxAge is generous because a false "hung" verdict restarts a
	// healthy job.
	DefaultMaxAge     = 30 * time.Minute
	DefaultGrace      = 5 * time.Minute
	DefaultPushBudget = 5 * time.Second
)

// MinMaxAge is the smallest max age jobcheck accepts. Below it the heartbeat
// refresh (MinRefresh at the shortest) plus a busy node's scheduling delay
// could let a live attempt's sentinel look older than its max age, and the
// liveness probe would restart a healthy job.
const MinMaxAge = 5 * time.Second

// MinRefresh is the shortest heartbeat refresh period.
const MinRefresh = time.Second

// RefreshPeriod is how often the agent looks for signs of life and refreshes
// the sentinel: a quarter of the max age, so a live attempt's sentinel never
// comes near the limit, and at least MinRefresh.
func RefreshPeriod(maxAge time.Duration) time.Duration {
	return max(maxAge/4, MinRefresh)
}

// The liveness probe (`jobcheck probe`) the webhook adds. The probe only
// stats a file, but on a loaded node an exec can take seconds to start: a 5s
// timeout and three failures in a row keep a slow node from restarting a
// healthy job.
const (
	ProbeTimeout          = 5 * time.Second
	ProbeFailureThreshold = 3
	ProbeInitialDelay     = 10 * time.Second
	probeMinPeriod        = 10 * time.Second
	probeMaxPeriod        = 60 * time.Second
)

// ProbePeriod is the liveness probe's period: a quarter of the max age,
// between 10s and 60s.
func ProbePeriod(maxAge time.Duration) time.Duration {
	return min(max(maxAge/4, probeMinPeriod), probeMaxPeriod)
}

// KillBound is the longest time from an attempt's last sign of life to the
// kubelet killing it: the sentinel is refreshed up to one refresh period after
// the sign of life, goes stale max age later, the next probe (within one
// period) is the first to fail, and the kill comes after the threshold's
// failures in a row, each probe taking at most its timeout.
func KillBound(maxAge time.Duration) time.Duration {
	return maxAge + RefreshPeriod(maxAge) + ProbeFailureThreshold*ProbePeriod(maxAge) + ProbeTimeout
}

// HungBound is the longest time from an attempt's last sign of life to the
// agent reporting it hung (MetricLastHung): it checks every refresh period.
func HungBound(maxAge time.Duration) time.Duration {
	return maxAge + 2*RefreshPeriod(maxAge)
}

// While an attempt stays hung the agent pushes MetricLastHung again every
// HungRepushPeriod. The hung alert fires while that timestamp is younger than
// HungAlertWindow: one repush period plus room for the Pushgateway's scrape
// interval and the rule's evaluation interval (each up to 2m), so an attempt
// that stays hung keeps the alert firing, and one that ended clears it within
// the window.
const (
	HungRepushPeriod = time.Minute
	HungAlertWindow  = HungRepushPeriod + 4*time.Minute
)

// PrestopBudget bounds the preStop hook's push: the kubelet waits for the hook
// before it sends SIGTERM.
const PrestopBudget = 2 * time.Second

// ImageLookupBudget bounds the registry lookup of a pod's images within its
// admission: well inside the webhook configuration's 5s timeoutSeconds, with
// room for the owner lookup and the answer. The webhook and the lookup
// (package imageconfig) both default to it.
const ImageLookupBudget = 2 * time.Second
