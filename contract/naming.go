package contract

import "strings"

// WorkloadName is the job label of a Job's runs when no jobcheck.io/job-name
// says otherwise and no CronJob owns it: the Job's name, or for a Job made
// with generateName (a new one per run, as workflow engines and scripts make
// them) that prefix without its trailing dash, so that its runs share one
// Pushgateway group instead of leaving one group per run behind.
func WorkloadName(name, generateName string) string {
	if p := strings.TrimRight(generateName, "-"); p != "" {
		return p
	}
	return name
}
