package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// TestSkipsAreReported: a pod that opted in but is not monitored, or only
// partly, gets a Warning Event on its Job and CronJob naming the cause and
// the fix, and a count in jobcheck_webhook_unmonitored_pods_total; a pod
// that did not opt in, or a dry run, gets neither.
func TestSkipsAreReported(t *testing.T) {
	cronOwner := func(annotations map[string]string) inject.Owner {
		return inject.Owner{JobName: testJob, CronJobName: "nightly-export", CronJobAnnotations: annotations, Schedule: "0 3 * * *"}
	}
	optedIn := map[string]string{contract.AnnotationEnabled: "true"}
	noCommand := corev1.Container{Name: "sidecar", Image: "registry.example/sidecar:2", Args: []string{"--serve"}}
	jobObj := corev1.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Name: testJob, Namespace: "team-a", UID: testJobUID}
	cronObj := corev1.ObjectReference{Kind: "CronJob", APIVersion: "batch/v1", Name: "nightly-export", Namespace: "team-a"}

	cases := []struct {
		name        string
		pod         *corev1.Pod
		annotations map[string]string // on the pod
		owner       inject.Owner
		ownerErr    error
		mutate      func(*podInput) inject.Result
		dryRun      bool

		result  string // of jobcheck_webhook_admissions_total
		reason  string
		event   string // "": no Event and no count
		on      []corev1.ObjectReference
		job     string   // job label of the count
		message []string // substrings of the Event's message
	}{
		{
			name: "bad annotation on the CronJob", owner: cronOwner(map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationMaxAge: "30"}),
			result: resultSkipped, reason: inject.ReasonBadAnnotation, event: EventNotMonitored, on: []corev1.ObjectReference{jobObj, cronObj}, job: "nightly-export",
			message: []string{`jobcheck.io/max-age="30" on the CronJob`, "want a positive Go duration"},
		},
		{
			name: "bad value of jobcheck.io/enabled", owner: inject.Owner{JobName: "db-migrate", JobAnnotations: map[string]string{contract.AnnotationEnabled: "yes"}},
			result: resultSkipped, reason: inject.ReasonBadAnnotation, event: EventNotMonitored, on: []corev1.ObjectReference{jobObj}, job: "db-migrate",
			message: []string{`jobcheck.io/enabled="yes" on the Job`, `want "true" or "false"`},
		},
		{
			name: "no container can be wrapped", pod: testPod(noCommand), owner: cronOwner(optedIn),
			result: resultSkipped, reason: inject.ReasonNoCommand, event: EventNotMonitored, on: []corev1.ObjectReference{jobObj, cronObj}, job: "nightly-export",
			message: []string{`container "sidecar" not wrapped`, contract.AnnotationCommand},
		},
		{
			name: "one container of two wrapped", owner: cronOwner(optedIn),
			pod:    testPod(corev1.Container{Name: "export", Image: "registry.example/export:1", Command: []string{"/export"}}, noCommand),
			result: resultInjected, reason: inject.ReasonPartial, event: EventPartlyMonitored, on: []corev1.ObjectReference{jobObj, cronObj}, job: "nightly-export",
			message: []string{`container "sidecar" not wrapped`},
		},
		{
			name: "job-name annotation names the workload", owner: cronOwner(map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationJobName: "exports", contract.AnnotationHeartbeat: "often"}),
			result: resultSkipped, reason: inject.ReasonBadAnnotation, event: EventNotMonitored, on: []corev1.ObjectReference{jobObj, cronObj}, job: "exports",
			message: []string{contract.AnnotationHeartbeat},
		},
		{
			name: "owner lookup fails, the pod opted in", annotations: optedIn, ownerErr: errors.New("connection refused"),
			result: resultError, reason: "owner-lookup", event: EventNotMonitored, on: []corev1.ObjectReference{jobObj}, job: "",
			message: []string{"pod admitted without monitoring (owner-lookup)", "connection refused"},
		},
		{
			name: "owner lookup fails, the pod names its workload", annotations: map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationJobName: "exports"},
			ownerErr: errors.New("connection refused"),
			result:   resultError, reason: "owner-lookup", event: EventNotMonitored, on: []corev1.ObjectReference{jobObj}, job: "exports",
			message: []string{"(owner-lookup)"},
		},
		{
			name: "inject panics, the CronJob opted in", owner: cronOwner(optedIn),
			mutate: func(*podInput) inject.Result { panic("boom") },
			result: resultError, reason: "panic", event: EventNotMonitored, on: []corev1.ObjectReference{jobObj, cronObj}, job: "nightly-export",
			message: []string{"(panic)", "boom"},
		},
		// Neither an Event nor a count:
		{name: "monitored in full", owner: cronOwner(optedIn), result: resultInjected, reason: inject.ReasonInjected},
		{name: "not opted in", owner: cronOwner(nil), result: resultSkipped, reason: inject.ReasonNotEnabled},
		{name: "opted out on the pod", annotations: map[string]string{contract.AnnotationEnabled: "false"}, owner: cronOwner(optedIn), result: resultSkipped, reason: inject.ReasonNotEnabled},
		{name: "already injected", annotations: map[string]string{contract.AnnotationInjected: "v1"}, owner: cronOwner(optedIn), result: resultSkipped, reason: inject.ReasonAlreadyInjected},
		{name: "owner lookup fails, opt-in unknown", ownerErr: errors.New("connection refused"), result: resultError, reason: "owner-lookup"},
		{name: "no namespace", pod: noNamespace(testPod()), annotations: optedIn, result: resultError, reason: "no-namespace"},
		{
			name: "dry run", dryRun: true, owner: cronOwner(map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationMaxAge: "30"}),
			result: resultSkipped, reason: inject.ReasonBadAnnotation,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := tc.pod
			if pod == nil {
				pod = testPod()
			}
			pod.Annotations = tc.annotations
			events := &eventLog{}
			h := newTestHandler(ownersFunc(func(_ context.Context, ns string, ref metav1.OwnerReference) (inject.Owner, error) {
				if ns != "team-a" || ref.Name != testJob || ref.UID != testJobUID {
					t.Errorf("lookup of %s/%s (uid %s), want team-a/%s", ns, ref.Name, ref.UID, testJob)
				}
				return tc.owner, tc.ownerErr
			}))
			h.opts.Events = events
			if tc.mutate != nil {
				h.mutate = tc.mutate
			}

			resp := serveReview(t, h, reviewOf(t, pod, tc.dryRun))

			if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(tc.result, tc.reason)); got != 1 {
				t.Errorf("admissions_total{result=%q,reason=%q} = %v, want 1; warnings %q", tc.result, tc.reason, got, resp.Warnings)
			}
			wantCount := 0
			if tc.event != "" {
				wantCount = 1
				if got := testutil.ToFloat64(h.opts.Metrics.unmonitored.WithLabelValues("team-a", tc.job, tc.reason)); got != 1 {
					t.Errorf("%s{namespace=team-a,job=%q,reason=%q} = %v, want 1", contract.MetricWebhookUnmonitoredPods, tc.job, tc.reason, got)
				}
			}
			if n := testutil.CollectAndCount(h.opts.Metrics.unmonitored); n != wantCount {
				t.Errorf("%s has %d series, want %d", contract.MetricWebhookUnmonitoredPods, n, wantCount)
			}

			got := events.all()
			if len(got) != len(tc.on) {
				t.Fatalf("%d Events, want %d: %+v", len(got), len(tc.on), got)
			}
			for i, e := range got {
				if e.ref != tc.on[i] {
					t.Errorf("Event %d on %+v, want %+v", i, e.ref, tc.on[i])
				}
				if e.eventType != corev1.EventTypeWarning || e.reason != tc.event {
					t.Errorf("Event %d is %s %s, want Warning %s", i, e.eventType, e.reason, tc.event)
				}
				for _, m := range tc.message {
					if !strings.Contains(e.message, m) {
						t.Errorf("Event %d message %q does not contain %q", i, e.message, m)
					}
				}
				if e.message != got[0].message {
					t.Errorf("Event %d message %q, want the same as on the Job: %q", i, e.message, got[0].message)
				}
			}
		})
	}
}

