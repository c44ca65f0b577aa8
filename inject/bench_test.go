package inject

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkPod measures one injection: the cost the webhook adds to every
// admission of an enabled pod, before patch computation.
func BenchmarkPod(b *testing.B) {
	many := make([]corev1.Container, 10)
	for i := range many {
		many[i] = container(fmt.Sprintf("step-%d", i), "/step", fmt.Sprint(i))
	}
	for _, bc := range []struct {
		name string
		pod  *corev1.Pod
	}{
		{"job-1-container", jobPod("nightly-export-29345678", container("export", "/export", "--all"))},
		{"job-10-containers", jobPod("nightly-export-29345678", many...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			owner, cfg := cronOwner(), testConfig()
			b.ReportAllocs()
			for b.Loop() {
				if res := Pod(bc.pod, owner, nil, cfg); !res.Injected {
					b.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
				}
			}
		})
	}
}

// BenchmarkPatch measures the JSON patch of one injection: with BenchmarkPod,
// what the webhook adds to an admission before encoding its answer.
func BenchmarkPatch(b *testing.B) {
	many := make([]corev1.Container, 10)
	for i := range many {
		many[i] = container(fmt.Sprintf("step-%d", i), "/step", fmt.Sprint(i))
	}
	for _, bc := range []struct {
		name string
		pod  *corev1.Pod
	}{
		{"job-1-container", jobPod("nightly-export-29345678", container("export", "/export", "--all"))},
		{"job-10-containers", jobPod("nightly-export-29345678", many...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			res := Pod(bc.pod, cronOwner(), nil, testConfig())
			if !res.Injected {
				b.Fatalf("not injected: %s %q", res.Reason, res.Warnings)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Patch(bc.pod, res.Pod); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
