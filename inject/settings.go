package inject

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/jobcheck/jobcheck/contract"
)

// settings are the values in force for one pod once annotations and defaults
// are resolved.
type settings struct {
	pushgateway string
	job         string
	containers  []string // nil: every regular container
	maxAge      time.Duration
	heartbeat   string
	liveness    bool
	grace       time.Duration

	// jobcheck.io/command: the argv of every container without command
	// (a JSON array), or of the containers it names (a JSON object).
	commandAll  []string
	commandEach map[string][]string
}

// selected reports whether the container named name is to be wrapped.
func (s settings) selected(name string) bool {
	return s.containers == nil || slices.Contains(s.containers, name)
}

// override is the jobcheck.io/command argv for the container named name, or nil.
func (s settings) override(name string) []string {
	if argv, ok := s.commandEach[name]; ok {
		return argv
	}
	return s.commandAll
}

// source is one level of annotations, nearest first.
type source struct {
	where       string // "pod", "Job", "CronJob": named in warnings
	annotations map[string]string
}

// sources lists the annotation levels of a pod, nearest first.
func sources(pod *corev1.Pod, owner Owner) []source {
	return []source{
		{"pod", pod.Annotations},
		{"Job", owner.JobAnnotations},
		{"CronJob", owner.CronJobAnnotations},
	}
}

// lookup returns the nearest value of key and where it was found.
func lookup(srcs []source, key string) (value, where string, ok bool) {
	for _, s := range srcs {
		if v, ok := s.annotations[key]; ok {
			return v, s.where, true
		}
	}
	return "", "", false
}

// badValue is the warning for an annotation whose value cannot be used. It
// names the annotation, where it was found and the value (quoted and
// shortened, since admission warnings are short single lines).
func badValue(key, where, value, why string) string {
	return fmt.Sprintf("jobcheck not injected: annotation %s=%s on the %s: %s", key, quote(value), where, why)
}

// quote returns value as a Go string literal of at most 64 bytes, cut and
// followed by "..." when longer, so a warning stays a short single line
// whatever the value holds.
func quote(value string) string {
	const max = 64
	if q := strconv.Quote(value); len(q) <= max {
		return q
	}
	// cut at a rune start (an invalid byte counts as one rune, so it stays
	// visible as \x..); each rune quotes to at least one byte.
	var starts []int
	for i := range value {
		if i > max {
			break
		}
		starts = append(starts, i)
	}
	for j := len(starts) - 1; j > 0; j-- {
		if q := strconv.Quote(value[:starts[j]]); len(q) <= max-3 {
			return q + "..."
		}
	}
	return `""...`
}

// maxWarning is the longest warning in runes: the kube-apiserver passes on
// longer ones cut.
const maxWarning = 256

