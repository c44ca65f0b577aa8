package inject

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzPod: whatever the annotations say, Pod does not panic, never modifies
// its input, warns in lines the kube-apiserver passes on whole, and an
// injected pod is left alone by a second pass.
func FuzzPod(f *testing.F) {
	f.Add("true", "10m", "file", "true", "1m", `["/x"]`, "main", "http://pg:9091", "job")
	f.Add("true", "-1s", "cpu", "no", "x", `[]`, "nope", "pg:9091", "")
	f.Add("false", "", "", "", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, enabled, maxAge, heartbeat, liveness, grace, command, containers, pushgateway, jobName string) {
		pod := jobPod("fuzz", container("main", "/main"), container("entry"))
		pod.Annotations = map[string]string{}
		for k, v := range map[string]string{
			AnnotationEnabled: enabled, AnnotationMaxAge: maxAge, AnnotationHeartbeat: heartbeat,
			AnnotationLiveness: liveness, AnnotationGrace: grace, AnnotationCommand: command,
			AnnotationContainers: containers, AnnotationPushgateway: pushgateway, AnnotationJobName: jobName,
		} {
			if v != "" {
				pod.Annotations[k] = v
			}
		}
		in := pod.DeepCopy()
		res := Pod(pod, cronOwner(), testConfig())
		if diff := cmp.Diff(in, pod); diff != "" {
			t.Fatalf("input modified:\n%s", diff)
		}
		for _, w := range res.Warnings {
			// what the kube-apiserver accepts as a warning, untruncated
			if !utf8.ValidString(w) || strings.ContainsFunc(w, unicode.IsControl) || utf8.RuneCountInString(w) > 256 {
				t.Fatalf("warning %q is not a short valid single line", w)
			}
		}
		if !res.Injected {
			if res.Pod != pod || res.Reason == "" {
				t.Fatalf("skipped with reason %q but pod replaced", res.Reason)
			}
			return
		}
		if again := Pod(res.Pod, cronOwner(), testConfig()); again.Injected || again.Pod != res.Pod {
			t.Fatalf("second pass injected again")
		}
	})
}
