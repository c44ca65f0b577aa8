package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/jobcheck/jobcheck/contract"
	"github.com/jobcheck/jobcheck/inject"
)

// fakeImages answers Resolve from a table (test double for package
// imageconfig, which is tested against real registries) and records what it
// was asked.
type fakeImages struct {
	mu      sync.Mutex
	answer  func(ctx context.Context, images []string) inject.Images
	calls   int
	ns, sa  string
	secrets []string
	images  []string
}

func (f *fakeImages) Resolve(ctx context.Context, namespace, serviceAccount string, pullSecrets, images []string) inject.Images {
	f.mu.Lock()
	f.calls++
	f.ns, f.sa, f.secrets, f.images = namespace, serviceAccount, pullSecrets, images
	f.mu.Unlock()
	return f.answer(ctx, images)
}

// table answers from m, leaving out the images m does not hold.
func table(m inject.Images) func(context.Context, []string) inject.Images {
	return func(_ context.Context, images []string) inject.Images {
		out := inject.Images{}
		for _, i := range images {
			if v, ok := m[i]; ok {
				out[i] = v
			}
		}
		return out
	}
}

// TestImageLookup: containers without a command are wrapped with what their
// image runs, looked up at admission with the pod's service account and pull
// secrets; a lookup that fails, times out, panics or leaves an image out
// admits the pod with that container unwrapped and the reason shown in a
// warning, an Event and the count, never a denial.
func TestImageLookup(t *testing.T) {
	const app, tool, cmdless = "registry.example/app:1", "registry.example/tool:2", "registry.example/other:3"
	known := inject.Images{
		app:  {Entrypoint: []string{"/app"}, Cmd: []string{"serve", "--all"}},
		tool: {Entrypoint: []string{"/tool"}},
	}
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	cases := []struct {
		name       string
		containers []corev1.Container
		sa         string
		secrets    []corev1.LocalObjectReference
		answer     func(context.Context, []string) inject.Images
		nilLookup  bool

		wantCalls  int
		wantSA     string
		wantAsked  []string
		wantCmd    map[string][]string // wrapped containers: command after the wrapper
		wantReason string              // of the admission
		unwrapped  string              // a warning and Event naming this container, with detail
		detail     string
	}{
		{
			name:       "entrypoint and cmd from the image",
			containers: []corev1.Container{{Name: "app", Image: app}, {Name: "tool", Image: tool, Args: []string{"x"}}},
			sa:         "exporter", secrets: []corev1.LocalObjectReference{{Name: "regcred"}, {Name: ""}, {Name: "mirror"}},
			answer:    table(known),
			wantCalls: 1, wantSA: "exporter", wantAsked: []string{app, tool},
			wantCmd:    map[string][]string{"app": {"/app"}, "tool": {"/tool"}},
			wantReason: inject.ReasonInjected,
		},
		{
			name:       "default service account, each image once",
			containers: []corev1.Container{{Name: "a", Image: app}, {Name: "b", Image: app}, {Name: "c", Image: tool, Command: []string{"/own"}}},
			answer:     table(known),
			wantCalls:  1, wantSA: "default", wantAsked: []string{app},
			wantCmd:    map[string][]string{"a": {"/app"}, "b": {"/app"}, "c": {"/own"}},
			wantReason: inject.ReasonInjected,
		},
		{
			name:       "every container has a command: no lookup",
			containers: []corev1.Container{{Name: "a", Image: app, Command: []string{"/own"}}},
			answer:     table(known),
			wantCmd:    map[string][]string{"a": {"/own"}}, wantReason: inject.ReasonInjected,
		},
		{
			name:       "the registry refuses",
			containers: []corev1.Container{{Name: "a", Image: app, Command: []string{"/own"}}, {Name: "b", Image: cmdless}},
			answer:     table(inject.Images{cmdless: {Err: "GET https://registry.example/v2/other/manifests/3: UNAUTHORIZED"}}),
			wantCalls:  1, wantSA: "default", wantAsked: []string{cmdless},
			wantCmd:    map[string][]string{"a": {"/own"}},
			wantReason: inject.ReasonPartial, unwrapped: "b", detail: "UNAUTHORIZED",
		},
		{
			name:       "the lookup leaves an image out",
			containers: []corev1.Container{{Name: "b", Image: cmdless}},
			answer:     table(known),
			wantCalls:  1, wantSA: "default", wantAsked: []string{cmdless},
			wantReason: inject.ReasonImageLookup, unwrapped: "b", detail: "the image lookup gave no answer for it",
		},
		{
			name:       "the lookup outlives its budget",
			containers: []corev1.Container{{Name: "a", Image: app, Command: []string{"/own"}}, {Name: "b", Image: cmdless}},
			answer: func(context.Context, []string) inject.Images {
				<-blocked // ignores its context: only the handler's budget ends the wait
				return nil
			},
			wantCalls: 1, wantSA: "default", wantAsked: []string{cmdless},
			wantCmd:    map[string][]string{"a": {"/own"}},
			wantReason: inject.ReasonPartial, unwrapped: "b", detail: "the image lookup did not answer in time (its budget: 20ms)",
		},
		{
			name:       "the lookup panics",
			containers: []corev1.Container{{Name: "b", Image: cmdless}},
			answer:     func(context.Context, []string) inject.Images { panic("registry client bug") },
			wantCalls:  1, wantSA: "default", wantAsked: []string{cmdless},
			wantReason: inject.ReasonImageLookup, unwrapped: "b", detail: "the image lookup gave no answer for it",
		},
		{
			name:       "no lookup configured",
			containers: []corev1.Container{{Name: "b", Image: cmdless}},
			nilLookup:  true,
			wantReason: inject.ReasonNoCommand, unwrapped: "b", detail: "was not looked up",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod(tc.containers...)
			pod.Spec.ServiceAccountName, pod.Spec.ImagePullSecrets = tc.sa, tc.secrets
			fake := &fakeImages{answer: tc.answer}
			events := &eventLog{}
			h := newTestHandler(stubOwners{testJob: {JobName: testJob, JobAnnotations: map[string]string{contract.AnnotationEnabled: "true"}}})
			h.opts.Events, h.opts.ImageBudget = events, 20*time.Millisecond
			if !tc.nilLookup {
				h.opts.Images = fake
			}
			body := reviewOf(t, pod, false)

			resp := serveReview(t, h, body)

			fake.mu.Lock()
			calls, sa, ns, secrets, asked := fake.calls, fake.sa, fake.ns, fake.secrets, fake.images
			fake.mu.Unlock()
			if calls != tc.wantCalls {
				t.Fatalf("Resolve called %d times, want %d", calls, tc.wantCalls)
			}
			if calls > 0 {
				var wantSecrets []string
				for _, s := range tc.secrets {
					if s.Name != "" {
						wantSecrets = append(wantSecrets, s.Name)
					}
				}
				if ns != "team-a" || sa != tc.wantSA || !slices.Equal(secrets, wantSecrets) || !slices.Equal(asked, tc.wantAsked) {
					t.Errorf("Resolve(%q, %q, %q, %q), want (team-a, %q, %q, %q)", ns, sa, secrets, asked, tc.wantSA, wantSecrets, tc.wantAsked)
				}
			}
			if got := testutil.ToFloat64(h.opts.Metrics.admissions.WithLabelValues(admissionResult(tc.wantReason), tc.wantReason)); got != 1 {
				t.Errorf("admissions_total{reason=%q} = %v, want 1; warnings %q", tc.wantReason, got, resp.Warnings)
			}

			wrapped := map[string][]string{}
			if resp.Patch != nil {
				patched, err := applyPatch(rawObject(t, body), resp.Patch)
				if err != nil {
					t.Fatal(err)
				}
				var p corev1.Pod
				if err := json.Unmarshal(patched, &p); err != nil {
					t.Fatal(err)
				}
				for _, c := range p.Spec.Containers {
					if len(c.Command) > 3 && c.Command[0] == contract.AgentPath {
						wrapped[c.Name] = c.Command[3:]
					}
				}
			}
			if len(wrapped) != len(tc.wantCmd) {
				t.Errorf("wrapped %q, want %q", wrapped, tc.wantCmd)
			}
			for name, cmd := range tc.wantCmd {
				if !slices.Equal(wrapped[name], cmd) {
					t.Errorf("container %s runs %q behind the wrapper, want %q", name, wrapped[name], cmd)
				}
			}

			if tc.unwrapped == "" {
				if len(events.all()) != 0 {
					t.Errorf("Events %+v, want none", events.all())
				}
				return
			}
			naming := `container "` + tc.unwrapped + `" not wrapped`
			if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, naming) || !strings.Contains(w, tc.detail) {
				t.Errorf("warnings %q, want one with %q and %q", resp.Warnings, naming, tc.detail)
			}
			ev := events.all()
			if len(ev) != 1 || !strings.Contains(ev[0].message, naming) || !strings.Contains(ev[0].message, tc.detail) {
				t.Errorf("Events %+v, want one on the Job with %q and %q", ev, naming, tc.detail)
			}
			if got := testutil.ToFloat64(h.opts.Metrics.unmonitored.WithLabelValues("team-a", testJob, tc.wantReason)); got != 1 {
				t.Errorf("%s{reason=%q} = %v, want 1", contract.MetricWebhookUnmonitoredPods, tc.wantReason, got)
			}
		})
	}
}

