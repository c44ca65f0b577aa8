package inject

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/jobcheck/jobcheck/contract"
)

// FuzzPod: whatever the annotations and the images say, Pod does not panic,
// never modifies its input, warns in lines the kube-apiserver passes on
// whole, an injected pod is left alone by a second pass, and Patch applied
// to the original's JSON gives exactly the injected pod's (the oracle of
// checkPatch: gomodules.xyz/jsonpatch/v2's generic diff).
func FuzzPod(f *testing.F) {
	f.Add("true", "10m", "file", "true", "1m", `["/x"]`, "main", "http://pg:9091", "job", "/e", "c", false, "", "--once", "lbl")
	f.Add("true", "-1s", "cpu", "no", "x", `[]`, "nope", "pg:9091", "", "", "", true, "boom", "", "")
	f.Add("true", "", "", "", "", `{"entry":["/y"]}`, "", "", "", "", "", false, "", "", "a/b")
	f.Add("false", "", "", "", "", "", "", "", "", "", "", false, "", "", "")
	f.Fuzz(func(t *testing.T, enabled, maxAge, heartbeat, liveness, grace, command, containers, pushgateway, jobName,
		entrypoint, cmd string, platforms bool, lookupErr, arg, label string) {
		pod := jobPod("fuzz", container("main", "/main"), container("entry"), container("other"))
		pod.Spec.Containers[1].Args = nil
		if arg != "" {
			pod.Spec.Containers[2].Args = []string{arg}
		}
		if label != "" {
			pod.Labels[label] = label
		}
		pod.Annotations = map[string]string{}
		for k, v := range map[string]string{
			contract.AnnotationEnabled: enabled, contract.AnnotationMaxAge: maxAge, contract.AnnotationHeartbeat: heartbeat,
			contract.AnnotationLiveness: liveness, contract.AnnotationGrace: grace, contract.AnnotationCommand: command,
			contract.AnnotationContainers: containers, contract.AnnotationPushgateway: pushgateway, contract.AnnotationJobName: jobName,
		} {
			if v != "" {
				pod.Annotations[k] = v
			}
		}
		img := Image{Entrypoint: nonEmpty(entrypoint), Cmd: nonEmpty(cmd), Err: lookupErr}
		if platforms {
			img = Image{Platforms: map[string]Image{"linux/amd64": img, "linux/arm64": {Cmd: []string{cmd + "-arm"}}}}
		}
		images := Images{pod.Spec.Containers[1].Image: img, pod.Spec.Containers[2].Image: img}
		in := pod.DeepCopy()
		res := Pod(pod, cronOwner(), images, testConfig())
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
		if msg := checkPatch(pod, res.Pod); msg != "" {
			t.Fatal(msg)
		}
		if again := Pod(res.Pod, cronOwner(), images, testConfig()); again.Injected || again.Pod != res.Pod {
			t.Fatalf("second pass injected again")
		}
	})
}

// nonEmpty is nil for "", else a one-string argv.
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
