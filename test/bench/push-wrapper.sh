#!/bin/sh
# push-wrapper.sh is the usual hand-rolled alternative to `jobcheck run`, the
# peer of figure 5 in BENCHMARKS.md: run a command, push the same metrics to a
# Pushgateway with curl (POST, so a failure does not erase the last success),
# and exit with the command's exit code.
#
#   push-wrapper.sh PUSHGATEWAY_URL JOB NAMESPACE COMMAND [ARG...]
set -u
pg=$1 job=$2 ns=$3
shift 3
group="$pg/metrics/job/$job/namespace/$ns"
max_age=600

start=$(date +%s.%N)
curl -fsS --max-time 5 --data-binary @- "$group" <<METRICS || echo "push-wrapper: start push failed" >&2
# TYPE jobcheck_last_start_timestamp_seconds gauge
jobcheck_last_start_timestamp_seconds $start
# TYPE jobcheck_running gauge
jobcheck_running 1
# TYPE jobcheck_max_age_seconds gauge
jobcheck_max_age_seconds $max_age
METRICS
# The previous failure count, read back so that it can go on across runs.
failures=$(curl -fsS --max-time 5 "$pg/metrics" |
  awk -v j="job=\"$job\"" -v n="namespace=\"$ns\"" \
    '/^jobcheck_consecutive_failures\{/ && index($0, j) && index($0, n) {print $2; exit}')
failures=${failures:-0}

"$@"
code=$?

end=$(date +%s.%N)
duration=$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.6f", e - s}')
if [ "$code" -eq 0 ]; then
  outcome=jobcheck_last_success_timestamp_seconds reason=succeeded failures=0
else
  outcome=jobcheck_last_failure_timestamp_seconds reason=failed failures=$((${failures%.*} + 1))
fi
curl -fsS --max-time 5 --data-binary @- "$group" <<METRICS || echo "push-wrapper: exit push failed" >&2
# TYPE jobcheck_running gauge
jobcheck_running 0
# TYPE jobcheck_last_completion_timestamp_seconds gauge
jobcheck_last_completion_timestamp_seconds $end
# TYPE $outcome gauge
$outcome $end
# TYPE jobcheck_last_duration_seconds gauge
jobcheck_last_duration_seconds $duration
# TYPE jobcheck_last_exit_code gauge
jobcheck_last_exit_code $code
# TYPE jobcheck_last_run_info gauge
jobcheck_last_run_info{reason="$reason"} 1
# TYPE jobcheck_consecutive_failures gauge
jobcheck_consecutive_failures $failures
METRICS
exit "$code"