// admissionResult is the result label that goes with an inject reason.
func admissionResult(reason string) string {
	if reason == inject.ReasonInjected || reason == inject.ReasonPartial {
		return resultInjected
	}
	return resultSkipped
}

// TestLookupsEndBeforeTheAPIServerGivesUp: the API server says how long it
// waits for the answer (?timeout=, the webhook configuration's
// timeoutSeconds); the owner and image lookups end in time for the answer,
// whatever their own budgets.
func TestLookupsEndBeforeTheAPIServerGivesUp(t *testing.T) {
	cases := []struct {
		query               string
		ownerWant, imgsWant time.Duration // deadline after the handler starts
	}{
		{"?timeout=1s", 900 * time.Millisecond, 900 * time.Millisecond},   // 1s less a 100ms margin
		{"?timeout=2s", 1800 * time.Millisecond, 1800 * time.Millisecond}, // 2s less 200ms
		{"?timeout=5s", 3 * time.Second, 2 * time.Second},                 // the budgets end first
		{"", 3 * time.Second, 2 * time.Second},                            // the budgets alone
		{"?timeout=soon", 3 * time.Second, 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var ownerDeadline, imgsDeadline time.Time
			h := newTestHandler(ownersFunc(func(ctx context.Context, _ string, _ metav1.OwnerReference) (inject.Owner, error) {
				ownerDeadline, _ = ctx.Deadline()
				return inject.Owner{JobName: testJob, JobAnnotations: map[string]string{contract.AnnotationEnabled: "true"}}, nil
			}))
			h.opts.LookupTimeout, h.opts.ImageBudget = 3*time.Second, 2*time.Second
			h.opts.Images = &fakeImages{answer: func(ctx context.Context, images []string) inject.Images {
				imgsDeadline, _ = ctx.Deadline()
				return inject.Images{images[0]: {Entrypoint: []string{"/app"}}}
			}}
			body := reviewOf(t, testPod(corev1.Container{Name: "app", Image: "registry.example/app:1"}), false)
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/mutate"+tc.query, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			before := time.Now()
			h.ServeHTTP(rec, req)
			after := time.Now()
			if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
			}
			for _, d := range []struct {
				what     string
				deadline time.Time
				want     time.Duration
			}{{"owner lookup", ownerDeadline, tc.ownerWant}, {"image lookup", imgsDeadline, tc.imgsWant}} {
				if d.deadline.Before(before.Add(d.want)) || d.deadline.After(after.Add(d.want)) {
					t.Errorf("%s deadline %v after the request, want %v", d.what, d.deadline.Sub(before), d.want)
				}
			}
		})
	}
}

// TestNilLookupIsNoLookup: a lookup that is off, passed as a typed nil
// pointer, is no lookup, not a lookup that fails for every image.
func TestNilLookupIsNoLookup(t *testing.T) {
	var off *fakeImages
	h := NewHandler(Options{Inject: testConfig(), Metrics: NewMetrics(func() time.Time { return time.Time{} }), Images: off,
		Owners: stubOwners{testJob: {JobName: testJob, JobAnnotations: map[string]string{contract.AnnotationEnabled: "true"}}}})
	resp := serveReview(t, h, reviewOf(t, testPod(corev1.Container{Name: "app", Image: "registry.example/app:1"}), false))
	if w := strings.Join(resp.Warnings, "\n"); !strings.Contains(w, "was not looked up") {
		t.Errorf("warnings %q, want the container's image named as not looked up", resp.Warnings)
	}
}