// noNamespace is pod with no namespace, in a request that names none.
func noNamespace(pod *corev1.Pod) *corev1.Pod {
	pod.Namespace = ""
	return pod
}

// TestRetriesReportTheSameEvent: the pods of one Job (each retry has a name
// of its own) get Events with the same reason and message, so that the
// recorder's correlator counts them on one Event instead of adding one per
// pod.
func TestRetriesReportTheSameEvent(t *testing.T) {
	events := &eventLog{}
	h := newTestHandler(stubOwners{testJob: {JobName: testJob, JobAnnotations: map[string]string{contract.AnnotationEnabled: "true", contract.AnnotationMaxAge: "1s"}}})
	h.opts.Events = events
	for _, name := range []string{testJob + "-abcde", testJob + "-fghij"} {
		pod := testPod()
		pod.Name = name
		serveReview(t, h, reviewOf(t, pod, false))
	}
	got := events.all()
	if len(got) != 2 || got[0] != got[1] {
		t.Fatalf("Events %+v, want the same Event twice", got)
	}
}

func TestCut(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven-long", 10, "eleven-..."},
		{"ab🚀cdefgh", 8, "ab..."}, // the rocket's 4 bytes would end past 8-3
		{"ab🚀cdefgh", 9, "ab🚀..."},
	}
	for _, tc := range cases {
		if got := cut(tc.in, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("cut(%q, %d) = %q, want %q (at most %d bytes)", tc.in, tc.n, got, tc.want, tc.n)
		}
	}
}