// oneLine returns s on one line of at most n runes: control characters
// become spaces, invalid UTF-8 U+FFFD, and a longer s is cut and followed by
// "...". It is for messages (a registry's error) quoted in a warning.
func oneLine(s string, n int) string {
	keep := utf8.RuneCountInString(s)
	if keep > n {
		keep = max(n-3, 0)
	}
	var b strings.Builder
	for _, r := range s {
		if keep == 0 {
			b.WriteString("...")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		keep--
	}
	return b.String()
}

// enabled reports whether the nearest jobcheck.io/enabled is "true". A value
// other than "true" or "false" is reported as a warning.
func enabled(srcs []source) (on bool, warning string) {
	v, where, ok := lookup(srcs, contract.AnnotationEnabled)
	switch {
	case !ok || v == "false":
		return false, ""
	case v == "true":
		return true, ""
	default:
		return false, badValue(contract.AnnotationEnabled, where, v, `want "true" or "false"`)
	}
}

// resolve computes the settings of pod from the annotation levels srcs (of
// the pod and its owner) and cfg. The warning is non-empty when a value is
// bad; injection is then skipped.
func resolve(pod *corev1.Pod, owner Owner, srcs []source, cfg Config) (settings, string) {
	s := settings{
		pushgateway: cfg.Pushgateway,
		maxAge:      cfg.MaxAge,
		heartbeat:   cfg.Heartbeat,
		liveness:    cfg.Liveness,
		grace:       cfg.Grace,
	}
	for _, p := range parsers {
		v, where, ok := lookup(srcs, p.key)
		if !ok {
			continue
		}
		if why := p.parse(&s, v, pod); why != "" {
			return s, badValue(p.key, where, v, why)
		}
	}
	if s.job == "" {
		s.job = defaultJobName(pod, owner)
	}
	return s, ""
}

// parsers read each setting annotation into settings. parse returns why the
// value is bad, or "".
var parsers = []struct {
	key   string
	parse func(s *settings, v string, pod *corev1.Pod) string
}{
	{contract.AnnotationPushgateway, parsePushgateway},
	{contract.AnnotationJobName, func(s *settings, v string, _ *corev1.Pod) string {
		if strings.TrimSpace(v) == "" {
			return "want a non-empty job name"
		}
		s.job = v
		return ""
	}},
	{contract.AnnotationContainers, parseContainers},
	{contract.AnnotationMaxAge, func(s *settings, v string, _ *corev1.Pod) string {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "want a positive Go duration such as 30m or 1h30m"
		}
		if why := checkMaxAge(d); why != "" {
			return why
		}
		s.maxAge = d
		return ""
	}},
	{contract.AnnotationHeartbeat, func(s *settings, v string, _ *corev1.Pod) string {
		if v != contract.HeartbeatProgress && v != contract.HeartbeatFile {
			return fmt.Sprintf("want %q or %q", contract.HeartbeatProgress, contract.HeartbeatFile)
		}
		s.heartbeat = v
		return ""
	}},
	{contract.AnnotationLiveness, func(s *settings, v string, _ *corev1.Pod) string {
		if v != "true" && v != "false" {
			return `want "true" or "false"`
		}
		s.liveness = v == "true"
		return ""
	}},
	{contract.AnnotationGrace, func(s *settings, v string, _ *corev1.Pod) string {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return "want a Go duration of zero or more such as 5m"
		}
		s.grace = d
		return ""
	}},
	{contract.AnnotationCommand, parseCommand},
}

// checkMaxAge returns why a max age is too short, or "".
func checkMaxAge(d time.Duration) string {
	if d < contract.MinMaxAge {
		return fmt.Sprintf("want at least %s: a shorter max age could let a busy node's delays make a live job look hung, and the liveness probe would restart it", contract.MinMaxAge)
	}
	return ""
}

// parseCommand accepts a JSON array of strings, the argv of every wrapped
// container that has no command, or a JSON object naming regular
// containers of the pod, each with its argv.
func parseCommand(s *settings, v string, pod *corev1.Pod) string {
	const want = `want a non-empty JSON array of strings such as ["/app","--flag"], or an object of them by container such as {"main":["/app"]}`
	valid := func(argv []string) bool { return len(argv) > 0 && argv[0] != "" }
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") {
		var each map[string][]string
		if err := json.Unmarshal([]byte(t), &each); err != nil || len(each) == 0 {
			return want
		}
		for _, name := range slices.Sorted(maps.Keys(each)) {
			if !hasContainer(pod, name) {
				return "the pod has no container " + quote(name)
			}
			if !valid(each[name]) {
				return fmt.Sprintf("container %s: %s", quote(name), want)
			}
		}
		s.commandEach, s.commandAll = each, nil
		return ""
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil || !valid(argv) {
		return want
	}
	s.commandAll, s.commandEach = argv, nil
	return ""
}

// parsePushgateway accepts an http or https URL with a host.
func parsePushgateway(s *settings, v string, _ *corev1.Pod) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "want an http or https URL such as http://pushgateway.monitoring:9091"
	}
	s.pushgateway = v
	return ""
}

// parseContainers accepts a comma list of the pod's regular container names.
func parseContainers(s *settings, v string, pod *corev1.Pod) string {
	var names []string
	for _, n := range strings.Split(v, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !hasContainer(pod, n) {
			return "the pod has no container " + quote(n)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "want a comma-separated list of container names"
	}
	s.containers = names
	return ""
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return true
		}
	}
	return false
}

// defaultJobName is the job label when jobcheck.io/job-name is not set: the
// CronJob's name, else the Job's (as the owner lookup names it:
// contract.WorkloadName), else for a bare pod its workload name.
func defaultJobName(pod *corev1.Pod, owner Owner) string {
	switch {
	case owner.CronJobName != "":
		return owner.CronJobName
	case owner.JobName != "":
		return owner.JobName
	default:
		return contract.WorkloadName(pod.Name, pod.GenerateName)
	}
}
